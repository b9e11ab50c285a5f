"""References that hold on footage of their own: correspondence, placement, several references, sound regions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

from tests.media import make_video
from vidcolor import Settings, colorize_video
from vidcolor.cli import run
from vidcolor.colour import rgb_to_ycbcr, ycbcr_to_rgb
from vidcolor.frames.timecode import TimePoint
from vidcolor.match.correspond import ReferenceMatcher
from vidcolor.match.placement import place
from vidcolor.references import StyleSource
from vidcolor.shared_types import Reference, RegionMasks
from vidcolor.temporal.flow import DISFlow
from vidcolor.temporal.flow_options import FlowOptions

SIZE = (256, 144)  # (w, h): even sides, 4:2:0 output


def pan(
    photo: np.ndarray, frames: int, size: tuple[int, int] = SIZE, zoom: float = 0.05, travel: float = 0.15
) -> list[np.ndarray]:
    """RGB float frames of a rostrum move over ``photo``: a diagonal drift by ``travel`` of the free
    room, closing in by ``zoom`` of the width."""
    h, w = photo.shape[:2]
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        crop_w = w * (0.7 - zoom * t)
        crop_h = crop_w * size[1] / size[0]
        x0, y0 = (w - crop_w) * (0.4 + travel * t), (h - crop_h) * (0.4 + travel * t)
        m = np.float32([[size[0] / crop_w, 0, -x0 * size[0] / crop_w], [0, size[1] / crop_h, -y0 * size[1] / crop_h]])
        out.append(cv2.warpAffine(photo, m, size, flags=cv2.INTER_AREA).astype(np.float32) / 255.0)
    return out


def write_grey(path: Path, frames: list[np.ndarray]) -> Path:
    """The frames' own luma as a black-and-white clip (limited range, 25 fps)."""
    lumas = [np.rint(16 + 219 * np.clip(rgb_to_ycbcr(f)[0], 0, 1)).astype(np.uint8) for f in frames]
    h, w = lumas[0].shape
    return make_video(path, width=w, height=h, frames=len(lumas), luma_of=lambda i, _w, _h: lumas[i], tones=())


def write_png(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path


def chroma_planes(path: Path) -> list[np.ndarray]:
    """The stored Cb, Cr planes of every frame (4:2:0: half size), as float samples ``(h/2, w/2, 2)``."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            planes = []
            for p in frame.planes[1:3]:
                rows = np.frombuffer(memoryview(p), np.uint8).reshape(-1, p.line_size)
                planes.append(rows[: p.height, : p.width].astype(np.float64))
            out.append(np.stack(planes, axis=-1))
    return out


def chroma_psnr(output: Path, truth: list[np.ndarray]) -> list[float]:
    """Per frame, PSNR of the output's chroma samples against the truth's, at the stored 4:2:0 size."""
    scores = []
    for got, rgb in zip(chroma_planes(output), truth, strict=True):
        want = cv2.resize(rgb_to_ycbcr(rgb)[1], (got.shape[1], got.shape[0]), interpolation=cv2.INTER_AREA)
        mse = np.mean((got - (128 + 224 * want)) ** 2)
        scores.append(10 * np.log10(255**2 / max(mse, 1e-9)))
    return scores


@pytest.mark.parametrize("flow_size", [240, 128])  # the default (just below this clip's 256), and half of it
def test_a_pan_coloured_from_its_first_frame_keeps_its_colours(tmp_path: Path, flow_size: int) -> None:
    """The everyday workflow: one frame coloured by hand, the rest of the shot follows it; the carry runs on the
    flow grid, coarser than the keyframes', and still brings the keyframe's colours to every frame."""
    truth = pan(data.chelsea(), 100)
    grey = write_grey(tmp_path / "pan.mp4", truth)
    ref = write_png(tmp_path / "frame0.png", truth[0])
    out = tmp_path / "out.mp4"
    settings = Settings(use_cache=False, segmenter="whole", flow_options=FlowOptions(size=flow_size))
    result = colorize_video(grey, ref, out, settings)
    # Keyframe colour came from the reference (first keyframe) and the carry, hardly from guesses.
    assert result.keyframe_sources["reference"] + result.keyframe_sources["carried"] > 0.9, result.keyframe_sources
    scores = chroma_psnr(out, truth)
    assert len(scores) == 100
    assert min(scores) >= 40.0, f"worst frame {int(np.argmin(scores))}: {min(scores):.1f} dB"


def test_the_reference_frame_itself_is_reproduced(tmp_path: Path) -> None:
    """Correspondence of a keyframe with its own colour version: the colour arrives pixel for pixel."""
    rgb = pan(data.coffee(), 1)[0]
    luma, chroma = rgb_to_ycbcr(rgb)
    match = ReferenceMatcher(DISFlow("medium")).match(luma, Reference(luma, chroma, RegionMasks.whole(*luma.shape)))
    assert match.confidence.mean() > 0.97
    mse = np.mean((224 * (match.chroma - chroma)) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-12)) >= 45.0


def test_a_reference_of_another_scene_is_not_trusted_pixel_for_pixel() -> None:
    cat, rocket = pan(data.chelsea(), 1)[0], pan(data.rocket(), 1)[0]
    luma = rgb_to_ycbcr(cat)[0]
    ref_luma, ref_chroma = rgb_to_ycbcr(rocket)
    match = ReferenceMatcher(DISFlow("medium")).match(
        luma, Reference(ref_luma, ref_chroma, RegionMasks.whole(*luma.shape))
    )
    assert match.confidence.mean() < 0.3


def _two_shots(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    """40 frames: a pan over the coffee cup (frames 0-19), a hard cut, a pan over the rocket (20-39)."""
    truth = pan(data.coffee(), 20) + pan(data.rocket(), 20)
    return write_grey(tmp_path / "cut.mp4", truth), truth


def _mean_chroma(path: Path, frames: range) -> np.ndarray:
    planes = chroma_planes(path)
    return np.mean([planes[i].reshape(-1, 2).mean(axis=0) for i in frames], axis=0)


def test_each_shot_takes_its_own_reference(tmp_path: Path, capsys) -> None:
    grey, truth = _two_shots(tmp_path)
    # Tinted references, so each shot's colour says which one it took: coffee blue, rocket orange.
    blue = write_png(
        tmp_path / "a.png", ycbcr_to_rgb(rgb_to_ycbcr(truth[5])[0], np.full((*SIZE[::-1], 2), (0.15, -0.1)))
    )
    orange = write_png(
        tmp_path / "b.png", ycbcr_to_rgb(rgb_to_ycbcr(truth[30])[0], np.full((*SIZE[::-1], 2), (-0.12, 0.15)))
    )
    out = tmp_path / "out.mp4"
    code = run([str(grey), "--style", str(blue), "--style", str(orange), "-o", str(out), "-q", "--no-cache"])
    assert code == 0
    first, second = _mean_chroma(out, range(0, 20)), _mean_chroma(out, range(20, 40))
    assert first[0] > 140 and first[1] < 120, first  # blue: Cb up, Cr down
    assert second[0] < 120 and second[1] > 140, second  # orange


def test_a_folder_of_references_and_pins(tmp_path: Path) -> None:
    folder = tmp_path / "refs"
    folder.mkdir()
    rgb = pan(data.coffee(), 1)[0]
    for name in ("b.png", "a.jpg"):
        write_png(folder / name, rgb)
    (folder / "notes.txt").write_text("not an image")
    assert [s.path.name for s in StyleSource.parse(folder)] == ["a.jpg", "b.png"]
    assert StyleSource.parse(f"{folder / 'a.jpg'}@12.5") == [
        StyleSource(folder / "a.jpg", TimePoint(seconds=Fraction(25, 2)))
    ]
    assert StyleSource.parse(f"{folder / 'a.jpg'}@300f")[0].at == TimePoint(frames=300)
    odd = tmp_path / "me@home.png"
    write_png(odd, rgb)
    assert StyleSource.parse(odd) == [StyleSource(odd)]  # an existing file keeps its @


def test_placement_finds_each_references_frame_and_gives_unmatched_shots_the_nearest(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # Three textures of different tone, so that the cuts between them are plain to the cut detector.
    a, b, c = (
        level + 0.3 * cv2.GaussianBlur(rng.random((36, 64), dtype=np.float32), (0, 0), 2) for level in (0.1, 0.6, 0.35)
    )
    # Shot 1 drifts from a; shot 2 is b; shot 3 (c) resembles no reference.
    thumbs = [np.roll(a, i, axis=1) for i in range(10)] + [b] * 10 + [c] * 10
    frames = [(i / 25, t) for i, t in enumerate(thumbs)]
    placement = place(frames, [np.roll(a, 4, axis=1), b], [None, None], 1 / 25)
    assert [(s.start, s.end) for s in placement.shots] == [(0, 10), (10, 20), (20, 30)]
    assert placement.frames == (4, 10)
    assert placement.shot_reference == (0, 1, 1)  # shot 3 takes the placed reference nearest in time
    assert placement.reference_for(4) == (0, True)
    pinned = place(frames, [a, b], [TimePoint(frames=7), None], 1 / 25)
    assert pinned.frames[0] == 7


@pytest.mark.parametrize("name", ["chelsea", "grass"])
def test_footage_without_people_is_never_split_into_head_and_clothes(name: str) -> None:
    """The selfie model calls a cat 94 % "person"; without a face and a person-shaped mask, one region."""
    from vidcolor.segment.mediapipe_seg import MediaPipeSegmenter

    image = getattr(data, name)()
    luma = rgb_to_ycbcr(image.astype(np.float32) / 255)[0] if image.ndim == 3 else image.astype(np.float32) / 255
    segmenter = MediaPipeSegmenter()
    masks = segmenter.segment(luma)
    assert not {"head", "clothes"} & set(masks.names), masks.names
