"""``simgen assets``: list the asset library (names, licences, installed or not) and install it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simgen.library import PREFIX, check_library, install, read_library

OWN_PHOTOS = (
    "Your own photos: any folder of images (searched recursively), e.g. "
    "--set background.texture.folder=/data/my_photos (with kinds: [image])."
)


def _licences(library, folder: str) -> str:
    return ", ".join(sorted({f.licence for f in library.files_under(folder)}))


def register(app: typer.Typer) -> None:
    """Add ``simgen assets`` (and ``simgen assets install``) to the app."""
    assets_app = typer.Typer(
        help="The asset library: names scenes use as assets:NAME, licences, install.",
        invoke_without_command=True,
    )

    @assets_app.callback()
    def listing(ctx: typer.Context) -> None:
        """List every asset name: its files, licences, whether it is installed, and its folder."""
        if ctx.invoked_subcommand is not None:
            return
        from rich.console import Console
        from rich.table import Table

        library = read_library()
        check_library(library)
        table = Table(title=f"asset library {library.root}")
        for column in ("name", "files", "licence", "installed", "about"):
            table.add_column(column)
        for name in library.names.values():
            table.add_row(
                f"{PREFIX}{name.name}",
                str(len(library.files_under(name.folder))),
                _licences(library, name.folder),
                "yes" if library.installed(name.name) else "no: simgen assets install",
                name.about,
            )
        console = Console(width=160)
        console.print(table)
        example = f"ground.texture: {{kinds: [image], folder: {PREFIX}textures}}"
        console.print(f"Use one in a scene: {example}", markup=False)
        console.print(OWN_PHOTOS, markup=False)
        console.print(f"Origins and checksums: {library.root / 'index.yaml'}", markup=False)

    @assets_app.command("install")
    def install_command(
        wheel: Annotated[
            Path | None,
            typer.Option(help="A scikit-image wheel already on disk (default: pip download it)."),
        ] = None,
    ) -> None:
        """Install the setup-time assets (from the pinned scikit-image wheel) and verify them."""
        library = read_library()
        check_library(library)
        written = install(library, wheel)
        total = sum(1 for f in library.files.values() if f.source is not None)
        typer.echo(
            f"assets: {len(written)} installed now, {total - len(written)} already in place, "
            f"all {total} verified by sha256 -> {library.root / 'installed'}"
        )

    app.add_typer(assets_app, name="assets")
