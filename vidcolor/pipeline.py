"""``colorize_video``: the one public entry of the library, wiring the stages in one stream.

probe → check the output → build the stages → load the references → place them (a quick pass over
thumbnails: shots, and the frame each reference shows) → decode at work size → windows between
keyframes (shot cuts, placed references, interval) → keyframes coloured (cached) and colour carried
between them → chroma back to full size inside the RGB gamut → encoded beside the input's own
luma, audio packets copied → renamed into place. At most one window of frames is in memory.
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec, ycbcr_to_rgb
from vidcolor.colouring import Colouring, full_chroma, plane_chroma
from vidcolor.errors import EncodeError, InputError, OutputError, SettingError, UsageError, check_readable_file
from vidcolor.film.executors import EXECUTORS, SegmentExecutor, check_jobs
from vidcolor.film.render import SegmentsCallback, render_film, start_executor
from vidcolor.frames.audio_file import AudioFile, check_audio_length, read_audio_file
from vidcolor.frames.decode import DecodeStats
from vidcolor.frames.encode import (
    ColorVideoWriter,
    EncoderSettings,
    check_container,
    check_rate,
    codec_setup,
    default_for_codec,
    for_container,
)
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.output import OutputTarget, check_output, default_output_path, requested_output
from vidcolor.frames.probe import UNSPECIFIED, VideoInfo, content_key, probe
from vidcolor.frames.remux import check_mxf_audio
from vidcolor.frames.sequence import (
    SequenceTarget,
    SequenceWriter,
    check_picture_name,
    check_sequence_output,
    is_sequence,
)
from vidcolor.frames.timecode import smpte, smpte_frame
from vidcolor.frames.write_behind import WriteBehind
from vidcolor.hints import HintSource
from vidcolor.keyframes import MaskInspector, WorkFrame
from vidcolor.plan.make import check_plan_for, make_plan, render_parts
from vidcolor.plan.model import Plan
from vidcolor.references import References, StyleSource
from vidcolor.segment.base import Segmenter
from vidcolor.segment.regions import legend, overlay
from vidcolor.settings import Settings
from vidcolor.shared_types import RegionMasks
from vidcolor.solver.base import KeyframeColorizer
from vidcolor.stages import build_stages, check_share_device, check_stage_names
from vidcolor.temporal.flow import FlowEstimator

log = logging.getLogger("vidcolor")

ProgressCallback = Callable[[int, int | None], None]
"""Called with (frames written so far, frames expected or None) after every frame."""


@dataclass(frozen=True)
class ColouredFrame:
    """A frame as written: its decoded luma frame, unit luma and unit chroma ``(H, W, 2)`` at full size."""

    frame: LumaFrame
    luma: np.ndarray
    chroma: np.ndarray
    matrix: str

    def rgb(self) -> np.ndarray:
        """Unit RGB ``(H, W, 3)`` float32, clipped."""
        return np.clip(ycbcr_to_rgb(self.luma, self.chroma, self.matrix), 0.0, 1.0)


FrameCallback = Callable[[ColouredFrame], None]


@dataclass(frozen=True)
class ColorizeResult:
    output: Path
    frames: int
    keyframes: int
    keyframes_from_cache: int
    shots: int
    masks_tracked: int
    audio_packets: int
    seconds: float
    device: str
    keyframe_sources: dict[str, float]  # mean share of each colour source over the coloured keyframes
    plan: Plan | None = None  # the plan the run rendered (made first when none was given)


StylePaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""One reference or several: image files (``ref.png``, pinned as ``ref.png@12.5`` or ``ref.png@300f``) or folders."""


def _given(style_path: StylePaths) -> bool:
    return bool(style_path) if not isinstance(style_path, str | os.PathLike) else True


def colorize_video(
    input_path: str | os.PathLike[str],
    style_path: StylePaths = (),
    output_path: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    colorizer: KeyframeColorizer | None = None,
    segmenter: Segmenter | None = None,
    flow: FlowEstimator | None = None,
    debug_masks: str | os.PathLike[str] | None = None,
    on_frame: FrameCallback | None = None,
    hints: Sequence[str | os.PathLike[str]] = (),
    plan: Plan | None = None,
    audio: str | os.PathLike[str] | None = None,
    fit_audio: bool = False,
    jobs: int = 1,
    executor: str = "local",
    address: str | None = None,
    on_segments: SegmentsCallback | None = None,
    share_device: str = "auto",
) -> ColorizeResult:
    """Colorize ``input_path`` after the colour reference(s) ``style_path``; write ``output_path``.

    Each reference is placed on the frame it shows best (or where it is pinned); each shot takes
    the reference that resembles it most.

    The output keeps the input's luma, frame count, timestamps and audio packets. It is written
    to a temporary name beside the target and renamed only when complete, so a failure or an
    interruption never leaves a partial file at ``output_path``. Stages may be injected (tests
    pass small ones); otherwise they are built from ``settings`` by registry name.
    ``debug_masks`` names a folder for region overlays of the reference and of every keyframe.
    ``on_frame`` is called with every frame as written (a preview picks its contact sheet's frames).
    ``hints`` are colour hint files (``hints.png@TIME``, points in JSON/CSV; see :mod:`vidcolor.hints`):
    each marked frame becomes a keyframe coloured by them; with hints, references may be left out.
    ``plan`` (see :mod:`vidcolor.plan`) is rendered exactly as it says: its cuts, each shot's reference,
    hints and overrides (then ``style_path`` and ``hints`` stay empty). Without one, the run makes one
    first (``plan_video``'s pass), so a default run is plan + render; shots whose colour nothing vouches
    for are named in one warning each. ``audio`` is a sound file (a scan's WAV) muxed beside the pictures
    from the first frame, for an input without audio of its own; one longer or shorter than the pictures
    by more than a frame is refused unless ``fit_audio``. An image sequence is read as ``settings.sequence``
    says (its rate, its gaps).

    ``jobs`` other than 1 (0: as many as fit) or an ``executor`` other than ``local`` renders the film
    shot-parallel (see :mod:`vidcolor.film`): segments of whole shots coloured by ``jobs`` workers (processes of
    this machine, or Ray tasks on the cluster at ``address``), joined as packets; at ``--crf 0`` the output
    is the single run's frame for frame, and an interrupted render resumes from its finished segments.
    ``on_segments`` is then called with the segments' state (finished, in all, in flight) as it changes.
    ``share_device`` (``stages.SHARE_DEVICE``): whether local workers solve their keyframes together on one
    device (``solver.device_service``); ``auto`` does with two workers or more.

    Raises:
        VidcolorError subclasses with a one-line message naming the file and the problem.
    """
    started = time.perf_counter()
    settings = settings or Settings()
    check_stage_names(settings)
    check_jobs(jobs)
    EXECUTORS.check(executor)
    check_share_device(share_device, executor)
    input_path = Path(input_path)
    info = probe(input_path, settings.sequence)
    spec = info.spec
    _say_what_is_assumed(info, spec.matrix)
    content = content_key(info)
    sound = _audio_for(info, settings, Path(audio), fit_audio) if audio is not None else None
    # Every input is checked before the output (a missing reference is said before an existing output), and
    # bad references, hints and plans fail before any model loads.
    if plan is None:
        references = References.read(StyleSource.parse_all(style_path), spec.matrix)
        for hint in hints:  # read later, once the output is known to be writable
            check_readable_file(HintSource.parse(hint).path, InputError, "a hint file")
    else:
        if _given(style_path) or hints:
            raise UsageError("a plan names its own references and hints; give them in the plan, not beside it")
        check_plan_for(plan, info, content, settings.frame_range, "the plan")
        references = References.read(render_parts(plan).sources, spec.matrix)
    output = requested_output(output_path, default_for_codec(default_output_path(input_path), settings.encoder))
    target: OutputTarget | SequenceTarget
    check_picture_name(output)
    if is_sequence(output):
        # DPX pictures carry a timecode; no picture has an encoder's settings.
        asked = (
            dataclasses.replace(settings.encoder, timecode="") if output.suffix.lower() == ".dpx" else settings.encoder
        )
        if asked != EncoderSettings():
            raise UsageError(
                f"{output}: an image sequence has no video encoder; leave out --codec, --crf, --preset, --profile, "
                "--lossless and --timecode (DPX pictures take --timecode)"
            )
        target = check_sequence_output(output, input_path, overwrite=overwrite)
    else:
        target = check_output(output, input_path, overwrite=overwrite)
        if (encoder := for_container(settings.encoder, target.path)) != settings.encoder:
            why = "an MXF master's" if target.container_format == "mxf" else "a lossless Matroska master's"
            log.debug("%s: written as %s, %s default codec", target.path, encoder.codec, why)
            settings = dataclasses.replace(settings, encoder=encoder)
        check_container(settings.encoder, target.path)
        check_rate(target.path, info.rate)
        try:  # the encoder's refusals (a size or depth it cannot take), before any work
            codec_setup(settings.encoder, info.width, info.height, info.bit_depth)
        except EncodeError as exc:
            raise EncodeError(f"{input_path}: {exc}") from exc
        if target.container_format == "mxf" and (sound is not None or info.has_audio):
            check_mxf_audio(sound.path if sound is not None else input_path)
    if settings.encoder.timecode:  # a video's or DPX pictures': checked before any work, against the input's rate
        smpte_frame(settings.encoder.timecode, info.rate or Fraction(25), setting="encoder.timecode")
    for stale in target.remove_stale_partials():
        log.info("%s: removed, left by a run that was killed", stale)
    debug_dir = _debug_folder(debug_masks)
    parallel = _shot_parallel(jobs, executor, settings, target, debug_dir, on_frame, (colorizer, segmenter, flow))
    # A shot-parallel render's workers start before the plan: they decode its analysis pass in chunks, then render.
    pool = start_executor(executor, jobs, address) if parallel else None
    try:
        if plan is None:
            plan = make_plan(info, content, references, {}, [str(h) for h in hints], settings, runner=pool)
        for line in plan.warnings():
            log.warning(line)
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel=True)
        raise
    if pool is not None:
        return _render_film(input_path, info, content, plan, settings, target, sound, fit_audio, started,
                            pool=pool, executor=executor, progress=progress, on_segments=on_segments,
                            share_device=share_device)  # fmt: skip
    stages = build_stages(settings, segmenter=segmenter, colorizer=colorizer, flow=flow)
    inspect = _overlay_writer(debug_dir, (info.width, info.height)) if debug_dir is not None else None
    colouring = Colouring.build(info, content, plan, references, settings, stages, inspect)
    if debug_dir is not None:
        for i, reference in enumerate(colouring.references.items):
            picture = legend(overlay(reference.luma, reference.masks), reference.masks, (info.width, info.height))
            _write_png(debug_dir / f"reference{i or ''}.png", picture)
    decode_stats = DecodeStats()
    coloured = colouring.frames(settings.frame_range, decode_stats)
    try:
        first = next(coloured, None)
    except BaseException:
        coloured.close()
        raise
    if first is None:
        raise InputError(f"{input_path}: no frame inside the range {settings.frame_range}")
    range_start_s = None if settings.frame_range.is_everything else (first[0].frame.time or 0.0)
    # The output starts at zero, as ffmpeg's does by default: a preview from its first frame, a
    # whole input from where its timestamps start (a capture at 100 s would otherwise get a 100 s
    # empty edit). Inputs that start at or before zero are kept as they are.
    shift_s = range_start_s if range_start_s is not None else max(info.start_s, 0.0)
    expected = settings.frame_range.expected_frames(info.frame_count, info.rate)
    writer = _open_writer(target, info, spec, settings, range_start_s, shift_s, sound, fit_audio)

    def write(item: tuple[WorkFrame, np.ndarray]) -> None:  # in the write-behind thread, frame after frame
        work, chroma = item
        writer.write(work.frame, plane_chroma(chroma, work.frame, spec, writer.chroma_step))
        if on_frame is not None:  # the studio's pictures: full size, as the pictures show it
            full = full_chroma(chroma, work.frame, spec)
            on_frame(ColouredFrame(work.frame, spec.luma_to_unit(work.frame.luma), full, spec.matrix))

    try:
        with WriteBehind(write, depth=colouring.frames_ahead) as behind:
            for done, item in enumerate(itertools.chain([first], coloured), start=1):
                behind.put(item)
                if progress is not None:
                    progress(done, expected)
            behind.finish()
        # The container's index against what could be read: a cut-off file comes up short, for a
        # whole run and for a range that needed frames beyond the readable end alike.
        decode_stats.check_complete(info)
        writer.close()
        target.commit()
    except BaseException as exc:
        # Stop decoding ahead now, not when the traceback lets go of this frame (at exit, perhaps, where a
        # decoder thread still running can crash the interpreter's shutdown).
        coloured.close()
        writer.abort()
        target.discard()
        if _out_of_space(exc):  # the output's fault, not the encoder's: name the file the user asked for
            raise OutputError(f"{target.path}: no space left on the device of {target.path.parent}") from exc
        raise
    stats = colouring.stats
    result = ColorizeResult(
        output=target.path,
        frames=writer.frames_written,
        keyframes=stats.keyframes,
        keyframes_from_cache=stats.cached,
        shots=stats.shots,
        masks_tracked=stats.masks_tracked,
        audio_packets=writer.audio_packets_copied,
        seconds=time.perf_counter() - started,
        device=stages.device,
        keyframe_sources=stats.source_shares(),
        plan=plan,
    )
    log.info(
        "%s: %d frames, %d shots, %d keyframes (%d from cache), %d audio packets copied, %.1f s",
        target.path,
        result.frames,
        result.shots,
        result.keyframes,
        result.keyframes_from_cache,
        result.audio_packets,
        result.seconds,
    )
    log.info("keyframe colour: %s", ", ".join(f"{100 * v:.0f}% {k}" for k, v in result.keyframe_sources.items()))
    return result


def _shot_parallel(
    jobs: int,
    executor: str,
    settings: Settings,
    target: OutputTarget | SequenceTarget,
    debug_dir: Path | None,
    on_frame: FrameCallback | None,
    injected: tuple[object, ...],
) -> bool:
    """Whether the run is rendered shot-parallel: asked for, and for a whole film into a video file."""
    if jobs == 1 and executor == "local":
        return False
    if any(stage is not None for stage in injected):
        raise UsageError("stages given as objects cannot travel to workers; register them, or render with jobs=1")
    why = (
        "a range of frames (--start/--end) is" if not settings.frame_range.is_everything
        else "an image sequence output is" if isinstance(target, SequenceTarget)
        else "--debug-masks is" if debug_dir is not None
        else "a preview is" if on_frame is not None
        else None
    )  # fmt: skip
    if why is not None:
        log.warning("--jobs/--executor: %s rendered as one job, in this process", why)
        return False
    return True


def _render_film(
    input_path: Path,
    info: VideoInfo,
    content: str,
    plan: Plan,
    settings: Settings,
    target: OutputTarget | SequenceTarget,
    sound: AudioFile | None,
    fit_audio: bool,
    started: float,
    *,
    pool: SegmentExecutor,
    executor: str,
    progress: ProgressCallback | None,
    on_segments: SegmentsCallback | None,
    share_device: str,
) -> ColorizeResult:
    """The film rendered by workers, segment by segment, and joined (see :mod:`vidcolor.film`)."""
    assert isinstance(target, OutputTarget)  # _shot_parallel said so
    shift_s = max(info.start_s, 0.0)
    spec = info.spec
    writers: list[ColorVideoWriter | SequenceWriter] = []

    def open_output() -> ColorVideoWriter:
        writers.append(_open_writer(target, info, spec, settings, None, shift_s, sound, fit_audio))
        return writers[-1]  # type: ignore[return-value]  # a video target gives a video writer

    try:
        film = render_film(input_path, content, plan, settings, target, open_output, shift_s, executor=executor,
                           progress=progress, on_segments=on_segments, share_device=share_device,
                           pool=pool)  # fmt: skip
    except BaseException as exc:
        if _out_of_space(exc):
            raise OutputError(f"{target.path}: no space left on the device of {target.path.parent}") from exc
        raise
    writer = writers[-1]
    result = ColorizeResult(
        output=target.path,
        frames=film.frames,
        keyframes=film.keyframes,
        keyframes_from_cache=film.cached,
        shots=len(plan.shots),
        masks_tracked=film.masks_tracked,
        audio_packets=writer.audio_packets_copied if isinstance(writer, ColorVideoWriter) else 0,
        seconds=time.perf_counter() - started,
        device=f"{film.workers} {executor} workers",
        keyframe_sources=film.source_shares(),
        plan=plan,
    )
    log.info(
        "%s: %d frames, %d shots in %d segments (%d kept from before) on %d %s workers, joined in %.2f s; %.1f s",
        target.path, result.frames, result.shots, film.segments, film.resumed, film.workers, executor, film.join_s,
        result.seconds,
    )  # fmt: skip
    return result


def _out_of_space(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an error it was raised from is a full disk (ENOSPC, or EDQUOT: a quota)."""
    while exc is not None:
        if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _open_writer(
    target: OutputTarget | SequenceTarget,
    info: VideoInfo,
    spec: YCbCrSpec,
    settings: Settings,
    range_start_s: float | None,
    shift_s: float,
    sound: AudioFile | None,
    fit_audio: bool,
) -> ColorVideoWriter | SequenceWriter:
    if isinstance(target, SequenceTarget):  # of the pictures, DPX carry a timecode (in their TV header)
        if info.has_audio or sound is not None:
            log.warning(
                "%s: its audio is not written to the image sequence %s (pictures hold none)",
                sound.path if sound is not None else info.path,
                target.path,
            )
        dpx = target.path.suffix.lower() == ".dpx"
        return SequenceWriter(
            target,
            spec,
            info.sequence.first if info.sequence is not None else None,
            timecode=_output_timecode(info, settings, range_start_s) if dpx else None,
            rate=info.rate,
        )
    return ColorVideoWriter(
        target.partial,
        container_format=target.container_format,
        width=info.width,
        height=info.height,
        spec=spec,
        time_base=info.time_base,
        rate=info.rate,
        settings=settings.encoder,
        copy_from=sound.path if sound is not None else info.path if info.sequence is None else None,
        copy_offset_s=float((info.start_pts or 0) * info.time_base) if sound is not None else 0.0,
        cut_audio=fit_audio,
        range_start_s=range_start_s,
        shift_s=shift_s,
        timecode=_output_timecode(info, settings, range_start_s),
        colour=info.colour,
        field_order=info.field_order,
    )


def _say_what_is_assumed(info: VideoInfo, matrix: str) -> None:
    """Nothing silent: the matrix taken for an untagged input (with -v), one for an unknown tag (a warning),
    and how an interlaced input is coloured (with -v)."""
    assumed = matrix.upper().replace("BT", "BT.")
    if info.colour.matrix == UNSPECIFIED:
        log.debug(
            "%s: no colour matrix tag; coloured and tagged as %s (what players assume at %d lines)",
            info.path,
            assumed,
            info.height,
        )
    elif not info.colour.known_matrix:
        log.warning(
            "%s: tagged with colour matrix %d, which vidcolor does not colour in; coloured and tagged as %s",
            info.path,
            info.colour.matrix,
            assumed,
        )
    if info.interlaced:
        log.debug(
            "%s: interlaced (field order %d): coloured as frames (not deinterlaced), its field order kept",
            info.path,
            info.field_order,
        )


def _audio_for(info: VideoInfo, settings: Settings, path: Path, fit: bool) -> AudioFile:
    """The ``--audio`` file, checked before any work: the input has no sound of its own, the lengths agree."""
    if info.has_audio:
        raise UsageError(f"{info.path}: has its own audio; --audio is for inputs without (an image sequence)")
    sound = read_audio_file(path)
    rate = info.rate or Fraction(25)
    if settings.frame_range.is_everything:  # a range takes its slice of the sound
        pictures_s = float(info.frame_count / rate) if info.frame_count else (info.duration_s or 0.0)
        check_audio_length(sound, pictures_s, float(1 / rate), fit=fit)
    return sound


def _output_timecode(info: VideoInfo, settings: Settings, range_start_s: float | None) -> str | None:
    """The output's start timecode: the one asked for, else the input's own, moved to a range's first frame."""
    if settings.encoder.timecode:
        return settings.encoder.timecode
    if info.timecode is None or range_start_s is None:
        return info.timecode
    rate = info.rate or Fraction(25)
    try:
        start = smpte_frame(info.timecode, rate)
    except SettingError:
        log.warning("%s: its timecode %r is not HH:MM:SS:FF at %s fps; the output carries none", info.path,
                    info.timecode, rate)  # fmt: skip
        return None
    origin = float((info.start_pts or 0) * info.time_base)
    return smpte(start + round((range_start_s - origin) * float(rate)), rate)


def _debug_folder(path: str | os.PathLike[str] | None) -> Path | None:
    if path is None:
        return None
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the mask overlay folder ({exc.strerror})") from exc
    return folder


def _overlay_writer(folder: Path, size: tuple[int, int]) -> MaskInspector:
    """Each keyframe's regions as a picture at ``size`` (width, height: the input's), with a legend."""

    def write(frame: LumaFrame, luma: np.ndarray, masks: RegionMasks) -> None:
        _write_png(folder / f"keyframe_{frame.index:06d}.png", legend(overlay(luma, masks), masks, size))

    return write


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OutputError(f"{path}: cannot write the mask overlay")
