"""``vidcolor preview``: a few seconds (or one shot) coloured exactly as a full run would, and a contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidcolor.cli.colorize_command import SETTING_PATHS, with_settings_options
from vidcolor.cli.common import (
    PLAN_OPTION,
    app,
    configure_logging,
    err_console,
    interruptible,
    say_written,
    with_progress,
)
from vidcolor.cli.shots import parse_shots, plan_for_run, read_plan_option, settings_with_plan
from vidcolor.frames.timecode import FrameRange, clock, parse_time
from vidcolor.preview import preview_video


def preview(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help="The video to preview.")],
    style: Annotated[list[str] | None, typer.Option("--style", "-s", help="As for colorize.")] = None,
    hints: Annotated[
        list[str] | None, typer.Option("--hints", help="As for colorize; TIME counts from the video's start.")
    ] = None,
    plan_file: Annotated[Path | None, PLAN_OPTION] = None,
    shot: Annotated[
        list[str] | None,
        typer.Option(
            "--shot", help="N: preview shot N, whole; N=REF[@TIME]: shot N's own reference (as for colorize)."
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Where the range starts (time as --start); default: centred on the middle.")
    ] = None,
    duration: Annotated[str, typer.Option(help="How long (time as --duration).")] = "3s",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output clip; default NAME.preview.mp4 (sheet: OUT.sheet.png)")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Replace existing outputs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
    **options: Any,
) -> None:
    """Colour a few seconds of INPUT (or one shot, --shot N) exactly as a full run would; write the clip with its audio and a contact sheet (greyscale | colorized | regions)."""
    configure_logging(quiet=quiet, verbose=verbose)
    base = read_plan_option(plan_file)
    settings = settings_with_plan(ctx, options, SETTING_PATHS, FrameRange(), base, str(plan_file))
    shot_references, chosen = parse_shots(shot, selecting=True)
    at_point = parse_time(at, setting="preview.at") if at else None
    length = parse_time(duration, setting="preview.duration")
    with interruptible(output or input):
        plan = plan_for_run(input, base, style or [], hints or [], shot_references, settings)
        result = with_progress(
            quiet,
            input.name,
            lambda progress: preview_video(
                input,
                list(style or []) if plan is None else [],
                output,
                settings,
                at=at_point,
                duration=length,
                overwrite=overwrite,
                progress=progress,
                hints=list(hints or []) if plan is None else [],
                plan=plan,
                shot=chosen[0] if chosen else None,
            ),
        )
    if not quiet:
        say_written(result.video)
        err_console.print(f"[green]wrote[/green] {result.sheet}  (contact sheet from {clock(result.start_s)})")


app.command()(with_settings_options(preview))
