"""Image sequences in: a scanner's numbered DPX, TIFF, PNG, EXR or JPEG pictures read as one video.

A sequence is given as its folder (``scans/``), a printf pattern (``scans/reel1_%06d.dpx``) or a glob
(``scans/reel1_*.dpx``). Its frames are the numbers from the lowest to the highest found; the first
number is kept (an output sequence is numbered the same way). A missing number is an error naming it,
unless ``--allow-gaps`` holds the previous picture in its place (said in one line). Every picture is
opened on its own, so a damaged one or one of another size or depth is named by its file.

Pictures are full range. A grey picture's plane is its luma, bit for bit; an RGB one's luma is
computed here, ``Kr R + Kg G + Kb B`` rounded at the picture's own depth (the sequence writer's
inverse, so RGB in → RGB out keeps it). Float pictures (EXR) are read as 16-bit, their values clipped
to 0–1 and no transfer curve applied.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidcolor.colour import LUMA_COEFFICIENTS
from vidcolor.errors import InputError, SettingError
from vidcolor.options import check_fields, option

log = logging.getLogger("vidcolor")

PICTURE_SUFFIXES = (".dpx", ".tif", ".tiff", ".png", ".exr", ".jpg", ".jpeg")
_NUMBERED = re.compile(r"^(?P<stem>.*?)(?P<digits>\d+)(?P<suffix>\.[A-Za-z]+)$")
PRINTF_NUMBER = re.compile(r"%0?(\d*)d")  # the number in a sequence's printf pattern (in and out)
_GLOB = re.compile(r"[*?\[]")


def _rate(text: str) -> Fraction | None:
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if 0 < rate <= 1000 else None


@dataclass(frozen=True)
class SequenceReading:
    """How an image sequence input is read (a video file has its own rate and no gaps)."""

    rate: str = option(
        "", "Frame rate of an image sequence input: 24 (default), 25, 24000/1001; a video keeps its own.",
        flag="--rate",
    )  # fmt: skip
    allow_gaps: bool = option(
        False, "A missing picture in an input sequence holds the one before it (default: an error).",
        flag="--allow-gaps",
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_fields(self, "sequence.")
        if self.rate and _rate(self.rate) is None:
            raise SettingError("sequence.rate", f"{self.rate!r} is not a frame rate (24, 25, 24000/1001)")

    @property
    def fps(self) -> Fraction:
        rate = _rate(self.rate or "24")
        assert rate is not None  # checked on construction
        return rate


@dataclass(frozen=True)
class ImageSequence:
    """The numbered pictures of one sequence: ``folder/stem{number:0{width}d}suffix`` for each number.

    ``missing`` lists the numbers between ``first`` and ``last`` with no picture.
    """

    source: Path  # as the user gave it: a folder, a pattern or a glob
    folder: Path
    stem: str
    width: int  # zero-padded width of the numbers (0: not padded)
    suffix: str
    first: int
    last: int
    missing: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def pattern(self) -> str:
        """The printf pattern of the pictures' names (``reel1_%06d.dpx``)."""
        return f"{self.stem}%0{self.width}d{self.suffix}" if self.width else f"{self.stem}%d{self.suffix}"

    def path_of(self, number: int) -> Path:
        return self.folder / f"{self.stem}{number:0{max(1, self.width)}d}{self.suffix}"

    def present(self) -> list[int]:
        """The numbers that have a picture."""
        missing = set(self.missing)
        return [n for n in range(self.first, self.last + 1) if n not in missing]

    def size_bytes(self) -> int:
        return sum(self.path_of(n).stat().st_size for n in self.present())

    def fingerprint(self) -> str:
        """A content key: every picture's name and size, and the first, middle and last pictures' bytes.

        Reading every picture of a 2K scan (12 MB each) would cost more than the run it saves; a scan
        is replaced or re-exported as a whole, which changes sizes or the sampled pictures.
        """
        digest = hashlib.sha256(f"{self.pattern}|{self.first}|{self.last}|{self.missing}".encode())
        present = self.present()
        for number in present:
            digest.update(f"{number}:{self.path_of(number).stat().st_size};".encode())
        for number in sorted({present[0], present[len(present) // 2], present[-1]}):
            digest.update(self.path_of(number).read_bytes()[: 4 << 20])
        return digest.hexdigest()[:24]


def looks_like_sequence(path: Path) -> bool:
    """Whether ``path`` is given as a sequence: a folder, or a name with a ``%d`` pattern or glob characters that
    is not itself a file (``movie [1080p].mp4`` is a video)."""
    if path.is_dir():
        return True
    return (bool(PRINTF_NUMBER.search(path.name)) or bool(_GLOB.search(path.name))) and not path.is_file()


def sequence_stem(path: Path) -> str:
    """The name before a sequence pattern's number or glob (``reel1_%06d.dpx`` → ``reel1``), or ``""``."""
    return re.split(rf"{PRINTF_NUMBER.pattern}|{_GLOB.pattern}", path.name)[0].rstrip("._- ")


def numbered_picture(name: str) -> tuple[str, str] | None:
    """``(stem, suffix)`` of a numbered picture's file name (``reel_000012.dpx`` → ``("reel_", ".dpx")``)."""
    match = _NUMBERED.match(name)
    return (match["stem"], match["suffix"]) if match and match["suffix"].lower() in PICTURE_SUFFIXES else None


def find_sequence(path: Path) -> ImageSequence:
    """The sequence ``path`` names (see :func:`looks_like_sequence`); :class:`InputError` naming it if none."""
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file()]
        return _one_sequence(path, path, names, "holds no numbered pictures (.dpx, .tiff, .png, .exr, .jpg)")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"{path}: no such folder {folder}")
    if match := PRINTF_NUMBER.search(path.name):
        if len(PRINTF_NUMBER.findall(path.name)) != 1:
            raise InputError(f"{path}: a sequence pattern holds one %d")
        stem, suffix = path.name[: match.start()], path.name[match.end() :]
        width = int(match.group(1) or 0)
        digits = rf"\d{{{width},}}" if width else r"\d+"
        named = re.compile(rf"^{re.escape(stem)}{digits}{re.escape(suffix)}$")
        names = [p.name for p in folder.iterdir() if named.match(p.name)]
    else:
        names = [Path(p).name for p in glob.glob(glob.escape(str(folder)) + "/" + path.name)]
    return _one_sequence(path, folder, names, "matches no picture")


def _one_sequence(source: Path, folder: Path, names: list[str], none: str) -> ImageSequence:
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        if (match := _NUMBERED.match(name)) and numbered_picture(name):
            groups.setdefault((match["stem"], match["suffix"]), []).append(match["digits"])
    if not groups:
        raise InputError(f"{source}: {none}")
    if len(groups) > 1:
        shown = ", ".join(f"{stem}#{suffix} ({len(d)})" for (stem, suffix), d in sorted(groups.items())[:4])
        raise InputError(
            f"{source}: holds several sequences ({shown}); give one as a pattern, e.g. {source}/NAME_%06d.dpx"
        )
    (stem, suffix), digits = next(iter(groups.items()))
    numbers = sorted({int(d) for d in digits})
    if len(numbers) != len(digits):
        raise InputError(f"{source}: frame {numbers[0]} and others are numbered twice (mixed zero padding)")
    padded = [len(d) for d in digits if d.startswith("0") and len(d) > 1]
    width = min(padded) if padded else 0
    present = set(numbers)
    missing = tuple(n for n in range(numbers[0], numbers[-1] + 1) if n not in present)
    return ImageSequence(source, folder, stem, width, suffix, numbers[0], numbers[-1], missing)


@dataclass(frozen=True)
class PictureFormat:
    """What every picture of a sequence must share with the first."""

    width: int
    height: int
    pixel_format: str

    @property
    def bit_depth(self) -> int:
        """The luma's depth: the first component's, 16 for float pictures."""
        fmt = av.VideoFormat(self.pixel_format)
        bits = fmt.components[0].bits
        return 16 if _is_float(self.pixel_format) else max(8, min(16, bits))


def _is_float(pixel_format: str) -> bool:
    return "f32" in pixel_format or "f16" in pixel_format


def read_picture(path: Path) -> av.VideoFrame:
    """The one frame a picture file holds; :class:`InputError` naming the file if it cannot be read."""
    try:
        with av.open(str(path), mode="r") as container:
            frame = next(container.decode(video=0), None)
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"{path}: not a readable picture ({getattr(exc, 'strerror', None) or exc})") from exc
    if frame is None:
        raise InputError(f"{path}: holds no picture")
    return frame


def picture_format(frame: av.VideoFrame) -> PictureFormat:
    return PictureFormat(frame.width, frame.height, frame.format.name)


def picture_luma(frame: av.VideoFrame, bit_depth: int, matrix: str) -> np.ndarray:
    """A picture's luma ``(H, W)`` at ``bit_depth`` (uint8 or uint16), full range.

    Grey pictures give their plane; RGB ones ``Kr R + Kg G + Kb B``, rounded.
    """
    name = frame.format.name
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    if name.startswith("gray") and not _is_float(name):
        wanted = "gray" if bit_depth == 8 else f"gray{bit_depth}le" if bit_depth in (10, 12) else "gray16le"
        plane = frame.to_ndarray(format=wanted) if name != wanted else frame.to_ndarray()
        return np.ascontiguousarray(plane, dtype=dtype)
    if name.startswith("gray"):  # float grey: clipped to 0–1 and scaled
        unit = np.clip(frame.to_ndarray().astype(np.float32), 0.0, 1.0)
        return np.rint(unit * ((1 << bit_depth) - 1)).astype(dtype)
    rgb = _native_rgb(frame, bit_depth)
    kr, kb = LUMA_COEFFICIENTS[matrix]
    y = kr * rgb[..., 0] + (1.0 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    return np.clip(np.rint(y), 0, (1 << bit_depth) - 1).astype(dtype)


def _native_rgb(frame: av.VideoFrame, bit_depth: int) -> np.ndarray:
    """RGB samples ``(H, W, 3)`` float32 at the picture's own depth (planar GBR read without scaling)."""
    name = frame.format.name
    if name.startswith("gbrp") and not _is_float(name) and not name.endswith("be") and bit_depth > 8:
        g, b, r = (_plane(frame, i) for i in range(3))
        return np.stack([r, g, b], axis=-1).astype(np.float32)
    if bit_depth == 8:
        return frame.to_ndarray(format="rgb24").astype(np.float32)
    wide = frame.to_ndarray(format="rgb48le").astype(np.float32)
    return wide / 65535.0 * ((1 << bit_depth) - 1) if bit_depth != 16 else wide


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype="<u2").reshape(-1, plane.line_size // 2)
    return rows[: frame.height, : frame.width]


def iter_pictures(sequence: ImageSequence, start: int = 0) -> Iterator[tuple[int, Path, av.VideoFrame]]:
    """``(position, file, frame)`` for each frame from position ``start`` (0 = the first number) on.

    A missing number yields the picture before it again (the caller checked gaps are allowed).
    """
    held: tuple[Path, av.VideoFrame] | None = None
    missing = set(sequence.missing)
    number = sequence.first + start
    while number in missing and number > sequence.first:  # a range that starts in a gap holds the picture before
        number -= 1
    for position in range(number - sequence.first, sequence.count):
        number = sequence.first + position
        if number not in missing or held is None:
            path = sequence.path_of(number)
            held = (path, read_picture(path))
        if position >= start:
            yield position, held[0], held[1]


def check_gaps(sequence: ImageSequence, reading: SequenceReading) -> None:
    """:class:`InputError` naming the first missing frame, or one line saying what ``--allow-gaps`` holds."""
    if not sequence.missing:
        return
    first = sequence.path_of(sequence.missing[0]).name
    if not reading.allow_gaps:
        raise InputError(
            f"{sequence.source}: frame {sequence.missing[0]} ({first}) is missing, {len(sequence.missing)} in all; "
            "--allow-gaps holds the picture before each"
        )
    log.warning(
        "%s: %d missing frames (the first %s) hold the picture before them", sequence.source, len(sequence.missing),
        first,
    )  # fmt: skip
