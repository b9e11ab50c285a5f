"""``vidcolor weights list|verify|fetch|import``: the feature networks' weight files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidcolor.cli.common import app
from vidcolor.weights import KNOWN

KNOWN_NAMES = ", ".join(KNOWN)

weights_app = typer.Typer(
    help="List, verify, fetch or import the feature networks' weight files.", no_args_is_help=True
)
app.add_typer(weights_app, name="weights")
WeightsDir = Annotated[
    Path | None,
    typer.Option(
        "--weights-dir", "--dir", help="Weights folder (default weights/ or $VIDCOLOR_WEIGHTS), as for colorize."
    ),
]


@weights_app.command("list")
def weights_list(folder: WeightsDir = None) -> None:
    """Show the known weight files and whether each is present."""
    from vidcolor import weights

    for w in weights.KNOWN.values():
        path = weights.locate(w.name, folder)
        state = f"present: {path}" if path else f"missing: {weights.weights_dir(folder) / w.filename}"
        typer.echo(f"{w.name:14s} {state}")
        typer.echo(f"{'':14s} {w.purpose}; about {w.approx_mb} MB from {w.url}")


@weights_app.command("verify")
def weights_verify(folder: WeightsDir = None) -> None:
    """Check the sha256 of every present weight file."""
    from vidcolor import weights

    for w in weights.KNOWN.values():
        path = weights.locate(w.name, folder)
        if path is not None:
            weights.verify(w.name, path)
            _loads(w.name, path)
            typer.echo(f"{w.name}: ok ({path})")
        else:
            typer.echo(f"{w.name}: missing")


@weights_app.command("fetch")
def weights_fetch(
    name: Annotated[str, typer.Argument(help=f"One of: {KNOWN_NAMES}.")], folder: WeightsDir = None
) -> None:
    """Download a weight file from its official URL, verify it and put it in place."""
    from vidcolor import weights

    typer.echo(f"wrote {weights.fetch(name, folder)}")


@weights_app.command("import")
def weights_import(
    name: Annotated[str, typer.Argument(help=f"One of: {KNOWN_NAMES}.")],
    source: Annotated[Path, typer.Argument(help="A copy of the file you already have.")],
    folder: WeightsDir = None,
) -> None:
    """Verify a weight file you already have and copy it into the weights folder."""
    from vidcolor import weights

    weights.entry(name)  # a typo first
    if source.is_file():
        _loads(name, source)  # before it is installed: a file that is not what it claims never lands
    typer.echo(f"wrote {weights.import_file(name, source, folder)}")


def _loads(name: str, path: Path) -> None:
    """A file with no published digest (bisenet) is checked by loading it, so that a wrong file fails here
    rather than at the next run."""
    if name == "bisenet":
        from vidcolor.segment.bisenet import load_checkpoint

        load_checkpoint(path)
