"""``vidcolor plan``: the shot table of a film, and the plan file a restorer edits and renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vidcolor.cli.colorize_command import SETTING_PATHS, with_settings_options
from vidcolor.cli.common import PLAN_OPTION, SHOT_OPTION, app, configure_logging, err_console, interruptible
from vidcolor.cli.shots import parse_shots, print_shot_table, read_plan_option, settings_with_plan
from vidcolor.film.executors import EXECUTORS, check_jobs
from vidcolor.frames.timecode import FrameRange
from vidcolor.plan import default_plan_path, plan_to_json, plan_video, write_plan


def plan(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help="The video to plan.")],
    style: Annotated[list[str] | None, typer.Option("--style", "-s", help="As for colorize.")] = None,
    hints: Annotated[list[str] | None, typer.Option("--hints", help="As for colorize.")] = None,
    shot: Annotated[list[str] | None, SHOT_OPTION] = None,
    plan_file: Annotated[Path | None, PLAN_OPTION] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The plan file to write (.toml or .json); default NAME.plan.toml"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the plan as JSON on stdout (and write no file unless -o is given).")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing plan file.")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            help="Worker processes decoding the analysis pass in chunks, for a film of 3,000 frames or more (0: as "
            "many as cores and memory fit); the plan is the same."
        ),
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
    **options: Any,
) -> None:
    """List INPUT's shots (frames, timecodes, each shot's reference, similarity and status) and write the plan
    file that 'vidcolor INPUT --plan FILE' renders. With --plan, the plan given is brought up to date (its cuts
    and overrides kept)."""
    configure_logging(quiet=quiet, verbose=verbose)
    base = read_plan_option(plan_file)
    settings = settings_with_plan(ctx, options, SETTING_PATHS, FrameRange(), base, str(plan_file))
    shot_references, _ = parse_shots(shot)
    target = output if output is not None else (None if as_json else default_plan_path(input))
    check_jobs(jobs)
    with interruptible(target or input):
        pool = EXECUTORS.load("local").start(jobs) if jobs != 1 else None
        try:
            made = plan_video(input, list(style or []), settings, hints=list(hints or []),
                              shot_references=shot_references, base=base, runner=pool)  # fmt: skip
        finally:
            if pool is not None:
                pool.shutdown(cancel=True)
        if target is not None:
            write_plan(made, target, overwrite=overwrite)
    if as_json:
        typer.echo(plan_to_json(made))
    elif not quiet:
        print_shot_table(Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160), made)
    if target is not None and not quiet:
        err_console.print(
            f"[green]wrote[/green] {target}  (render it: vidcolor {input} --plan {target})", highlight=False
        )


app.command()(with_settings_options(plan))
