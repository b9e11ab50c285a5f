"""``vidcolor batch``: many videos and photographs into one folder, resumable through its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vidcolor.cli.colorize_command import settings_from, with_settings_options
from vidcolor.cli.common import app, configure_logging, err_console, interruptible
from vidcolor.errors import EXIT_PARTIAL, UsageError
from vidcolor.frames.encode import CONTAINERS_OF
from vidcolor.frames.timecode import FrameRange


def batch(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Videos, photographs, folders (walked recursively) or @list.txt files of paths."),
    ] = None,
    style: Annotated[
        list[str] | None, typer.Option("--style", "-s", help="Reference(s) for items the --map does not cover.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output folder (mirrors the input tree).")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--map", help="TOML or CSV: glob pattern -> reference image(s), first match wins.")
    ] = None,
    hints: Annotated[
        list[str] | None, typer.Option("--hints", help="Colour hints for every item, as for colorize.")
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="Items coloured in parallel (0: as many as cores and memory fit).", min=0)
    ] = 1,
    executor: Annotated[
        str,
        typer.Option(
            help="Where items run: local (this machine) or ray (a Ray cluster; pip install 'vidcolor\\[ray]')."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: start a local Ray instance).")
    ] = None,
    status: Annotated[
        Path | None, typer.Option("--status", help="Print the manifest of this output folder and exit.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
    **options: Any,
) -> None:
    """Colour many videos and photographs into one folder; resumable (a manifest in the folder skips what is done). A video with NAME.plan.toml beside it is rendered from that plan; without --style, --map and --hints, the automatic network colours the items."""
    from vidcolor.batch import ReferenceMap, collect_items, run_batch

    configure_logging(quiet=quiet, verbose=verbose)
    if status is not None:
        print_status(status)
        return
    if not inputs or output is None:
        raise UsageError("batch needs INPUTS... and -o OUTDIR (or --status OUTDIR)")
    settings = settings_from(options, FrameRange())
    items = collect_items(
        inputs,
        output,
        style or [],
        ReferenceMap.read(mapping) if mapping else None,
        hints or [],
        video_types=CONTAINERS_OF[settings.encoder.codec],
    )

    from vidcolor.cli.progress import BatchProgress

    # For the line an interruption prints: what was kept, what was stopped.
    done: list[int] = [0]
    running: set[Path] = set()

    def kept() -> str:
        return (
            f"{done[0]} item{'s' * (done[0] != 1)} finished and kept in {output}; {len(running)} in progress "
            "stopped (run the same batch again to finish them)"
        )

    with BatchProgress(err_console, len(items), quiet=quiet) as bar:

        def started(item: Any) -> None:
            running.add(item.input)
            bar.started(str(item.input))

        def report(outcome: Any, finished: int, total: int) -> None:
            done[0] += outcome.ok
            running.discard(outcome.input)
            what = (
                f"[green]done[/green] {outcome.input}  ({outcome.seconds:.1f} s)"
                if outcome.ok
                else (f"[red]failed[/red] {outcome.error}")
            )
            bar.finished(str(outcome.input), f"[{finished}/{total}] {what}", ok=outcome.ok)

        with interruptible(output, kept):
            result = run_batch(
                items,
                output,
                settings,
                jobs=jobs,
                executor=executor,
                address=ray_address,
                on_outcome=report,
                on_start=started,
            )
    if not quiet:
        err_console.print(
            f"batch: {len(result.done)} coloured, {len(result.skipped)} already done, {len(result.failed)} failed "
            f"({result.seconds:.1f} s, {executor}); manifest in {output}"
        )
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


app.command()(with_settings_options(batch))


def print_status(outdir: Path) -> None:
    from rich.table import Table

    from vidcolor.batch import Manifest

    rows = Manifest.existing(outdir).rows()
    table = Table(title=f"{outdir}: {len(rows)} items")
    for column in ("input", "colour", "output", "status", "seconds", "frames", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        seconds = f"{row.seconds:.1f}" if row.seconds is not None else ""
        table.add_row(
            row.input, row.colour or "", row.output, row.status, seconds, str(row.frames or ""), row.error or ""
        )
    Console(soft_wrap=True).print(table)
