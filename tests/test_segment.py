"""Segmentation on a real photograph (scikit-image's astronaut), tracking, fallbacks, pairing."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.color import lab2rgb, rgb2lab

from vidcolor.colour import fit_chroma_to_gamut, rgb_to_ycbcr, ycbcr_to_rgb
from vidcolor.registry import RunContext
from vidcolor.segment import SEGMENTERS, counterpart, feathered
from vidcolor.segment.regions import REGIONS, base_name
from vidcolor.segment.tracking import keep_identities, track, tracking_confidence
from vidcolor.shared_types import Keyframe, Propagated, Reference, RegionMasks
from vidcolor.solver.exemplar import ExemplarColorizer
from vidcolor.temporal.flow import DISFlow
from vidcolor.temporal.propagate import step

# Where the astronaut's face is (measured from FaceMesh on the 512x512 photograph).
FACE_X, FOREHEAD_Y, FACE_Y, CHIN_Y = 224, 72, 121, 177


@pytest.fixture(scope="module")
def segmenter():
    return SEGMENTERS.create("mediapipe")


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """RGB float in [0, 1] and its unit luma."""
    rgb = data.astronaut().astype(np.float32) / 255.0
    return rgb, rgb_to_ycbcr(rgb)[0]


def weight(masks: RegionMasks, name: str, y: int, x: int) -> float:
    return float(masks.weights[masks.names.index(name), y, x]) if name in masks.names else 0.0


def test_regions_sit_where_they_belong(segmenter, astronaut) -> None:
    _, luma = astronaut
    masks = segmenter.segment(luma)  # greyscale, as keyframes are
    assert segmenter.last_fallback == "faces"
    assert {"skin", "hair", "eyes", "lips", "clothes", "background"} <= set(masks.names)
    assert {base_name(n) for n in masks.names} <= set(REGIONS)
    np.testing.assert_allclose(masks.weights.sum(axis=0), 1.0, atol=1e-5)  # no holes, no overlap
    assert weight(masks, "skin", FACE_Y, FACE_X) > 0.9  # face centre
    assert weight(masks, "hair", FOREHEAD_Y - 15, FACE_X) > 0.5  # above the forehead
    assert weight(masks, "skin", 20, 500) < 0.01 and weight(masks, "background", 20, 500) > 0.9  # the wall
    assert weight(masks, "background", 256, 505) > 0.9  # right border
    assert weight(masks, "clothes", 400, 200) > 0.9  # the suit
    lips = masks.weights[masks.names.index("lips")] > 0.5
    assert lips[:, : FACE_X - 40].sum() == 0 and lips.sum() > 100  # lips are small and central


def test_fallback_when_the_face_is_hidden(segmenter, astronaut) -> None:
    _, luma = astronaut
    hidden = luma.copy()
    hidden[40:200, 160:290] = 0.5  # a flat patch over the whole head
    masks = segmenter.segment(hidden)
    assert segmenter.last_fallback == "person"
    assert {"head", "clothes"} <= set(masks.names)
    assert set(masks.names) <= set(REGIONS)
    masks = segmenter.segment(np.full((96, 128), 0.4, np.float32))  # nothing at all
    assert segmenter.last_fallback == "whole"
    assert masks.names == ("whole",)


def test_tracking_keeps_the_skin_mask_on_the_face_over_a_pan(segmenter, astronaut) -> None:
    _, luma = astronaut
    crop = 384
    frames = [luma[40 : 40 + crop, 20 + 4 * i : 20 + 4 * i + crop] for i in range(10)]  # camera pans right
    flow = DISFlow("fast")
    masks0 = segmenter.segment(frames[0])
    carried = Propagated.anchor(np.zeros((crop, crop, 2), np.float32))
    for prev, cur in itertools.pairwise(frames):
        u8 = lambda f: (f * 255).astype(np.uint8)  # noqa: E731
        carried = step(carried, flow.flow(u8(cur), u8(prev)), cur, prev)
    tracked = track(masks0, carried.flow)
    detected = segmenter.segment(frames[-1])
    skin_t = tracked.weights[tracked.names.index("skin")] > 0.5
    skin_d = detected.weights[detected.names.index("skin")] > 0.5
    iou = (skin_t & skin_d).sum() / (skin_t | skin_d).sum()
    assert iou > 0.8, f"tracked skin drifted off the face (IoU {iou:.2f})"
    assert tracking_confidence(tracked, carried.confidence) > 0.6


def test_faces_keep_their_identity_after_redetection() -> None:
    h, w = 40, 80
    left = np.zeros((h, w), bool)
    left[10:30, 5:30] = True
    right = np.zeros((h, w), bool)
    right[10:30, 50:75] = True
    tracked = feathered({"skin": right, "skin#1": left}, (h, w), 0)  # last keyframe: face 0 on the right
    detected = feathered({"skin": left, "skin#1": right, "hair#1": right & False}, (h, w), 0)
    renamed = keep_identities(detected, tracked)
    skin_right = renamed.weights[renamed.names.index("skin")] > 0.5
    assert skin_right[20, 60] and not skin_right[20, 10], renamed.names


def test_mediapipes_drawing_helpers_still_work_though_not_imported_with_it() -> None:
    """They stand in until used (their matplotlib was a third of the start-up); then they are the real ones."""
    probe = (
        "import sys; import vidcolor.segment.mediapipe_seg; import mediapipe as mp; "
        "print('matplotlib' in sys.modules); "
        "from mediapipe.python.solutions.drawing_utils import DrawingSpec; "
        "style = mp.solutions.drawing_styles.get_default_face_mesh_contours_style(); "
        "print(DrawingSpec.__module__, type(mp.solutions.drawing_utils).__name__, len(style) > 0)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "mediapipe.python.solutions.drawing_utils", "module", "True"]


def test_mediapipes_tasks_still_work_though_not_imported_with_it() -> None:
    """The Tasks API's audio and vision tasks stand in until used (0.11 s of every start); then they are the
    real ones, by attribute, by ``from ... import`` and by a submodule imported on its own."""
    probe = (
        "import sys; import vidcolor.segment.mediapipe_seg; import mediapipe as mp; "
        "print('sounddevice' in sys.modules, 'mediapipe.tasks.python.vision.face_landmarker' in sys.modules); "
        "from mediapipe.tasks.python.audio.audio_classifier import AudioClassifier; "
        "from mediapipe.tasks.python.audio import AudioEmbedder; "
        "print(AudioClassifier is mp.tasks.audio.AudioClassifier, AudioEmbedder.__name__); "
        "print(mp.tasks.vision.FaceLandmarker.__name__, mp.tasks.BaseOptions.__name__, "
        "type(sys.modules['mediapipe.tasks.python.vision']).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True", "AudioEmbedder", "FaceLandmarker", "BaseOptions", "module"]


def test_counterpart_falls_back_by_name() -> None:
    names = ("skin", "hair", "clothes", "background")
    assert counterpart("skin#1", names) == "skin"
    assert counterpart("lips", names) == "skin"
    assert counterpart("eyebrows", names) == "hair"
    assert counterpart("head", names) == "skin"
    assert counterpart("lips", ("whole",)) is None


def _other_person(segmenter, rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """The astronaut made into another person: other skin tone, a teal wall, mirrored and zoomed."""
    masks = segmenter.segment(luma, rgb)
    lab = rgb2lab(rgb)
    skin = (masks.weights[masks.names.index("skin")] > 0.5) | (masks.weights[masks.names.index("neck")] > 0.5)
    background = masks.weights[masks.names.index("background")] > 0.5
    lab[skin, 1:] = (24.0, 8.0)  # pinker skin than the astronaut's
    lab[background, 1:] = (-18.0, -14.0)  # teal wall instead of grey
    other = np.clip(lab2rgb(lab), 0, 1).astype(np.float32)[:, ::-1]
    return np.ascontiguousarray(cv2.resize(other[30:482, 30:482], (448, 448), interpolation=cv2.INTER_AREA))


def _region_ab(rgb: np.ndarray, masks: RegionMasks, name: str) -> np.ndarray:
    inside = masks.weights[masks.names.index(name)] > 0.95
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return rgb2lab(rgb)[inside][:, 1:].mean(axis=0)


def test_face_takes_the_reference_persons_colours_region_by_region(segmenter, astronaut) -> None:
    """Issue 4's target: skin and background within 6 a/b units of the reference's, better than global."""
    rgb, luma = astronaut
    ref_rgb = _other_person(segmenter, rgb, luma)
    ref_luma, ref_chroma = rgb_to_ycbcr(ref_rgb)
    ref_masks = segmenter.segment(ref_luma, ref_rgb)
    masks = segmenter.segment(luma)

    def colorize(keyframe_masks: RegionMasks, reference_masks: RegionMasks) -> np.ndarray:
        chroma = ExemplarColorizer().colorize(
            Keyframe(luma, keyframe_masks), Reference(ref_luma, ref_chroma, reference_masks), previous=None
        )
        return np.clip(ycbcr_to_rgb(luma, fit_chroma_to_gamut(luma, chroma)), 0, 1)

    regional = colorize(masks, ref_masks)
    whole = colorize(RegionMasks.whole(*luma.shape), RegionMasks.whole(*ref_luma.shape))
    errors = {}
    for name in ("skin", "background"):
        want = _region_ab(ref_rgb, ref_masks, name)
        errors[name] = (
            float(np.linalg.norm(_region_ab(regional, masks, name) - want)),
            float(np.linalg.norm(_region_ab(whole, masks, name) - want)),
        )
    for name, (region_aware, _) in errors.items():
        assert region_aware < 6.0, f"{name}: {region_aware:.1f} a/b units from the reference ({errors})"
    assert sum(e[1] for e in errors.values()) > 2 * sum(e[0] for e in errors.values()), errors


def test_bisenet_is_unavailable_without_its_file_and_names_it(tmp_path, monkeypatch) -> None:
    from vidcolor.errors import WeightsError

    pytest.importorskip("torch")
    folder = tmp_path / "my-weights"
    with pytest.raises(WeightsError, match=r"my-weights/79999_iter\.pth: not found.*vidcolor weights import bisenet"):
        SEGMENTERS.create("bisenet", context=RunContext(weights_dir=folder))


def test_bisenet_loads_a_checkpoint_of_the_published_layout_and_parses_faces(tmp_path, monkeypatch, astronaut) -> None:
    torch = pytest.importorskip("torch")
    from vidcolor.segment.bisenet import CLASS_REGIONS, build_network

    torch.manual_seed(0)
    network = build_network()
    state = network.state_dict()
    # The published checkpoint's names (zllrunning/face-parsing.PyTorch, 79999_iter.pth).
    for key in ("cp.resnet.layer2.0.downsample.0.weight", "cp.arm32.conv_atten.weight", "ffm.convblk.conv.weight",
                "conv_out.conv_out.weight", "conv_out16.conv.bn.running_mean"):  # fmt: skip
        assert key in state
    torch.save(state, tmp_path / "79999_iter.pth")
    monkeypatch.setenv("VIDCOLOR_WEIGHTS", str(tmp_path))
    segmenter = SEGMENTERS.create("bisenet")  # random weights: plumbing only
    rgb, luma = astronaut
    probs = segmenter.parse(rgb[60:200, 160:290])
    assert probs.shape == (len(CLASS_REGIONS), 140, 130)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-4)
    masks = segmenter.segment(luma)
    np.testing.assert_allclose(masks.weights.sum(axis=0), 1.0, atol=1e-5)
    assert set(masks.names) <= set(CLASS_REGIONS) | {"clothes", "background"}
    assert set(CLASS_REGIONS) <= set(REGIONS)
    assert weight(masks, "background", 20, 500) > 0.9  # outside the face crop, MediaPipe's regions stand


def test_a_file_without_a_published_digest_is_never_fetched(tmp_path) -> None:
    from vidcolor import weights
    from vidcolor.errors import WeightsError

    with pytest.raises(WeightsError, match="no direct download"):
        weights.fetch("bisenet", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_weights_import_loads_a_file_without_a_published_digest_before_installing_it(tmp_path, capsys) -> None:
    torch = pytest.importorskip("torch")
    from vidcolor.cli import run
    from vidcolor.segment.bisenet import build_network

    junk = tmp_path / "random.pth"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))
    folder = tmp_path / "weights"
    assert run(["weights", "import", "bisenet", str(junk), "--weights-dir", str(folder)]) == 5
    err = capsys.readouterr().err
    assert "random.pth: not a face-parsing BiSeNet checkpoint" in err and err.count("\n") == 1
    assert not folder.exists() or not list(folder.iterdir())  # nothing installed
    good = tmp_path / "good.pth"
    torch.save(build_network().state_dict(), good)  # the published layout, random weights
    assert run(["weights", "import", "bisenet", str(good), "--weights-dir", str(folder)]) == 0
    assert run(["weights", "verify", "--weights-dir", str(folder)]) == 0
    (folder / "79999_iter.pth").write_bytes(b"overwritten")
    assert run(["weights", "verify", "--weights-dir", str(folder)]) == 5


def test_debug_masks_show_every_keyframe_at_the_inputs_size_with_a_legend(reference: Path, tmp_path: Path) -> None:
    import cv2

    from tests.media import make_video
    from vidcolor.cli import run
    from vidcolor.segment.regions import LEGEND_ROW

    clip = make_video(tmp_path / "c.mp4", width=96, height=64, frames=60)
    folder = tmp_path / "masks"
    out = tmp_path / "o.mp4"
    assert (
        run([str(clip), "--style", str(reference), "-o", str(out), "--no-cache", "--debug-masks", str(folder), "-q"])
        == 0
    )
    names = sorted(p.name for p in folder.iterdir())
    # Every keyframe, the shot's first and last (neither needs solving) among them, and the reference.
    assert {"keyframe_000000.png", "keyframe_000059.png", "reference.png"} <= set(names) and len(names) == 4, names
    shapes = {cv2.imread(str(folder / n)).shape for n in names}
    assert shapes == {(64 + LEGEND_ROW, 96, 3)}
