"""Encode frames whose luma is the input's own Y plane and whose chroma is computed.

The Y plane goes to the encoder unchanged (only the codec's rounding can touch it); chroma
is subsampled for 4:2:0. Timestamps are the input's, in the input's time base, so variable
frame rates and rational rates like 30000/1001 survive.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.errors import EncodeError, OutputError, SettingError
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.probe import FIELDS_TT, UNSPECIFIED, ColourTags
from vidcolor.frames.remux import StreamCopier
from vidcolor.frames.segment_file import SegmentFileWriter, read_footer, read_packets
from vidcolor.options import check_fields, option

# Delivery codecs (x264, x265), masters for editors (ProRes, DNxHR), the archive's lossless preservation
# format (FFV1) and small access copies (SVT-AV1).
CODECS = ("libx264", "libx265", "prores", "dnxhr", "ffv1", "svtav1")
# The codecs that can write the input's luma and chroma unchanged (``--lossless``).
LOSSLESS_CODECS = ("ffv1", "libx264", "libx265")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
PROFILES = {
    "prores": ("proxy", "lt", "standard", "hq", "4444", "4444xq"),
    "dnxhr": ("lb", "sq", "hq", "hqx", "444"),
}
DEFAULT_PROFILE = {"prores": "hq", "dnxhr": "hqx"}  # both 10-bit 4:2:2, what editors expect of a master


@dataclass(frozen=True)
class EncoderSettings:
    """How the output video is encoded."""

    codec: str = option(
        "libx264",
        "Video encoder: libx264, libx265, prores (.mov), dnxhr (.mov, .mxf), ffv1 (.mkv, lossless) or svtav1 (AV1).",
        flag="--codec",
        choices=CODECS,
    )
    crf: int = option(
        18, "Encoder quality, 0 (lossless) to 51 (x264, x265; SVT-AV1 too).", flag="--crf", minimum=0, maximum=51
    )
    preset: str = option("medium", "Encoder speed preset (x264, x265, SVT-AV1).", flag="--preset", choices=PRESETS)
    profile: str = option(
        "",
        "Master profile: prores proxy, lt, standard, hq (default), 4444, 4444xq; dnxhr lb, sq, hq, hqx (default), 444.",
        flag="--profile",
    )
    timecode: str = option(
        "",
        "Start timecode of the output, HH:MM:SS:FF (default: the input's own, moved to a range's first frame).",
        flag="--timecode",
    )
    lossless: bool = option(
        False,
        "Lossless output: FFV1 in .mkv (the default output then), or libx264/libx265 coding losslessly.",
        flag="--lossless",
    )

    def __post_init__(self) -> None:
        check_fields(self, "encoder.")
        if self.profile and self.codec not in PROFILES:
            raise SettingError("encoder.profile", f"{self.profile!r}: only --codec prores and dnxhr have profiles")
        if self.profile and self.profile not in PROFILES[self.codec]:
            raise SettingError(
                "encoder.profile", f"{self.profile!r} is not a {self.codec} profile: {', '.join(PROFILES[self.codec])}"
            )
        if self.lossless and self.codec not in LOSSLESS_CODECS:
            raise SettingError("encoder.lossless", f"takes {', '.join(LOSSLESS_CODECS)}; {self.codec} is lossy")
        if self.lossless and self.crf not in (0, 18):
            raise SettingError("encoder.lossless", f"and {{0}} {self.crf} contradict each other", "encoder.crf")


# The output suffixes each codec is written to (where players and editors expect it), the first the usual one.
CONTAINERS_OF = {
    "libx264": (".mp4", ".m4v", ".mov", ".mkv"),
    "libx265": (".mp4", ".m4v", ".mov", ".mkv"),
    "prores": (".mov", ".mkv", ".mxf"),
    "dnxhr": (".mov", ".mxf"),
    "ffv1": (".mkv",),
    "svtav1": (".mp4", ".mkv"),
}


# The frame rates FFmpeg's MXF muxer writes (any other fails, or aborts the process, at the header).
MXF_RATES = tuple(
    Fraction(r) for r in ("24000/1001", "24", "25", "30000/1001", "30", "48000/1001", "48", "50", "60000/1001", "60",
                          "100", "120000/1001", "120")
)  # fmt: skip
DNXHR_MIN = (256, 120)
# What an MXF master is written with when no codec is asked for (libx264, the default, cannot go into MXF).
MXF_DEFAULT_CODEC = "dnxhr"


def for_container(settings: EncoderSettings, output: Path) -> EncoderSettings:
    """The encoder settings for ``output``: an ``.mxf`` with the default codec is a DNxHR master; a lossless
    ``.mkv`` with the default codec is FFV1 (the archive's preservation master)."""
    suffix = output.suffix.lower()
    if suffix == ".mxf" and settings.codec == "libx264":
        return dataclasses.replace(settings, codec=MXF_DEFAULT_CODEC)
    if suffix == ".mkv" and settings.lossless and settings.codec == "libx264":
        return dataclasses.replace(settings, codec="ffv1")
    return settings


def check_rate(output: Path, rate: Fraction | None) -> None:
    """:class:`OutputError` (before any work) for an MXF output of a rate MXF does not hold."""
    if output.suffix.lower() == ".mxf" and rate not in MXF_RATES:
        rates = ", ".join(f"{float(r):g}" for r in MXF_RATES)
        raise OutputError(
            f"{output}: MXF holds only the frame rates {rates}; the input runs at "
            f"{f'{float(rate):g} fps' if rate else 'no constant rate'}; choose .mov",
        )


def check_container(settings: EncoderSettings, output: Path) -> None:
    """:class:`SettingError` (before any work) when the output's type is not one the codec is written to."""
    allowed = CONTAINERS_OF[settings.codec]
    if output.suffix.lower() not in allowed:
        raise SettingError(
            "encoder.codec",
            f"{settings.codec} is written to {', '.join(allowed[:-1])}{' or ' * (len(allowed) > 1)}{allowed[-1]}, not "
            f"{output.suffix or 'a file without a type'}; "
            f"name the output {output.stem}{allowed[0]}",
        )


def default_for_codec(path: Path, settings: EncoderSettings) -> Path:
    """A default output name with the codec's usual type (``NAME.colorized.mov`` for ProRes, ``.mkv`` for a
    lossless run with the default codec: FFV1)."""
    if settings.lossless and settings.codec == "libx264":
        return path.with_suffix(".mkv")
    allowed = CONTAINERS_OF[settings.codec]
    return path if path.suffix.lower() in allowed else path.with_suffix(allowed[0])


@dataclass(frozen=True)
class CodecSetup:
    """What FFmpeg is asked for: the encoder, its pixel format and bit depth, its options."""

    encoder: str
    pix_fmt: str
    bit_depth: int
    options: dict[str, str]


# x264's preset names on SVT-AV1's 0 (slowest) .. 13 scale.
_SVT_PRESETS = dict(zip(PRESETS, (12, 11, 10, 9, 8, 7, 5, 4, 3), strict=True))
_PRORES_PROFILE = {name: str(k) for k, name in enumerate(PROFILES["prores"])}


def codec_setup(settings: EncoderSettings, width: int, height: int, bit_depth: int) -> CodecSetup:
    """The encoder for ``settings`` at this size and input bit depth (:class:`EncodeError` where it cannot be)."""
    codec = settings.codec
    even = width % 2 == 0 and height % 2 == 0
    if codec in ("libx264", "libx265"):
        # --crf 0 means lossless, but x264's CRF scale shifts at 10 bits (0 is not lossless there): qp 0 is.
        lossless = settings.crf == 0 or settings.lossless
        quality = {"qp": "0"} if lossless else {"crf": str(settings.crf)}
        options = {**quality, "preset": settings.preset}
        if codec == "libx265":  # x265's qp 0 is not lossless: its lossless mode is
            options["x265-params"] = "log-level=error" + (":lossless=1" if settings.lossless else "")
        depth = 8 if bit_depth == 8 else 10  # the depths these builds of x264 and x265 are used at; deeper rounds
        if settings.lossless and bit_depth > depth:
            raise EncodeError(f"--lossless: {codec} keeps at most 10 bits; this video has {bit_depth} (use ffv1)")
        return CodecSetup(codec, choose_pix_fmt(width, height, depth), depth, options)
    if codec == "ffv1":
        # As archives configure it (FFV1 version 3, every frame a keyframe, slices with CRCs), at the input's depth
        # (12- and 16-bit scans kept; a depth FFV1 has no format for goes up to the next, exactly).
        options = {"level": "3", "g": "1", "slicecrc": "1", "slices": "4"}
        depth = next(d for d in (8, 10, 12, 16) if d >= bit_depth)
        return CodecSetup("ffv1", choose_pix_fmt(width, height, depth), depth, options)
    if codec == "svtav1":
        if not even:
            raise EncodeError(f"svtav1 needs even frame sides; this video is {width}x{height} (use ffv1 or libx264)")
        depth = 8 if bit_depth == 8 else 10
        options = {"crf": str(max(settings.crf, 1)), "preset": str(_SVT_PRESETS[settings.preset])}
        return CodecSetup("libsvtav1", "yuv420p" if depth == 8 else "yuv420p10le", depth, options)
    profile = settings.profile or DEFAULT_PROFILE[codec]
    full_chroma = profile in ("4444", "4444xq", "444")
    if width % 2 and not full_chroma:
        raise EncodeError(f"{codec} {profile} is 4:2:2, which needs an even width; this video is {width} wide")
    if codec == "prores":
        pix_fmt = "yuv444p10le" if full_chroma else "yuv422p10le"
        return CodecSetup("prores_ks", pix_fmt, 10, {"profile": _PRORES_PROFILE[profile], "vendor": "apl0"})
    if width < DNXHR_MIN[0] or height < DNXHR_MIN[1]:  # FFmpeg's DNxHR encoder refuses smaller frames
        raise EncodeError(
            f"dnxhr needs frames of at least {DNXHR_MIN[0]}x{DNXHR_MIN[1]}; this video is {width}x{height} "
            "(use prores or ffv1)"
        )
    depth = 8 if profile in ("lb", "sq", "hq") else 10
    pix_fmt = ("yuv444p" if full_chroma else "yuv422p") + ("10le" if depth == 10 else "")
    return CodecSetup("dnxhd", pix_fmt, depth, {"profile": f"dnxhr_{profile}"})


# FFmpeg's enum values for the colour tags written into the bitstream.
_MATRIX_TAGS = {"bt709": 1, "bt601": 6}


def choose_pix_fmt(width: int, height: int, bit_depth: int) -> str:
    """4:2:0 (what every player plays) unless a side is odd, where 4:2:0 cannot exist: then 4:4:4; at 8, 10, 12
    or 16 bits."""
    base = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    return base if bit_depth == 8 else f"{base}{bit_depth}le"


class ColorVideoWriter:
    """Writes colorized frames (input luma + computed chroma) and the input's audio to ``path``.

    Args:
        path: where to write (the pipeline passes a temporary name and renames it at the end).
        container_format: FFmpeg muxer name (``mp4``, ``mov``, ``matroska``).
        width, height: upright frame size.
        spec: how samples map to unit values; its bit depth picks 8- or 10-bit output.
        time_base, rate: the input's, reused for the output stream.
        copy_from: the input file whose audio and subtitle packets, labels and chapters are copied,
            or None to copy nothing; or a separate audio file (``--audio``), whose time 0 is the video's
            ``copy_offset_s`` (its first frame).
        range_start_s: for a preview, the input time of the first kept frame: audio before it is
            dropped, and audio after the last frame too.
        shift_s: seconds subtracted from every timestamp, video and audio alike, so the output
            starts at zero (a preview's start, or the time an input's timestamps start at).
        timecode: the output's start timecode (``HH:MM:SS:FF``), or None for none.
        cut_audio: audio after the last frame is dropped (a preview's is always).
        as_segment: write the encoded packets to ``path`` as a segment file (``frames.segment_file``) of a
            shot-parallel render instead of a playable file; nothing else is copied. The encoder is set up as
            the whole film's (a container of ``container_format`` on the null device asks for the same
            headers), so the segments join into that film's output with :meth:`mux_segment`.
        colour: the input's colour tags: its primaries and transfer are written (the matrix is ``spec``'s).
        field_order: the input's (FFmpeg's AVFieldOrder): an interlaced input's is written into the output's
            flags (the container's; x264 also codes the frames as fields, in that order).
        threads: the encoder's threads (None: FFmpeg's and the encoder's own choice, from the machine's cores).
    """

    def __init__(
        self,
        path: Path,
        *,
        container_format: str,
        width: int,
        height: int,
        spec: YCbCrSpec,
        time_base: Fraction,
        rate: Fraction | None,
        settings: EncoderSettings,
        copy_from: Path | None,
        range_start_s: float | None,
        shift_s: float = 0.0,
        timecode: str | None = None,
        copy_offset_s: float = 0.0,
        cut_audio: bool = False,
        as_segment: bool = False,
        colour: ColourTags | None = None,
        field_order: int = 0,
        threads: int | None = None,
    ) -> None:
        self.path = path
        self._threads = threads
        self._spec = spec
        self._colour = colour or ColourTags()
        self._field_order = field_order
        self._time_base = time_base
        self._rate = rate
        self._width, self._height = width, height
        self._setup = codec_setup(settings, width, height, spec.bit_depth)
        self.pix_fmt = self._setup.pix_fmt
        # Chroma is subsampled 2x2 for 4:2:0, 2x1 for 4:2:2; samples are written at the output's bit depth.
        self.chroma_step = (2, 2) if "420" in self.pix_fmt else (2, 1) if "422" in self.pix_fmt else (1, 1)
        self._out_spec = dataclasses.replace(spec, bit_depth=self._setup.bit_depth)
        self._shift_pts = round(shift_s / time_base)
        self._cut_audio = range_start_s is not None or cut_audio
        self._last_end_s = 0.0
        self.frames_written = 0
        self._joined_header: bytes | None = None  # the encoder header of the first segment joined
        try:
            self._output = av.open(os.devnull if as_segment else str(path), mode="w", format=container_format)
            self._segment = SegmentFileWriter(path) if as_segment else None
        except (av.FFmpegError, OSError) as exc:
            raise EncodeError(f"{path}: cannot create output ({exc})") from exc
        try:
            self._stream = self._add_video_stream(settings)
            if timecode:  # a timecode track in MOV/MP4 (from the stream's tag), a tag in Matroska
                self._stream.metadata["timecode"] = timecode
                self._output.metadata["timecode"] = timecode
            self._copier = (
                StreamCopier(
                    copy_from,
                    self._output,
                    keep_from_s=None if range_start_s is None else range_start_s - copy_offset_s,
                    shift_s=shift_s - copy_offset_s,
                )
                if copy_from is not None
                else None
            )
            if self._copier is not None:
                self._copier.label_video(self._stream)
        except BaseException:
            self._output.close()
            raise

    def _add_video_stream(self, settings: EncoderSettings) -> av.VideoStream:
        setup = self._setup
        if setup.encoder == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner to stderr; errors only
        options = dict(setup.options)
        interlaced = self._field_order >= FIELDS_TT
        if interlaced and setup.encoder == "libx264":
            # Top or bottom field shown first (AVFieldOrder 2 tt and 5 bt show the top one first).
            options["x264-params"] = "tff=1" if self._field_order in (2, 5) else "bff=1"
        try:
            stream = cast(av.VideoStream, self._output.add_stream(setup.encoder, rate=self._rate, options=options))
        except ValueError as exc:
            raise EncodeError(
                f"{self.path}: the {self._output.format.name} container cannot hold {settings.codec}"
            ) from exc
        stream.width, stream.height = self._width, self._height
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self._time_base
        ctx = stream.codec_context
        ctx.time_base = self._time_base
        # The matrix is the one the chroma was computed in; primaries and transfer are the input's, where it
        # says (they describe its pictures, which the luma still is), else those that go with the matrix.
        ctx.colorspace = _MATRIX_TAGS[self._spec.matrix]
        ctx.color_primaries = self._colour.primaries if self._colour.primaries != UNSPECIFIED else ctx.colorspace
        ctx.color_trc = self._colour.transfer if self._colour.transfer != UNSPECIFIED else ctx.colorspace
        ctx.color_range = 2 if self._spec.full_range else 1
        if interlaced:
            ctx.field_order = self._field_order
        if self._threads is not None:
            ctx.thread_count = self._threads
        return stream

    def write(self, frame: LumaFrame, chroma: np.ndarray) -> None:
        """Encode one frame: its own luma plane plus unit chroma at full size ``(H, W, 2)`` (subsampled here)
        or already at the size of the chroma planes, ``(H // sy, W // sx, 2)`` for :attr:`chroma_step`."""
        h, w = frame.luma.shape
        step_x, step_y = self.chroma_step
        planes = (h // step_y, w // step_x, 2)
        if chroma.shape == (h, w, 2) and planes != chroma.shape:
            chroma = cv2.resize(chroma, (w // step_x, h // step_y), interpolation=cv2.INTER_AREA)
        elif chroma.shape != planes:
            raise ValueError(f"chroma must be {(h, w, 2)} or {planes}, got {chroma.shape}")
        # Split into two contiguous planes first: copying each from the interleaved pair, a stride at a time,
        # took three times as long (an HD frame's: 0.45 against 0.16 ms).
        cb, cr = cv2.split(self._out_spec.chroma_to_samples(chroma))
        out = av.VideoFrame(self._width, self._height, self.pix_fmt)
        _fill_plane(out.planes[0], at_depth(frame.luma, self._spec.bit_depth, self._setup.bit_depth))
        _fill_plane(out.planes[1], cb)
        _fill_plane(out.planes[2], cr)
        pts = frame.pts if frame.pts is not None else round(frame.index / (self._rate or 25) / self._time_base)
        pts -= self._shift_pts
        out.pts = pts
        out.time_base = self._time_base
        time_s = float(pts * self._time_base)
        self._last_end_s = max(self._last_end_s, time_s + (float(1 / self._rate) if self._rate else 0.0))
        self._encode(out)
        self.frames_written += 1

    @property
    def audio_packets_copied(self) -> int:
        return self._copier.copied if self._copier is not None else 0

    def _encode(self, frame: av.VideoFrame | None) -> None:
        try:
            for packet in self._stream.encode(frame):
                if self._segment is not None:
                    self._segment.add(packet.pts, packet.dts, packet.is_keyframe, bytes(packet))
                else:
                    self._mux(packet)
        except av.FFmpegError as exc:
            raise EncodeError(f"{self.path}: encoding or muxing failed ({exc})") from exc

    def _mux(self, packet: av.Packet) -> None:
        """Into the output, after the input's audio and subtitles that start before it (interleaved by time)."""
        if self._copier is not None and packet.dts is not None:
            self._copier.copy_until(float(packet.dts * packet.time_base))
        self._output.mux(packet)

    def mux_segment(self, path: Path) -> int:
        """Append a segment file's packets as they are (no re-encoding); returns its frames.

        Segments are joined in film order; each starts with a keyframe and carries the film's own
        timestamps, and all share the encoder header (checked: one that differs cannot be joined).
        """
        footer = read_footer(path)
        if footer.time_base != self._time_base:
            raise EncodeError(f"{path}: a segment in time base {footer.time_base}, not the film's {self._time_base}")
        header = bytes.fromhex(footer.extradata)
        first = self._joined_header is None
        if first:
            self._joined_header = header
            if header:
                self._stream.codec_context.extradata = header
        elif header != self._joined_header:
            raise EncodeError(f"{path}: its encoder header differs from the first segment's; it cannot be joined")
        try:
            for record in read_packets(path):
                packet = av.Packet(record.data)
                packet.pts, packet.dts = record.pts, record.dts
                packet.time_base = self._time_base
                packet.is_keyframe = record.keyframe
                packet.stream = self._stream
                self._mux(packet)
                if first and header and self._stream.codec_context.extradata != header:
                    # The output's header is the one its own encoder set up: it must be what the segments were
                    # encoded with, or a player would decode them with the wrong parameters.
                    raise EncodeError(f"{path}: encoded with another encoder header than the output's")
                first = False
        except av.FFmpegError as exc:
            raise EncodeError(f"{self.path}: joining {path.name} failed ({exc})") from exc
        self.frames_written += footer.frames
        self._last_end_s = max(self._last_end_s, footer.end_s)
        return footer.frames

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio (up to the video's end for a preview), close; a segment
        is renamed into place."""
        try:
            self._encode(None)
            if self._segment is not None:
                extradata = self._stream.codec_context.extradata
                self._segment.finish(self.frames_written, self._time_base, self._last_end_s, extradata)
            if self._copier is not None:
                self._copier.copy_until(self._last_end_s if self._cut_audio else None)
        finally:
            if self._copier is not None:
                self._copier.close()
            self._output.close()

    def abort(self) -> None:
        """Close without flushing (the caller deletes the partial file; a segment's is deleted here)."""
        try:
            if self._segment is not None:
                self._segment.abort()
            if self._copier is not None:
                self._copier.close()
            self._output.close()
        except (av.FFmpegError, OSError, ValueError):
            pass


def at_depth(luma: np.ndarray, depth: int, target: int) -> np.ndarray:
    """The Y plane at another bit depth: shifted up exactly (8 → 10 bits keeps every value), rounded down."""
    if target == depth:
        return luma
    if target > depth:
        return luma.astype(np.uint16) << (target - depth)
    shift = depth - target
    rounded = (luma.astype(np.uint32) + (1 << (shift - 1))) >> shift
    return np.minimum(rounded, (1 << target) - 1).astype(np.uint8 if target == 8 else np.uint16)


def _fill_plane(plane: av.video.plane.VideoPlane, values: np.ndarray) -> None:
    """Copy ``values`` ``(h, w)`` into a frame plane, respecting FFmpeg's row padding."""
    itemsize = values.dtype.itemsize
    rows = np.frombuffer(memoryview(plane), dtype=values.dtype).reshape(-1, plane.line_size // itemsize)
    rows[: values.shape[0], : values.shape[1]] = values
