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
    # Muted, not grass-green. Measured: 0.42, 0.21, 0.08 of the grass's strength (before the region statistics
    # were taken over trusted pixels and spreading stopped at edges, 0.54, 0.37, 0.26; before issue 18, all of it).
    # Frame 20 is half in: its border pixels carry the 4:2:0 chroma of the grass beside them.
    for index, most in ((20, 0.5), (30, 0.3), (39, 0.15)):
        chroma = (frames[index][1:] - 128) / 224
        strength = np.sqrt((chroma**2).sum(axis=0))
        ball = _ball(index)
        background = float(strength[~ball].mean())
        assert background > 0.12  # the grass keeps its green
        assert float(strength[ball].mean()) < most * background, index


def test_match_quality_is_one_for_close_matches_and_fades_for_none() -> None:
    quality = match_quality(np.array([0.0, 0.05, 0.12, 0.3]))
    assert quality[0] == quality[1] == 1.0
    assert 0.3 < quality[2] < 0.5 and quality[3] < 0.01


def test_trusted_colour_spreads_across_a_gap_but_not_past_a_strong_edge() -> None:
    from vidcolor.temporal.refine import spread_trusted

    luma = np.full((90, 160), 0.3, np.float32)
    luma[:, 100:] = 0.8  # a second object, behind a strong edge
    trust = np.zeros_like(luma)
    trust[:, :60] = 1.0  # trusted colour on the left of the first object; its pixels 60-99 are a disocclusion
    chroma = np.zeros((90, 160, 2), np.float32)
    chroma[..., 0] = 0.2
    spread, support = spread_trusted(chroma, trust, luma)
    assert support[:, 60:96].min() > 0.5 and np.allclose(spread[:, 60:96, 0], 0.2, atol=0.02)  # the gap is filled
    assert support[:, 110:].max() < 0.05  # the smoother alone gave it about a tenth, a tint over the whole object


def test_an_object_seen_nowhere_in_the_reference_is_muted_by_the_exemplar_colorizer() -> None:
    """The region's luma statistics are taken over its trusted pixels: a bright object that entered does not
    stretch the reference's luma over itself (and take the grass's colour as its match)."""
    from vidcolor.segment import SEGMENTERS
    from vidcolor.shared_types import Keyframe, Reference, Trusted
    from vidcolor.solver.exemplar import ExemplarColorizer

    grass = _grass()
    frame = np.where(_ball(30), 0.85, grass).astype(np.float32)
    whole = SEGMENTERS.create("whole")
    green = np.dstack([np.full_like(grass, -0.12), np.full_like(grass, -0.10)])
    reference = Reference(grass, green, whole.segment(grass))
    trust = (~_ball(30)).astype(np.float32)
    colorizer = ExemplarColorizer()
    keyframe = Keyframe(frame, whole.segment(frame))
    refined = colorizer.refine(keyframe, reference, None, Trusted(green * trust[..., None], trust))
    plain = colorizer.colorize(keyframe, reference, None)
    ball = cv2.erode(_ball(30).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    strength = np.sqrt((refined**2).sum(axis=-1))
    assert float(strength[ball].mean()) < 0.1 * float(strength[~_ball(30)].mean())
    assert float(np.sqrt((plain**2).sum(axis=-1))[ball].mean()) > 2 * float(strength[ball].mean())
