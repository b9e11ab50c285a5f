"""Copy everything but the picture from the input to the output untouched, interleaved by time.

Audio (and subtitles) never enter the pipeline: a second demuxer on the input hands their packets
over as the video advances, so the muxer's interleaving queue stays short (memory flat) and no
sample is re-encoded. Labels come along: the streams' language and title, the file's title, its
chapters, and (in Matroska) its attachments, such as the fonts of styled subtitles. What the output
container cannot hold is left out and named in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from vidcolor.errors import EncodeError
from vidcolor.frames.probe import open_input

log = logging.getLogger("vidcolor")

# Subtitle codecs each output container holds as they are (no conversion).
SUBTITLES_IN = {
    "matroska": {"subrip", "srt", "ass", "ssa", "webvtt", "dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle", "text"},
    "mp4": {"mov_text"},
    "mov": {"mov_text"},
}
# Containers that cannot hold PCM audio as it is (MP4's muxer refuses it when writing the header).
_NO_PCM = ("mp4", "ipod")
# What FFmpeg's MXF muxer takes (at 48 kHz): a scanner's WAV is one of these; compressed audio is not.
MXF_AUDIO = ("pcm_s16le", "pcm_s24le")
# Stream tags worth keeping: what a player shows in its audio and subtitle menus.
LABELS = ("language", "title")


def copy_labels(source: Any, target: Any, container: str = "") -> None:
    """Copy the language and title tags of a stream or container onto another.

    MP4 and MOV tracks have no title tag; players show their handler name instead.
    """
    for key in LABELS:
        value = source.metadata.get(key)
        if value:
            target.metadata[key] = value
    title = source.metadata.get("title")
    if title and container in ("mp4", "mov") and hasattr(target, "codec_context"):
        target.metadata["handler_name"] = title


def check_mxf_audio(path: Path) -> None:
    """:class:`EncodeError` (before any work) when ``path`` has audio an MXF output cannot hold."""
    with open_input(path) as container:
        for stream in container.streams.audio:
            _check_mxf_audio(path, stream)


def _check_mxf_audio(path: Path, stream: Any) -> None:
    codec, rate = stream.codec_context.name, stream.codec_context.sample_rate
    if codec not in MXF_AUDIO or rate != 48000:
        raise EncodeError(
            f"{path}: MXF holds only 48 kHz PCM audio (16 or 24 bit), not its {codec} at {rate} Hz; "
            "choose .mov for the output"
        )


class StreamCopier:
    """Feeds every audio and subtitle packet of an input into an output container, up to a time.

    Args:
        path: the input file (opened a second time, read-only).
        output: the output container; a stream is added per input stream it can hold.
        keep_from_s: for a preview range, packets that start before it are dropped (the end of a
            range is given to :meth:`copy_until`); ``None`` keeps everything.
        shift_s: seconds subtracted from every kept packet's timestamps (the output starts at 0).

    Attributes:
        dropped: what could not be copied, each with why (also logged once).
    """

    def __init__(
        self, path: Path, output: av.container.OutputContainer, *, keep_from_s: float | None, shift_s: float
    ) -> None:
        self._input = open_input(path)
        self._path = path
        self._out_streams: dict[int, Any] = {}
        self.dropped: list[str] = []
        try:
            self._add_streams(output)
        except BaseException:
            self._input.close()
            raise
        if self.dropped:
            log.warning("%s: not copied to %s: %s", path, output.name, "; ".join(self.dropped))
        self._streams = [self._input.streams[i] for i in self._out_streams]
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
        audio = packet.stream.type == "audio"
        packet.stream = self._out_streams[packet.stream.index]
        self._output.mux(packet)
        self.copied += audio  # audio packets: what a run reports

    def label_video(self, stream: Any) -> None:
        """Give the output's video stream the input video's language and title."""
        if self._input.streams.video:
            copy_labels(self._input.streams.video[0], stream, self._container)

    def _add_streams(self, output: av.container.OutputContainer) -> None:
        container = self._container = output.format.name
        copy_labels(self._input, output)
        videos = 0
        for stream in self._input.streams:
            codec = stream.codec_context.name if stream.codec_context else stream.type
            if stream.type == "video":
                videos += 1
                if videos > 1:  # the first is the one colorized; others (cover art, a second angle) are not
                    self.dropped.append(f"video stream {stream.index} ({codec}): only the first video is colorized")
                continue
            if stream.type == "audio":
                if container == "mxf":
                    _check_mxf_audio(self._path, stream)
                try:
                    if container in _NO_PCM and codec.startswith("pcm_"):  # FFmpeg would fail at the header
                        raise ValueError(f"{container} holds no {codec}")
                    self._out_streams[stream.index] = output.add_stream_from_template(stream)
                except ValueError as exc:
                    raise EncodeError(
                        f"{self._path}: the {output.format.name} container cannot hold its {codec} audio; "
                        "choose .mkv or .mov for the output"
                    ) from exc
            elif stream.type == "subtitle" and codec in SUBTITLES_IN.get(container, set()):
                self._out_streams[stream.index] = output.add_stream_from_template(stream)
            elif stream.type == "subtitle":
                self.dropped.append(
                    f"subtitle stream {stream.index} ({codec}): {container} cannot hold it; choose .mkv"
                )
            elif isinstance(stream, av.stream.AttachmentStream) and container == "matroska":
                output.add_attachment(stream.name or f"attachment{stream.index}", stream.mimetype or "", stream.data)
            else:
                what = "attachment" if stream.type == "attachment" else f"{stream.type} stream {stream.index} ({codec})"
                self.dropped.append(
                    f"{what}: {container} cannot hold it" + ("; choose .mkv" if container != "matroska" else "")
                )
                continue
            if stream.index in self._out_streams:
                copy_labels(stream, self._out_streams[stream.index], container)
        chapters = self._input.chapters()
        if chapters:
            try:
                output.set_chapters(chapters)
            except (ValueError, av.FFmpegError):
                self.dropped.append(f"{len(chapters)} chapters: {container} cannot hold them")

    def close(self) -> None:
        self._input.close()
