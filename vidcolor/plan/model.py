"""The shot plan: what the analysis pass decided about a film, as plain data a restorer can read and edit.

A plan names its input (path, content key, frames, rate, size), its references (where each is placed
and how well it fits), and its shots in order: frames, times, SMPTE timecodes, the cut's score, the
reference each shot takes and why (its status), the hints on its frames, and the restorer's
overrides (a reference of its own, a keyframe interval, ``neutral``: leave it uncoloured). Rendering
does exactly what a plan says (``colorize_video(..., plan=)``); ``vidcolor.plan.files`` reads and
writes it as TOML or JSON.

Frame numbers count the run's frames from 0 (a whole video: the video's frames). Paths are kept as
given; the files relativise them to the plan file's folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from vidcolor.errors import UsageError
from vidcolor.frames.timecode import clock, parse_time
from vidcolor.match.placement import PLACE_ABOVE
from vidcolor.settings import Settings

PLAN_FORMAT = 1
"""The version of the plan's layout; a plan of another version is refused (not guessed at)."""

TRANSITIONS = ("cut", "dissolve")
"""How a shot begins: at a hard cut, or halfway through a dissolve (the detector cuts a dissolve once, at
its middle; the frames before it are the shot before's)."""

STATUSES = ("matched", "nearest", "given", "hinted", "auto", "none", "neutral")
"""Why a shot has the colour it has.

- ``matched``: its reference resembles it (it is placed in it, or resembles one of its frames well).
- ``nearest``: it resembles no reference; it takes the placed reference nearest in time (a guess).
- ``given``: the restorer gave it its reference (``--shot N=REF``), whatever the similarity says.
- ``hinted``: colour hints on its frames colour it (and no reference resembles it).
- ``auto``: no reference, no hints in the whole run: a colorization network colours it.
- ``none``: nothing colours it: it stays grey (hints elsewhere, none here).
- ``neutral``: the restorer asked for it to stay uncoloured.
"""

PIN_RESEMBLES = PLACE_ABOVE
"""Below this similarity a pinned reference is said not to show its frame (the placement's own threshold)."""

NEEDS_REFERENCE = ("nearest", "none")
"""The statuses of shots that want a reference of their own."""


class PlanError(UsageError):
    """A plan that cannot be used as it is: malformed, for another input or version, or naming missing files.

    Its one-line message names the plan file and the line, shot or key at fault (exit 2).
    """


@dataclass(frozen=True)
class PlanInput:
    """What the plan was made for: a plan is refused for another input (its content key differs).

    Attributes:
        rate: the nominal frame rate as a fraction (``25``, ``30000/1001``).
        range: the run's frame range (``all``, or as ``FrameRange`` prints it).
    """

    path: str
    content: str
    frames: int
    rate: str
    width: int
    height: int
    range: str = "all"

    @property
    def fps(self) -> Fraction:
        return Fraction(self.rate)


@dataclass(frozen=True)
class PlanReference:
    """One colour reference of the plan.

    Attributes:
        file: the image, as given.
        pin: where the restorer pinned it (time syntax, ``12.5`` or ``300f``), or None.
        frame: the frame it is placed on (that frame is a keyframe coloured by the reference itself),
            or None when it resembles no frame well enough.
        similarity: how much it resembles that frame (a pinned one: its pinned frame), else its best frame.
        shot: the shot (counted from 1) it was given for (``--shot N=REF``), or None: any shot may take it.
    """

    file: str
    pin: str | None = None
    frame: int | None = None
    similarity: float = 0.0
    shot: int | None = None

    @property
    def spec(self) -> str:
        """How a user names it: ``file`` or ``file@pin`` (the ``--style`` syntax)."""
        return f"{self.file}@{self.pin}" if self.pin is not None else self.file

    @property
    def pinned(self) -> bool:
        return self.pin is not None


@dataclass(frozen=True)
class ShotOverrides:
    """What the restorer decided for one shot, over what the analysis found.

    Attributes:
        reference: the shot's own reference (``file`` or ``file@TIME``), or None.
        keyframe_interval: most frames between keyframes in this shot, or None for the run's.
        neutral: leave the shot uncoloured (grey), whatever its references.
    """

    reference: str | None = None
    keyframe_interval: int | None = None
    neutral: bool = False

    @property
    def any(self) -> bool:
        return self != ShotOverrides()


@dataclass(frozen=True)
class PlanShot:
    """One shot: frames ``first_frame`` to ``last_frame`` (both included).

    Attributes:
        start_time, end_time: the times of its first and last frames, seconds from the video's start.
        start_timecode, end_timecode: the same frames as SMPTE timecode (``HH:MM:SS:FF``).
        cut_score: the cut detector's score at the cut that starts it (0 for the first shot; 0 too for a
            cut added by hand).
        transition: how it begins, one of :data:`TRANSITIONS`: at a hard ``cut`` (the first shot, and a
            cut added by hand, too), or halfway through a ``dissolve``, where the detector cut it once.
        reference: the reference it takes (a :attr:`PlanReference.spec` of the plan's), or None.
        similarity: how much it resembles that reference (its best frame).
        zoom: how far into that reference it looks where it resembles it, a rostrum camera's zoom into its
            photograph (1: as a whole, or at the reference's own framing; see ``match.framing``).
        status: why it has its colour, one of :data:`STATUSES`.
        hints: the hint files on its frames, as ``FILE@Nf`` (frames counted as the shot's are).
    """

    index: int
    first_frame: int
    last_frame: int
    start_time: float
    end_time: float
    start_timecode: str
    end_timecode: str
    cut_score: float = 0.0
    transition: str = "cut"
    reference: str | None = None
    similarity: float = 0.0
    zoom: float = 1.0
    status: str = "none"
    hints: tuple[str, ...] = ()
    overrides: ShotOverrides = field(default_factory=ShotOverrides)

    @property
    def frames(self) -> int:
        return self.last_frame - self.first_frame + 1

    @property
    def colour_reference(self) -> str | None:
        """The reference it is rendered with: its own (an override) before the one the analysis chose."""
        return self.overrides.reference or self.reference

    def contains(self, frame: int) -> bool:
        return self.first_frame <= frame <= self.last_frame


@dataclass(frozen=True)
class Plan:
    """A film's shot plan (see the module's docstring).

    Attributes:
        settings: the run's colour settings by field path (``keyframe_interval``, ``solver.iterations``),
            so that rendering the plan later reproduces the run (see :meth:`settings_paths`).
    """

    input: PlanInput
    references: tuple[PlanReference, ...]
    shots: tuple[PlanShot, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    format: int = PLAN_FORMAT

    def shot(self, number: int) -> PlanShot:
        """Shot ``number``, counted from 1; :class:`PlanError` when there is none."""
        if not 1 <= number <= len(self.shots):
            raise PlanError(
                f"shot {number}: the plan has {len(self.shots)} shot{'s' * (len(self.shots) != 1)} (1..{len(self.shots)})"
            )
        return self.shots[number - 1]

    def shot_of(self, frame: int) -> int:
        """The position (from 0) of the shot holding ``frame``; frames past the end belong to the last."""
        low, high = 0, len(self.shots) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.shots[middle].first_frame <= frame:
                low = middle
            else:
                high = middle - 1
        return low

    def reference(self, spec: str) -> PlanReference | None:
        return next((r for r in self.references if r.spec == spec), None)

    @property
    def cuts(self) -> tuple[int, ...]:
        """The frames that start a shot, the first frame included."""
        return tuple(s.first_frame for s in self.shots)

    @property
    def automatic(self) -> bool:
        """No reference and no hints anywhere: a colorization network colours the film."""
        return not self.references and not any(s.hints or s.overrides.reference for s in self.shots)

    def frame_at(self, seconds: float) -> int:
        """The frame shown at ``seconds`` from the video's start (by its shot's start and the nominal rate)."""
        half = 0.5 / float(self.input.fps)
        shot = next((s for s in reversed(self.shots) if s.start_time <= seconds + half), self.shots[0])
        frame = shot.first_frame + round((seconds - shot.start_time) * float(self.input.fps))
        return min(max(frame, shot.first_frame), shot.last_frame)

    def sliced(self, first: int, count: int, frame_range: str) -> Plan:
        """The plan of frames ``first`` to ``first + count - 1`` only, numbered from 0 (a preview's run of
        ``frame_range``): shots clipped to it, references placed outside it not placed, hints outside it dropped."""
        last = min(first + count, self.input.frames) - 1
        shots = []
        for s in self.shots:
            if s.last_frame < first or s.first_frame > last:
                continue
            hints = []
            for spec in s.hints:
                at = hint_frame(spec)
                if at is not None and first <= at <= last:
                    hints.append(f"{split_spec(spec)[0]}@{at - first}f")
            shots.append(
                replace(
                    s,
                    first_frame=max(s.first_frame, first) - first,
                    last_frame=min(s.last_frame, last) - first,
                    hints=tuple(hints),
                )
            )
        references = tuple(
            replace(r, frame=r.frame - first if r.frame is not None and first <= r.frame <= last else None)
            for r in self.references
        )
        plan_input = replace(self.input, frames=last - first + 1, range=frame_range)
        return replace(self, input=plan_input, references=references).with_shots(shots)

    def with_shots(self, shots: Sequence[PlanShot]) -> Plan:
        """The plan with these shots, renumbered from 1 in order."""
        return replace(self, shots=tuple(replace(s, index=i + 1) for i, s in enumerate(shots)))

    def render_key(self) -> str:
        """A short hash of everything in the plan that decides colours (cuts, references and where they
        are placed, hints, overrides), for the keyframe cache's key."""
        decisive = {
            "references": [(r.spec, r.frame, r.shot) for r in self.references],
            "shots": [
                (s.first_frame, s.last_frame, s.colour_reference, list(s.hints), s.overrides.keyframe_interval,
                 s.overrides.neutral, s.status == "nearest")
                for s in self.shots
            ],
        }  # fmt: skip
        return hashlib.sha256(json.dumps(decisive).encode()).hexdigest()[:16]

    def warnings(self) -> list[str]:
        """One line for each shot whose colour nothing vouches for and each pin that misses its frame."""
        lines = []
        for s in self.shots:
            where = f"shot {s.index} ({s.start_timecode}-{s.end_timecode}, frames {s.first_frame}-{s.last_frame})"
            if s.status == "nearest":
                taken = self.reference(s.reference) if s.reference else None
                origin = f" placed at frame {taken.frame}" if taken is not None and taken.frame is not None else ""
                lines.append(
                    f"{where} resembles no reference (similarity {s.similarity:.2f}): it takes {s.reference}{origin}, "
                    f"a guess; give it its own with --shot {s.index}=REF"
                )
            elif s.status == "none":
                lines.append(
                    f"{where} has no reference and no hints: it stays grey; give it a reference with "
                    f"--shot {s.index}=REF or hints with --hints FILE@{clock(s.start_time)}"
                )
            if s.status == "hinted" and s.colour_reference is None:
                lines.extend(self._before_first_hint(s, where))
        for r in self.references:
            if r.pinned and r.frame is not None and r.similarity < PIN_RESEMBLES:
                lines.append(
                    f"{r.spec}: pinned to frame {r.frame}, which it does not resemble (similarity "
                    f"{r.similarity:.2f}, below {PIN_RESEMBLES}); check the time, or leave the pin out to place it"
                )
            elif r.pinned and r.frame is None:
                lines.append(f"{r.spec}: pinned outside the frames of this run; it is placed nowhere")
        return lines

    def _before_first_hint(self, shot: PlanShot, where: str) -> list[str]:
        """A hinted shot with no reference is coloured back from its first hinted keyframe only to the keyframe
        before it, which itself has no colour (keyframes start the shot, then come every interval frames)."""
        frames = [f for f in map(hint_frame, shot.hints) if f is not None]
        if not frames:
            return []
        first_hint = min(frames)
        interval = shot.overrides.keyframe_interval or int(
            self.settings.get("keyframe_interval", Settings.keyframe_interval)
        )
        before = shot.first_frame + interval * ((first_hint - shot.first_frame - 1) // interval)
        if first_hint <= shot.first_frame or before <= shot.first_frame:
            return []
        return [
            f"{where} has hints from frame {first_hint} on only: frames {shot.first_frame}-{before} (up to the "
            f"keyframe before them) stay grey; put hints for the whole shot on its first frame "
            f"(@{shot.first_frame}f) or give it a reference"
        ]


def split_spec(spec: str) -> tuple[str, str | None]:
    """``file@pin`` → ``(file, pin)`` where what follows the last ``@`` reads as a time; else ``(spec, None)``."""
    head, sep, tail = spec.rpartition("@")
    if sep and head:
        try:
            parse_time(tail)
        except UsageError:
            return spec, None
        return head, tail
    return spec, None


def hint_frame(spec: str) -> int | None:
    """The frame a plan's hint ``FILE@Nf`` marks, or None when it marks none."""
    _, pin = split_spec(spec)
    if pin is None:
        return None
    try:
        return parse_time(pin).frames
    except UsageError:
        return None
