"""Encode frames whose luma is the input's own Y plane and whose chroma is computed.

The Y plane goes to the encoder unchanged (only the codec's rounding can touch it); chroma
is subsampled for 4:2:0. Timestamps are the input's, in the input's time base, so variable
frame rates and rational rates like 30000/1001 survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec
from vidcolor.errors import EncodeError
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.remux import StreamCopier
from vidcolor.options import check_fields, option

CODECS = ("libx264", "libx265")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class EncoderSettings:
    """How the output video is encoded."""

    codec: str = option("libx264", "Video encoder.", flag="--codec", choices=CODECS)
    crf: int = option(18, "Encoder quality, 0 (lossless) to 51.", flag="--crf", minimum=0, maximum=51)
    preset: str = option("medium", "Encoder speed preset.", flag="--preset", choices=PRESETS)

    def __post_init__(self) -> None:
        check_fields(self, "encoder.")


# FFmpeg's enum values for the colour tags written into the bitstream.
_MATRIX_TAGS = {"bt709": 1, "bt601": 6}


def choose_pix_fmt(width: int, height: int, bit_depth: int) -> str:
    """4:2:0 (what every player plays) unless a side is odd, where 4:2:0 cannot exist: then 4:4:4."""
    base = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    return base if bit_depth == 8 else base + "10le"


class ColorVideoWriter:
    """Writes colorized frames (input luma + computed chroma) and the input's audio to ``path``.

    Args:
        path: where to write (the pipeline passes a temporary name and renames it at the end).
        container_format: FFmpeg muxer name (``mp4``, ``mov``, ``matroska``).
        width, height: upright frame size.
        spec: how samples map to unit values; its bit depth picks 8- or 10-bit output.
        time_base, rate: the input's, reused for the output stream.
        copy_from: the input file whose audio and subtitle packets, labels and chapters are copied,
            or None to copy nothing.
        range_start_s: for a preview, the input time of the first kept frame: audio before it is
            dropped, and audio after the last frame too.
        shift_s: seconds subtracted from every timestamp, video and audio alike, so the output
            starts at zero (a preview's start, or the time an input's timestamps start at).
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
    ) -> None:
        self.path = path
        self._spec = spec
        self._time_base = time_base
        self._rate = rate
        self._width, self._height = width, height
        self.pix_fmt = choose_pix_fmt(width, height, spec.bit_depth)
        self._subsampled = self.pix_fmt.startswith("yuv420")
        self._shift_pts = round(shift_s / time_base)
        self._preview = range_start_s is not None
        self._last_end_s = 0.0
        self.frames_written = 0
        try:
            self._output = av.open(str(path), mode="w", format=container_format)
        except av.FFmpegError as exc:
            raise EncodeError(f"{path}: cannot create output ({exc})") from exc
        try:
            self._stream = self._add_video_stream(settings)
            self._copier = (
                StreamCopier(copy_from, self._output, keep_from_s=range_start_s, shift_s=shift_s)
                if copy_from is not None
                else None
            )
            if self._copier is not None:
                self._copier.label_video(self._stream)
        except BaseException:
            self._output.close()
            raise

    def _add_video_stream(self, settings: EncoderSettings) -> av.VideoStream:
        # --crf 0 means lossless, but x264's CRF scale shifts at 10 bits (0 is not lossless there): qp 0 is.
        quality = {"qp": "0"} if settings.crf == 0 else {"crf": str(settings.crf)}
        options = {**quality, "preset": settings.preset}
        if settings.codec == "libx265":
            options["x265-params"] = "log-level=error"
        try:
            stream = cast(av.VideoStream, self._output.add_stream(settings.codec, rate=self._rate, options=options))
        except ValueError as exc:
            raise EncodeError(
                f"{self.path}: the {self._output.format.name} container cannot hold {settings.codec}"
            ) from exc
        stream.width, stream.height = self._width, self._height
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self._time_base
        ctx = stream.codec_context
        ctx.time_base = self._time_base
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = _MATRIX_TAGS[self._spec.matrix]
        ctx.color_range = 2 if self._spec.full_range else 1
        return stream

    def write(self, frame: LumaFrame, chroma: np.ndarray) -> None:
        """Encode one frame: its own luma plane plus unit chroma ``(H, W, 2)`` at full size."""
        if chroma.shape != (*frame.luma.shape, 2):
            raise ValueError(f"chroma must be {(*frame.luma.shape, 2)}, got {chroma.shape}")
        if self._subsampled:
            h, w = frame.luma.shape
            chroma = cv2.resize(chroma, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        samples = self._spec.chroma_to_samples(chroma)
        out = av.VideoFrame(self._width, self._height, self.pix_fmt)
        _fill_plane(out.planes[0], frame.luma)
        _fill_plane(out.planes[1], samples[..., 0])
        _fill_plane(out.planes[2], samples[..., 1])
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
                if self._copier is not None and packet.dts is not None:
                    self._copier.copy_until(float(packet.dts * packet.time_base))
                self._output.mux(packet)
        except av.FFmpegError as exc:
            raise EncodeError(f"{self.path}: encoding or muxing failed ({exc})") from exc

    def close(self) -> None:
        """Flush the encoder, copy the remaining audio (up to the video's end for a preview), close."""
        try:
            self._encode(None)
            if self._copier is not None:
                self._copier.copy_until(self._last_end_s if self._preview else None)
        finally:
            if self._copier is not None:
                self._copier.close()
            self._output.close()

    def abort(self) -> None:
        """Close without flushing (the caller deletes the partial file)."""
        try:
            if self._copier is not None:
                self._copier.close()
            self._output.close()
        except (av.FFmpegError, OSError, ValueError):
            pass


def _fill_plane(plane: av.video.plane.VideoPlane, values: np.ndarray) -> None:
    """Copy ``values`` ``(h, w)`` into a frame plane, respecting FFmpeg's row padding."""
    itemsize = values.dtype.itemsize
    rows = np.frombuffer(memoryview(plane), dtype=values.dtype).reshape(-1, plane.line_size // itemsize)
    rows[: values.shape[0], : values.shape[1]] = values
