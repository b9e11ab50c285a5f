"""One film rendered shot-parallel: segments of whole shots coloured by workers (processes of this machine or
Ray tasks), joined as encoded packets, resumable by segment. ``colorize_video(..., jobs=N)`` is the entry."""

from vidcolor.film.executors import EXECUTORS, SegmentExecutor, check_jobs
from vidcolor.film.render import (
    FilmRender,
    SegmentFailed,
    SegmentsCallback,
    SegmentsState,
    render_film,
    segments_folder,
)
from vidcolor.film.segments import Segment, split_segments

__all__ = [
    "EXECUTORS",
    "FilmRender",
    "Segment",
    "SegmentExecutor",
    "SegmentFailed",
    "SegmentsCallback",
    "SegmentsState",
    "check_jobs",
    "render_film",
    "segments_folder",
    "split_segments",
]
