"""Stream the luma of a video's frames, upright, in presentation order, one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from vidcolor.errors import InputError
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.probe import VideoInfo, _reason, open_input
from vidcolor.frames.sequence_in import ImageSequence, iter_pictures, picture_format, picture_luma
from vidcolor.frames.timecode import FrameRange, RangeSelector

# Pixel formats whose first plane is the luma plane, so it can be taken without conversion.
_PLANAR_LUMA_PREFIXES = ("yuv", "yuvj", "yuva", "gray", "nv12", "nv16", "nv21", "nv24", "p010", "p016")


def luma_plane(frame: av.VideoFrame, bit_depth: int) -> np.ndarray:
    """The Y plane ``(H, W)`` of a decoded frame, copied out of FFmpeg's padded buffer.

    Planar YUV and grey formats give their first plane bit for bit; anything else (RGB, packed
    YUV) is converted to grey by swscale, which is the only case where luma is computed.
    """
    name = frame.format.name
    if not name.startswith(_PLANAR_LUMA_PREFIXES) or name.endswith("be"):
        frame = frame.reformat(format="gray" if bit_depth == 8 else "gray16le")
        if bit_depth != 8:
            return (frame.to_ndarray().astype(np.uint16) >> (16 - bit_depth)).astype(np.uint16)
    plane = frame.planes[0]
    dtype = np.uint8 if bit_depth == 8 else np.dtype("<u2")
    itemsize = np.dtype(dtype).itemsize
    rows = np.frombuffer(memoryview(plane), dtype=dtype).reshape(-1, plane.line_size // itemsize)
    return rows[: frame.height, : frame.width].astype(np.uint8 if bit_depth == 8 else np.uint16)


def upright(plane: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a plane by the stream's display rotation (degrees counter-clockwise)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(plane, k)) if k else plane


@dataclass
class DecodeStats:
    """What a decode pass saw, for the completeness check after it."""

    packets: int = 0  # video packets with data that the demuxer returned
    exhausted: bool = False  # the demuxer ran out (rather than the range ending first)
    skipped: int = 0  # packets a seek jumped over (estimated from the first packet's time)

    def missing(self, info: VideoInfo) -> int:
        """How many of the video packets the container's index lists could not be read (0 if unknown).

        Only a pass that ran to the end of the stream can tell; frames, not packets, may
        legitimately be fewer (an edit list can hide some), so packets are what is counted.
        """
        if not self.exhausted or not info.frame_count:
            return 0
        return max(0, info.frame_count - (self.packets + self.skipped))

    def check_complete(self, info: VideoInfo) -> None:
        """:class:`InputError` when packets the container's index lists could not be read (a cut-off file)."""
        if missing := self.missing(info):
            raise InputError(
                f"{info.path}: truncated or damaged: {missing} of its {info.frame_count} video packets could not "
                "be read"
            )


# How far back, in seconds, a seek tries at most before giving up and decoding from the start
# (each try doubles the step: 1, 2, 4 ... 128 s before the target).
SEEK_TRIES = 8


def seek_to_keyframe_before(container: av.container.InputContainer, stream: av.VideoStream, seconds: float) -> bool:
    """Seek ``container`` so that demuxing starts on a keyframe at or before ``seconds`` (stream time).

    Containers with an index (MP4, MKV) land on the keyframe before the target directly. MPEG-TS has
    no index: FFmpeg finds a packet near the target by its timestamp, often not a keyframe, and the
    decoder then drops every frame until the next keyframe, which in a long-GOP stream may be after
    the range (or never). So each landing is checked, and the seek steps back 1, 2, 4 ... seconds
    until it lands on a keyframe before the target. Returns False when none is found (the caller
    decodes from the beginning).
    """
    base = float(stream.time_base or 0) or 1 / 90000
    back = 0.0
    for _ in range(SEEK_TRIES):
        at = seconds - back
        if at <= float((stream.start_time or 0) * base):
            break
        pts = int(at / base)
        container.seek(pts, stream=stream, backward=True, any_frame=False)
        first = next((p for p in container.demux(stream) if p.size), None)
        if first is not None and first.is_keyframe and first.pts is not None and first.pts <= int(seconds / base):
            container.seek(pts, stream=stream, backward=True, any_frame=False)  # the same landing, unread
            return True
        back = max(1.0, 2 * back)
    container.seek(stream.start_time or 0, stream=stream, backward=True, any_frame=False)
    return False


def iter_luma_frames(
    info: VideoInfo, frame_range: FrameRange | None = None, stats: DecodeStats | None = None
) -> Iterator[LumaFrame]:
    """Decode ``info.path`` and yield the frames inside ``frame_range`` as :class:`LumaFrame`.

    The demuxer's final empty packets flush the decoder, so frames held back for reordering
    come out too. Memory stays at one frame whatever the video's length. ``stats`` counts the
    demuxed packets: a truncated file loses packets, whereas an edit list only hides frames.
    """
    stats = stats if stats is not None else DecodeStats()
    frame_range = frame_range or FrameRange()
    period = float(1 / info.rate) if info.rate else 1 / 25
    if info.sequence is not None:
        yield from _iter_sequence(info, info.sequence, RangeSelector(frame_range, 0.0, period), period, stats)
        return
    origin = float((info.start_pts or 0) * info.time_base)
    selector = RangeSelector(frame_range, origin_s=origin, frame_period_s=period)
    kept = 0
    with open_input(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        seek_s = frame_range.seek_seconds
        # The range keeps frames from half a period before its start (RangeSelector's slack): land before those.
        if seek_s is not None and not seek_to_keyframe_before(container, stream, origin + float(seek_s) - period / 2):
            seek_s = None  # no keyframe found before the start: decode from the beginning
        decoded = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    if seek_s is not None and stats.packets == 0 and info.rate and packet.pts is not None:
                        # A seek lands on a keyframe: the packets before it were not read, nor lost.
                        stats.skipped = max(0, round((float(packet.pts * info.time_base) - origin) * float(info.rate)))
                    stats.packets += 1
                for frame in packet.decode():
                    verdict = selector.classify(decoded, frame.time)
                    decoded += 1
                    if verdict == "before":
                        continue
                    if verdict == "after":
                        return
                    luma = upright(luma_plane(frame, info.bit_depth), info.rotation)
                    yield LumaFrame(index=kept, pts=frame.pts, time_base=info.time_base, luma=luma)
                    kept += 1
            stats.exhausted = True
        except av.FFmpegError as exc:
            raise InputError(f"{info.path}: damaged after {decoded} frames ({_reason(exc)})") from exc


def _iter_sequence(
    info: VideoInfo, sequence: ImageSequence, selector: RangeSelector, period: float, stats: DecodeStats
) -> Iterator[LumaFrame]:
    """The pictures of a sequence inside the range, each checked against the first's size and depth.

    A frame's ``pts`` is its position in the sequence (its number less the first), in ``1/rate``: the
    files before a range's start are not opened.
    """
    start = next((p for p in range(sequence.count) if selector.classify(p, p * period) != "before"), sequence.count)
    stats.skipped = start
    matrix = info.matrix
    for kept, (position, path, frame) in enumerate(iter_pictures(sequence, start)):
        if selector.classify(position, position * period) == "after":
            return
        stats.packets += 1
        if (found := picture_format(frame)).pixel_format != info.pixel_format or (found.width, found.height) != (
            info.width,
            info.height,
        ):
            raise InputError(
                f"{path}: {found.width}x{found.height} {found.pixel_format}, but the sequence's first picture is "
                f"{info.width}x{info.height} {info.pixel_format} (a sequence is one size and depth)"
            )
        yield LumaFrame(kept, position, info.time_base, picture_luma(frame, info.bit_depth, matrix))
    stats.exhausted = True
