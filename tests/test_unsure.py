"""Colour that is honest where it is unsure: content the reference does not show is muted, not given its
neighbours' colour (issue 18)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from tests.media import make_video
from vidcolor.cli import run
from vidcolor.colour import ycbcr_to_rgb
from vidcolor.solver.exemplar import match_quality

W, H, FRAMES = 160, 96, 40


def _grass() -> np.ndarray:
    noise = cv2.GaussianBlur(np.random.default_rng(0).uniform(0, 1, (H, W)).astype(np.float32), (0, 0), 1.2)
    return 0.35 + 0.125 * (noise - noise.mean()) / noise.std()


def _ball(index: int) -> np.ndarray:
    """Where a smooth bright ball is: it enters from the right at frame 8, 3 pixels a frame."""
    ys, xs = np.mgrid[0:H, 0:W]
    cx = W + 20 - 3 * max(0, index - 8)
    return (xs - cx) ** 2 + (ys - H // 2) ** 2 < 18**2


def _luma(index: int, width: int, height: int) -> np.ndarray:
    unit = np.where(_ball(index), 0.85, _grass())
    return np.clip(16 + 219 * unit, 16, 235).astype(np.uint8)


def test_an_object_the_reference_does_not_show_stays_muted_not_the_backgrounds_colour(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "enter.mp4", width=W, height=H, frames=FRAMES, luma_of=_luma)
    first = (_luma(0, W, H).astype(np.float32) - 16) / 219
    green = np.dstack([np.full_like(first, -0.12), np.full_like(first, -0.10)])
    rgb = np.clip(ycbcr_to_rgb(first, green, "bt601"), 0, 1)
    cv2.imwrite(str(tmp_path / "grass.png"), cv2.cvtColor((rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mp4"
    code = run([str(clip), "--style", str(tmp_path / "grass.png"), "-o", str(out), "-q", "--no-cache", "--crf", "0"])
    assert code == 0
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="yuv444p").astype(np.float32) for f in container.decode(video=0)]
    for index in (20, 30, 39):
        chroma = (frames[index][1:] - 128) / 224
        strength = np.sqrt((chroma**2).sum(axis=0))
        ball = _ball(index)
        background = float(strength[~ball].mean())
        assert background > 0.12  # the grass keeps its green
        # Muted, not grass-green: about a third to a half of the grass's strength (it was all of it before issue 18).
        assert float(strength[ball].mean()) < 0.55 * background, index


def test_match_quality_is_one_for_close_matches_and_fades_for_none() -> None:
    quality = match_quality(np.array([0.0, 0.05, 0.12, 0.3]))
    assert quality[0] == quality[1] == 1.0
    assert 0.3 < quality[2] < 0.5 and quality[3] < 0.01
