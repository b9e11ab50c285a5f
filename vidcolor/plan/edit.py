"""Edits of a plan's cuts, as pure functions: ``Plan -> Plan`` (the studio's merge and split buttons).

The edited plan keeps every shot's overrides and hints; its statuses and similarities are those of the
plan it came from until :func:`~vidcolor.plan.make.plan_video` (``base=``) brings them up to date.
"""

from __future__ import annotations

from dataclasses import replace

from vidcolor.frames.timecode import smpte
from vidcolor.plan.model import Plan, PlanError, PlanShot, hint_frame


def merge_cut(plan: Plan, shot: int) -> Plan:
    """The plan without the cut that starts shot ``shot`` (from 2): it joins the shot before it, which keeps
    its reference and overrides; the hints of both are kept."""
    if not 2 <= shot <= len(plan.shots):
        raise PlanError(f"shot {shot}: no cut to merge (the cuts start shots 2..{len(plan.shots)})")
    before, after = plan.shots[shot - 2], plan.shots[shot - 1]
    joined = replace(
        before,
        last_frame=after.last_frame,
        end_time=after.end_time,
        end_timecode=after.end_timecode,
        hints=before.hints + after.hints,
    )
    return plan.with_shots([*plan.shots[: shot - 2], joined, *plan.shots[shot:]])


def split_shot(plan: Plan, frame: int) -> Plan:
    """The plan with a cut added at ``frame`` (a frame inside a shot, not its first): both halves keep the
    shot's reference and overrides; each keeps the hints on its own frames."""
    if not 0 < frame < plan.input.frames:
        raise PlanError(f"frame {frame}: not a frame to cut at (1..{plan.input.frames - 1})")
    k = plan.shot_of(frame)
    shot = plan.shots[k]
    if frame == shot.first_frame:
        raise PlanError(f"frame {frame}: shot {shot.index} already starts there")
    rate = plan.input.fps
    origin = plan.shots[0].start_time

    def time_of(f: int) -> float:
        return round(origin + f / float(rate), 6)

    first = replace(
        shot,
        last_frame=frame - 1,
        end_time=time_of(frame - 1),
        end_timecode=smpte(frame - 1, rate),
        hints=_hints_in(shot, shot.first_frame, frame - 1),
    )
    second = replace(
        shot,
        first_frame=frame,
        start_time=time_of(frame),
        start_timecode=smpte(frame, rate),
        cut_score=0.0,  # a cut added by hand has no detector's score
        transition="cut",
        hints=_hints_in(shot, frame, shot.last_frame),
    )
    return plan.with_shots([*plan.shots[:k], first, second, *plan.shots[k + 1 :]])


def _hints_in(shot: PlanShot, first: int, last: int) -> tuple[str, ...]:
    return tuple(h for h in shot.hints if (at := hint_frame(h)) is not None and first <= at <= last)
