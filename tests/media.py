"""Small test media, generated with PyAV: moving patterns, sine-tone audio, odd sizes, VFR, 10-bit."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidcolor.colour import ycbcr_to_rgb


@dataclass(frozen=True)
class Tone:
    """One AAC audio stream of a sine tone."""

    frequency: float = 440.0
    sample_rate: int = 48000
    seconds: float = 1.2


def moving_pattern(index: int, width: int, height: int) -> np.ndarray:
    """uint8 luma ``(h, w)``: a textured gradient with a bright square sliding to the right."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 60 + 80 * xs / max(width - 1, 1) + 20 * np.sin(ys / 3.0) * np.cos(xs / 4.0)
    side = max(4, min(width, height) // 3)
    x0 = (2 * index) % max(1, width - side)
    y0 = height // 3
    base[y0 : y0 + side, x0 : x0 + side] = 220
    return np.clip(base, 16, 235).astype(np.uint8)


def make_video(
    path: Path,
    *,
    width: int = 64,
    height: int = 48,
    frames: int = 30,
    rate: Fraction = Fraction(25),
    time_base: Fraction | None = None,
    pts: list[int] | None = None,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    tones: tuple[Tone, ...] = (Tone(),),
    faststart: bool = False,
    luma_of=moving_pattern,
    start_s: float = 0.0,
    colour_tags: tuple[int, int, int] | None = None,
    fields: str | None = None,
) -> Path:
    """Write a losslessly coded (x264 qp 0) test clip and return its path.

    ``pts`` gives explicit timestamps in ``time_base`` (VFR); otherwise frames are 1/rate apart.
    ``colour_tags``: (matrix, primaries, transfer) as FFmpeg's enum values; None: untagged. ``fields``:
    ``"tff"`` or ``"bff"`` codes the frames interlaced, that field first.
    """
    time_base = time_base or 1 / rate
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        x264 = {"x264-params": f"{fields}=1"} if fields else {}
        vs = out.add_stream("libx264", rate=rate, options={"qp": "0", "preset": "ultrafast", **x264})
        vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
        vs.time_base = vs.codec_context.time_base = time_base
        if rotation:
            vs.set_display_rotation(rotation)
        if colour_tags is not None:
            ctx = vs.codec_context
            ctx.colorspace, ctx.color_primaries, ctx.color_trc = colour_tags
        audio = [out.add_stream("aac", rate=t.sample_rate, layout="mono") for t in tones]
        ten_bit = pix_fmt.endswith("10le")
        for i in range(frames):
            luma = luma_of(i, width, height)
            frame = av.VideoFrame(width, height, pix_fmt)
            planes = [luma.astype(np.uint16) * 4 if ten_bit else luma]
            for plane_index in (1, 2):
                p = frame.planes[plane_index]
                planes.append(np.full((p.height, p.width), 512 if ten_bit else 128, np.uint16 if ten_bit else np.uint8))
            for plane, values in zip(frame.planes, planes, strict=False):
                rows = np.frombuffer(plane, dtype=values.dtype).reshape(-1, plane.line_size // values.itemsize)
                rows[: values.shape[0], : values.shape[1]] = values
            frame.pts = (pts[i] if pts is not None else round(i / rate / time_base)) + round(start_s / time_base)
            frame.time_base = time_base
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        for stream, tone in zip(audio, tones, strict=False):
            _write_tone(out, stream, tone, start_s)
    return path


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, tone: Tone, start_s: float = 0.0) -> None:
    n = int(tone.sample_rate * tone.seconds)
    t = np.arange(n) / tone.sample_rate
    samples = (0.3 * np.sin(2 * np.pi * tone.frequency * t)).astype(np.float32)
    for start in range(0, n, 1024):
        chunk = samples[start : start + 1024][None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
        frame.sample_rate = tone.sample_rate
        frame.pts = start + round(start_s * tone.sample_rate)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def make_reference(path: Path, width: int = 64, height: int = 48) -> Path:
    """A colour PNG: a luma ramp tinted blue on the left half and orange on the right half."""
    ramp = np.linspace(0.2, 0.9, width, dtype=np.float32)[None, :].repeat(height, 0)
    rgb = np.stack([ramp * 0.4, ramp * 0.6, ramp], axis=-1)
    rgb[:, width // 2 :] = np.stack([ramp, ramp * 0.6, ramp * 0.3], axis=-1)[:, width // 2 :]
    cv2.imwrite(str(path), cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path


def make_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        _write_tone(out, out.add_stream("aac", rate=48000, layout="mono"), Tone(seconds=0.5))
    return path


def decoded_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def luma_planes(path: Path) -> list[np.ndarray]:
    """Every frame's Y plane as stored (not rotated), exactly."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            p = f.planes[0]
            dtype = np.uint16 if f.format.name.endswith("le") else np.uint8  # 10 and 12 bits
            rows = np.frombuffer(p, dtype=dtype).reshape(-1, p.line_size // np.dtype(dtype).itemsize)
            out.append(rows[: f.height, : f.width].copy())
    return out


def audio_packets(path: Path) -> list[list[tuple[bytes, float, float]]]:
    """Per audio stream: (payload, pts seconds, duration seconds) of every packet."""
    with av.open(str(path)) as c:
        streams = list(c.streams.audio)
        result: list[list[tuple[bytes, float, float]]] = [[] for _ in streams]
        for packet in c.demux(*streams):
            if packet.size == 0:
                continue
            tb = packet.time_base
            result[streams.index(packet.stream)].append(
                (bytes(packet), float(packet.pts * tb), float((packet.duration or 0) * tb))
            )
    return result


def video_pts(path: Path) -> tuple[Fraction, list[int]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.time_base, [f.pts for f in c.decode(s)]


def make_labelled_mkv(path: Path) -> Path:
    """An archive-style MKV: 25 frames, English commentary audio, French SRT subtitles, a font
    attachment, two chapters and a title."""
    srt = path.with_suffix(".srt")
    srt.write_text("1\n00:00:00,100 --> 00:00:00,500\nBonjour\n\n2\n00:00:00,600 --> 00:00:00,900\nAu revoir\n")
    with av.open(str(srt)) as subtitles, av.open(str(path), "w") as out:
        out.metadata["title"] = "Reel 3"
        video = out.add_stream("libx264", rate=Fraction(25), options={"qp": "0", "preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.metadata["language"] = "und"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        audio.metadata.update({"language": "eng", "title": "Commentary"})
        text = out.add_stream_from_template(subtitles.streams.subtitles[0])
        text.metadata["language"] = "fra"
        out.add_attachment("font.ttf", "application/x-truetype-font", b"\x00\x01\x00\x00 not really a font")
        out.set_chapters(
            [
                {"id": 1, "start": 0, "end": 500, "time_base": Fraction(1, 1000), "metadata": {"title": "Opening"}},
                {"id": 2, "start": 500, "end": 1000, "time_base": Fraction(1, 1000), "metadata": {"title": "Street"}},
            ]
        )
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(np.repeat(moving_pattern(i, 64, 48)[..., None], 3, 2)), format="rgb24"
            )
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        _write_tone(out, audio, Tone(seconds=1.0))
        for packet in subtitles.demux(subtitles.streams.subtitles[0]):
            if packet.size:
                packet.stream = text
                out.mux(packet)
    return path


SHOT_FRAMES = 12  # three_shots: three shots of 12 frames each


def three_shots(index: int, width: int, height: int) -> np.ndarray:
    """Shot 1: the moving pattern; shot 2: a dark drifting texture; shot 3: bright moving stripes."""
    shot, i = divmod(index, SHOT_FRAMES)
    if shot == 0:
        return moving_pattern(i, width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if shot == 1:
        return np.clip(40 + 25 * np.sin((xs + 2 * i) / 5.0) * np.cos(ys / 7.0) + ys / 4, 16, 235).astype(np.uint8)
    return np.clip(190 + 40 * np.sign(np.sin((xs - 3 * i) / 3.0)) * (ys > height / 2), 16, 235).astype(np.uint8)


def reference_of(frame: np.ndarray, cb: float, cr: float, path: Path) -> Path:
    """A colour image whose luma is ``frame``'s, tinted by (cb, cr): it resembles that frame exactly."""
    luma = (frame.astype(np.float32) - 16) / 219
    chroma = np.dstack([np.full_like(luma, cb), np.full_like(luma, cr)])
    rgb = np.clip(ycbcr_to_rgb(luma, chroma, "bt601"), 0, 1)
    cv2.imwrite(str(path), cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path


def make_sequence(
    folder: Path,
    *,
    codec: str = "dpx",
    pix_fmt: str = "gbrp10le",
    suffix: str = ".dpx",
    first: int = 86400,
    frames: int = 8,
    width: int = 64,
    height: int = 48,
    skip: tuple[int, ...] = (),
    luma_of=moving_pattern,
) -> Path:
    """Numbered pictures ``reel_{first:06d}{suffix}`` ... written by FFmpeg's own encoder (``codec``, ``pix_fmt``).

    Each is grey (R = G = B, or one grey plane) at the format's depth, the moving pattern scaled up with
    a little texture in the low bits so every bit is exercised. Numbers in ``skip`` are left out (a gap).
    """
    folder.mkdir(parents=True, exist_ok=True)
    depth = av.VideoFormat(pix_fmt).components[0].bits
    for k in range(frames):
        number = first + k
        if number in skip:
            continue
        base = luma_of(k, width, height).astype(np.uint32)
        wide = (base << 8 | (base * 7 + k) % 256).astype(np.uint16)  # 16-bit, low bits textured
        samples = wide >> (16 - depth) << (16 - depth) if depth < 16 else wide
        grey = pix_fmt.startswith("gray")
        array = samples if grey else np.stack([samples] * 3, axis=-1)
        frame = av.VideoFrame.from_ndarray(array if depth > 8 else (array >> 8).astype(np.uint8),
                                           format=("gray16le" if grey else "rgb48le") if depth > 8 else
                                           ("gray" if grey else "rgb24"))  # fmt: skip
        with av.open(str(folder / f"reel_{number:06d}{suffix}"), "w", format="image2") as out:
            stream = out.add_stream(codec, rate=24)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            for packet in [*stream.encode(frame), *stream.encode()]:
                out.mux(packet)
    return folder


def make_wav(path: Path, seconds: float, sample_rate: int = 48000) -> Path:
    """A stereo 16-bit PCM WAV of a 440 Hz tone lasting ``seconds``."""
    count = round(sample_rate * seconds)
    tone = (np.sin(2 * np.pi * 440 * np.arange(count) / sample_rate) * 8000).astype(np.int16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=sample_rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.stack([tone, tone]).T.reshape(1, -1).copy(), format="s16", layout="stereo"
        )
        frame.sample_rate, frame.pts = sample_rate, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path
