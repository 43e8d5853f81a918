"""The test suite's own rules: slow tests live in ``*_e2e.py`` files marked ``slow``, test files
share helpers through ``helpers.py`` and ``conftest.py`` only, and missing shared data skips a
test locally but fails it in CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import require_shared

TESTS = Path(__file__).resolve().parent
TEST_FILES = sorted(TESTS.glob("test_*.py"))
SLOW_MARK = re.compile(r"^pytestmark = pytest\.mark\.slow$|^@pytest\.mark\.slow$", re.M)


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_slow_tests_are_exactly_the_e2e_files(path):
    text = path.read_text()
    if path.stem.endswith("_e2e"):
        assert re.search(r"^pytestmark = pytest\.mark\.slow$", text, re.M), path.name
    else:
        assert not SLOW_MARK.search(text), f"{path.name}: move slow tests to a *_e2e.py file"


@pytest.mark.parametrize("path", TEST_FILES, ids=[p.name for p in TEST_FILES])
def test_no_test_file_imports_another(path):
    imports = re.findall(r"^\s*(?:from|import) tests\.(\w+)", path.read_text(), re.M)
    assert not [name for name in imports if name.startswith("test_") or name == "conftest"]


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("true", pytest.fail.Exception), ("", pytest.skip.Exception), ("1", pytest.skip.Exception)],
)
def test_missing_shared_data_skips_locally_and_fails_in_ci(tmp_path, monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    assert require_shared(tmp_path) == tmp_path
    missing = tmp_path / "lmo-dev"
    with pytest.raises(outcome, match=re.escape(str(missing))):
        require_shared(missing)
