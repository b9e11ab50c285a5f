"""Previews: a few seconds of a video coloured exactly as a full run would, and a contact sheet to look at.

The range is reached by seeking (``frames.decode`` lands on the keyframe before it), so a preview in
the middle of a long film costs about as much as its own few seconds. The sheet shows a few frames
across the range, each as greyscale | colorized | region masks, with the frame's time in the input.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidcolor.errors import OutputError, SettingError
from vidcolor.frames.output import OutputTarget, check_output, named_after, requested_output
from vidcolor.frames.probe import probe
from vidcolor.frames.timecode import FrameRange, TimePoint, clock
from vidcolor.pipeline import ColorizeResult, ColouredFrame, ProgressCallback, StylePaths, colorize_video
from vidcolor.plan import Plan, plan_video
from vidcolor.segment.regions import overlay
from vidcolor.settings import Settings
from vidcolor.stages import build_stages

DEFAULT_DURATION = TimePoint(seconds=Fraction(3))
# Frames on the sheet, and the width of each of its pictures.
SHEET_FRAMES = 4
TILE_WIDTH = 320


@dataclass(frozen=True)
class PreviewResult:
    """What a preview wrote: the clip (with the run's summary) and its contact sheet."""

    video: ColorizeResult
    sheet: Path
    start_s: float


def default_preview_output(input_path: Path) -> Path:
    """``NAME.preview.mp4`` beside the input."""
    return named_after(input_path, ".preview.mp4")


def sheet_path(video: Path) -> Path:
    """The contact sheet beside a preview clip: ``OUT.sheet.png``."""
    return video.with_name(f"{video.stem}.sheet.png")


def preview_range(at: TimePoint | None, duration: TimePoint, length_s: float | None) -> FrameRange:
    """The range a preview colours: from ``at`` for ``duration``; without ``at``, centred on the middle
    of a video ``length_s`` long (its start when the length is unknown)."""
    if at is None:
        span = float(duration.seconds) if duration.seconds is not None else 0.0
        middle = max(0.0, ((length_s or 0.0) - span) / 2)
        at = TimePoint(seconds=Fraction(middle).limit_denominator(1000))
    return FrameRange(start=at, duration=duration)


def preview_video(
    input_path: str | os.PathLike[str],
    style_path: StylePaths = (),
    output_path: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    *,
    at: TimePoint | None = None,
    duration: TimePoint = DEFAULT_DURATION,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    hints: Sequence[str | os.PathLike[str]] = (),
    plan: Plan | None = None,
    shot: int | None = None,
) -> PreviewResult:
    """Colour ``duration`` of ``input_path`` from ``at`` and write the clip (with its audio) and its sheet.

    Settings other than the range are those of a full run, so the preview shows what the run will
    give. With a ``plan`` (a whole film's), the range is coloured as that plan says; ``shot`` (from 1)
    previews that shot of it, whole; ``hints`` (their times from the video's start) or a ``shot`` without
    a plan make the film's plan first (a pass over its thumbnails). Raises the errors of
    :func:`~vidcolor.pipeline.colorize_video`, and ``SettingError`` when ``settings`` already holds a range.
    """
    settings = settings or Settings()
    if not settings.frame_range.is_everything:
        raise SettingError("frame_range.start", "is set by the preview's own at/duration; leave the range empty")
    input_path = Path(input_path)
    output = requested_output(output_path, default_preview_output(input_path))
    sheet = sheet_path(output)
    sheet_target = check_output(sheet, input_path, overwrite=overwrite, formats={".png": "png"})  # before any work
    info = probe(input_path, settings.sequence)
    if plan is None and (hints or shot is not None):
        plan = plan_video(input_path, style_path, settings, hints=hints)
        style_path, hints = (), ()
    if plan is not None and shot is not None:
        chosen = plan.shot(shot)
        at = TimePoint(seconds=Fraction(chosen.start_time).limit_denominator(100000))
        duration = TimePoint(frames=chosen.frames)
    frame_range = preview_range(at, duration, info.duration_s)
    run = dataclasses.replace(settings, frame_range=frame_range)
    expected = frame_range.expected_frames(info.frame_count, info.rate) or 0
    if plan is not None:
        from_s = float(frame_range.start.seconds or 0) if frame_range.start is not None else 0.0
        plan = plan.sliced(plan.frame_at(from_s), expected, str(frame_range))
    picks = _evenly_spaced(expected, SHEET_FRAMES)
    rows: list[ColouredFrame] = []

    def keep(coloured: ColouredFrame) -> None:
        if coloured.frame.index in picks:
            rows.append(_shrunk(coloured))

    # Built here, as a run builds them, so that the sheet's regions come from the run's own segmenter.
    stages = build_stages(run)
    video = colorize_video(
        input_path,
        style_path,
        output,
        run,
        overwrite=overwrite,
        progress=progress,
        colorizer=stages.colorizer,
        segmenter=stages.segmenter,
        flow=stages.flow,
        on_frame=keep,
        hints=hints,
        plan=plan,
    )
    origin = info.start_s
    segment = stages.segmenter.segment
    tiles = [(clock((r.frame.time or 0.0) - origin), r, overlay(r.luma, segment(r.luma))) for r in rows]
    _write_sheet(sheet_target, contact_sheet(tiles))
    start = frame_range.start.seconds if frame_range.start is not None else None
    return PreviewResult(video=video, sheet=sheet, start_s=float(start or 0))


def contact_sheet(rows: Sequence[tuple[str, ColouredFrame, np.ndarray]]) -> np.ndarray:
    """RGB uint8: one row per frame, greyscale | colorized | masks, its label (the time) on the first.

    Args:
        rows: ``(label, frame, mask overlay RGB uint8)`` per frame, all the same size.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one frame")
    lines = []
    for label, coloured, masks in rows:
        grey = np.repeat(np.clip(coloured.luma * 255.0, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        colour = np.clip(coloured.rgb() * 255.0, 0, 255).astype(np.uint8)
        line = np.concatenate([grey, _gap(grey), colour, _gap(grey), masks], axis=1)
        _label(line, label)
        lines.append(line)
        lines.append(np.zeros((4, line.shape[1], 3), np.uint8))
    return np.concatenate(lines[:-1], axis=0)


def _evenly_spaced(count: int, wanted: int) -> set[int]:
    """``wanted`` frame indices spread over ``count`` frames, first and last included."""
    if count <= 0:
        return {0}
    if count <= wanted:
        return set(range(count))
    return {round(i * (count - 1) / (wanted - 1)) for i in range(wanted)}


def _shrunk(coloured: ColouredFrame) -> ColouredFrame:
    """The frame scaled to the sheet's tile width (the sheet keeps only a few of these)."""
    h, w = coloured.luma.shape
    if w <= TILE_WIDTH:
        return coloured
    size = (TILE_WIDTH, max(1, round(h * TILE_WIDTH / w)))
    luma = cv2.resize(coloured.luma, size, interpolation=cv2.INTER_AREA)
    chroma = cv2.resize(coloured.chroma, size, interpolation=cv2.INTER_AREA)
    return ColouredFrame(coloured.frame, luma, chroma, coloured.matrix)


def _gap(like: np.ndarray) -> np.ndarray:
    return np.zeros((like.shape[0], 4, 3), np.uint8)


def _label(image: np.ndarray, text: str) -> None:
    """Write ``text`` in the top-left corner, white on a dark box, so it reads on any picture."""
    scale = max(0.35, image.shape[0] / 400)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (0, 0), (w + 6, h + base + 6), (0, 0, 0), thickness=-1)
    cv2.putText(image, text, (3, h + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _write_sheet(target: OutputTarget, rgb: np.ndarray) -> None:
    """Written to a hidden name and renamed, as every output is."""
    ok = cv2.imwrite(str(target.partial), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        target.discard()
        raise OutputError(f"{target.path}: cannot write the contact sheet")
    target.commit()
