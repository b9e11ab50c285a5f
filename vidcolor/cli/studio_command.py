"""``vidcolor studio``: the local web page over a film's shot plan (see ``vidcolor.studio``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidcolor.cli.colorize_command import SETTING_PATHS, with_settings_options
from vidcolor.cli.common import PLAN_OPTION, app, configure_logging, err_console, interruptible
from vidcolor.cli.shots import read_plan_option, settings_with_plan
from vidcolor.frames.timecode import FrameRange
from vidcolor.plan import default_plan_path


def studio(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help="The video to colour.")],
    style: Annotated[
        list[str] | None, typer.Option("--style", "-s", help="References to plan with (as for colorize).")
    ] = None,
    plan_file: Annotated[Path | None, PLAN_OPTION] = None,
    host: Annotated[
        str, typer.Option(help="Where to listen; anywhere but 127.0.0.1 still needs the token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 0,
    jobs: Annotated[
        int,
        typer.Option(help="Workers of the render, shot-parallel as colorize --jobs (0: as many as fit)."),
    ] = 1,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser (print the address only).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors (and the address).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
    **options: Any,
) -> None:
    """Open INPUT in the studio: a local web page to see and steer its colour shot by shot (references, cuts,
    hints, previews, the render). Prints the page's address with its one-time token; Ctrl-C stops it. Without
    --plan or --style, a plan left beside INPUT (NAME.plan.toml) is picked up."""
    from vidcolor.studio import Studio, serve  # the web stack loads only for this command

    configure_logging(quiet=quiet, verbose=verbose)
    if plan_file is None and not style and default_plan_path(input).is_file():
        plan_file = default_plan_path(input)
        err_console.print(f"using the plan beside the input: {plan_file}", highlight=False)
    base = read_plan_option(plan_file) if plan_file is not None else None
    settings = settings_with_plan(ctx, options, SETTING_PATHS, FrameRange(), base, str(plan_file))
    with interruptible(
        None, "the studio stopped; any render or preview it was running was cancelled, leaving no partial file"
    ):
        opened = Studio(input, list(style or []), settings, plan=base, workers=jobs)
        serve(
            opened,
            host=host,
            port=port,
            open_browser=not no_browser,
            on_ready=lambda url: typer.echo(f"vidcolor studio: {url}", err=False),
        )


app.command()(with_settings_options(studio))
