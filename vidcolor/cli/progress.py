"""A rich progress bar fed by the pipeline's progress callback: frames, fps, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class FpsColumn(ProgressColumn):
    """Frames per second since the start."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  --  fps" if speed is None else f"{speed:5.1f} fps", style="progress.data.speed")


class FrameProgress:
    """Context manager; call the instance as the pipeline's ``progress(done, total)`` callback."""

    def __init__(self, console: Console, label: str) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            FpsColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None)
        self._started = False

    def __enter__(self) -> FrameProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def __call__(self, done: int, total: int | None) -> None:
        # Drawn from the first frame on, so a run that fails its checks shows no empty bar.
        if not self._started:
            self._progress.start()
            self._started = True
        self._progress.update(self._task, completed=done, total=total)
