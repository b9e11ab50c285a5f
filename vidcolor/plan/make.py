"""Making a plan (the analysis pass) and turning one into what rendering needs.

The pass decodes the run's frames once, at thumbnail size (decoding is its only real cost): it finds
the shots (or keeps a plan's cuts), places every reference on the frame it shows, and gives each shot
its reference (see ``match.placement``). Hints are assigned to the shots of the frames they mark.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.errors import SettingError, UsageError
from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.probe import VideoInfo, content_key, probe
from vidcolor.frames.timecode import FrameRange, TimePoint, smpte
from vidcolor.hints import HintSource
from vidcolor.keyframes import frame_thumbnail
from vidcolor.match.placement import Placement, Shot, place
from vidcolor.plan.chunks import ChunkRunner, NoTimestamps, chunked_thumbnails, chunks_of
from vidcolor.plan.files import absolute_spec
from vidcolor.plan.model import Plan, PlanError, PlanInput, PlanReference, PlanShot, ShotOverrides
from vidcolor.references import References, StyleSource, read_reference
from vidcolor.settings import OPTIONS, Settings

log = logging.getLogger("vidcolor")

# Settings a plan does not record: where files live and what the machine does, not what colours come out.
NOT_RECORDED = {"use_cache", "cache_dir", "cache_limit_mb", "weights_dir", "device"}


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The settings a plan records, by field path (what a render of the plan must reproduce)."""
    values = {}
    for path in OPTIONS:
        if path in NOT_RECORDED or path.startswith("frame_range."):
            continue
        value: Any = settings
        for part in path.split("."):
            value = getattr(value, part)
        values[path] = value
    return values


def plan_video(
    input_path: str | os.PathLike[str],
    style_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (),
    settings: Settings | None = None,
    *,
    hints: Sequence[str | os.PathLike[str]] = (),
    shot_references: Mapping[int, str] | None = None,
    base: Plan | None = None,
    runner: ChunkRunner | None = None,
) -> Plan:
    """The shot plan of ``input_path``: shots, where each reference belongs, each shot's reference and status.

    Args:
        style_path: the references, as for :func:`~vidcolor.pipeline.colorize_video`.
        hints: hint files, as for ``colorize_video``; each is listed with the shot of its frame.
        shot_references: shot number (from 1) → its own reference (``ref.png`` or ``ref.png@TIME``):
            placed inside that shot only, and that shot takes it.
        base: a plan to start from: its cuts, overrides, hints and shot references are kept, the rest
            found again (so a plan edited by hand is brought up to date); with no ``style_path`` its
            references are kept too.
        runner: workers that decode the pass in chunks (``plan.chunks``; a film executor's), or None: one
            decoder here.

    Raises:
        PlanError: ``base`` is for another input; a shot number that the video does not have.
        VidcolorError subclasses for unreadable inputs, references and hints, before the pass.
    """
    settings = settings or Settings()
    info = probe(Path(input_path), settings.sequence)
    content = content_key(info)
    if base is not None:
        check_plan_for(base, info, content, settings.frame_range, "the base plan")
    matrix = info.matrix
    sources = StyleSource.parse_all(style_path)
    if base is not None and not sources:
        sources = [_source(r.spec) for r in base.references if r.shot is None]
    references = References.read(sources, matrix)
    given = {**(_base_shot_references(base) if base is not None else {}), **(shot_references or {})}
    hint_specs = (
        [*(h for s in base.shots for h in s.hints), *map(str, hints)] if base is not None else list(map(str, hints))
    )
    return make_plan(
        info, content, references, {n: _source(spec) for n, spec in given.items()}, hint_specs, settings, base,
        runner=runner,
    )  # fmt: skip


def make_plan(
    info: VideoInfo,
    content: str,
    references: References,
    shot_references: Mapping[int, StyleSource],
    hints: Sequence[str],
    settings: Settings,
    base: Plan | None = None,
    *,
    runner: ChunkRunner | None = None,
) -> Plan:
    """The pass itself, for references already read (a run that plans first reads them once); ``runner``: a
    render's workers, which decode the video in chunks for it (``plan.chunks``)."""
    spec = info.spec
    given = sorted(shot_references.items())
    lumas = [r.luma for r in references.items]
    lumas += [read_reference(source.path, spec.matrix)[0].luma for _, source in given]
    pins = [s.at for s in references.sources] + [source.at for _, source in given]
    only_shot = [None] * len(references.items) + [number - 1 for number, _ in given]
    placement, count = _pass(info, spec, settings.frame_range, lumas, pins, only_shot, base, runner)
    shots = placement.shots
    for number, source in given:
        if not 1 <= number <= len(shots):
            raise SettingError("shot", f"{number}={source.path}: the video has {len(shots)} shots (1..{len(shots)})")
    rate = _rate(info)
    hint_frames = _hint_frames(hints, rate, count)
    all_sources = [*references.sources, *(source for _, source in given)]
    plan_references = tuple(
        PlanReference(
            file=str(Path(source.path).resolve()),
            pin=str(source.at) if source.at is not None else None,
            frame=placement.frames[r],
            similarity=placement.similarity[r] if placement.similarity else 0.0,
            shot=given[r - len(references.items)][0] if r >= len(references.items) else None,
        )
        for r, source in enumerate(all_sources)
    )
    period = 1 / float(rate)
    for source, reference in zip(all_sources, plan_references, strict=True):
        # A pin outside the whole video is a typo that would leave the run without that reference; outside
        # a range only (a preview), the reference simply belongs elsewhere in the film (a warning says so).
        if source.at is None:
            continue
        negative = source.at.seconds is not None and source.at.seconds < 0
        if negative or (settings.frame_range.is_everything and reference.frame is None):
            raise UsageError(
                f"{source.path}@{source.at}: pinned outside the video (frames 0..{count - 1}, "
                f"0-{count * period:.2f} s); pin it to a time inside it"
            )
    for number, source in given:
        shot = shots[number - 1]
        if source.at is not None and not _pin_inside(source.at, shot, period):
            raise SettingError(
                "shot",
                f"{number}={source.path}@{source.at}: it is pinned to {source.at}, which is not in shot {number} "
                f"(frames {shot.start}-{shot.end - 1}, {shot.start_s:.2f}-{shot.end_s:.2f} s)",
            )
    automatic = not plan_references and not hint_frames
    plan_shots = []
    for k, shot in enumerate(shots):
        old = base.shots[k].overrides if base is not None else ShotOverrides()
        own = next((r for r in plan_references if r.shot == k + 1), None)
        overrides = dataclasses.replace(old, reference=own.spec if own is not None else old.reference)
        shot_hints = tuple(f"{path}@{frame}f" for path, frame in hint_frames if shot.start <= frame < shot.end)
        chosen = placement.shot_reference[k] if plan_references else None
        plan_shots.append(
            PlanShot(
                index=k + 1,
                first_frame=shot.start,
                last_frame=shot.end - 1,
                start_time=round(shot.start_s, 6),
                end_time=round(shot.end_s, 6),
                start_timecode=smpte(shot.start, rate),
                end_timecode=smpte(shot.end - 1, rate),
                cut_score=shot.cut_score,
                transition="dissolve" if shot.dissolve else "cut",
                reference=plan_references[chosen].spec if chosen is not None else None,
                similarity=placement.shot_similarity[k] if chosen is not None else 0.0,
                zoom=placement.shot_zoom[k] if chosen is not None else 1.0,
                status=_status(
                    overrides, own, placement.nearest[k] if chosen is not None else False, chosen, shot_hints, automatic
                ),
                hints=shot_hints,
                overrides=overrides,
            )
        )
    plan_input = PlanInput(
        path=str(info.path.resolve()),
        content=content,
        frames=count,
        rate=str(rate),
        width=info.width,
        height=info.height,
        range=str(settings.frame_range),
    )
    return Plan(plan_input, plan_references, tuple(plan_shots), recorded_settings(settings))


def _pass(
    info: VideoInfo,
    spec: YCbCrSpec,
    frame_range: FrameRange,
    lumas: Sequence[np.ndarray],
    pins: Sequence[Any],
    only_shot: Sequence[int | None],
    base: Plan | None,
    runner: ChunkRunner | None = None,
) -> tuple[Placement, int]:
    """One pass over the run's thumbnails: the placement, and how many frames the run has (decoded in chunks
    by ``runner``'s workers where it has several and the run is a whole video long enough to split)."""
    period = 1 / float(_rate(info))
    origin = float((info.start_pts or 0) * info.time_base)
    count = 0

    def serial() -> Iterator[tuple[float, np.ndarray]]:
        for frame in iter_luma_frames(info, frame_range):
            yield (
                (frame.time - origin if frame.time is not None else frame.index * period),
                frame_thumbnail(frame, spec),
            )

    def counted(frames: Iterator[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
        nonlocal count
        for item in frames:
            count += 1
            yield item

    cuts = set(base.cuts) if base is not None else None
    started = time.perf_counter()
    chunks = chunks_of(info, spec) if runner is not None and runner.capacity > 1 and frame_range.is_everything else None
    placement = None
    if chunks is not None and runner is not None:
        try:
            frames = counted(chunked_thumbnails(chunks, runner))
            placement = place(frames, lumas, pins, period, cuts=cuts, only_shot=only_shot)
        except NoTimestamps:
            log.info("%s: frames without timestamps; the analysis pass decodes the video in one piece", info.path)
            chunks, count = None, 0
    if placement is None:
        placement = place(counted(serial()), lumas, pins, period, cuts=cuts, only_shot=only_shot)
    if count == 0:
        raise PlanError(f"{info.path}: no frame inside the range {frame_range}")
    seconds = time.perf_counter() - started
    # Serial but for its decoding (split over a render's workers), so its speed is worth seeing.
    log.info("analysis pass: %d frames in %.2f s (%.0f fps, %s)", count, seconds, count / max(seconds, 1e-9),
             f"{len(chunks)} chunks on {runner.capacity} workers" if chunks and runner else "one decoder")  # fmt: skip
    if base is not None and base.input.frames != count:
        raise PlanError(f"the base plan counts {base.input.frames} frames; {info.path} has {count} in this range")
    return placement, count


def _status(
    overrides: ShotOverrides,
    own: PlanReference | None,
    nearest: bool,
    chosen: int | None,
    hints: Sequence[str],
    automatic: bool,
) -> str:
    if overrides.neutral:
        return "neutral"
    if own is not None or overrides.reference is not None:
        return "given"
    if chosen is not None and not nearest:
        return "matched"
    if hints:
        return "hinted"
    if chosen is not None:
        return "nearest"
    return "auto" if automatic else "none"


def _hint_frames(hints: Sequence[str], rate: Fraction, count: int) -> list[tuple[str, int]]:
    """Each hint file (absolute) and the run's frame it marks; a frame outside the run is refused."""
    found = []
    for text in hints:
        source = HintSource.parse(text)
        frame = source.frame_index(rate)
        if not 0 <= frame < count:
            raise SettingError("hints", f"{text}: marks frame {frame}, outside the run's frames (0..{count - 1})")
        found.append((str(source.path.resolve()), frame))
    return found


def _base_shot_references(base: Plan) -> dict[int, str]:
    """The shots of a plan that have a reference of their own: from its overrides (edited by hand, perhaps)."""
    return {s.index: s.overrides.reference for s in base.shots if s.overrides.reference is not None}


def _source(spec: str) -> StyleSource:
    (source,) = StyleSource.parse(absolute_spec(spec))
    return source


def _pin_inside(pin: TimePoint, shot: Shot, period: float) -> bool:
    if pin.frames is not None:
        return shot.start <= pin.frames < shot.end
    return shot.start_s - period / 2 <= float(pin.seconds or 0) < shot.end_s + period / 2


def _rate(info: VideoInfo) -> Fraction:
    """The nominal frame rate, 25 where the file tells none: the one place the plan's frame period comes from."""
    return info.rate if info.rate else Fraction(25)


def check_plan_for(plan: Plan, info: VideoInfo, content: str, frame_range: FrameRange, source: str) -> None:
    """Refuse a plan made for another input (by content) or another frame range."""
    if plan.input.content != content:
        raise PlanError(
            f"{source}: made for another input ({plan.input.path}, content key {plan.input.content[:12]}), "
            f"not {info.path} (content key {content[:12]})"
        )
    if plan.input.range != str(frame_range):
        raise PlanError(f"{source}: made for the frames {plan.input.range}, not {frame_range}")


@dataclass(frozen=True)
class RenderParts:
    """What a render takes from a plan: references in placement order, the placement, hints, per-shot choices."""

    sources: tuple[StyleSource, ...]
    placement: Placement
    hints: tuple[HintSource, ...]
    neutral: frozenset[int]  # shot positions (from 0) left uncoloured
    intervals: dict[int, int]  # shot position → its own keyframe interval

    def forced_keyframes(self, rate: Fraction) -> frozenset[int]:
        """The frames that must be keyframes: where a reference is placed, and the hinted ones."""
        return frozenset(
            {f for f in self.placement.frames if f is not None} | {h.frame_index(rate) for h in self.hints}
        )


def render_parts(plan: Plan) -> RenderParts:
    """Turn a plan into what rendering needs; a shot's own reference not among the plan's references
    (set by hand) is placed on its pinned frame, or nowhere."""
    specs = [r.spec for r in plan.references]
    frames = [r.frame for r in plan.references]
    rate = plan.input.fps
    for s in plan.shots:
        spec = s.colour_reference
        if spec is not None and spec not in specs:
            specs.append(spec)
            frames.append(_pinned_frame(_source(spec), rate, s))
    shots = tuple(
        Shot(s.first_frame, s.last_frame + 1, s.cut_score, s.start_time, s.end_time, s.transition == "dissolve")
        for s in plan.shots
    )
    chosen = tuple(specs.index(s.colour_reference) if s.colour_reference is not None else -1 for s in plan.shots)
    return RenderParts(
        sources=tuple(_source(spec) for spec in specs),
        placement=Placement(shots, tuple(frames), chosen, nearest=tuple(s.status == "nearest" for s in plan.shots)),
        hints=tuple(HintSource.parse(h) for s in plan.shots for h in s.hints),
        neutral=frozenset(k for k, s in enumerate(plan.shots) if s.overrides.neutral),
        intervals={k: s.overrides.keyframe_interval for k, s in enumerate(plan.shots) if s.overrides.keyframe_interval},
    )


def _pinned_frame(source: StyleSource, rate: Fraction, shot: PlanShot) -> int | None:
    if source.at is None:
        return None
    frame = source.at.frames if source.at.frames is not None else round(float(source.at.seconds or 0) * float(rate))
    return frame if shot.contains(frame) else None
