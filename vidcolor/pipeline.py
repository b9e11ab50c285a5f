"""``colorize_video``: the one public entry of the library, wiring the stages in one stream.

decode → windows between keyframes (shot cuts, interval) → keyframes solved from the reference
(cached) → chroma carried to the frames between along optical flow, both ways → chroma back to
full size inside the RGB gamut → encoded beside the input's own luma, audio packets copied.
At most one window of frames is in memory at any time.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec, fit_chroma_to_gamut, matrix_for_height
from vidcolor.device import resolve_device
from vidcolor.errors import InputError, OutputError
from vidcolor.frames.cache import KeyframeCache, fingerprint
from vidcolor.frames.decode import DecodeStats, iter_luma_frames
from vidcolor.frames.encode import CONTAINERS, ColorVideoWriter
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.probe import probe
from vidcolor.reference import load_reference
from vidcolor.segment.base import SEGMENTERS, RegionMasks, Segmenter
from vidcolor.segment.regions import overlay
from vidcolor.segment.tracking import keep_identities, track, tracking_confidence
from vidcolor.settings import Settings
from vidcolor.solver import COLORIZERS, Keyframe, KeyframeColorizer, Reference
from vidcolor.solver.upsample import size_within
from vidcolor.temporal.flow import FLOWS, FlowEstimator
from vidcolor.temporal.propagate import Propagated, blend, step
from vidcolor.temporal.shots import thumbnail
from vidcolor.temporal.windows import Window, windows

log = logging.getLogger("vidcolor")

# Below this mean flow confidence over the tracked regions, a keyframe's regions are detected again.
REDETECT_BELOW = 0.6

# A shot at least this long also gets its last frame solved as a right anchor.
MIN_FRAMES_FOR_END_ANCHOR = 8

ProgressCallback = Callable[[int, int | None], None]
"""Called with (frames written so far, frames expected or None) after every frame."""


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


@dataclass
class _WorkFrame:
    """A frame plus its work-size luma, as the temporal stages need it."""

    frame: LumaFrame
    unit: np.ndarray  # (h, w) float32 unit luma at work size
    u8: np.ndarray  # (h, w) uint8, for flow and cut detection


def default_output_path(input_path: Path) -> Path:
    """``movie.mp4`` → ``movie.colorized.mp4`` beside it."""
    return input_path.with_name(f"{input_path.stem}.colorized.mp4")


def colorize_video(
    input_path: str | os.PathLike,
    style_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    settings: Settings | None = None,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    colorizer: KeyframeColorizer | None = None,
    segmenter: Segmenter | None = None,
    flow: FlowEstimator | None = None,
    debug_masks: str | os.PathLike | None = None,
) -> ColorizeResult:
    """Colorize ``input_path`` after the colour reference ``style_path``; write ``output_path``.

    The output keeps the input's luma, frame count, timestamps and audio packets. It is written
    to a temporary name beside the target and renamed only when complete, so a failure or an
    interruption never leaves a partial file at ``output_path``. Stages may be injected (tests
    pass small ones); otherwise they are built from ``settings`` by registry name.
    ``debug_masks`` names a folder for region overlays of the reference and of every keyframe.

    Raises:
        VidcolorError subclasses with a one-line message naming the file and the problem.
    """
    started = time.perf_counter()
    settings = settings or Settings()
    input_path = Path(input_path)
    info = probe(input_path)
    output_path = Path(output_path) if output_path is not None else default_output_path(input_path)
    container_format = _check_output(output_path, input_path, overwrite)
    device = resolve_device(settings.device)

    spec = YCbCrSpec(matrix=matrix_for_height(info.height), bit_depth=info.bit_depth, full_range=info.full_range)
    segmenter = segmenter or SEGMENTERS.create(settings.segmenter)
    colorizer = colorizer or COLORIZERS.create(settings.colorizer, options=settings.solver_options())
    flow = flow or FLOWS.create(settings.flow, preset=settings.flow_preset)
    reference = load_reference(Path(style_path), segmenter, spec.matrix)
    debug_dir = _debug_folder(debug_masks)
    if debug_dir is not None:
        _write_png(debug_dir / "reference.png", overlay(reference.luma, reference.masks))
    settings_key, describe = settings.colour_key(fingerprint(Path(style_path)))
    cache = KeyframeCache(settings.cache_dir, fingerprint(input_path), settings_key, describe)

    work_h, work_w = size_within(info.height, info.width, settings.work_size)
    decode_stats = DecodeStats()
    frames = (_to_work(f, spec, (work_w, work_h)) for f in iter_luma_frames(info, settings.frame_range, decode_stats))
    expected = info.frame_count if settings.frame_range.is_everything else None
    temp_path = output_path.with_name(f".{output_path.stem}.{os.getpid()}.partial{output_path.suffix}")
    writer: ColorVideoWriter | None = None
    stats = _Stats()
    try:
        solver = _WindowSolver(colorizer, segmenter, flow, reference, cache, stats, debug_dir)
        for work, chroma in solver.run(windows(frames, _thumb, interval=settings.keyframe_interval)):
            if writer is None:
                writer = ColorVideoWriter(
                    temp_path,
                    container_format=container_format,
                    width=info.width,
                    height=info.height,
                    spec=spec,
                    time_base=info.time_base,
                    rate=info.rate,
                    settings=settings.encoder,
                    audio_from=input_path if info.audio_stream_indexes else None,
                    range_start_s=None if settings.frame_range.is_everything else (work.frame.time or 0.0),
                )
            writer.write(work.frame, _full_chroma(chroma, work.frame, spec))
            if progress is not None:
                progress(writer.frames_written, expected)
        if writer is None:
            raise InputError(f"{input_path}: no frame inside the range {settings.frame_range}")
        # The container's sample count against what could be read: a cut-off file comes up short.
        # (Frames, not packets, may legitimately be fewer: an edit list can hide some.)
        if expected is not None and decode_stats.packets < expected:
            raise InputError(
                f"{input_path}: truncated or damaged: read {decode_stats.packets} of its {expected} video packets"
            )
        writer.close()
        os.replace(temp_path, output_path)
    except BaseException:
        if writer is not None:
            writer.abort()
        temp_path.unlink(missing_ok=True)
        raise
    result = ColorizeResult(
        output=output_path,
        frames=writer.frames_written,
        keyframes=stats.keyframes,
        keyframes_from_cache=stats.cached,
        shots=stats.shots,
        masks_tracked=stats.masks_tracked,
        audio_packets=writer.audio_packets_copied,
        seconds=time.perf_counter() - started,
        device=device,
    )
    log.info(
        "%s: %d frames, %d shots, %d keyframes (%d from cache), %d audio packets copied, %.1f s",
        output_path,
        result.frames,
        result.shots,
        result.keyframes,
        result.keyframes_from_cache,
        result.audio_packets,
        result.seconds,
    )
    return result


@dataclass
class _Stats:
    keyframes: int = 0
    cached: int = 0
    shots: int = 0
    masks_tracked: int = 0


class _WindowSolver:
    """Turns windows of work frames into (frame, work-size chroma) pairs, in order."""

    def __init__(
        self,
        colorizer: KeyframeColorizer,
        segmenter: Segmenter,
        flow: FlowEstimator,
        reference: Reference,
        cache: KeyframeCache,
        stats: _Stats,
        debug_masks: Path | None = None,
    ) -> None:
        self._colorizer = colorizer
        self._segmenter = segmenter
        self._flow = flow
        self._reference = reference
        self._cache = cache
        self._stats = stats
        self._debug_masks = debug_masks
        self._masks: RegionMasks | None = None  # the last solved keyframe's, for tracking within a shot

    def run(self, stream: Iterable[Window[_WorkFrame]]) -> Iterator[tuple[_WorkFrame, np.ndarray]]:
        anchor: np.ndarray | None = None  # the solved chroma of the window's first frame
        for window in stream:
            frames = window.frames
            if window.starts_shot or anchor is None:
                self._stats.shots += 1
                anchor = self._solve(frames[0], previous=None)
            forward = [Propagated.anchor(anchor)]
            for prev, cur in itertools.pairwise(frames):
                forward.append(self._carry(forward[-1], cur, prev))
            if window.next_keyframe is not None:
                # The shot goes on: the next keyframe is the right anchor, and the next window's left.
                carried = self._carry(forward[-1], window.next_keyframe, frames[-1])
                anchor = self._solve(window.next_keyframe, previous=carried)
                chromas = self._blend_backward(frames, forward, window.next_keyframe, anchor, span=len(frames))
            elif len(frames) >= MIN_FRAMES_FOR_END_ANCHOR:
                # The shot ends here: its last frame is solved too, so new content that entered
                # during the shot gets colour from the reference rather than from nothing.
                end = self._solve(frames[-1], previous=forward[-1])
                chromas = self._blend_backward(frames[:-1], forward, frames[-1], end, span=len(frames) - 1)
                chromas.append(end)
                anchor = None
            else:
                chromas = [p.chroma for p in forward]
                anchor = None
            yield from zip(frames, chromas, strict=True)

    def _blend_backward(
        self,
        frames: list[_WorkFrame],
        forward: list[Propagated],
        right: _WorkFrame,
        right_chroma: np.ndarray,
        span: int,
    ) -> list[np.ndarray]:
        """Carry ``right_chroma`` from ``right`` back over ``frames[1:]`` and blend with the forward chain.

        ``span`` is the distance in frames from ``frames[0]`` to ``right``.
        """
        chromas: list[np.ndarray] = [forward[0].chroma] * len(frames)
        backward = Propagated.anchor(right_chroma)
        later = right
        for i in range(len(frames) - 1, 0, -1):
            backward = self._carry(backward, frames[i], later)
            chromas[i] = blend(forward[i], backward, position=i / span)
            later = frames[i]
        return chromas

    def _carry(self, previous: Propagated, target: _WorkFrame, source: _WorkFrame) -> Propagated:
        return step(previous, self._flow.flow(target.u8, source.u8), target.unit, source.unit)

    def _solve(self, work: _WorkFrame, previous: Propagated | None) -> np.ndarray:
        self._stats.keyframes += 1
        name = f"kf_{work.frame.pts if work.frame.pts is not None else work.frame.index}"
        cached = self._cache.get(name)
        if cached is not None and cached.shape[:2] == work.unit.shape:
            self._stats.cached += 1
            self._masks = None  # not segmented: the next keyframe detects afresh
            return cached
        masks = self._masks_for(work, previous)
        if self._debug_masks is not None:
            _write_png(self._debug_masks / f"keyframe_{work.frame.index:06d}.png", overlay(work.unit, masks))
        chroma = self._colorizer.colorize(Keyframe(work.unit, masks), self._reference, previous)
        self._cache.put(name, chroma)
        return chroma

    def _masks_for(self, work: _WorkFrame, previous: Propagated | None) -> RegionMasks:
        """Regions of a keyframe: carried from the last keyframe of the shot while the flow holds them."""
        tracked = None
        if previous is not None and self._masks is not None:
            tracked = track(self._masks, previous.packed[..., :2])
            if tracking_confidence(tracked, previous.confidence) >= REDETECT_BELOW:
                self._stats.masks_tracked += 1
                self._masks = tracked
                return tracked
        detected = self._segmenter.segment(work.unit)
        self._masks = keep_identities(detected, tracked) if tracked is not None else detected
        return self._masks


def _check_output(output: Path, input_path: Path, overwrite: bool) -> str:
    """Validate the output path up front (nothing is decoded for a run that cannot finish)."""
    container = CONTAINERS.get(output.suffix.lower())
    if container is None:
        raise OutputError(
            f"{output}: unknown output type {output.suffix or '(none)'!r}; use one of {', '.join(CONTAINERS)}"
        )
    if output.resolve() == input_path.resolve():
        raise OutputError(f"{output}: is the input itself; choose another output name")
    if output.is_dir():
        raise OutputError(f"{output}: is a folder")
    if output.exists() and not overwrite:
        raise OutputError(f"{output}: already exists; pass -y to overwrite")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{output}: folder {folder} does not exist")
    try:  # the real test: permission bits do not stop root, read-only mounts do
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"{output}: folder {folder} is not writable ({exc.strerror})") from exc
    return container


def _debug_folder(path: str | os.PathLike | None) -> Path | None:
    if path is None:
        return None
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the --debug-masks folder ({exc.strerror})") from exc
    return folder


def _to_work(frame: LumaFrame, spec: YCbCrSpec, size: tuple[int, int]) -> _WorkFrame:
    unit = np.clip(spec.luma_to_unit(frame.luma), 0.0, 1.0)
    if (unit.shape[1], unit.shape[0]) != size:
        unit = cv2.resize(unit, size, interpolation=cv2.INTER_AREA)
    return _WorkFrame(frame=frame, unit=unit, u8=np.rint(unit * 255.0).astype(np.uint8))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OutputError(f"{path}: cannot write the mask overlay")


def _thumb(work: _WorkFrame) -> np.ndarray:
    return thumbnail(work.u8)


def _full_chroma(chroma: np.ndarray, frame: LumaFrame, spec: YCbCrSpec) -> np.ndarray:
    """Chroma at the frame's full size, scaled into the RGB gamut of the frame's own luma."""
    h, w = frame.luma.shape
    if chroma.shape[:2] != (h, w):
        chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    return fit_chroma_to_gamut(spec.luma_to_unit(frame.luma), chroma, spec.matrix)
