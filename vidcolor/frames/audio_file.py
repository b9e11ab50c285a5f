"""``--audio FILE.wav``: a separate sound file (a scan's WAV) muxed beside the pictures, in sync from the first frame.

Its packets are copied as they are (PCM into MOV or MKV, FLAC into MKV): no sample is re-encoded. A
sound that is longer or shorter than the pictures by more than a frame is refused, saying by how much;
``--fit-audio`` cuts a longer one at the last frame's end and lets a shorter one end early (said in one
line), since padding would mean inventing samples.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av

from vidcolor.errors import InputError, check_readable_file

log = logging.getLogger("vidcolor")


@dataclass(frozen=True)
class AudioFile:
    path: Path
    codec: str
    duration_s: float


def read_audio_file(path: Path) -> AudioFile:
    """Describe ``path``'s first audio stream; :class:`InputError` naming it if it has none."""
    check_readable_file(path, InputError, "an audio file")
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise InputError(f"{path}: holds no audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            return AudioFile(path, stream.codec_context.name, duration)
    except av.FFmpegError as exc:
        raise InputError(f"{path}: not a readable audio file ({exc})") from exc


def check_audio_length(audio: AudioFile, pictures_s: float, frame_s: float, *, fit: bool) -> None:
    """Refuse a sound that does not last as long as the pictures (within a frame), unless ``fit``."""
    difference = audio.duration_s - pictures_s
    if abs(difference) <= frame_s:
        return
    what = f"{abs(difference):.3f} s {'longer' if difference > 0 else 'shorter'} than the pictures ({pictures_s:.3f} s)"
    if not fit:
        raise InputError(
            f"{audio.path}: {audio.duration_s:.3f} s of audio, {what}; --fit-audio cuts it at the last frame "
            "or lets it end early"
        )
    log.warning(
        "%s: %s; %s", audio.path, what, "cut at the last frame" if difference > 0 else "it ends early (silence after)"
    )
