"""A film's frames as picture files for the page: read forward where the restorer scrubs forward, and the shot
strip's thumbnails made in one decoding pass rather than one seek each.

A seek lands on the keyframe before the frame and decodes up to it (half a GOP on average: ~0.8 s at
640x360 with x264's 250-frame GOP); the :class:`FrameReader` keeps its decoder open, so the next frame
or one a few seconds on costs only the frames between. The thumbnails of every shot's first, middle
and last frames come from one pass over the film in a thread (what the plan pass costs, once), cached
in the studio's folder; a request for one the pass has not reached waits for it briefly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.errors import InputError, VidcolorError
from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.probe import VideoInfo
from vidcolor.frames.timecode import FrameRange, TimePoint

log = logging.getLogger("vidcolor")
READ_ON_AT_MOST = 250  # frames: further than this, a seek is cheaper than decoding forward (x264's GOP)
THUMBNAIL_WAIT_S = 20.0  # how long a request waits for the thumbnail pass before it seeks itself


class FrameReader:
    """Unit luma of any frame, decoding forward from the last one read when that is near (thread-safe)."""

    def __init__(self, info: VideoInfo, spec: YCbCrSpec) -> None:
        self.info = info
        self.spec = spec
        self._lock = threading.Lock()
        self._frames: Iterator[LumaFrame] | None = None
        self._next = 0  # the index the open decoder yields next
        self.seeks = 0

    def luma(self, frame: int) -> np.ndarray:
        with self._lock:
            if self._frames is None or not 0 <= frame - self._next <= READ_ON_AT_MOST:
                self._open_at(frame)
            assert self._frames is not None
            for decoded in self._frames:
                index = self._next
                self._next += 1
                if index == frame:
                    return self.spec.luma_to_unit(decoded.luma)
            self._frames = None
        raise InputError(f"{self.info.path}: frame {frame} could not be decoded")

    def _open_at(self, frame: int) -> None:
        self.close()
        self.seeks += 1
        self._frames = iter_luma_frames(self.info, FrameRange(start=TimePoint(frames=frame)))
        self._next = frame

    def close(self) -> None:
        frames, self._frames = self._frames, None
        if frames is not None and hasattr(frames, "close"):
            frames.close()


def grey_rgb(luma: np.ndarray) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` of unit luma."""
    grey = (np.clip(luma, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.dstack([grey] * 3)


def resized(rgb: np.ndarray, width: int | None) -> np.ndarray:
    if width is None or width >= rgb.shape[1]:
        return rgb
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def write_picture(path: Path, image: np.ndarray) -> None:
    """Write a picture (BGR or BGRA) as every output is written: a temporary name, renamed when complete."""
    ok, encoded = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(f"{path}: could not encode the picture")
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")  # one per writer
    partial.write_bytes(encoded.tobytes())
    partial.replace(path)


class ThumbnailPass:
    """Thumbnails of chosen frames, made by one decoding pass in a thread; :meth:`wait_for` one of them."""

    def __init__(self, info: VideoInfo, spec: YCbCrSpec, path_of: Callable[[int], Path], width: int) -> None:
        self.info, self.spec, self.path_of, self.width = info, spec, path_of, width
        self._done = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.wanted: frozenset[int] = frozenset()

    def start(self, frames: Iterable[int]) -> None:
        """Make the thumbnails of ``frames`` not yet on disk (a pass already running goes on with its own)."""
        wanted = frozenset(f for f in frames if not self.path_of(f).is_file())
        if not wanted or (self._thread is not None and self._thread.is_alive()):
            return
        self.wanted = wanted
        self._thread = threading.Thread(target=self._run, args=(wanted,), name="studio-thumbnails", daemon=True)
        self._thread.start()

    def wait_for(self, frame: int, timeout: float = THUMBNAIL_WAIT_S) -> bool:
        """Wait until ``frame``'s thumbnail is on disk, if the running pass will make it; True once it is."""
        path = self.path_of(frame)
        with self._done:
            self._done.wait_for(lambda: path.is_file() or frame not in self.wanted or not self.running, timeout=timeout)
        return path.is_file()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, wanted: frozenset[int]) -> None:
        last = max(wanted)
        try:
            for decoded in iter_luma_frames(self.info):
                if self._stop.is_set() or decoded.index > last:
                    break
                if decoded.index in wanted:
                    rgb = resized(grey_rgb(self.spec.luma_to_unit(decoded.luma)), self.width)
                    write_picture(self.path_of(decoded.index), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                    with self._done:
                        self._done.notify_all()
        except VidcolorError as exc:  # a damaged film: the thumbnails past the damage are made by seeking, or fail
            log.warning("thumbnails: %s", exc)
        finally:
            with self._done:
                self.wanted = frozenset()
                self._done.notify_all()
