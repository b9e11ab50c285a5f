"""The ``vidcolor`` command: builds options, calls the library, turns errors into exit codes."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import inspect
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from vidcolor import __version__
from vidcolor.cli.shots import (
    checked,
    parse_shots,
    plan_for_run,
    read_plan_option,
    refuse_for_photo,
    settings_with_plan,
)
from vidcolor.errors import UsageError, VidcolorError
from vidcolor.frames.output import default_output_path
from vidcolor.frames.timecode import FrameRange, clock, parse_time
from vidcolor.photos import colorize_photo, default_photo_output, is_photo
from vidcolor.pipeline import ColorizeResult, ProgressCallback, colorize_video
from vidcolor.preview import preview_video
from vidcolor.settings import OPTIONS, Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Colorize black-and-white video from a colour reference image.\n\n"
    "Usage: vidcolor INPUT [--style REF | --hints HINTS@TIME] [-o OUTPUT] (the 'colorize' command is the default; "
    "without --style and --hints, colour comes from a colorization network).",
)
SUBCOMMANDS = {"colorize", "plan", "preview", "batch", "hints-template", "weights", "cache"}
EXIT_INTERNAL = 70
T = TypeVar("T")

DEFAULTS = Settings()
# Library messages name API arguments that are not settings; the CLI's names for them.
_API_FLAGS = {
    "overwrite": "-y",
    "preview.at": "--at",
    "preview.duration": "--duration",
    "hints": "--hints",
    "shot": "--shot",
}

PLAN_OPTION = typer.Option(
    "--plan",
    help="Render this shot plan (NAME.plan.toml from 'vidcolor plan'): its cuts, each shot's reference, hints and "
    "overrides, and its settings where no flag is given.",
)
SHOT_OPTION = typer.Option(
    "--shot",
    help="N=REF[@TIME]: shot N's own reference (placed in that shot, or pinned); repeat for several shots. "
    "'vidcolor plan' lists the shots.",
)

# Lines are never wrapped: logs of long batch runs are read and searched line by line.
err_console = Console(stderr=True, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vidcolor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Colorize black-and-white video from a colour reference image."""


def _option(path: str, *aliases: str) -> Any:
    """The typer option of a declared setting: its flag and help come from ``vidcolor.settings``."""
    declared = OPTIONS[path]
    choices = f" ({', '.join(declared.choices)})" if declared.choices else ""
    unit = f" ({declared.unit})" if declared.unit else ""
    option = typer.Option(declared.flag, *aliases, help=f"{declared.help}{choices}{unit}", show_default=True)
    option.setting = path  # the field it sets, read back by _setting_paths
    return option


def _default(path: str) -> Any:
    """A setting's default, read from a default ``Settings`` (never restated here)."""
    return functools.reduce(getattr, path.split("."), DEFAULTS)


def _flag_of(name: str) -> str:
    """What the CLI calls a setting or API argument named in a library message."""
    if name in _API_FLAGS:
        return _API_FLAGS[name]
    declared = OPTIONS.get(name)
    return declared.flag if declared is not None and declared.flag else name


@app.command(
    epilog="Also: 'vidcolor weights list|verify|fetch|import' (feature networks' files), "
    "'vidcolor cache info|clean' (the keyframe cache), 'vidcolor preview INPUT --style REF [--at TIME]' "
    "(a few seconds and a contact sheet), 'vidcolor batch INPUTS... --style REF -o OUTDIR' (many files, "
    "resumable), 'vidcolor hints-template INPUT --at TIME -o frame.png' (a frame to paint --hints on), "
    "'vidcolor --version'. "
    "'vidcolor INPUT ...' is short for 'vidcolor colorize INPUT ...'."
)
def colorize(
    ctx: typer.Context,
    input: Annotated[
        Path,
        typer.Argument(help="Black-and-white (or colour, taken as luma) video, or a photograph (PNG, JPEG, TIFF...)."),
    ],
    style: Annotated[
        list[str] | None,
        typer.Option(
            "--style",
            "-s",
            help="Colour reference image, or a folder of them; repeat for several. PATH@TIME pins one "
            "to the frame it shows (TIME as --start: 12.5, 01:02, 300f).",
        ),
    ] = None,
    hints: Annotated[
        list[str] | None,
        typer.Option(
            "--hints",
            help="Colour hints for a frame: a picture with coloured strokes (transparent or grey = no hint) "
            "or points (JSON/CSV: x,y,#rrggbb); HINTS@TIME marks the frame TIME from the run's start "
            "(default its first frame). Repeat for several frames.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file (.mp4, .mkv, .mov); default NAME.colorized.mp4")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing output file.")] = False,
    plan_file: Annotated[Path | None, PLAN_OPTION] = None,
    shot: Annotated[list[str] | None, SHOT_OPTION] = None,
    start: Annotated[str | None, _option("frame_range.start")] = None,
    end: Annotated[str | None, _option("frame_range.end")] = None,
    duration: Annotated[str | None, _option("frame_range.duration")] = None,
    device: Annotated[str, _option("device")] = _default("device"),
    codec: Annotated[str, _option("encoder.codec")] = _default("encoder.codec"),
    crf: Annotated[int, _option("encoder.crf")] = _default("encoder.crf"),
    preset: Annotated[str, _option("encoder.preset")] = _default("encoder.preset"),
    keyframe_interval: Annotated[int, _option("keyframe_interval")] = _default("keyframe_interval"),
    work_size: Annotated[int, _option("work_size")] = _default("work_size"),
    flow_preset: Annotated[str, _option("flow_preset")] = _default("flow_preset"),
    colorizer: Annotated[str, _option("colorizer")] = _default("colorizer"),
    features: Annotated[str, _option("solver.features")] = _default("solver.features"),
    clip: Annotated[bool, _option("solver.clip")] = _default("solver.clip"),
    clip_prompts: Annotated[bool, _option("solver.clip_prompts")] = _default("solver.clip_prompts"),
    iterations: Annotated[int, _option("solver.iterations")] = _default("solver.iterations"),
    solve_size: Annotated[int, _option("solver.solve_size")] = _default("solver.solve_size"),
    weights_dir: Annotated[Path | None, _option("weights_dir")] = _default("weights_dir"),
    segmenter: Annotated[str, _option("segmenter")] = _default("segmenter"),
    auto_model: Annotated[str, _option("auto_model")] = _default("auto_model"),
    debug_masks: Annotated[
        Path | None, typer.Option(help="Write region overlays (PNG) of the reference and each keyframe here.")
    ] = None,
    cache_dir: Annotated[Path | None, _option("cache_dir")] = _default("cache_dir"),
    use_cache: Annotated[bool, _option("use_cache")] = _default("use_cache"),
    cache_limit: Annotated[int, _option("cache_limit_mb")] = _default("cache_limit_mb"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
) -> None:
    """Colorize INPUT after the colours of --style and write OUTPUT with the input's audio; a photograph gives a photograph (NAME.colorized.png by default)."""
    _configure_logging(quiet=quiet, verbose=verbose)
    frame_range = FrameRange.parse(start, end, duration)
    if is_photo(input):
        refuse_for_photo(input, plan_file, shot)
    # Settings check every value here, before any model loads; a plan's recorded settings stand where no flag is given.
    base = read_plan_option(plan_file)
    settings = settings_with_plan(ctx, locals(), SETTING_PATHS, frame_range, base, str(plan_file))
    shot_references, _ = parse_shots(shot)
    with _interruptible(output or input):
        if is_photo(input):
            photo = colorize_photo(
                input, list(style or []), output or default_photo_output(input), settings, overwrite=overwrite
            )
            if not quiet:
                err_console.print(
                    f"[green]wrote[/green] {photo.output}  ({photo.width}x{photo.height}, {photo.bit_depth}-bit)"
                )
            return
        plan = plan_for_run(input, base, style or [], hints or [], shot_references, settings)
        result = _with_progress(
            quiet,
            input.name,
            lambda progress: colorize_video(
                input,
                list(style or []) if plan is None else [],
                output or default_output_path(input),
                settings,
                overwrite=overwrite,
                progress=progress,
                debug_masks=debug_masks,
                hints=list(hints or []) if plan is None else [],
                plan=plan,
            ),
        )
    if not quiet:
        _say_written(result)


def _setting_paths(command: Callable[..., None]) -> dict[str, str]:
    """``command``'s parameters declared with :func:`_option`, and the settings field each sets (the time
    range aside: ``FrameRange.parse`` reads those three)."""
    paths = {}
    for parameter in inspect.signature(command, eval_str=True).parameters.values():
        for meta in getattr(parameter.annotation, "__metadata__", ()):
            path = getattr(meta, "setting", None)
            if path is not None and not path.startswith("frame_range."):
                paths[parameter.name] = path
    return paths


# Each command that colours takes the colorize command's options that build Settings: parameter → field
# path, read from its signature, so an option added there reaches Settings (and preview and batch) by itself.
SETTING_PATHS = _setting_paths(colorize)


def _settings_from(values: dict[str, Any], frame_range: FrameRange) -> Settings:
    return checked(
        Settings.from_paths(
            {"frame_range": frame_range, **{path: values[name] for name, path in SETTING_PATHS.items()}}
        )
    )


@contextlib.contextmanager
def _interruptible(output: Path) -> Iterator[None]:
    """Ctrl-C, or SIGTERM/SIGHUP turned into the same interruption by main(), as one line and 128 + signal
    (the library has removed its temporary file on the way out)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        err_console.print(
            f"vidcolor: interrupted ({signal.Signals(signum).name}); nothing was written to {output}",
            highlight=False,
        )
        raise typer.Exit(128 + signum) from None


def _with_progress(quiet: bool, name: str, work: Callable[[ProgressCallback | None], T]) -> T:
    if quiet:
        return work(None)
    from vidcolor.cli.progress import FrameProgress

    with FrameProgress(err_console, name) as bar:
        return work(bar)


def _say_written(result: ColorizeResult) -> None:
    err_console.print(
        f"[green]wrote[/green] {result.output}  ({result.frames} frames, {result.shots} shots, "
        f"{result.keyframes} keyframes, {result.audio_packets} audio packets, "
        f"{result.frames / max(result.seconds, 1e-9):.1f} fps)"
    )


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
    _configure_logging(quiet=quiet, verbose=verbose)
    base = read_plan_option(plan_file)
    settings = settings_with_plan(ctx, options, SETTING_PATHS, FrameRange(), base, str(plan_file))
    shot_references, chosen = parse_shots(shot, selecting=True)
    at_point = parse_time(at, setting="preview.at") if at else None
    length = parse_time(duration, setting="preview.duration")
    with _interruptible(output or input):
        plan = plan_for_run(input, base, style or [], hints or [], shot_references, settings)
        result = _with_progress(
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
        _say_written(result.video)
        err_console.print(f"[green]wrote[/green] {result.sheet}  (contact sheet from {clock(result.start_s)})")


def _with_settings_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` (ending in ``**options``) offered with every option of colorize that builds Settings:
    typer reads the signature set here, and passes those options into ``**options``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
    shared = [p for p in inspect.signature(colorize, eval_str=True).parameters.values() if p.name in SETTING_PATHS]
    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    return command


app.command()(_with_settings_options(preview))


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


EXIT_PARTIAL = 8  # a batch where some items failed (each recorded with its error); the others were written


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
        typer.Option(help="Where items run: local (this machine) or ray (a Ray cluster; pip install 'vidcolor[ray]')."),
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

    _configure_logging(quiet=quiet, verbose=verbose)
    if status is not None:
        _print_status(status)
        return
    if not inputs or output is None:
        raise UsageError("batch needs INPUTS... and -o OUTDIR (or --status OUTDIR)")
    settings = _settings_from(options, FrameRange())
    items = collect_items(inputs, output, style or [], ReferenceMap.read(mapping) if mapping else None, hints or [])

    from vidcolor.cli.progress import BatchProgress

    with BatchProgress(err_console, len(items), quiet=quiet) as bar:

        def report(outcome: Any, finished: int, total: int) -> None:
            what = (
                f"[green]done[/green] {outcome.input}  ({outcome.seconds:.1f} s)"
                if outcome.ok
                else (f"[red]failed[/red] {outcome.error}")
            )
            bar.finished(str(outcome.input), f"[{finished}/{total}] {what}", ok=outcome.ok)

        with _interruptible(output):
            result = run_batch(
                items,
                output,
                settings,
                jobs=jobs,
                executor=executor,
                address=ray_address,
                on_outcome=report,
                on_start=lambda item: bar.started(str(item.input)),
            )
    if not quiet:
        err_console.print(
            f"batch: {len(result.done)} coloured, {len(result.skipped)} already done, {len(result.failed)} failed "
            f"({result.seconds:.1f} s, {executor}); manifest in {output}"
        )
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)


app.command()(_with_settings_options(batch))


def _print_status(outdir: Path) -> None:
    from rich.table import Table

    from vidcolor.batch import Manifest

    rows = Manifest.existing(outdir).rows()
    table = Table(title=f"{outdir}: {len(rows)} items")
    for column in ("input", "status", "seconds", "frames", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        seconds = f"{row.seconds:.1f}" if row.seconds is not None else ""
        table.add_row(row.input, row.status, seconds, str(row.frames or ""), row.error or "")
    Console(soft_wrap=True).print(table)


weights_app = typer.Typer(
    help="List, verify, fetch or import the feature networks' weight files.", no_args_is_help=True
)
app.add_typer(weights_app, name="weights")
WeightsDir = Annotated[
    Path | None, typer.Option("--dir", help="Weights folder (default weights/ or $VIDCOLOR_WEIGHTS).")
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
            typer.echo(f"{w.name}: ok ({path})")
        else:
            typer.echo(f"{w.name}: missing")


@weights_app.command("fetch")
def weights_fetch(
    name: Annotated[str, typer.Argument(help="vgg19 or clip-vit-b32")], folder: WeightsDir = None
) -> None:
    """Download a weight file from its official URL, verify it and put it in place."""
    from vidcolor import weights

    typer.echo(f"wrote {weights.fetch(name, folder)}")


@weights_app.command("import")
def weights_import(
    name: Annotated[str, typer.Argument(help="vgg19, clip-vit-b32 or bisenet")],
    source: Annotated[Path, typer.Argument(help="A copy of the file you already have.")],
    folder: WeightsDir = None,
) -> None:
    """Verify a weight file you already have and copy it into the weights folder."""
    from vidcolor import weights

    typer.echo(f"wrote {weights.import_file(name, source, folder)}")


cache_app = typer.Typer(help="Show or empty the keyframe cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
CacheDir = Annotated[
    Path | None,
    typer.Option("--dir", help="Cache folder (default $VIDCOLOR_CACHE, a checkout's cache/, else ~/.cache/vidcolor)."),
]


@cache_app.command("info")
def cache_info(folder: CacheDir = None) -> None:
    """Where the keyframe cache is, how many entries it holds and how much disk they take."""
    from vidcolor.cache import entries
    from vidcolor.places import cache_place

    place = cache_place(folder)
    found = entries(place.path) if place.path.is_dir() else []
    size = sum(e.size for e in found)
    typer.echo(f"{place.path} ({place.why}): {len(found)} entries, {size / 2**20:.1f} MB")


@cache_app.command("clean")
def cache_clean(folder: CacheDir = None) -> None:
    """Remove every entry of the keyframe cache (it only saves time; runs rebuild it)."""
    from vidcolor.cache import evict
    from vidcolor.places import cache_place

    place = cache_place(folder)
    removed = evict(place.path, 0) if place.path.is_dir() else []
    typer.echo(f"{place.path}: removed {len(removed)} entries, {sum(e.size for e in removed) / 2**20:.1f} MB")


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _configure_logging(*, quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose and not quiet else logging.WARNING
    logger = logging.getLogger("vidcolor")
    handler: logging.Handler
    if err_console.is_terminal:
        handler = RichHandler(console=err_console, show_path=False, show_time=False)
    else:  # a log file or a pipe: one plain line per message, never wrapped
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter("vidcolor: %(levelname)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def run(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (what ``main`` exits with)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in ([], ["--help"], ["-h"]):  # the main job's options, not just a list of commands
        args = ["colorize", "--help"]
    if args and args[0] not in SUBCOMMANDS and not args[0].startswith("-"):
        args.insert(0, "colorize")  # `vidcolor movie.mp4 --style ref.jpg`
    debug = "--debug" in args or os.environ.get("VIDCOLOR_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and exits through SystemExit.
        typer.main.get_command(app).main(args=args, prog_name="vidcolor", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except VidcolorError as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]vidcolor: error:[/bold red] {exc.render(_flag_of)}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except Exception as exc:  # a bug: one line for users, the traceback with --debug
        if debug:
            raise
        err_console.print(
            f"vidcolor: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INTERNAL
    return 0


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at two for this process.

    glibc gives each allocating thread (decoder, x264, OpenCV workers) an arena of its own; with
    many large short-lived arrays they fragment and resident memory creeps up with video length
    (measured on a 3000-frame 640x360 run: +31 MB over 2000 frames by default, +9 MB with two arenas).
    The CLI owns the process, so it sets this; the library leaves process-wide settings alone.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``timeout``, ``docker stop``, systemd, a closed terminal), handled as Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main() -> None:
    _limit_malloc_arenas()
    # The CLI owns the process, so it decides what these signals do: unwind like Ctrl-C, so that
    # every ``finally`` runs and no temporary file is left behind (exit 128 + the signal's number).
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    sys.exit(run())
