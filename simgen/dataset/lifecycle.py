"""A dataset folder's life: prepare it, fill it (resumably), finalize it; and its write errors.

Every command that writes a dataset goes through the same steps:

1. **Prepare** (reads only, so ``--dry-run`` runs it too): the output path must be usable
   (:func:`check_output_path`) and be new, empty, or -- for commands that resume (``render``,
   ``composite``) -- a dataset of the same config (:func:`prepare_dataset`); commands that
   write a whole dataset at once (``merge``, ``import-bop``) take a new or empty folder, or
   one holding only what they write themselves (:func:`prepare_new`).
2. **Start** (:func:`start_dataset`): create the folders, delete the leftovers of interrupted
   atomic writes, write ``config.yaml``. An image is finished when its record exists
   (:func:`unfinished`); while any is not, there is no ``annotations.json``
   (:func:`drop_annotations`), which describes complete datasets only.
3. **Finalize** (:func:`finalize_dataset`): the format writers turn the records, in image
   order, into ``annotations.json`` and the other format files, each written atomically.

Write errors. Every way the output can fail (a file in the way, a path under a file or a
special file, no permission, no space left, a read-only file system) ends in one
:class:`OutputError` naming the path (the command line prints it on one line and exits 2);
finished images stay on disk, and re-running the command resumes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import simgen.io
from simgen.dataset.layout import ANNOTATIONS_FILE, CONFIG_FILE, record_path
from simgen.errors import SimgenError


class OutputError(SimgenError):
    """The output path cannot be used or written (one line naming the path)."""


RESUME_HINT = "finished images are kept; re-run the same command to resume"


def output_error(exc: OSError, path: Path, *, action: str = "cannot write") -> OutputError:
    """The :class:`OutputError` of an ``OSError`` met while writing the output.

    Args:
        exc: the error; its ``filename`` (less the suffix of an atomic write's temporary
            file) is the path named, else ``path``.
        path: the path being written when ``exc`` has no file name.
        action: what failed, e.g. ``"cannot create the output directory"``.
    """
    name = exc.filename if isinstance(exc.filename, str | os.PathLike) else path
    name = str(name).split(simgen.io.TMP_MARK)[0]
    reason = exc.strerror or str(exc) or type(exc).__name__
    return OutputError(f"{action}: {reason}", file=name)


@contextlib.contextmanager
def output_errors(path: Path, *, action: str = "cannot write") -> Iterator[None]:
    """Turn any ``OSError`` raised inside into an :class:`OutputError` (see
    :func:`output_error`)."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(exc, path, action=action) from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`simgen.io.atomic_write_bytes` of a dataset file; an ``OSError`` becomes an
    :class:`OutputError` naming ``path``."""
    with output_errors(path):
        simgen.io.atomic_write_bytes(path, data)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`simgen.io.atomic_write_text` of a dataset file; an ``OSError`` becomes an
    :class:`OutputError` naming ``path``."""
    with output_errors(path):
        simgen.io.atomic_write_text(path, text)


def output_failure(error: str) -> OutputError | None:
    """The :class:`OutputError` a worker reported as a one-line scene failure
    (``"OutputError: PATH: ..."``, :func:`simgen.produce.workers.one_line`), else ``None``.

    A failed write is not retried like a failed scene: the next write would fail the same way.
    """
    prefix = f"{OutputError.__name__}: "
    if not error.startswith(prefix):
        return None
    return OutputError(f"{error[len(prefix) :]}; {RESUME_HINT}")


def with_resume_hint(exc: OutputError) -> OutputError:
    """``exc`` saying that finished images are kept and a re-run resumes (said once)."""
    if RESUME_HINT in exc.message:
        return exc
    return OutputError(f"{exc.message}; {RESUME_HINT}", file=exc.file, field=exc.field)


@contextlib.contextmanager
def resumable_writes() -> Iterator[None]:
    """An :class:`OutputError` raised inside says that finished images are kept and a re-run
    resumes (:func:`with_resume_hint`)."""
    try:
        yield
    except OutputError as exc:
        raise with_resume_hint(exc) from None


def _nearest_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (stat follows links)."""
    for candidate in path.absolute().parents:
        if candidate.exists():
            return candidate
    return Path(path.absolute().anchor)


def check_output_path(out_dir: Path) -> None:
    """Check that ``out_dir`` is, or can be created as, a directory this process may write.

    Raises:
        OutputError: ``out_dir`` is a file or another non-directory; it lies under a file or
            a special file (``/dev/null/x``); or it (or, when it does not exist, its nearest
            existing ancestor) may not be written (no permission).
    """
    with output_errors(out_dir, action="cannot use the output path"):
        if out_dir.exists():
            if not out_dir.is_dir():
                kind = "is a file, not a directory" if out_dir.is_file() else "is not a directory"
                raise OutputError(f"output path exists and {kind}", file=out_dir)
            if not os.access(out_dir, os.R_OK | os.W_OK | os.X_OK):
                raise OutputError("no permission to write in the output directory", file=out_dir)
            return
        existing = _nearest_existing(out_dir)
        if not existing.is_dir():
            raise OutputError(
                f"cannot create the output directory: {existing} is not a directory",
                file=out_dir,
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(
                f"cannot create the output directory: no permission to write in {existing}",
                file=out_dir,
            )


def read_dataset_config(out_dir: Path, validate: Callable[..., BaseModel]) -> BaseModel:
    """The config of the dataset in ``out_dir``: its ``config.yaml`` read and validated as
    ``validate(data, source=path)``. The one place a dataset's config is read back (to resume
    it, to replay its images).

    Raises:
        SimgenError: the file cannot be read or parsed (naming it), or ``validate``'s error
            (naming the file and the field).
    """
    import yaml

    path = out_dir / CONFIG_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise SimgenError(f"cannot read the dataset's config: {reason}", file=path) from None
    try:
        return validate(data, source=path)
    except (AttributeError, TypeError) as exc:  # not a mapping at all
        raise SimgenError(f"not a config: {exc}", file=path) from None


COMPARE_EXCLUDE = {"num_images", "schema_version"}
"""Config fields that may differ between runs into the same dataset (a longer run extends it;
an older dataset's config is upgraded when read)."""


def prepare_dataset(out_dir: Path, config: BaseModel, validate: Callable[..., BaseModel]) -> None:
    """Check that ``out_dir`` is new, empty, or a dataset of the same config (resume); reads
    only.

    Args:
        out_dir: the output directory.
        config: the new dataset's config (a scene config, or another kind's).
        validate: reads the existing ``config.yaml`` (see :func:`read_dataset_config`).

    Raises:
        OutputError: an unusable output path (:func:`check_output_path`).
        SimgenError: a non-dataset directory, or a dataset of a different config.
    """
    check_output_path(out_dir)
    with output_errors(out_dir, action="cannot read the output directory"):
        if not out_dir.is_dir() or not any(out_dir.iterdir()):
            return
        has_config = (out_dir / CONFIG_FILE).is_file()
    if not has_config:
        raise SimgenError(
            f"output directory is not empty and holds no simgen dataset (no {CONFIG_FILE})",
            file=out_dir,
        )
    old = read_dataset_config(out_dir, validate)
    old_data = old.model_dump(mode="json", exclude=COMPARE_EXCLUDE)
    new_data = config.model_dump(mode="json", exclude=COMPARE_EXCLUDE)
    if old_data != new_data:
        differing = sorted(k for k in new_data if old_data.get(k) != new_data[k])
        raise SimgenError(
            "output directory holds a dataset made with a different config; use another --out",
            file=out_dir / CONFIG_FILE,
            field=",".join(differing),
        )


def prepare_new(out_dir: Path, *, overwritable: Collection[str] = (), earlier: str = "") -> None:
    """Check that ``out_dir`` is new, empty, or holds only entries named in ``overwritable``
    (what an ``earlier`` run of the same command wrote, which is written again); reads only.

    Raises:
        OutputError: an unusable output path (:func:`check_output_path`).
        SimgenError: the directory holds anything else.
    """
    check_output_path(out_dir)
    with output_errors(out_dir, action="cannot read the output directory"):
        if not out_dir.is_dir():
            return
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in overwritable)
    if foreign:
        also = f" or an earlier {earlier}" if earlier else ""
        raise SimgenError(
            f"output exists and is not an empty directory{also} (it holds {foreign[0]})",
            file=out_dir,
        )


def start_dataset(out_dir: Path, folders: Sequence[str], config_text: str | None = None) -> None:
    """Create ``out_dir`` and its ``folders``, delete leftovers of interrupted atomic writes,
    and write ``config.yaml`` (when ``config_text`` is given).

    Raises:
        OutputError: a folder cannot be created or the config written.
    """
    for sub in folders:
        with output_errors(out_dir / sub, action="cannot create the directory"):
            (out_dir / sub).mkdir(parents=True, exist_ok=True)
    with output_errors(out_dir, action="cannot clean up"):
        simgen.io.remove_stale_temporaries(out_dir)
    if config_text is not None:
        atomic_write_text(out_dir / CONFIG_FILE, config_text)


def unfinished(out_dir: Path, count: int) -> list[int]:
    """Indices of images ``0 .. count-1`` without a record (not finished), ascending."""
    return [i for i in range(count) if not record_path(out_dir, i).is_file()]


def drop_annotations(out_dir: Path) -> None:
    """Delete ``annotations.json``: an unfinished dataset has none.

    Raises:
        OutputError: it cannot be deleted.
    """
    path = out_dir / ANNOTATIONS_FILE
    with output_errors(path, action="cannot delete"):
        path.unlink(missing_ok=True)


def load_records(out_dir: Path, count: int) -> list[dict[str, Any]]:
    """The records of images ``0 .. count-1`` in order, converted to the current
    ``schema_version`` (:func:`~simgen.dataset.versions.upgrade_record`)."""
    from simgen.dataset.versions import upgrade_record

    paths = [record_path(out_dir, i) for i in range(count)]
    return [upgrade_record(json.loads(path.read_text()), source=path) for path in paths]


def finalize_dataset(
    out_dir: Path,
    writers: Sequence[Any],
    records: Sequence[dict[str, Any]],
    categories: Sequence[str],
) -> None:
    """Write every format's files (``annotations.json`` first, from :class:`CocoWriter`) from
    the records in image order (:class:`simgen.formats.base.Writer`).

    Raises:
        OutputError: a format file cannot be written (the records stay; re-running writes
            them again).
    """
    for writer in writers:
        with output_errors(out_dir, action="cannot write"):
            writer.finalize(out_dir, records, categories)
