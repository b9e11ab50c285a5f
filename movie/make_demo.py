"""Make the demo input: a black-and-white pan over a photograph, with sound, and its colour reference.

Run at set-up by ``scripts/demo.sh``; writes ``movie/demo.mp4`` and ``movie/demo_style.png`` unless
they exist. The photograph is scikit-image's ``astronaut`` (NASA, public domain).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 25, 6


def camera_path(photo: np.ndarray, frames: int) -> list[np.ndarray]:
    """A slow zoom in with a drift, as a rostrum camera would film a still (the 'Ken Burns' move)."""
    h, w = photo.shape[:2]
    views = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        crop_w = w * (1.0 - 0.35 * t)
        crop_h = crop_w * HEIGHT / WIDTH
        cx = w * (0.5 - 0.06 * t)
        cy = h * (0.42 - 0.08 * t)
        x0 = float(np.clip(cx - crop_w / 2, 0, w - crop_w))
        y0 = float(np.clip(cy - crop_h / 2, 0, h - crop_h))
        matrix = np.float32([[WIDTH / crop_w, 0, -x0 * WIDTH / crop_w], [0, HEIGHT / crop_h, -y0 * HEIGHT / crop_h]])
        views.append(cv2.warpAffine(photo, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_AREA))
    return views


def write_movie(path: Path, photo_rgb: np.ndarray) -> None:
    grey = cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY)
    frames = camera_path(grey, FPS * SECONDS)
    tmp = path.with_name(f".{path.name}.partial.mp4")
    with av.open(str(tmp), "w") as out:
        video = out.add_stream("libx264", rate=Fraction(FPS), options={"crf": "16"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="stereo")
        for i, luma in enumerate(frames):
            # Limited-range luma with neutral chroma: what a black-and-white transfer looks like.
            yuv = np.concatenate(
                [
                    (16 + luma.astype(np.float32) * 219 / 255).astype(np.uint8),
                    np.full((HEIGHT // 2, WIDTH), 128, np.uint8),
                ]
            )
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        rate, n = 48000, 48000 * SECONDS
        t = np.arange(n) / rate
        tones = np.stack([0.2 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(tones[:, start : start + 1024]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = rate, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    tmp.replace(path)


def main() -> int:
    movie, style = HERE / "demo.mp4", HERE / "demo_style.png"
    photo = data.astronaut()
    if not style.exists():
        cv2.imwrite(str(style), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    if not movie.exists():
        write_movie(movie, photo)
    print(f"demo input: {movie} ({WIDTH}x{HEIGHT}, {FPS} fps, {SECONDS} s, with sound); reference: {style}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
