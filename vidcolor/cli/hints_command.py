"""``vidcolor hints-template``: the grey frame to paint colour hints on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidcolor.cli.common import app, err_console
from vidcolor.frames.timecode import parse_time


@app.command("hints-template")
def hints_template(
    input: Annotated[Path, typer.Argument(help="The video.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PNG to write (the frame in grey, full size).")],
    at: Annotated[str, typer.Option(help="The frame's time (as --start), from the video's start.")] = "0",
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing file.")] = False,
) -> None:
    """Write the greyscale frame at TIME as a PNG to paint colour hints on (grey pixels mean no hint)."""
    from vidcolor.hints_template import write_hints_template

    written = write_hints_template(input, output, parse_time(at, setting="preview.at"), overwrite=overwrite)
    err_console.print(f"[green]wrote[/green] {written}  (paint colours on it; pass it as --hints {written.name}@{at})")
