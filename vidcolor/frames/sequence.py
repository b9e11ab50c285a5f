"""Image sequences out: ``-o restored/frame_%06d.tiff`` (``.png``, ``.dpx``) writes one 16-bit RGB picture per
frame; ``.exr`` one 32-bit float RGB picture.

A sequence is a folder written as a whole: its frames go into a hidden folder beside it, renamed to
the sequence's folder only when every frame is written (a failure or a signal leaves no half
sequence; an existing folder is replaced only with ``overwrite``). 16-bit RGB keeps the luma: the
chroma is already fitted into each pixel's gamut, so nothing clips, and the rounding of 16-bit samples
is far below half a step of the input's luma, so converting back gives the input's Y plane exactly.
EXR's floats hold the same values, 0-1 with no transfer curve applied (as EXR input is read), unrounded.
DPX pictures carry each frame's timecode in their TV header (the start timecode counted on).
"""

from __future__ import annotations

import glob
import os
import shutil
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import cv2
import numpy as np

from vidcolor.colour import YCbCrSpec, ycbcr_to_rgb
from vidcolor.errors import OutputError, OutputExistsError
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.output import check_writable_folder, dead_partials
from vidcolor.frames.sequence_in import PRINTF_NUMBER
from vidcolor.frames.timecode import smpte, smpte_frame

SEQUENCE_FORMATS = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".dpx": "dpx", ".exr": "exr"}
# The TIFF Compression tag's value for Adobe deflate, which every reader opens (OpenCV's default, LZW, needs
# codecs some readers lack).
TIFF_DEFLATE = 8


def picture_params(suffix: str) -> list[int]:
    """OpenCV's encoder parameters for a picture of this type: JPEG at quality 95, TIFF with deflate."""
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return [cv2.IMWRITE_JPEG_QUALITY, 95]
    if suffix in (".tif", ".tiff"):
        return [cv2.IMWRITE_TIFF_COMPRESSION, TIFF_DEFLATE]
    return []


def check_picture_name(path: Path) -> None:
    """:class:`OutputError` for an output of a picture type that is not a sequence's pattern (no ``%d``, or
    several): a video is written as numbered pictures, never as one."""
    suffix = path.suffix.lower()
    if suffix in SEQUENCE_FORMATS and not is_sequence(path):
        found = len(PRINTF_NUMBER.findall(path.name))
        raise OutputError(
            f"{path}: an image sequence's name needs one %d for the frame number, as {path.parent / ('frame_%06d' + suffix)}"
            f" ({found or 'none'} in {path.name})"
        )


def is_sequence(path: Path) -> bool:
    """Whether ``path`` names an image sequence: a picture type and one ``%d`` (``%06d``) in its name."""
    return path.suffix.lower() in SEQUENCE_FORMATS and len(PRINTF_NUMBER.findall(path.name)) == 1


@dataclass(frozen=True)
class SequenceTarget:
    """A checked sequence output: ``path`` is the pattern, its folder the unit that is committed."""

    path: Path

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def partial(self) -> Path:
        """The hidden folder written until the sequence is complete (one per process)."""
        return self.folder.with_name(f".{self.folder.name}.{os.getpid()}.partial")

    def frame_path(self, number: int) -> Path:
        return self.partial / PRINTF_NUMBER.sub(lambda m: f"{number:0{m.group(1) or 1}d}", self.path.name)

    def commit(self) -> None:
        """Put the complete folder in place of the sequence's folder (the old one, with ``overwrite``, goes)."""
        if self.folder.exists():
            aside = self.folder.with_name(f".{self.folder.name}.{os.getpid()}.replaced")
            os.replace(self.folder, aside)
            os.replace(self.partial, self.folder)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(self.partial, self.folder)

    def discard(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)

    def remove_stale_partials(self) -> list[Path]:
        """Hidden folders of this sequence left by runs that were killed (their process is gone)."""
        removed = dead_partials(
            self.folder.parent.glob(f".{glob.escape(self.folder.name)}.*.partial"), self.folder.name
        )
        for path in removed:
            shutil.rmtree(path, ignore_errors=True)
        return removed


def check_sequence_output(output: Path, input_path: Path, *, overwrite: bool) -> SequenceTarget:
    """Validate a sequence output before any work (:class:`OutputError` naming it)."""
    folder = output.parent
    if str(folder) in ("", "."):
        raise OutputError(
            f"{output}: a sequence is written as a whole into its own folder; give one: -o FOLDER/{output.name}"
        )
    if input_path.resolve().is_relative_to(folder.resolve()):
        raise OutputError(f"{output}: its folder {folder} holds the input; choose another folder")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{output}: {folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise OutputExistsError(folder)
    check_writable_folder(output, folder.parent if str(folder.parent) else Path("."))
    return SequenceTarget(output)


class SequenceWriter:
    """Writes each frame as a 16-bit RGB picture into the target (EXR: 32-bit float RGB).

    Pictures are numbered from 0 (the run's first frame) or, for an image sequence input
    (``input_first``: its first number), with the input picture's own number, a range's too.
    """

    def __init__(
        self,
        target: SequenceTarget,
        spec: YCbCrSpec,
        input_first: int | None = None,
        *,
        timecode: str | None = None,
        rate: Fraction | None = None,
    ) -> None:
        self._target = target
        # DPX only: the first picture's timecode as a frame count, each later picture's counted on from it.
        self._rate = rate or Fraction(24)
        self._timecode_start = smpte_frame(timecode, self._rate) if timecode else None
        self._input_first = input_first
        self._spec = spec
        self._params = picture_params(target.path.suffix)
        self.frames_written = 0
        self.audio_packets_copied = 0
        self.chroma_step = (1, 1)  # RGB pictures: chroma at full size
        target.partial.mkdir(parents=True, exist_ok=False)

    def write(self, frame: LumaFrame, chroma: np.ndarray) -> None:
        """One frame: its own luma plane plus unit chroma ``(H, W, 2)`` (already within the gamut)."""
        rgb = np.clip(ycbcr_to_rgb(self._spec.luma_to_unit(frame.luma), chroma, self._spec.matrix), 0.0, 1.0)
        number = self.frames_written if self._input_first is None else self._input_first + (frame.pts or 0)
        path = self._target.frame_path(number)
        suffix = path.suffix.lower()
        if suffix == ".exr":
            path.write_bytes(_encoded(path, "exr", av.VideoFrame.from_ndarray(rgb.astype(np.float32), "gbrpf32le")))
            self.frames_written += 1
            return
        samples = np.rint(rgb * 65535.0).astype(np.uint16)
        if suffix == ".dpx":  # OpenCV writes no DPX: FFmpeg's encoder, 16-bit RGB
            dpx = _encoded(path, "dpx", av.VideoFrame.from_ndarray(np.ascontiguousarray(samples), format="rgb48le"))
            if self._timecode_start is not None:
                text = smpte(self._timecode_start + self.frames_written, self._rate)
                dpx = with_timecode(dpx, text, float(self._rate))
            path.write_bytes(dpx)
        else:
            ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(samples, cv2.COLOR_RGB2BGR), self._params)
            if not ok:
                raise OutputError(f"{path}: the frame could not be encoded")
            path.write_bytes(encoded.tobytes())
        self.frames_written += 1

    def close(self) -> None:
        """Nothing to flush: every frame is a file already."""

    def abort(self) -> None:
        """Nothing to close (the caller removes the hidden folder)."""


# EXR's lossless ZIP compression of 16 scanlines, which every EXR reader opens (FFmpeg's default is none).
EXR_OPTIONS = {"compression": "zip16"}


def _encoded(path: Path, codec: str, frame: av.VideoFrame) -> bytes:
    """The file ``path`` gets: one picture by FFmpeg's ``codec`` encoder (``dpx``: 16-bit RGB; ``exr``: 32-bit
    float RGB), which OpenCV does not write. Encoded in memory (a picture's file is its one packet), so a DPX
    header is completed before the file is written once."""
    try:
        context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
        context.options = dict(EXR_OPTIONS) if codec == "exr" else {}
        context.width, context.height, context.pix_fmt = frame.width, frame.height, frame.format.name
        context.time_base = Fraction(1, 24)
        return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)])
    except av.FFmpegError as exc:
        raise OutputError(f"{path}: the frame could not be encoded ({exc})") from exc


# FFmpeg's DPX encoder writes the generic headers only (file, image, orientation: 1664 bytes); the film and TV
# industry headers (256 + 128 bytes) that carry the frame rate and the timecode follow them.
GENERIC_HEADER = 1664
FILM_HEADER, TV_HEADER = 256, 128
FILM_FRAME_RATE = 1724 - GENERIC_HEADER  # offsets inside the film header...
TV_FRAME_RATE = 1940 - GENERIC_HEADER - FILM_HEADER  # ...and the TV header, whose first field is the timecode


def with_timecode(dpx: bytes, timecode: str, rate: float) -> bytes:
    """FFmpeg's DPX picture ``dpx`` with film and TV headers holding ``timecode`` (``HH:MM:SS:FF``, ``;`` before
    the frames where drop-frame) and the frame ``rate``; every other field undefined (all ones), as DPX has it."""
    order = ">" if dpx[:4] == b"SDPX" else "<"
    (image_at,) = struct.unpack(order + "I", dpx[4:8])
    if image_at != GENERIC_HEADER:
        raise OutputError(f"the DPX encoder wrote a {image_at}-byte header; expected {GENERIC_HEADER}")
    film = bytearray(b"\xff" * FILM_HEADER)
    film[FILM_FRAME_RATE : FILM_FRAME_RATE + 4] = struct.pack(order + "f", rate)
    tv = bytearray(b"\xff" * TV_HEADER)
    tv[0:4] = struct.pack(order + "I", _smpte_bcd(timecode))
    tv[TV_FRAME_RATE : TV_FRAME_RATE + 4] = struct.pack(order + "f", rate)
    out = bytearray(dpx[:GENERIC_HEADER]) + film + tv + dpx[GENERIC_HEADER:]
    out[4:8] = struct.pack(order + "I", GENERIC_HEADER + FILM_HEADER + TV_HEADER)  # where the image starts
    out[16:20] = struct.pack(order + "I", len(out))  # the file's size
    out[28:32] = struct.pack(order + "I", FILM_HEADER + TV_HEADER)  # the industry headers' size
    return bytes(out)


def _smpte_bcd(timecode: str) -> int:
    """SMPTE 12M's packed form: hours, minutes, seconds, frames as BCD from the top byte down; bit 6 drop-frame."""
    hours, minutes, seconds, frames = (int(part) for part in timecode.replace(";", ":").split(":"))

    def bcd(value: int) -> int:
        return ((value // 10) << 4) | (value % 10)

    drop = (1 << 6) if ";" in timecode else 0
    return (bcd(hours) << 24) | (bcd(minutes) << 16) | (bcd(seconds) << 8) | bcd(frames) | drop
