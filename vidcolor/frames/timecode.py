"""Time positions as users write them: FFmpeg's time duration syntax, or frame numbers.

Accepted forms (the same as ``ffmpeg -ss``/``-to``/``-t``), plus frames:
    ``[-][HH:]MM:SS[.m...]``     e.g. ``01:02.5``, ``1:00:00``
    ``[-]S+[.m...][s|ms|us]``    e.g. ``12``, ``2.5s``, ``500ms``, ``40000us``
    ``N f``                      a frame number (start/end) or count (duration), e.g. ``120f``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from vidcolor.errors import SettingError
from vidcolor.options import option

_CLOCK = re.compile(r"^(-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_SECONDS = re.compile(r"^(-)?(\d+(?:\.\d*)?|\.\d+)(s|ms|us)?$")
_FRAMES = re.compile(r"^(\d+)f$")
# Past these a time is a typo, and it would overflow the demuxer's 64-bit timestamps when seeking.
MAX_SECONDS = 100 * 86400
MAX_FRAMES = MAX_SECONDS * 1000
_UNIT = {None: Fraction(1), "s": Fraction(1), "ms": Fraction(1, 1000), "us": Fraction(1, 1000000)}


@dataclass(frozen=True)
class TimePoint:
    """Either a time in seconds or a frame number/count, never both."""

    seconds: Fraction | None = None
    frames: int | None = None

    def __str__(self) -> str:
        return f"{self.frames}f" if self.frames is not None else f"{float(self.seconds or 0):g}s"


def parse_time(text: str, *, setting: str = "time") -> TimePoint:
    """Parse one position; raises :class:`SettingError` naming ``setting`` for anything else."""
    point = _parsed_time(text, setting)
    if abs(Fraction(point.seconds or 0)) > MAX_SECONDS or (point.frames or 0) > MAX_FRAMES:
        raise SettingError(setting, f"{text!r}: beyond the end of any video (more than {MAX_SECONDS // 86400} days)")
    return point


def _parsed_time(text: str, setting: str) -> TimePoint:
    s = text.strip().replace(" ", "")
    if m := _FRAMES.match(s):
        return TimePoint(frames=int(m.group(1)))
    if m := _CLOCK.match(s):
        sign, hours, minutes, secs = m.groups()
        if int(minutes) >= 60 and hours is not None:
            raise SettingError(setting, f"{text!r}: not a time: minutes must be below 60 in HH:MM:SS")
        if Fraction(secs) >= 60:
            raise SettingError(setting, f"{text!r}: not a time: seconds must be below 60 in [HH:]MM:SS")
        value = int(hours or 0) * 3600 + int(minutes) * 60 + Fraction(secs)
        return TimePoint(seconds=-value if sign else value)
    if m := _SECONDS.match(s):
        sign, number, unit = m.groups()
        value = Fraction(number) * _UNIT[unit]
        return TimePoint(seconds=-value if sign else value)
    raise SettingError(
        setting, f"{text!r}: not a time; use [HH:]MM:SS[.ms], seconds like 12.5 or 500ms, or a frame number like 120f"
    )


def clock(seconds: float) -> str:
    """``[H:]MM:SS.ss`` for a time in seconds (the syntax ``--start`` reads back)."""
    sign = "-" if seconds < 0 else ""
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{sign}{f'{hours}:' if hours else ''}{minutes:02d}:{secs:05.2f}"


def smpte(frame: int, rate: Fraction) -> str:
    """SMPTE timecode ``HH:MM:SS:FF`` of a frame counted from 0 at ``rate``.

    At 30000/1001 and 60000/1001 it is drop-frame (``HH:MM:SS;FF``: frame numbers 0 and 1, or 0 to 3,
    are skipped at every minute but each tenth, so the timecode keeps to the clock), as editors show it.
    """
    nominal = max(1, round(rate))
    drop = rate.denominator == 1001 and nominal in (30, 60)
    if drop:
        skipped = nominal // 15  # 2 at 29.97, 4 at 59.94
        per_ten_minutes = nominal * 600 - 9 * skipped
        per_minute = nominal * 60 - skipped
        tens, rest = divmod(frame, per_ten_minutes)
        frame += 9 * skipped * tens + (skipped * ((rest - skipped) // per_minute) if rest > skipped else 0)
    seconds, ff = divmod(frame, nominal)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"


_SMPTE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.])(\d{2})$")


def smpte_frame(text: str, rate: Fraction, *, setting: str = "timecode") -> int:
    """The frame number (from 00:00:00:00) of a SMPTE timecode at ``rate``: :func:`smpte`'s inverse (drop-frame
    ``;`` at 29.97/59.94); :class:`SettingError` naming ``setting`` for anything else."""
    m = _SMPTE.match(text.strip())
    nominal = max(1, round(rate))
    if m is None or int(m.group(2)) >= 60 or int(m.group(3)) >= 60 or int(m.group(5)) >= nominal:
        raise SettingError(setting, f"{text!r}: not a timecode HH:MM:SS:FF at {rate} fps")
    hh, mm, ss, ff = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(5))
    frame = ((hh * 60 + mm) * 60 + ss) * nominal + ff
    if rate.denominator == 1001 and nominal in (30, 60):
        minutes = hh * 60 + mm
        frame -= (nominal // 15) * (minutes - minutes // 10)
    return frame


@dataclass(frozen=True)
class FrameRange:
    """Which frames of the input a run keeps: ``start`` inclusive, ``end`` exclusive.

    ``duration`` counts from the first kept frame, in seconds or frames.
    """

    start: TimePoint | None = option(
        None, "Start: [HH:]MM:SS[.ms], seconds (12.5, 500ms) or frame (120f).", flag="--start"
    )
    end: TimePoint | None = option(None, "End (exclusive), same syntax as --start.", flag="--end")
    duration: TimePoint | None = option(None, "Length from --start, seconds or frames (48f).", flag="--duration")

    def __post_init__(self) -> None:
        if self.end is not None and self.duration is not None:
            raise SettingError("frame_range.end", "and {0} both given; use one of them", "frame_range.duration")
        for name, point in (("start", self.start), ("end", self.end), ("duration", self.duration)):
            if point is not None and point.seconds is not None and point.seconds < 0:
                raise SettingError(f"frame_range.{name}", f"{point}: must not be negative")
        if self.duration is not None and (self.duration.seconds == 0 or self.duration.frames == 0):
            raise SettingError("frame_range.duration", "must be longer than zero")

    @classmethod
    def parse(cls, start: str | None, end: str | None, duration: str | None) -> FrameRange:
        """A range from the time syntax above; each part is optional."""
        return cls(
            # An empty value is refused (parse_time: "not a time"), not taken as "not given".
            start=parse_time(start, setting="frame_range.start") if start is not None else None,
            end=parse_time(end, setting="frame_range.end") if end is not None else None,
            duration=parse_time(duration, setting="frame_range.duration") if duration is not None else None,
        )

    @property
    def is_everything(self) -> bool:
        return self.start is None and self.end is None and self.duration is None

    def expected_frames(self, total: int | None, rate: Fraction | None) -> int | None:
        """About how many frames the range holds, for progress (None when it cannot be told)."""

        def frames_at(point: TimePoint) -> int | None:
            if point.frames is not None:
                return point.frames
            return round(float(point.seconds or 0) * float(rate)) if rate else None

        first = frames_at(self.start) if self.start is not None else 0
        if first is None:
            return None
        if self.duration is not None:
            count = frames_at(self.duration)
        elif self.end is not None:
            end = frames_at(self.end)
            count = None if end is None else end - first
        else:
            count = None if total is None else total - first
        if count is not None and total is not None:
            count = min(count, total - first)
        return None if count is None else max(count, 0)

    @property
    def seek_seconds(self) -> Fraction | None:
        """Where a demuxer may seek before decoding.

        Only a time start allows it, and only when no frame number must be counted from the
        file's first frame (after a seek the decoder cannot know how many frames it skipped).
        """
        if self.start is None or not self.start.seconds:
            return None
        if self.end is not None and self.end.frames is not None:
            return None
        return self.start.seconds

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in (("start", self.start), ("end", self.end), ("duration", self.duration)) if v]
        return ",".join(parts) or "all"


class RangeSelector:
    """Decides, frame by frame in presentation order, whether a frame is in the range.

    Time is measured from the video stream's first timestamp, as ``ffmpeg -ss`` does.
    """

    def __init__(self, frame_range: FrameRange, origin_s: float, frame_period_s: float) -> None:
        self._range = frame_range
        self._origin = origin_s
        # Half a frame of slack so that "--start 2" keeps the frame stamped 1.99999 by rounding.
        self._slack = frame_period_s / 2.0
        self._first: tuple[int, float] | None = None

    def classify(self, file_index: int, time_s: float | None) -> str:
        """``"before"``, ``"keep"`` or ``"after"`` for the frame at ``file_index`` / ``time_s``."""
        t = (time_s if time_s is not None else file_index * 2 * self._slack) - self._origin
        r = self._range
        if r.start is not None:
            if r.start.frames is not None and file_index < r.start.frames:
                return "before"
            if r.start.seconds is not None and t < float(r.start.seconds) - self._slack:
                return "before"
        if self._first is None:
            self._first = (file_index, t)
        first_index, first_t = self._first
        if r.end is not None:
            if r.end.frames is not None and file_index >= r.end.frames:
                return "after"
            if r.end.seconds is not None and t >= float(r.end.seconds) - self._slack:
                return "after"
        if r.duration is not None:
            if r.duration.frames is not None and file_index - first_index >= r.duration.frames:
                return "after"
            if r.duration.seconds is not None and t - first_t >= float(r.duration.seconds) - self._slack:
                return "after"
        return "keep"
