"""Copy audio packets from the input to the output untouched, interleaved by time.

Audio never enters the pipeline: a second demuxer on the input hands its packets over as the
video advances, so the muxer's interleaving queue stays short (memory flat) and no sample is
re-encoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av

from vidcolor.errors import EncodeError
from vidcolor.frames.probe import open_input


class AudioPacketCopier:
    """Feeds every audio packet of an input into an output container, up to a time.

    Args:
        path: the input file (opened a second time, read-only).
        output: the output container; one stream is added per input audio stream.
        keep_from_s: for a preview range, packets that start before it are dropped (the end of a
            range is given to :meth:`copy_until`); ``None`` keeps everything.
        shift_s: seconds subtracted from every kept packet's timestamps (a range starts at 0).
    """

    def __init__(
        self, path: Path, output: av.container.OutputContainer, *, keep_from_s: float | None, shift_s: float
    ) -> None:
        self._input = open_input(path)
        self._streams = list(self._input.streams.audio)
        self._out_streams = {}
        for stream in self._streams:
            try:
                self._out_streams[stream.index] = output.add_stream_from_template(stream)
            except ValueError as exc:
                self._input.close()
                codec = stream.codec_context.name if stream.codec_context else "unknown"
                raise EncodeError(
                    f"{output.name}: the {output.format.name} container cannot hold the input's "
                    f"{codec} audio; choose .mkv or .mov for the output"
                ) from exc
        self._output = output
        self._keep_from_s = keep_from_s
        self._shift_s = shift_s
        self._packets: Iterator[av.Packet] = self._input.demux(*self._streams) if self._streams else iter(())
        self._pending: av.Packet | None = None
        self.copied = 0

    def copy_until(self, time_s: float | None) -> None:
        """Mux the packets that start before ``time_s`` in output time (``None``: all that remain)."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.size == 0 or packet.pts is None:  # demuxer flush marker
                continue
            start_s = float(packet.pts * packet.time_base)
            if self._keep_from_s is not None and start_s < self._keep_from_s:
                continue
            if time_s is not None and start_s - self._shift_s >= time_s:
                self._pending = packet
                return
            self._mux(packet)

    def _mux(self, packet: av.Packet) -> None:
        if self._shift_s and packet.pts is not None:  # copy_until never hands over a packet without pts
            shift = round(self._shift_s / packet.time_base)
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        packet.stream = self._out_streams[packet.stream.index]
        self._output.mux(packet)
        self.copied += 1

    def close(self) -> None:
        self._input.close()
