"""``vidcolor INPUT`` (``vidcolor colorize``): a film or a photograph coloured; its options are the settings'
flags, and every command that colours borrows them from here."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from vidcolor.cli.common import (
    PLAN_OPTION,
    SHOT_OPTION,
    app,
    configure_logging,
    default_of,
    err_console,
    interruptible,
    say_written,
    setting_option,
    with_progress,
)
from vidcolor.cli.shots import (
    checked,
    parse_shots,
    plan_for_run,
    read_plan_option,
    refuse_for_photo,
    settings_with_plan,
)
from vidcolor.errors import UsageError
from vidcolor.frames.timecode import FrameRange
from vidcolor.photos import colorize_photo, default_photo_output, is_photo
from vidcolor.pipeline import colorize_video
from vidcolor.settings import Settings


@app.command(
    epilog="Also: 'vidcolor plan INPUT --style REF' (the shot table and an editable plan), "
    "'vidcolor studio INPUT --style REF' (a local web page to steer the colour shot by shot), "
    "'vidcolor preview INPUT --style REF [--at TIME]' (a few seconds and a contact sheet), "
    "'vidcolor batch INPUTS... --style REF -o OUTDIR' (many files, resumable), "
    "'vidcolor hints-template INPUT --at TIME -o frame.png' (a frame to paint --hints on), "
    "'vidcolor weights list|verify|fetch|import' (feature networks' files), "
    "'vidcolor cache info|clean' (the keyframe cache), 'vidcolor --version'. "
    "--debug on any command shows an error's traceback (same exit code). "
    "'vidcolor INPUT ...' is short for 'vidcolor colorize INPUT ...'."
)
def colorize(
    ctx: typer.Context,
    input: Annotated[
        Path,
        typer.Argument(
            help="Black-and-white (or colour, taken as luma) video; an image sequence (its folder, "
            "scan_%06d.dpx or 'scan_*.tiff': DPX, TIFF, PNG, EXR, JPEG); or a photograph (PNG, JPEG, TIFF...)."
        ),
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
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (.mp4, .mkv, .mov) or image sequence (FOLDER/NAME_%06d.tiff, .png, .dpx, .exr); "
            "default NAME.colorized.mp4",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing output file.")] = False,
    audio: Annotated[
        Path | None,
        typer.Option(
            help="A sound file (a scan's WAV) muxed beside the pictures from the first frame, copied as it is "
            "(PCM into .mov/.mkv, FLAC into .mkv), for an input without audio."
        ),
    ] = None,
    fit_audio: Annotated[
        bool,
        typer.Option(help="An --audio longer than the pictures is cut at the last frame; a shorter one ends early."),
    ] = False,
    plan_file: Annotated[Path | None, PLAN_OPTION] = None,
    shot: Annotated[list[str] | None, SHOT_OPTION] = None,
    jobs: Annotated[
        int,
        typer.Option(
            help="Workers colouring the film's shots in parallel, joined without re-encoding (0: as many as cores "
            "and memory fit); an interrupted render resumes from its finished segments."
        ),
    ] = 1,
    executor: Annotated[
        str,
        typer.Option(
            help="Where the shots run with --jobs: local (worker processes), ray (a Ray cluster; paths every node "
            "sees; pip install 'vidcolor\\[ray]') or inline (this process, one segment at a time)."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: start a local Ray instance).")
    ] = None,
    share_device: Annotated[
        str,
        typer.Option(
            help="With --jobs: the workers' keyframes solved together on one device, their networks loaded once "
            "(optim colorizer, automatic colour): auto (with 2 local workers or more; with --executor ray, on a "
            "cluster with GPUs: a service on each GPU for its node's tasks), on, off."
        ),
    ] = "auto",
    start: Annotated[str | None, setting_option("frame_range.start")] = None,
    end: Annotated[str | None, setting_option("frame_range.end")] = None,
    duration: Annotated[str | None, setting_option("frame_range.duration")] = None,
    rate: Annotated[str, setting_option("sequence.rate")] = default_of("sequence.rate"),
    allow_gaps: Annotated[bool, setting_option("sequence.allow_gaps")] = default_of("sequence.allow_gaps"),
    device: Annotated[str, setting_option("device")] = default_of("device"),
    codec: Annotated[str, setting_option("encoder.codec")] = default_of("encoder.codec"),
    crf: Annotated[int, setting_option("encoder.crf")] = default_of("encoder.crf"),
    preset: Annotated[str, setting_option("encoder.preset")] = default_of("encoder.preset"),
    profile: Annotated[str, setting_option("encoder.profile")] = default_of("encoder.profile"),
    timecode: Annotated[str, setting_option("encoder.timecode")] = default_of("encoder.timecode"),
    lossless: Annotated[bool, setting_option("encoder.lossless")] = default_of("encoder.lossless"),
    keyframe_interval: Annotated[int, setting_option("keyframe_interval")] = default_of("keyframe_interval"),
    work_size: Annotated[int, setting_option("work_size")] = default_of("work_size"),
    flow_preset: Annotated[str, setting_option("flow_options.preset")] = default_of("flow_options.preset"),
    flow_size: Annotated[int, setting_option("flow_options.size")] = default_of("flow_options.size"),
    colorizer: Annotated[str, setting_option("colorizer")] = default_of("colorizer"),
    features: Annotated[str, setting_option("solver.features")] = default_of("solver.features"),
    clip: Annotated[bool, setting_option("solver.clip")] = default_of("solver.clip"),
    clip_prompts: Annotated[bool, setting_option("solver.clip_prompts")] = default_of("solver.clip_prompts"),
    iterations: Annotated[int, setting_option("solver.iterations")] = default_of("solver.iterations"),
    solve_size: Annotated[int, setting_option("solver.solve_size")] = default_of("solver.solve_size"),
    weights_dir: Annotated[Path | None, setting_option("weights_dir")] = default_of("weights_dir"),
    segmenter: Annotated[str, setting_option("segmenter")] = default_of("segmenter"),
    auto_model: Annotated[str, setting_option("auto_model")] = default_of("auto_model"),
    debug_masks: Annotated[
        Path | None, typer.Option(help="Write region overlays (PNG) of the reference and each keyframe here.")
    ] = None,
    cache_dir: Annotated[Path | None, setting_option("cache_dir")] = default_of("cache_dir"),
    use_cache: Annotated[bool, setting_option("use_cache")] = default_of("use_cache"),
    cache_limit: Annotated[int, setting_option("cache_limit_mb")] = default_of("cache_limit_mb"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each stage does.")] = False,
) -> None:
    """Colorize INPUT after the colours of --style and write OUTPUT with the input's audio; a photograph gives a photograph (NAME.colorized.png by default)."""
    configure_logging(quiet=quiet, verbose=verbose)
    frame_range = FrameRange.parse(start, end, duration)
    if is_photo(input):
        refuse_for_photo(input, plan_file, shot)
        if audio is not None:
            raise UsageError(f"{input}: a photograph has no sound; --audio is for films and image sequences")
    # Settings check every value here, before any model loads; a plan's recorded settings stand where no flag is given.
    base = read_plan_option(plan_file)
    settings = settings_with_plan(ctx, locals(), SETTING_PATHS, frame_range, base, str(plan_file))
    shot_references, _ = parse_shots(shot)
    with interruptible(output or input):
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
        result = with_progress(
            quiet,
            input.name,
            lambda progress: colorize_video(
                input,
                list(style or []) if plan is None else [],
                output,  # None: the library's default name, with the codec's usual type
                settings,
                overwrite=overwrite,
                progress=progress,
                debug_masks=debug_masks,
                hints=list(hints or []) if plan is None else [],
                plan=plan,
                audio=audio,
                fit_audio=fit_audio,
                jobs=jobs,
                executor=executor,
                address=ray_address,
                share_device=share_device,
                on_segments=getattr(progress, "segments", None),  # the bar shows them (cli.progress)
            ),
        )
    if not quiet:
        say_written(result)


def setting_paths(command: Callable[..., None]) -> dict[str, str]:
    """``command``'s parameters declared with :func:`setting_option`, and the settings field each sets (the time
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
SETTING_PATHS = setting_paths(colorize)


def settings_from(values: dict[str, Any], frame_range: FrameRange) -> Settings:
    return checked(
        Settings.from_paths(
            {"frame_range": frame_range, **{path: values[name] for name, path in SETTING_PATHS.items()}}
        )
    )


def with_settings_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` (ending in ``**options``) offered with every option of colorize that builds Settings:
    typer reads the signature set here, and passes those options into ``**options``."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
    shared = [p for p in inspect.signature(colorize, eval_str=True).parameters.values() if p.name in SETTING_PATHS]
    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    return command
