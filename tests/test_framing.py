"""Views: which zoomed part of a reference a frame shows (vidcolor.match.framing), and what uses them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from tests.test_references import chroma_psnr, write_grey, write_png
from vidcolor import Settings, colorize_video
from vidcolor.cli import run
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.match import correspond, framing
from vidcolor.match.correspond import ReferenceMatcher
from vidcolor.match.framing import ViewSearch, find_keyframe_view, find_view
from vidcolor.match.placement import place
from vidcolor.plan import plan_video, read_plan, write_plan
from vidcolor.shared_types import Reference, RegionMasks
from vidcolor.temporal.flow import DISFlow

SIZE = (320, 180)


def view_of(photo: np.ndarray, x: float, y: float, width: float, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The part of ``photo`` ``width`` pixels wide at ``(x, y)``, at ``size``: what a rostrum camera films."""
    scale = size[0] / width
    matrix = np.float32([[scale, 0, -x * scale], [0, scale, -y * scale]])
    return cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_AREA)


def unit_luma(rgb_u8: np.ndarray) -> np.ndarray:
    return rgb_to_ycbcr(rgb_u8.astype(np.float32) / 255.0)[0]


@pytest.mark.parametrize(("x", "y", "width"), [(40.0, 30.0, 400.0), (150.0, 90.0, 260.0), (0.0, 0.0, 330.0)])
def test_a_zoom_into_a_photograph_is_found_where_it_is(x: float, y: float, width: float) -> None:
    photo = data.coffee()  # 600x400
    frame = unit_luma(view_of(photo, x, y, width))
    view = find_keyframe_view(frame, ViewSearch(unit_luma(photo)))
    assert view.counts and view.score > 0.85
    assert view.zoom == pytest.approx(600 / width, rel=0.04)
    assert view.width == pytest.approx(width, rel=0.04) and view.height == pytest.approx(width * 9 / 16, rel=0.04)
    assert abs(view.x - x) < 0.03 * width and abs(view.y - y) < 0.03 * width


def test_the_whole_framing_and_another_picture_are_no_view() -> None:
    photo, other = data.coffee(), data.rocket()
    top = unit_luma(view_of(photo, 0.0, 0.0, 600.0))  # the photograph's top band, at its own framing
    band = unit_luma(view_of(photo, 0.0, 0.0, 600.0, (600, 338)))  # that band as a reference of the frame's shape
    assert find_view(top, unit_luma(photo)).counts  # off the photograph's centre: cut to it
    assert find_view(top, band).zoom == 1.0 and find_view(top, band).resembles and not find_view(top, band).counts
    whole = top
    for x, width in ((50.0, 400.0), (200.0, 250.0)):
        view = find_view(unit_luma(view_of(photo, x, 40.0, width)), unit_luma(other))
        assert not view.counts and view.score < framing.VIEW_ABOVE
    for flat in (np.zeros((180, 320), np.float32), np.full((180, 320), 0.5, np.float32)):  # black, a fade's end
        assert not find_view(flat, unit_luma(photo)).resembles
    search = ViewSearch(unit_luma(photo))  # the scaled reference kept for the next frame
    search.find(whole)
    kept = len(search._scaled)
    search.find(whole)
    assert len(search._scaled) == kept > 0


def test_a_keyframe_zoomed_into_its_photograph_is_matched_to_the_part_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = data.chelsea()  # 451x300
    rgb = view_of(photo, 60.0, 40.0, 280.0).astype(np.float32) / 255.0
    luma, chroma = rgb_to_ycbcr(rgb)
    ref_luma, ref_chroma = rgb_to_ycbcr(photo.astype(np.float32) / 255.0)
    reference = Reference(ref_luma, ref_chroma, RegionMasks.whole(*ref_luma.shape))
    matcher = ReferenceMatcher(DISFlow("medium"))
    match = matcher.match(luma, reference)
    assert match.confidence.mean() > 0.85
    trusted = match.confidence > 0.5
    error = np.abs(match.chroma - chroma)[trusted].mean()
    assert error < 0.01
    monkeypatch.setattr(correspond, "find_keyframe_view", lambda *_: framing.View(0, 0, 1, 1, 1.0, 0.0))
    before = matcher.match(luma, reference)  # the reference's centre, as before views: flow cannot find a zoom
    assert before.confidence.mean() < 0.5 * match.confidence.mean()


def test_a_shot_zooming_into_a_photograph_resembles_it(tmp_path: Path, capsys) -> None:
    photo = data.rocket()  # 640x427
    frames = [view_of(photo, 40 + 2 * i, 30 + i, 420 - 3 * i) for i in range(12)]
    thumbs = [cv2.resize(unit_luma(f), (64, 36), interpolation=cv2.INTER_AREA) for f in frames]
    placement = place(((i / 25, t) for i, t in enumerate(thumbs)), [unit_luma(photo)], [None], 1 / 25)
    assert placement.frames == (None,)  # no frame is the photograph: nothing is placed
    assert placement.shot_reference == (0,) and not placement.nearest[0]
    assert placement.shot_similarity[0] > 0.85  # resembled as a zoom into it, not guessed
    # A tilt down a photograph of another shape, at its own framing (the whole width): a band of it, which the
    # whole-frame correlation compares with the photograph squeezed to the frame's shape.
    band = [cv2.resize(unit_luma(view_of(data.chelsea(), 0, 2 * i, 451)), (64, 36), interpolation=cv2.INTER_AREA)
            for i in range(12)]  # fmt: skip
    tilt = place(((i / 25, t) for i, t in enumerate(band)), [unit_luma(data.chelsea())], [None], 1 / 25)
    assert tilt.shot_similarity[0] > 0.9 and not tilt.nearest[0]
    grey = write_grey(tmp_path / "pan.mp4", [f.astype(np.float32) / 255.0 for f in frames])
    ref = write_png(tmp_path / "photo.png", photo.astype(np.float32) / 255.0)
    plan = plan_video(grey, [ref], Settings(segmenter="whole"))
    assert [s.status for s in plan.shots] == ["matched"] and plan.warnings() == []
    assert plan.shots[0].zoom == pytest.approx(640 / 420, rel=0.06)  # its best frame: the first, the widest
    write_plan(plan, tmp_path / "pan.plan.toml")
    assert read_plan(tmp_path / "pan.plan.toml") == plan  # the zoom kept, for reading
    assert run(["plan", str(grey), "--style", str(ref), "-o", str(tmp_path / "again.toml")]) == 0
    assert f"({plan.shots[0].zoom:.1f}x)" in capsys.readouterr().out


def test_a_rostrum_pan_coloured_from_its_whole_photograph(tmp_path: Path) -> None:
    """The archive documentary's workflow: the colour photograph itself as the reference of the shot that zooms
    into it. Every frame keeps the photograph's colours, the later, closer ones too (without views: 0.32 of the
    keyframes' colour from the reference, worst frame 37.6 dB; with them 0.92 and 39.4 dB)."""
    photo = data.coffee()
    truth = [view_of(photo, 30 + 1.5 * i, 20 + 0.8 * i, 520 - 2.6 * i).astype(np.float32) / 255 for i in range(60)]
    grey = write_grey(tmp_path / "pan.mp4", truth)
    ref = write_png(tmp_path / "photo.png", photo.astype(np.float32) / 255.0)
    out = tmp_path / "out.mp4"
    result = colorize_video(grey, ref, out, Settings(use_cache=False, segmenter="whole"))
    assert result.keyframe_sources["reference"] > 0.8, result.keyframe_sources
    scores = chroma_psnr(out, truth)
    assert min(scores) >= 38.5, f"worst frame {int(np.argmin(scores))}: {min(scores):.1f} dB"


def test_a_tilt_down_a_portrait_photograph_is_matched_band_by_band(tmp_path: Path) -> None:
    """A portrait photograph in a wide frame shows a band of it at its own framing: the tilt from its top to its
    bottom is matched to the band each keyframe shows, not to the photograph's middle (before views: no colour
    from the reference at all)."""
    photo = np.ascontiguousarray(data.astronaut()[:, 85:427])  # 512 x 342
    band = 342 * 9 / 16
    truth = [view_of(photo, 0, (512 - band) * i / 29, 342).astype(np.float32) / 255 for i in range(30)]
    grey = write_grey(tmp_path / "tilt.mp4", truth)
    ref = write_png(tmp_path / "photo.png", photo.astype(np.float32) / 255.0)
    result = colorize_video(grey, ref, tmp_path / "out.mp4", Settings(use_cache=False, segmenter="whole"))
    assert result.keyframe_sources["reference"] > 0.8, result.keyframe_sources
    assert min(chroma_psnr(tmp_path / "out.mp4", truth)) >= 28.0  # (29.7; before views 20.9)
