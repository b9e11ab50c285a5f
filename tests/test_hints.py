"""Colour hints: Levin-style propagation, hint files (pictures, JSON, CSV) and runs coloured by hints alone."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import decoded_frames, make_video
from vidcolor.cli import run
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import InputError
from vidcolor.hints import HintSource, read_hints
from vidcolor.temporal.affinity import propagate
from vidcolor.temporal.reach import stroke_reach

RED, BLUE = (220, 40, 40), (40, 60, 220)


def chroma_of(rgb: tuple[int, int, int]) -> np.ndarray:
    return rgb_to_ycbcr(np.array([[rgb]], np.float32) / 255.0)[1][0, 0]


def test_each_region_takes_its_strokes_colour_with_little_bleed_across_the_edge() -> None:
    h, w = 60, 80
    luma = np.where(np.arange(w)[None, :] < w // 2, 0.3, 0.7).astype(np.float32) * np.ones((h, 1), np.float32)
    luma += np.random.default_rng(0).normal(0, 0.005, luma.shape).astype(np.float32)  # film grain
    colour = np.zeros((h, w, 2), np.float32)
    fixed = np.zeros((h, w), bool)
    fixed[20:40, 10], fixed[20:40, 70] = True, True  # one short stroke in each region
    colour[fixed[:, :] & (np.arange(w)[None, :] < w // 2)] = chroma_of(RED)
    colour[fixed[:, :] & (np.arange(w)[None, :] >= w // 2)] = chroma_of(BLUE)
    out = propagate(luma, colour, fixed)
    left, right = out[:, : w // 2 - 2], out[:, w // 2 + 2 :]
    assert np.abs(left - chroma_of(RED)).max() < 0.02
    assert np.abs(right - chroma_of(BLUE)).max() < 0.02


def test_points_in_json_and_csv_read_as_the_same_strokes_painted(tmp_path: Path) -> None:
    picture = np.zeros((48, 64, 4), np.uint8)
    cv2.circle(picture, (10, 12), 3, (*RED[::-1], 255), -1)  # OpenCV paints BGRA
    cv2.circle(picture, (50, 30), 3, (*BLUE[::-1], 255), -1)
    cv2.imwrite(str(tmp_path / "strokes.png"), picture)
    (tmp_path / "points.json").write_text(
        json.dumps({"points": [{"x": 10, "y": 12, "colour": "#dc2828"}, [50, 30, "#283cdc"]]})
    )
    (tmp_path / "points.csv").write_text("x,y,colour\n10,12,#dc2828\n50,30,#283cdc\n")
    read = [
        read_hints(HintSource.parse(tmp_path / n), 64, 48, "bt601")
        for n in ("strokes.png", "points.json", "points.csv")
    ]
    for other in read[1:]:
        np.testing.assert_array_equal(other.given, read[0].given)
        np.testing.assert_array_equal(other.chroma, read[0].chroma)
    assert read[0].given.sum() == 2 * 29  # two discs of radius 3


def test_grey_and_transparent_pixels_are_not_hints(tmp_path: Path) -> None:
    grey = np.full((48, 64, 3), 128, np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    with pytest.raises(InputError, match="holds no hint"):
        read_hints(HintSource.parse(tmp_path / "grey.png"), 64, 48, "bt601")
    assert HintSource.parse(f"{tmp_path / 'grey.png'}@2.5").at.seconds == 2.5


def test_a_clip_coloured_by_hints_alone_keeps_them_over_the_shot(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", frames=30)
    template = tmp_path / "frame.png"
    assert run(["hints-template", str(clip), "-o", str(template), "--at", "0"]) == 0
    assert cv2.imread(str(template), cv2.IMREAD_UNCHANGED).shape == (48, 64, 3)  # RGB: an editor paints colour
    painted = cv2.imread(str(template))
    assert painted.shape == (48, 64, 3) and (painted[..., 0] == painted[..., 2]).all()
    cv2.rectangle(painted, (4, 4), (60, 44), RED[::-1], thickness=2)  # a red outline, painted on the frame
    cv2.imwrite(str(template), painted)
    out = tmp_path / "out.mp4"
    assert run([str(clip), "--hints", str(template), "-o", str(out), "-q", "--no-cache", "--crf", "0"]) == 0
    red_cr = chroma_of(RED)[1]
    for frame in decoded_frames(out):
        cr = (np.frombuffer(frame.planes[2], np.uint8).reshape(24, -1)[:, :32].astype(np.float32) - 128) / 224
        assert cr.mean() > 0.5 * red_cr, f"frame {frame.pts}: the hint's red faded"


def test_automatic_mode_without_its_weights_names_the_file_and_writes_nothing(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch", reason="automatic colour needs the solver extra")
    out = tmp_path / "x.mp4"
    assert run([str(clip), "-o", str(out)]) == 5
    err = capsys.readouterr().err
    assert "colorization_release_v2-9b330a0b.pth" in err and "vidcolor weights fetch eccv16" in err
    assert err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_hints_and_a_reference_mix(clip: Path, reference: Path, tmp_path: Path) -> None:
    hints = np.zeros((48, 64, 4), np.uint8)
    hints[:, :16] = (*RED[::-1], 255)  # the left quarter painted red
    cv2.imwrite(str(tmp_path / "h.png"), hints)
    out, plain = tmp_path / "mixed.mp4", tmp_path / "plain.mp4"
    common = ["--style", str(reference), "-q", "--no-cache", "--crf", "0"]
    assert run([str(clip), *common, "--hints", str(tmp_path / "h.png"), "-o", str(out)]) == 0
    assert run([str(clip), *common, "-o", str(plain)]) == 0

    def cr(path: Path) -> np.ndarray:
        frame = decoded_frames(path)[0]
        return (np.frombuffer(frame.planes[2], np.uint8).reshape(24, -1)[:, :32].astype(np.float32) - 128) / 224

    mixed, alone = cr(out), cr(plain)
    # The hinted quarter is red (as red as the gamut of each pixel's luma lets it be).
    assert mixed[:, :6].mean() > 0.5 * chroma_of(RED)[1] > alone[:, :6].mean() + 0.1
    np.testing.assert_allclose(mixed[:, 20:], alone[:, 20:], atol=0.05)  # the rest keeps the reference's colour


def _two_regions(index: int, width: int, height: int) -> np.ndarray:
    """Two flat regions, dark on the left and light on the right, with a faint texture."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return (np.where(xs < width // 2, 70, 170) + 4 * np.sin(ys / 3) * np.cos(xs / 4)).astype(np.uint8)


def test_a_stroke_reaches_its_own_region_not_across_an_edge() -> None:
    luma = _two_regions(0, 96, 64).astype(np.float32) / 255
    strokes = np.zeros(luma.shape, bool)
    strokes[30, 20] = True  # one click in the dark region
    reach = stroke_reach(luma, strokes)
    assert reach[30, 20] == 1.0
    assert reach[30, 40:46].mean() > 0.4  # the region's far side, 20-26 pixels away
    assert reach[:, 52:].max() < 0.05  # across the edge: nothing


def test_one_click_colours_its_region_and_the_other_keeps_its_own_colour(tmp_path: Path) -> None:
    """Hints alone: the other region stays neutral; with a reference, it keeps the reference's colour."""
    clip = make_video(tmp_path / "two.mp4", width=96, height=64, frames=8, luma_of=_two_regions)
    points = tmp_path / "click.json"
    points.write_text(json.dumps({"points": [{"x": 20, "y": 30, "colour": "#dc2828"}]}))
    out = tmp_path / "out.mp4"
    assert run([str(clip), "--hints", str(points), "-o", str(out), "-q", "--no-cache", "--crf", "0"]) == 0

    def cr(path: Path) -> np.ndarray:
        frame = decoded_frames(path)[0]
        return (np.frombuffer(frame.planes[2], np.uint8).reshape(32, -1)[:, :48].astype(np.float32) - 128) / 224

    alone = cr(out)
    red = chroma_of(RED)[1]
    assert alone[10:20, 4:18].mean() > 0.4 * red  # the clicked region is red around the click
    assert np.abs(alone[:, 27:]).max() < 0.02  # the other stays grey: nothing vouches for a colour there
    tinted = np.dstack([_two_regions(0, 96, 64)] * 3).astype(np.float32)
    tinted[..., 0] *= 0.8  # a blue-ish reference (BGR: blue kept, red lowered)
    tinted[..., 2] *= 0.8
    cv2.imwrite(str(tmp_path / "ref.png"), np.clip(tinted * 1.1, 0, 255).astype(np.uint8))
    both, plain = tmp_path / "both.mp4", tmp_path / "plain.mp4"
    common = ["--style", str(tmp_path / "ref.png"), "-q", "--no-cache", "--crf", "0"]
    assert run([str(clip), *common, "--hints", str(points), "-o", str(both)]) == 0
    assert run([str(clip), *common, "-o", str(plain)]) == 0
    mixed, reference_only = cr(both), cr(plain)
    assert mixed[10:20, 4:18].mean() > 0.4 * red
    np.testing.assert_allclose(mixed[:, 27:], reference_only[:, 27:], atol=0.02)


def test_bad_hint_files_and_times_are_one_line_naming_them(clip: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.mp4")
    (tmp_path / "bad.png").write_text("not a picture")
    (tmp_path / "p.json").write_text('{"points": [[1, 2, "red"]]}')
    (tmp_path / "r.json").write_text('{"points": [{"x": 5, "y": 5, "colour": "#ff0000", "radius": -2}]}')
    (tmp_path / "n.json").write_text('{"points": [{"x": NaN, "y": 5, "colour": "#ff0000"}]}')
    cases = [
        (f"{tmp_path / 'r.json'}", "r.json: point 1: radius -2 is not from 0 to"),
        (f"{tmp_path / 'n.json'}", "n.json: point 1: x and y must be numbers of pixels"),
        (f"{tmp_path / 'missing.png'}", "missing.png: no such file"),
        (f"{tmp_path / 'bad.png'}@0:75", "--hints '0:75': not a time"),
        (f"{tmp_path / 'bad.png'}", "bad.png: not a readable hint picture"),
        (f"{tmp_path / 'p.json'}", "p.json: not a readable list of hint points ('red' is not a colour"),
    ]
    for hint, said in cases:
        assert run([str(clip), "--hints", hint, "-o", out]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("x*"))


def test_frames_before_a_shots_first_hint_that_stay_grey_are_named(tmp_path: Path, capsys) -> None:
    clip = make_video(tmp_path / "long.mp4", frames=120)
    points = tmp_path / "h.json"
    points.write_text(json.dumps({"points": [{"x": 10, "y": 10, "colour": "#ff0000"}]}))
    out = tmp_path / "out.mp4"
    assert run([str(clip), "--hints", f"{points}@60f", "-o", str(out), "--no-cache", "--segmenter", "whole"]) == 0
    err = capsys.readouterr().err
    assert "has hints from frame 60 on only: frames 0-48 (up to the keyframe before them) stay grey" in err, err
    greys = [bool(np.all(f.to_ndarray(format="yuv444p")[1:] == 128)) for f in decoded_frames(out)]
    assert greys[:49] == [True] * 49 and not any(greys[49:])  # what the warning says
