"""Open an input video, check it is one, and describe what the rest of the pipeline needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from vidcolor.cache import fingerprint
from vidcolor.colour import YCbCrSpec, matrix_for_height
from vidcolor.errors import InputError, check_readable_file
from vidcolor.frames.sequence_in import (
    ImageSequence,
    SequenceReading,
    check_gaps,
    find_sequence,
    looks_like_sequence,
    picture_format,
    read_picture,
)

log = logging.getLogger("vidcolor")

UNSPECIFIED = 2  # FFmpeg's value for a colour tag the file does not set
FIELDS_TT = 2  # AVFieldOrder: top field first (coded and shown); 3 bb, 4 tb, 5 bt follow
# FFmpeg's matrix tags (AVColorSpace) for the matrices vidcolor colours in: bt709; bt470bg and smpte170m, BT.601.
_MATRIX_OF_TAG = {1: "bt709", 5: "bt601", 6: "bt601"}


@dataclass(frozen=True)
class ColourTags:
    """The colour tags an input's first frame carries, as FFmpeg's enum values (``UNSPECIFIED``: none).

    Attributes:
        matrix: AVColorSpace (1 bt709, 5 bt470bg, 6 smpte170m, 9 bt2020nc...).
        primaries: AVColorPrimaries (1 bt709, 5 bt470bg, 6 smpte170m, 9 bt2020...).
        transfer: AVColorTransferCharacteristic (1 bt709, 6 smpte170m, 13 iec61966-2-1 (sRGB), 16 PQ...).
    """

    matrix: int = UNSPECIFIED
    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED

    @property
    def known_matrix(self) -> bool:
        """Whether its matrix tag names a matrix vidcolor colours in."""
        return self.matrix in _MATRIX_OF_TAG

    def matrix_name(self, height: int) -> str:
        """The matrix the input is coloured in: its tag's, where it is one vidcolor knows; else the one players
        assume for untagged video of its height (HD means BT.709)."""
        return _MATRIX_OF_TAG.get(self.matrix) or matrix_for_height(height)


@dataclass(frozen=True)
class VideoInfo:
    """What a run needs to know about its input, read once before any work starts."""

    path: Path
    coded_width: int
    coded_height: int
    rotation: int  # degrees counter-clockwise to display upright; a multiple of 90
    time_base: Fraction
    rate: Fraction | None  # nominal frame rate (30000/1001 stays exact), None if unknown
    frame_count: int | None  # from the container's index; None if it does not say
    start_pts: int | None
    start_s: float  # when the file's first stream starts (MPEG-TS captures often start far from zero)
    bit_depth: int
    full_range: bool
    duration_s: float | None = None  # the video stream's length (container's if the stream says nothing)
    timecode: str | None = None  # the start timecode the file carries (a MOV/MP4 tmcd track, a Matroska tag)
    has_audio: bool = False
    sequence: ImageSequence | None = None  # the numbered pictures, for an image sequence input
    pixel_format: str = ""  # as decoded (every picture of a sequence must have the first's)
    colour: ColourTags = ColourTags()  # the tags the file carries (a sequence's pictures: none)
    field_order: int = 0  # FFmpeg's AVFieldOrder: 0 unknown, 1 progressive, 2 tt, 3 bb, 4 tb, 5 bt

    @property
    def interlaced(self) -> bool:
        """Whether its frames are two fields each (coloured as frames; the output keeps the field order)."""
        return self.field_order >= FIELDS_TT

    @property
    def matrix(self) -> str:
        """The YCbCr matrix its samples are in (see :meth:`ColourTags.matrix_name`)."""
        return self.colour.matrix_name(self.height)

    @property
    def spec(self) -> YCbCrSpec:
        """How its samples map to unit luma and chroma (its matrix, depth and range)."""
        return YCbCrSpec(matrix=self.matrix, bit_depth=self.bit_depth, full_range=self.full_range)

    @property
    def width(self) -> int:
        return self.coded_height if self.rotation % 180 else self.coded_width

    @property
    def height(self) -> int:
        return self.coded_width if self.rotation % 180 else self.coded_height


def open_input(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, turning every failure into a one-line :class:`InputError`."""
    check_readable_file(path, InputError, "a video file")
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise InputError(f"{path}: not a readable video ({_reason(exc)})") from exc


def input_content(path: Path) -> tuple[int, str]:
    """An input's size in bytes and its content key, without decoding: a video file's, or an image sequence's
    (all its pictures')."""
    if looks_like_sequence(path):
        sequence = find_sequence(path)
        return sequence.size_bytes(), sequence.fingerprint()
    return path.stat().st_size, fingerprint(path)


def content_key(info: VideoInfo) -> str:
    """The input's content key (the plan, the keyframe cache and batch tell inputs apart by it)."""
    return info.sequence.fingerprint() if info.sequence is not None else fingerprint(info.path)


def probe(path: Path, reading: SequenceReading | None = None) -> VideoInfo:
    """Describe the first video stream of ``path``; decodes its first frame to prove it decodes.

    A folder, a ``%d`` pattern or a glob is an image sequence, read as ``reading`` says (rate, gaps).
    """
    path = Path(path)
    reading = reading or SequenceReading()
    if looks_like_sequence(path):
        return _probe_sequence(path, reading)
    if reading != SequenceReading():
        log.warning("%s: --rate and --allow-gaps are for image sequences; a video keeps its own timing", path)
    with open_input(path) as container:
        if not container.streams.video:
            raise InputError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        try:
            first = next(iter(container.decode(stream)), None)
        except av.FFmpegError as exc:
            raise InputError(f"{path}: video stream cannot be decoded ({_reason(exc)})") from exc
        if first is None:
            raise InputError(f"{path}: video stream holds no decodable frame (empty or truncated)")
        fmt = first.format
        rotation = round((first.rotation or 0) / 90.0) * 90 % 360
        rate = stream.average_rate or stream.guessed_rate
        if stream.duration is not None and stream.time_base is not None:
            duration_s: float | None = float(stream.duration * stream.time_base)
        else:
            duration_s = container.duration / av.time_base if container.duration is not None else None
        return VideoInfo(
            path=path,
            coded_width=first.width,
            coded_height=first.height,
            rotation=rotation,
            time_base=stream.time_base or Fraction(1, 90000),
            rate=Fraction(rate) if rate else None,
            frame_count=stream.frames or None,
            start_pts=stream.start_time,
            start_s=container.start_time / av.time_base if container.start_time is not None else 0.0,
            bit_depth=max(8, fmt.components[0].bits),
            full_range=fmt.name.startswith("yuvj") or first.color_range == 2,
            duration_s=duration_s,
            timecode=_timecode(container, stream),
            has_audio=bool(container.streams.audio),
            pixel_format=fmt.name,
            colour=_tags(first),
            field_order=_field_order(stream, first),
        )


def _field_order(stream: av.VideoStream, first: av.VideoFrame) -> int:
    """The stream's field order, as its decoder found it; an interlaced first frame of a stream that says
    nothing is taken as top field first (what most interlaced video is)."""
    order = int(stream.codec_context.field_order or 0)
    if order < FIELDS_TT and first.interlaced_frame:
        return FIELDS_TT
    return order


def _tags(frame: av.VideoFrame) -> ColourTags:
    """The colour tags of a decoded frame (0, FFmpeg's "reserved", read as unspecified)."""
    return ColourTags(
        *(int(v) if v else UNSPECIFIED for v in (frame.colorspace, frame.color_primaries, frame.color_trc))
    )


def _probe_sequence(path: Path, reading: SequenceReading) -> VideoInfo:
    sequence = find_sequence(path)
    check_gaps(sequence, reading)
    first = read_picture(sequence.path_of(sequence.first))
    picture = picture_format(first)
    rate = reading.fps
    return VideoInfo(
        path=path,
        coded_width=picture.width,
        coded_height=picture.height,
        rotation=0,
        time_base=1 / rate,
        rate=rate,
        frame_count=sequence.count,
        start_pts=0,
        start_s=0.0,
        bit_depth=picture.bit_depth,
        full_range=True,  # pictures are full range
        duration_s=float(sequence.count / rate),
        timecode=first.metadata.get("timecode") or None,  # a DPX header's
        sequence=sequence,
        pixel_format=picture.pixel_format,
    )


def _timecode(container: av.container.InputContainer, video: av.VideoStream) -> str | None:
    """The start timecode: the video stream's tag, a timecode (data) track's, or the container's."""
    for metadata in (video.metadata, *(s.metadata for s in container.streams if s.type == "data"), container.metadata):
        for key in ("timecode", "TIMECODE"):
            if metadata.get(key):
                return str(metadata[key])
    return None


def _reason(exc: BaseException) -> str:
    """FFmpeg's own words without the path it repeats."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() if ":" in text else text.strip()
