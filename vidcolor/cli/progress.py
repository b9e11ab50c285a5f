"""Progress fed by the pipeline's progress callback: frames, fps, ETA; a bar on a terminal, lines in a log.

Frames come out in bursts (a whole window once its keyframes are solved), so a rate measured over
the last few updates swings far above and below the truth; the rate shown is frames written over
the time since the run started, and the ETA follows from it.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from vidcolor.film import SegmentsState

# Without a terminal, a line at every this much of the run (or this often when the total is unknown).
LOG_EVERY_PERCENT = 5
LOG_EVERY_SECONDS = 30.0


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _Rate:
    """Frames per second and time left, from the frames written since ``started``."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def fps(self, done: int) -> float | None:
        elapsed = time.monotonic() - self.started
        return done / elapsed if done and elapsed > 0 else None

    def eta(self, done: int, total: int | None) -> str:
        fps = self.fps(done)
        return "-:--:--" if fps is None or not total else _clock(max(total - done, 0) / fps)


class _FpsColumn(ProgressColumn):
    def __init__(self, rate: _Rate) -> None:
        super().__init__()
        self._rate = rate

    def render(self, task: Task) -> Text:
        fps = self._rate.fps(int(task.completed))
        return Text("  --  fps" if fps is None else f"{fps:5.1f} fps", style="progress.data.speed")


class _EtaColumn(ProgressColumn):
    def __init__(self, rate: _Rate) -> None:
        super().__init__()
        self._rate = rate

    def render(self, task: Task) -> Text:
        total = int(task.total) if task.total is not None else None
        return Text(f"ETA {self._rate.eta(int(task.completed), total)}", style="progress.remaining")


class FrameProgress:
    """Context manager; call the instance as the pipeline's ``progress(done, total)`` callback."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._rate = _Rate()
        self._terminal = console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            _FpsColumn(self._rate),
            _EtaColumn(self._rate),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None)
        self._started = False
        self._logged_percent = -LOG_EVERY_PERCENT
        self._logged_at = self._rate.started
        self._segments_done = -1

    def __enter__(self) -> FrameProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started and self._terminal:
            self._progress.stop()

    def __call__(self, done: int, total: int | None) -> None:
        if not self._terminal:
            self._log_line(done, total)
            return
        # Drawn from the first frame on, so a run that fails its checks shows no empty bar.
        if not self._started:
            self._progress.start()
            self._started = True
        self._progress.update(self._task, completed=done, total=total)

    def segments(self, state: SegmentsState) -> None:
        """A shot-parallel render's segments beside the frames: on a terminal in the bar's label, in a log a
        line as each finishes."""
        working = f"; on {', '.join(map(str, state.in_flight))}" if state.in_flight else ""
        text = f"segments {state.done}/{state.total}{working}"
        if self._terminal:
            self._progress.update(self._task, description=f"{self._label}  {text}")
        elif state.done != self._segments_done:
            self._segments_done = state.done
            self._console.print(f"vidcolor: {self._label}: {text}", highlight=False, soft_wrap=True)

    def _log_line(self, done: int, total: int | None) -> None:
        """A plain line every few percent (or every half minute without a total): logs of long runs."""
        now = time.monotonic()
        if total:
            percent = 100 * done // total
            if percent < self._logged_percent + LOG_EVERY_PERCENT and done != total:
                return
            self._logged_percent = percent
            where = f"{percent}% ({done}/{total} frames)"
        else:
            if now - self._logged_at < LOG_EVERY_SECONDS:
                return
            where = f"{done} frames"
        self._logged_at = now
        fps = self._rate.fps(done)
        self._console.print(
            f"vidcolor: {self._label}: {where}, {fps or 0:.1f} fps, ETA {self._rate.eta(done, total)}",
            highlight=False,
            soft_wrap=True,
        )


class BatchProgress:
    """A batch's progress: on a terminal one overall bar of items with the items now running beside it;
    every item's end is a line either way (so a log keeps what happened to each)."""

    def __init__(self, console: Console, total: int, *, quiet: bool) -> None:
        self._console = console
        self._quiet = quiet
        self._running: list[str] = []
        self._progress = (
            Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("items  {task.description}"),
                TimeElapsedColumn(),
                console=console,
            )
            if console.is_terminal and not quiet
            else None
        )
        self._task = self._progress.add_task("", total=total) if self._progress is not None else None

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def started(self, name: str) -> None:
        self._running.append(name)
        self._show()

    def finished(self, name: str, line: str, *, ok: bool) -> None:
        if name in self._running:
            self._running.remove(name)
        if not (ok and self._quiet):  # failures are said even when quiet
            (self._progress.console if self._progress is not None else self._console).print(line, highlight=False)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        self._show()

    def _show(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, description=("running: " + ", ".join(self._running)) if self._running else ""
            )
