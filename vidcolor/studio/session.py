"""The studio's working state over one film: its plan, its frames as pictures, the edits a restorer makes.

All of it is library: the web app (:mod:`vidcolor.studio.app`) only turns requests into these calls,
and a script may drive a :class:`Studio` directly. Every edit goes through the plan's own functions
(``plan_video(base=...)``, :mod:`vidcolor.plan.edit`), so a plan made here is one the CLI renders the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidcolor.errors import UsageError
from vidcolor.film import check_jobs
from vidcolor.frames.encode import default_for_codec
from vidcolor.frames.output import default_output_path
from vidcolor.frames.probe import content_key, probe
from vidcolor.frames.timecode import FrameRange, TimePoint
from vidcolor.pipeline import ColouredFrame, colorize_video
from vidcolor.places import cache_place
from vidcolor.plan import Plan, PlanError, default_plan_path, plan_from_dict, plan_to_dict, plan_video, write_plan
from vidcolor.plan.edit import merge_cut, split_shot
from vidcolor.plan.files import check_files
from vidcolor.plan.model import split_spec
from vidcolor.preview import preview_video
from vidcolor.segment import Segmenter
from vidcolor.segment.regions import OVERLAY_COLOURS, overlay
from vidcolor.settings import Settings
from vidcolor.stages import build_segmenter
from vidcolor.studio.jobs import JobRunner, Progress
from vidcolor.studio.pictures import FrameReader, ThumbnailPass, grey_rgb, resized, write_picture

log = logging.getLogger("vidcolor")

VIEWS = ("grey", "colour", "regions")
FORMATS = {"jpeg": (".jpg", "image/jpeg"), "png": (".png", "image/png")}
UPLOAD_LIMIT_BYTES = 32 << 20  # a reference photograph or a hint picture; larger is refused, not read
UPLOAD_PIXELS_LIMIT = 80_000_000  # about 10k x 8k: beyond that a decoded picture alone is gigabytes
THUMBNAIL_WIDTH = 160


class StudioError(UsageError):
    """A request the studio cannot do as asked (a frame outside the film, a picture it cannot read...)."""


class Studio:
    """One film open in the studio.

    Args:
        input_path: the film.
        style_path: references to plan with (as for :func:`~vidcolor.pipeline.colorize_video`).
        settings: the run's settings (those a plan records are used when rendering it).
        plan: a plan to start from (``--plan``): its cuts, overrides, hints and references are kept.
        folder: where the studio keeps its uploads, hint pictures, thumbnails and previews; default a
            folder of the cache named by the film's content.
        workers: the render's shot-parallel workers (``--jobs``; 1: one process, 0: as many as fit); its
            events then say the segments finished and in flight.
    """

    def __init__(
        self,
        input_path: str | os.PathLike[str],
        style_path: Sequence[str | os.PathLike[str]] = (),
        settings: Settings | None = None,
        *,
        plan: Plan | None = None,
        folder: str | os.PathLike[str] | None = None,
        workers: int = 1,
    ) -> None:
        check_jobs(workers)
        self.input = Path(input_path).resolve()
        self.workers = workers
        self.settings = settings or Settings()
        self.info = probe(self.input, self.settings.sequence)
        self.spec = self.info.spec
        self.content = content_key(self.info)
        base = Path(folder) if folder is not None else cache_place(self.settings.cache_dir).path / "studio"
        self.folder = (base / self.content[:16]).resolve()
        for part in ("uploads", "hints", "frames", "previews"):
            (self.folder / part).mkdir(parents=True, exist_ok=True)
        self.output = default_for_codec(default_output_path(self.input), self.settings.encoder).resolve()
        self.plan_path = default_plan_path(self.input).resolve()
        self.jobs = JobRunner()
        self.closing = threading.Event()
        self._lock = threading.RLock()  # plan edits one at a time (requests run in a thread pool)
        self._segmenter: Segmenter | None = None
        self._colouring = threading.Lock()  # one frame coloured at a time: each run uses every core
        # A one-frame run logs the plan's warnings again, for a plan sliced to that frame: the page shows the
        # plan's own; these would only repeat them, misnumbered, in the terminal.
        self._quiet_threads = _QuietThreads()
        log.addFilter(self._quiet_threads)
        self._reader = FrameReader(self.info, self.spec)
        self.plan = plan_video(self.input, list(style_path), self.settings, base=plan)
        self._thumbnails = ThumbnailPass(
            self.info, self.spec, lambda f: self._path(f, "grey", THUMBNAIL_WIDTH, "jpeg"), THUMBNAIL_WIDTH
        )
        self._thumbnails.start(self._thumbnail_frames())
        self._offered: list[str] = []
        self._names: dict[str, str] = {}  # an upload's own name, for the page
        self._offer(r.file for r in self.plan.references)

    # ------------------------------------------------------------------------------------------ plan

    def plan_data(self) -> dict[str, Any]:
        """The plan as ``GET /api/plan`` gives it (absolute paths; what ``PUT /api/plan`` takes back)."""
        return plan_to_dict(self.plan)

    @property
    def references(self) -> tuple[str, ...]:
        """The reference files on offer (the plan's and those uploaded), in the order the page numbers them."""
        return tuple(self._offered)

    def state(self) -> dict[str, Any]:
        """What the page shows besides the plan: the film, the references on offer, warnings, the job."""
        return {
            "input": {"path": str(self.input), "name": self.input.name, **_video_facts(self)},
            "output": str(self.output),
            "plan_file": str(self.plan_path),
            "folder": str(self.folder),
            "references": [
                {"index": k, "file": f, "name": self._names.get(f, Path(f).name)} for k, f in enumerate(self.references)
            ],
            "render_key": self.plan.render_key(),
            "warnings": self.plan.warnings(),
            "regions": {name: "#" + bytes(colour).hex() for name, colour in OVERLAY_COLOURS.items()},
            "job": self.jobs.summary(),
        }

    def replace_plan(self, data: Any, source: str = "the plan sent") -> Plan:
        """Take a whole plan (as :meth:`plan_data` gives it, edited); :class:`PlanError` says what is wrong."""
        plan = plan_from_dict(data, source)
        check_files(plan, source)
        return self._update(lambda: plan_video(self.input, (), self.settings, base=plan))

    def give_reference(self, shot: int, file: str, pin_frame: int | None = None) -> Plan:
        """Shot ``shot`` takes ``file`` (one on offer), pinned to ``pin_frame`` (a frame of the shot) when given."""
        if file not in self._offered:
            raise StudioError(f"{file}: not a reference on offer; upload it first")
        spec = f"{file}@{pin_frame}f" if pin_frame is not None else file
        return self._update(
            lambda: plan_video(self.input, (), self.settings, shot_references={shot: spec}, base=self.plan)
        )

    def set_overrides(self, shot: int, *, neutral: bool | None = None, keyframe_interval: int | None = None) -> Plan:
        chosen = self.plan.shot(shot)
        changes: dict[str, Any] = {}
        if neutral is not None:
            changes["neutral"] = neutral
        if keyframe_interval is not None:
            if keyframe_interval < 1:
                raise PlanError(f"shot {shot}: keyframe_interval must be at least 1; got {keyframe_interval}")
            changes["keyframe_interval"] = keyframe_interval
        edited = dataclasses.replace(chosen, overrides=dataclasses.replace(chosen.overrides, **changes))
        shots = [edited if s.index == shot else s for s in self.plan.shots]
        return self._update(lambda: plan_video(self.input, (), self.settings, base=self.plan.with_shots(shots)))

    def merge(self, shot: int) -> Plan:
        """Remove the cut that starts shot ``shot``."""
        return self._update(lambda: plan_video(self.input, (), self.settings, base=merge_cut(self.plan, shot)))

    def split(self, frame: int) -> Plan:
        """Add a cut at ``frame``."""
        return self._update(lambda: plan_video(self.input, (), self.settings, base=split_shot(self.plan, frame)))

    def save_plan(self) -> Path:
        """Write the plan beside the input (``NAME.plan.toml``), replacing the one there."""
        return write_plan(self.plan, self.plan_path, overwrite=True)

    def _update(self, make: Any) -> Plan:
        with self._lock:
            self.plan = make()
        self._thumbnails.start(self._thumbnail_frames())  # a new cut's frames
        self.jobs.publish({"type": "plan", "warnings": self.plan.warnings()})
        return self.plan

    # --------------------------------------------------------------------------------------- uploads

    def add_reference(self, data: bytes, name: str = "reference") -> str:
        """Keep an uploaded reference image (decoded first: anything else is refused) under a generated name."""
        image = _decoded(data, name)
        path = self.folder / "uploads" / f"reference-{hashlib.sha256(data).hexdigest()[:16]}.png"
        write_picture(path, image)
        self._offer([str(path)])
        self._names.setdefault(str(path), Path(name).name or path.name)
        return str(path)

    def save_hints(self, frame: int, data: bytes) -> Plan:
        """Keep a hint picture painted on ``frame`` (transparent or grey where it gives no colour) and put it
        in the plan as ``FILE@Nf``, replacing the studio's earlier hints on that frame."""
        self._check_frame(frame)
        image = _decoded(data, f"hints for frame {frame}", unchanged=True)
        digest = hashlib.sha256(data).hexdigest()[:12]
        path = self.folder / "hints" / f"frame-{frame:06d}-{digest}.png"
        write_picture(path, image)
        return self._with_hints(frame, [f"{path}@{frame}f"])

    def clear_hints(self, frame: int) -> Plan:
        """Take the studio's hints on ``frame`` out of the plan."""
        self._check_frame(frame)
        return self._with_hints(frame, [])

    def _with_hints(self, frame: int, new: list[str]) -> Plan:
        mine = str(self.folder / "hints") + os.sep

        def keep(spec: str) -> bool:
            file, pin = split_spec(spec)
            return not (file.startswith(mine) and pin == f"{frame}f")

        shots = [dataclasses.replace(s, hints=tuple(filter(keep, s.hints))) for s in self.plan.shots]
        base = self.plan.with_shots(shots)
        return self._update(lambda: plan_video(self.input, (), self.settings, hints=new, base=base))

    def _offer(self, files: Any) -> None:
        for file in files:
            if file not in self._offered:
                self._offered.append(file)

    # ---------------------------------------------------------------------------------------- frames

    def picture(self, frame: int, view: str = "grey", width: int | None = None, image_format: str = "jpeg") -> Path:
        """Frame ``frame`` as a picture file: ``grey`` (the input), ``colour`` (coloured as a keyframe of its
        shot with the current plan) or ``regions`` (the segmenter's regions over it), ``width`` pixels wide
        (the frame's own width when None). Pictures are kept in the studio's folder and made once."""
        self._check_frame(frame)
        if view not in VIEWS:
            raise StudioError(f"view {view!r}: one of {', '.join(VIEWS)}")
        if image_format not in FORMATS:
            raise StudioError(f"format {image_format!r}: one of {', '.join(FORMATS)}")
        if width is not None and width < 16:
            raise StudioError(f"width {width}: 16 pixels at least")
        path = self._path(frame, view, width, image_format)
        if not path.is_file() and view == "grey" and width == THUMBNAIL_WIDTH and self._thumbnails.wait_for(frame):
            return path  # made by the thumbnail pass
        if not path.is_file():
            rgb = self._coloured(frame) if view == "colour" else self._grey_or_regions(frame, view)
            write_picture(path, cv2.cvtColor(resized(rgb, width), cv2.COLOR_RGB2BGR))
        return path

    def _path(self, frame: int, view: str, width: int | None, image_format: str) -> Path:
        size = width if width is not None and width < self.info.width else "full"  # never larger than the frame
        key = f"-{self.plan.render_key()}" if view == "colour" else ""
        return self.folder / "frames" / f"{frame:06d}-{view}{key}-{size}{FORMATS[image_format][0]}"

    def _thumbnail_frames(self) -> list[int]:
        """The frames the shot strip shows: each shot's first, middle and last."""
        return [f for s in self.plan.shots for f in (s.first_frame, (s.first_frame + s.last_frame) // 2, s.last_frame)]

    def _grey_or_regions(self, frame: int, view: str) -> np.ndarray:
        luma = self._reader.luma(frame)
        if view == "regions":
            if self._segmenter is None:
                self._segmenter = build_segmenter(self.settings)
            return overlay(luma, self._segmenter.segment(luma))
        return grey_rgb(luma)

    def _coloured(self, frame: int) -> np.ndarray:
        """One frame coloured through the library, as a keyframe of its shot with the current plan."""
        frame_range = _one_frame(frame)
        plan = self.plan.sliced(frame, 1, str(frame_range))
        got: list[ColouredFrame] = []
        with self._colouring, _quiet(self._quiet_threads):
            colorize_video(
                self.input,
                (),
                self.folder / "frames" / "colour-frame.mp4",
                dataclasses.replace(self.settings, frame_range=frame_range),
                overwrite=True,
                on_frame=got.append,
                plan=plan,
            )
        return (got[0].rgb() * 255 + 0.5).astype(np.uint8)

    def _check_frame(self, frame: int) -> None:
        if not 0 <= frame < self.plan.input.frames:
            raise StudioError(f"frame {frame}: the film has frames 0..{self.plan.input.frames - 1}")

    # ---------------------------------------------------------------------------------- preview, render

    def preview(self, shot: int) -> None:
        """Start colouring shot ``shot`` with the current plan (a job); its result names the clip and sheet."""
        self.plan.shot(shot)
        plan = self.plan
        output = self.folder / "previews" / f"shot-{shot:03d}.mp4"

        def work(progress: Progress) -> dict[str, Any]:
            result = preview_video(self.input, (), output, self.settings, overwrite=True, progress=progress,
                                   plan=plan, shot=shot)  # fmt: skip
            return {"shot": shot, "video": str(result.video.output), "sheet": str(result.sheet)}

        self.jobs.start("preview", work)

    def render(self, *, overwrite: bool = False) -> None:
        """Start rendering the whole film with the current plan (a job), after writing the plan beside the
        input, so that ``vidcolor INPUT --plan NAME.plan.toml`` reproduces the render."""
        plan_file = self.save_plan()
        plan = self.plan

        def work(progress: Progress) -> dict[str, Any]:
            result = colorize_video(self.input, (), self.output, self.settings, overwrite=overwrite,
                                    progress=progress, plan=plan, jobs=self.workers,
                                    on_segments=self.jobs.note_segments)  # fmt: skip
            return {"output": str(result.output), "plan_file": str(plan_file), "frames": result.frames,
                    "seconds": round(result.seconds, 2)}  # fmt: skip

        self.jobs.start("render", work)

    def close(self) -> None:
        """Stop: cancel a running job and wait for its clean-up (no partial output is left)."""
        self.closing.set()
        self.jobs.close()
        self._thumbnails.stop()
        self._reader.close()
        log.removeFilter(self._quiet_threads)

    # ----------------------------------------------------------------------------------------- files

    def servable(self, kind: str, name: str) -> Path | None:
        """The file a ``/api/files/KIND/NAME`` request may have, or None (the web app answers 404).

        Only these are served: the input (``input``), the output (``output``), the plan file (``plan``),
        a reference on offer (``reference/K``), a hint file of the plan (``hint/SHOT/K``), and files of the
        studio's own folder (``studio/PATH``), that last checked after symlinks are resolved.
        """
        named = {"input": self.input, "output": self.output, "plan": self.plan_path}
        if kind in named and not name:
            path: Path | None = named[kind]
        elif kind == "reference" and name.isdigit() and int(name) < len(self._offered):
            path = Path(self._offered[int(name)])
        elif kind == "hint":
            path = self._hint_file(name)
        elif kind == "studio" and name:
            path = _inside(self.folder, name)
        else:
            path = None
        return path if path is not None and path.is_file() else None

    def studio_url(self, path: str | Path) -> str:
        """The ``/api/files/studio/...`` address of a file in the studio's folder."""
        return "/api/files/studio/" + Path(path).resolve().relative_to(self.folder).as_posix()

    def _hint_file(self, name: str) -> Path | None:
        shot, _, k = name.partition("/")
        if not (shot.isdigit() and k.isdigit()) or not 1 <= int(shot) <= len(self.plan.shots):
            return None
        hints = self.plan.shots[int(shot) - 1].hints
        return Path(split_spec(hints[int(k)])[0]) if int(k) < len(hints) else None


class _QuietThreads(logging.Filter):
    """Drops the log records of the threads in it."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in self.threads


@contextlib.contextmanager
def _quiet(threads: _QuietThreads) -> Iterator[None]:
    me = threading.get_ident()
    threads.threads.add(me)
    try:
        yield
    finally:
        threads.threads.discard(me)


def _video_facts(studio: Studio) -> dict[str, Any]:
    plan = studio.plan.input
    return {"frames": plan.frames, "rate": plan.rate, "width": plan.width, "height": plan.height}


def _one_frame(frame: int) -> FrameRange:
    return FrameRange(start=TimePoint(frames=frame), duration=TimePoint(frames=1))


def _inside(folder: Path, name: str) -> Path | None:
    """``folder/name`` if it stays inside ``folder`` once ``..``, absolute parts and symlinks are resolved."""
    if "\x00" in name:
        return None
    try:
        path = (folder / name).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return path if path.is_relative_to(folder) else None


def _decoded(data: bytes, what: str, *, unchanged: bool = False) -> np.ndarray:
    if len(data) > UPLOAD_LIMIT_BYTES:
        raise StudioError(
            f"{what}: {len(data) >> 20} MiB is more than the {UPLOAD_LIMIT_BYTES >> 20} MiB an upload may be"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED if unchanged else cv2.IMREAD_COLOR)
    if image is None or image.ndim < 2 or image.size == 0:
        raise StudioError(f"{what}: not a picture OpenCV can decode (PNG, JPEG, TIFF, WebP...)")
    if image.shape[0] * image.shape[1] > UPLOAD_PIXELS_LIMIT:
        raise StudioError(f"{what}: {image.shape[1]}x{image.shape[0]} pixels is more than an upload may have")
    if image.dtype == np.uint16:  # a 16-bit PNG or TIFF: to 8 bits, as the library reads references
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise StudioError(f"{what}: {image.dtype} pixels; give an 8- or 16-bit picture")
    return image


__all__ = ["FORMATS", "THUMBNAIL_WIDTH", "VIEWS", "Studio", "StudioError"]
