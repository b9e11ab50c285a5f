"""What a batch works on: inputs gathered from files, folders and lists, each with its references
and an output path mirroring the input tree under the output folder."""

from __future__ import annotations

import csv
import fnmatch
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidcolor.errors import InputError, ReferenceImageError, UsageError
from vidcolor.frames.output import CONTAINERS, named_after
from vidcolor.frames.sequence_in import looks_like_sequence
from vidcolor.photos import PHOTO_FORMATS, is_photo
from vidcolor.plan.files import default_plan_path
from vidcolor.plan.model import split_spec
from vidcolor.references import IMAGE_SUFFIXES

# Pictures that are only ever a film's frames: a folder holding them is one image sequence, one item (a
# folder of TIFF, PNG or JPEG pictures is photographs; give such a sequence as NAME_%06d.tif to batch it).
FRAME_ONLY_SUFFIXES = (".dpx", ".exr")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".webm", ".wmv")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch: where it is, where its output goes, and what colours it.

    Attributes:
        references: the references it is coloured after (none: hints, or the automatic network).
        hints: colour hint files (``FILE@TIME``), as for a single run.
        plan: a shot plan found beside the input (``NAME.plan.toml``): rendered as it says, references
            and hints included (the item's own are then not used).
    """

    input: Path
    output: Path
    references: tuple[str, ...]
    hints: tuple[str, ...] = ()
    plan: Path | None = None
    problem: str | None = None  # why it cannot be coloured (a listed file missing...): it fails, the rest run

    @property
    def colour_source(self) -> str:
        """What colours it, as ``batch --status`` shows it."""
        if self.plan is not None:
            return f"plan {self.plan.name}"
        parts = []
        for reference in self.references:
            file, pin = split_spec(reference)
            parts.append(Path(file).name + (f"@{pin}" if pin is not None else ""))
        parts += [f"hints {Path(split_spec(h)[0]).name}" for h in self.hints]
        return ", ".join(parts) or "automatic"

    @property
    def is_photo(self) -> bool:
        return is_photo(self.input)


class ReferenceMap:
    """Per-item references: glob patterns (matched against the path under its root, then the name) →
    reference image(s). The first pattern that matches wins.

    TOML: ``"reels/*.mp4" = "ref_reels.png"`` or ``= ["a.png", "b.png@12"]`` (top level, or under ``[refs]``).
    CSV: rows of ``pattern,reference[,reference...]`` (a header row ``pattern,...`` is skipped).
    Relative reference paths are taken from the map file's folder.
    """

    def __init__(self, rules: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        self.rules = list(rules)

    @classmethod
    def read(cls, path: Path) -> ReferenceMap:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the reference map ({exc.strerror or exc})") from exc
        try:
            if path.suffix.lower() == ".toml":
                table = tomllib.loads(text)
                table = table.get("refs", table)
                raw = [(str(k), [v] if isinstance(v, str) else list(v)) for k, v in table.items()]
            elif path.suffix.lower() == ".csv":
                rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
                if rows and rows[0][0].strip().lower() == "pattern":
                    rows = rows[1:]
                raw = [(r[0].strip(), [c.strip() for c in r[1:] if c.strip()]) for r in rows]
            else:
                raise UsageError(f"{path}: a reference map must be .toml or .csv")
        except (tomllib.TOMLDecodeError, csv.Error, TypeError) as exc:
            raise UsageError(f"{path}: not a readable reference map ({exc})") from exc
        rules = []
        for pattern, refs in raw:
            if not refs or not all(isinstance(r, str) for r in refs):
                raise UsageError(f"{path}: pattern {pattern!r} names no reference image")
            rules.append((pattern, tuple(_beside(path, r) for r in refs)))
        return cls(rules)

    def references_for(self, relative: Path) -> tuple[str, ...] | None:
        for pattern, refs in self.rules:
            if fnmatch.fnmatch(relative.as_posix(), pattern) or fnmatch.fnmatch(relative.name, pattern):
                return refs
        return None


def collect_items(
    inputs: Sequence[str],
    outdir: Path,
    style: Sequence[str],
    mapping: ReferenceMap | None = None,
    hints: Sequence[str] = (),
    video_types: Sequence[str] = (),
) -> list[BatchItem]:
    """The batch's items, in a stable order: files as given, folders walked (recursively, sorted),
    ``@list.txt`` read line by line (blank lines and ``#`` comments skipped). A video with a plan
    beside it (``NAME.plan.toml``) is rendered from that plan. Without ``style``, ``mapping`` and
    ``hints``, items are coloured by the automatic network. ``video_types``: the output types the chosen
    codec is written to (``.mov`` for ProRes); a video's output keeps its input's type where it is one of them.

    Raises:
        InputError: an input given that does not exist, or a folder with no video or image in it (a file
            missing from a list, or an item a ``mapping`` does not cover, is an item that fails instead).
        UsageError: two inputs that would write the same output.
    """
    found: list[tuple[Path, Path, str | None]] = []  # (input, its path under its root, why it cannot run)
    skip = outdir.resolve()  # outputs are never inputs, even where the output folder is inside an input folder
    for given in inputs:
        if given.startswith("@"):
            listed = Path(given[1:])
            try:
                lines = listed.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise InputError(f"{listed}: cannot read the list of inputs ({exc.strerror or exc})") from exc
            for line in lines:
                if line.strip() and not line.lstrip().startswith("#"):
                    path = _beside_path(listed, line.strip())
                    if not path.exists():  # one bad line of a list fails its item, not the batch
                        found.append((path, Path(path.name), f"{path}: no such file (listed in {listed})"))
                    else:
                        found.extend((p, r, None) for p, r in _expand(path, skip))
        else:
            found.extend((p, r, None) for p, r in _expand(Path(given), skip))
    items: list[BatchItem] = []
    outputs: dict[Path, Path] = {}
    for path, relative, problem in found:
        refs = (mapping.references_for(relative) if mapping is not None else None) or tuple(style)
        if not refs and mapping is not None and problem is None:
            problem = f"{path}: no reference for it; give --style or a --map pattern that matches it"
        is_video = not is_photo(path)
        suffix = _output_suffix(path)
        if video_types and is_video and suffix not in video_types:
            suffix = video_types[0]
        output = outdir / relative.with_suffix(suffix)
        if output in outputs and outputs[output] != path:
            raise UsageError(f"{path} and {outputs[output]} would both write {output}")
        outputs[output] = path
        plan = default_plan_path(path)
        has_plan = problem is None and is_video and plan.is_file()
        items.append(BatchItem(path, output, refs, tuple(hints), plan if has_plan else None, problem))
    return list({item.input.resolve(): item for item in items}.values())  # an input given twice runs once


def _expand(path: Path, skip: Path) -> list[tuple[Path, Path]]:
    """A file, or a folder's videos and images (sorted), leaving out what lies in ``skip`` (the output folder).

    A folder of DPX or EXR pictures is one item, an image sequence; so is a ``%d`` pattern or a glob.
    """
    if path.is_dir():
        if any(p.suffix.lower() in FRAME_ONLY_SUFFIXES for p in path.iterdir()):
            return [(path, Path(path.name))]
        inside = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES + FRAME_ONLY_SUFFIXES
            and not p.resolve().is_relative_to(skip)
        )
        if not inside:
            raise InputError(f"{path}: no video or image files in this folder")
        sequences = sorted({p.parent for p in inside if p.suffix.lower() in FRAME_ONLY_SUFFIXES})
        found = [(s, s.relative_to(path)) for s in sequences]
        found += [(p, p.relative_to(path)) for p in inside if p.parent not in sequences]
        return found
    if looks_like_sequence(path):
        return [(path, Path(named_after(path, "").name))]
    if not path.exists():
        raise InputError(f"{path}: no such file")
    return [(path, Path(path.name))]


def _output_suffix(path: Path) -> str:
    """The input's own format where the output can be written in it; else MKV (holds any audio) or PNG."""
    suffix = path.suffix.lower()
    if looks_like_sequence(path):
        return ".mkv"
    if suffix in IMAGE_SUFFIXES:
        return suffix if suffix in PHOTO_FORMATS else ".png"
    return suffix if suffix in CONTAINERS else ".mkv"


def _beside(map_file: Path, reference: str) -> str:
    """A reference path (possibly ``@TIME``-pinned) relative to the map file's folder."""
    name, at, pin = reference.partition("@")
    path = Path(name).expanduser()
    if not path.is_absolute():
        path = map_file.parent / path
    if not path.exists():
        raise ReferenceImageError(f"{path}: no such reference image (from {map_file})")
    return f"{path}{at}{pin}"


def _beside_path(list_file: Path, line: str) -> Path:
    path = Path(line).expanduser()
    return path if path.is_absolute() else list_file.parent / path
