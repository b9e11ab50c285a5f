"""A segment of a shot-parallel render on disk: its encoded video packets, exactly as the encoder gave them.

Containers round or shift timestamps (Matroska keeps milliseconds, MP4 adds an edit list for B-frames,
NUT drops negative decode times), so a segment is kept in this small file instead: every packet's
bytes with its pts, dts and keyframe flag, then a footer holding the encoder's header (its extradata)
and the counts. The join (``ColorVideoWriter.mux_segment``) copies the packets into the output as they
are, so the output holds the very packets each worker encoded, in the timestamps of the whole film.

Layout: ``MAGIC``, then records ``<qqBI`` (pts, dts, flags, size) + bytes; then the footer's JSON and its
length as ``<Q``. A file is written under a temporary name and renamed when complete (see ``write``).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from vidcolor.errors import EncodeError

MAGIC = b"VIDCOLOR-SEGMENT-1\n"
_RECORD = struct.Struct("<qqBI")
_LENGTH = struct.Struct("<Q")
_NONE = -(1 << 63)  # a timestamp the encoder left unset
_KEYFRAME = 1


@dataclass(frozen=True)
class SegmentPacket:
    pts: int | None
    dts: int | None
    keyframe: bool
    data: bytes


@dataclass(frozen=True)
class SegmentFooter:
    """What a segment says of itself: its frames, packets, time base, the end of its last frame (output
    seconds) and the encoder's header (extradata, hex), which every segment of one film shares."""

    frames: int
    packets: int
    time_base: Fraction
    end_s: float
    extradata: str


class SegmentFileWriter:
    """Packets appended one at a time to ``path``'s temporary twin; :meth:`finish` renames it into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._file: BinaryIO = open(self._partial, "wb")  # noqa: SIM115  # closed by finish or abort
        self._file.write(MAGIC)
        self.packets = 0

    def add(self, pts: int | None, dts: int | None, keyframe: bool, data: bytes) -> None:
        self._file.write(_RECORD.pack(_NONE if pts is None else pts, _NONE if dts is None else dts,
                                      _KEYFRAME if keyframe else 0, len(data)))  # fmt: skip
        self._file.write(data)
        self.packets += 1

    def finish(self, frames: int, time_base: Fraction, end_s: float, extradata: bytes | None) -> None:
        footer = {
            "frames": frames,
            "packets": self.packets,
            "time_base": str(time_base),
            "end_s": end_s,
            "extradata": (extradata or b"").hex(),
        }
        data = json.dumps(footer).encode()
        self._file.write(data + _LENGTH.pack(len(data)))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


def read_footer(path: Path) -> SegmentFooter:
    """The footer of a complete segment file; :class:`EncodeError` naming the file when it is not one."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise EncodeError(f"{path}: not a vidcolor segment")
            f.seek(-_LENGTH.size, os.SEEK_END)
            (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
            f.seek(-_LENGTH.size - length, os.SEEK_END)
            raw = json.loads(f.read(length))
        return SegmentFooter(
            int(raw["frames"]), int(raw["packets"]), Fraction(raw["time_base"]), float(raw["end_s"]), raw["extradata"]
        )
    except (OSError, ValueError, KeyError, struct.error) as exc:
        raise EncodeError(f"{path}: a damaged segment ({exc})") from exc


def read_packets(path: Path) -> Iterator[SegmentPacket]:
    """The packets of a segment file in the order they were encoded, one at a time."""
    footer = read_footer(path)
    with open(path, "rb") as f:
        f.seek(len(MAGIC))
        for _ in range(footer.packets):
            head = f.read(_RECORD.size)
            if len(head) != _RECORD.size:
                raise EncodeError(f"{path}: a damaged segment (it ends inside a packet)")
            pts, dts, flags, size = _RECORD.unpack(head)
            data = f.read(size)
            if len(data) != size:
                raise EncodeError(f"{path}: a damaged segment (it ends inside a packet)")
            yield SegmentPacket(None if pts == _NONE else pts, None if dts == _NONE else dts, bool(flags & _KEYFRAME),
                                data)  # fmt: skip
