"""The optimization solver with small random networks injected: luma lock, regions, warm start, weights."""

# ruff: noqa: E402  (the imports below need torch, which importorskip checks first)

from __future__ import annotations

import dataclasses
import hashlib
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the solver tests need the 'solver' extra")
nn = torch.nn

from tests.media import luma_planes
from vidcolor import weights
from vidcolor.errors import UsageError, WeightsError
from vidcolor.registry import RunContext
from vidcolor.shared_types import Keyframe, Propagated, Reference, RegionMasks
from vidcolor.solver import COLORIZERS, device_service
from vidcolor.solver.base import SolverError
from vidcolor.solver.clip_guide import ClipGuide
from vidcolor.solver.device_service import DeviceService, ServiceEngine, ServiceGone, optim_handler
from vidcolor.solver.features import FeatureExtractor, PyramidFeatures, VGGFeatures, rgb_to_lab
from vidcolor.solver.optim import OptimColorizer, compose_rgb
from vidcolor.solver.optim_engine import OptimEngine, SolveProblem, SolveResult
from vidcolor.solver.options import SolverOptions


class TinyRandomFeatures(FeatureExtractor):
    """Two random conv layers: enough to test the solver's plumbing, never a product network."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.a = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.b = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.freeze()

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = self.a(rgb)
        # The raw colour is a feature too, so region colour statistics are part of the style.
        return [torch.cat([rgb, x], dim=1), self.b(x)]


def textured(h: int = 48, w: int = 96, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)

    base = cv2.GaussianBlur(rng.uniform(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    return 0.3 + 0.4 * (base - base.min()) / (base.max() - base.min())


BLUE, ORANGE = (0.25, -0.05), (-0.12, 0.15)


def two_region_problem() -> tuple[Keyframe, Reference]:
    h, w = 48, 96
    luma = textured(h, w)
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1
    chroma = np.zeros((h, w, 2), np.float32)
    chroma[:, w // 2 :] = BLUE  # the reference's "a" is on its right
    chroma[:, : w // 2] = ORANGE
    reference = Reference(luma, chroma, RegionMasks(("a", "b"), np.stack([1 - left, left])))
    keyframe = Keyframe(luma, RegionMasks(("a", "b"), np.stack([left, 1 - left])))  # keyframe's "a" on the left
    return keyframe, reference


def solver(**options: object) -> OptimColorizer:
    opts = SolverOptions(**{"iterations": 40, "solve_size": 96, **options})  # type: ignore[arg-type]
    return OptimColorizer(opts, features=TinyRandomFeatures())


def test_each_region_takes_its_counterparts_colour_without_bleeding() -> None:
    keyframe, reference = two_region_problem()
    chroma = solver(warm_start=False, iterations=150, learning_rate=0.02).colorize(keyframe, reference, None)
    w = chroma.shape[1]
    left, right = chroma[6:-6, 4 : w // 2 - 8].mean(axis=(0, 1)), chroma[6:-6, w // 2 + 8 : -4].mean(axis=(0, 1))
    assert left[0] > 0.15, f"region a should be blue, got Cb/Cr {left}"
    assert right[0] < -0.05 and right[1] > 0.08, f"region b should be orange, got {right}"


def test_warm_start_from_the_previous_result_converges_in_fewer_iterations() -> None:
    keyframe, reference = two_region_problem()
    cold = solver(warm_start=False, iterations=200)
    result = cold.colorize(keyframe, reference, None)
    warm = solver(iterations=200)
    warm.colorize(keyframe, reference, Propagated.anchor(result))
    assert warm.last_iterations < cold.last_iterations, (warm.last_iterations, cold.last_iterations)


def test_temporal_term_pulls_toward_the_previous_keyframe() -> None:
    keyframe, reference = two_region_problem()
    previous = Propagated.anchor(np.full((48, 96, 2), (0.0, 0.2), np.float32))
    free = solver(warm_start=False).colorize(keyframe, reference, None)
    held = solver(warm_start=False, temporal_weight=50.0).colorize(keyframe, reference, previous)
    distance = lambda c: float(np.abs(c - previous.chroma).mean())  # noqa: E731
    assert distance(held) < 0.5 * distance(free)


def test_gradients_reach_only_the_chroma() -> None:
    features = TinyRandomFeatures()
    before = [p.detach().clone() for p in features.parameters()]
    keyframe, reference = two_region_problem()
    OptimColorizer(SolverOptions(iterations=5, solve_size=64), features=features).colorize(keyframe, reference, None)
    for p, b in zip(features.parameters(), before, strict=True):
        assert p.grad is None and not p.requires_grad
        assert torch.equal(p, b)
    luma = torch.rand(1, 1, 8, 8)
    chroma = torch.zeros(1, 2, 8, 8, requires_grad=True)
    compose_rgb(luma, chroma).sum().backward()
    assert chroma.grad is not None and luma.grad is None


@pytest.mark.parametrize(("matrix", "kr", "kb"), [("bt601", 0.299, 0.114), ("bt709", 0.2126, 0.0722)])
def test_composed_rgb_keeps_the_luma_in_the_output_matrix(matrix: str, kr: float, kb: float) -> None:
    luma = torch.rand(1, 1, 16, 16)
    rgb = compose_rgb(luma, torch.rand(1, 2, 16, 16) - 0.5, matrix)
    y = kr * rgb[:, 0] + (1 - kr - kb) * rgb[:, 1] + kb * rgb[:, 2]
    torch.testing.assert_close(y, luma[:, 0], atol=1e-5, rtol=0)


def test_luma_is_unchanged_through_the_whole_pipeline(clip: Path, reference: Path, out_dir: Path) -> None:
    from vidcolor import EncoderSettings, Settings, colorize_video

    out = out_dir / "optim.mp4"
    colorizer = OptimColorizer(SolverOptions(iterations=5, solve_size=48), features=TinyRandomFeatures())
    settings = Settings(use_cache=False, encoder=EncoderSettings(crf=0), segmenter="whole")
    colorize_video(clip, reference, out, settings, colorizer=colorizer)
    for a, b in zip(luma_planes(out), luma_planes(clip), strict=True):
        np.testing.assert_array_equal(a, b)


def test_weight_free_solver_runs_from_the_cli(clip: Path, reference: Path, out_dir: Path) -> None:
    from vidcolor.cli import run

    args = ["--colorizer", "optim", "--features", "pyramid", "--iterations", "3", "--solve-size", "48"]
    assert run([str(clip), "--style", str(reference), "-o", str(out_dir / "o.mp4"), "-q", "--no-cache", *args]) == 0


@pytest.mark.parametrize(
    ("flag", "filename"), [(["--features", "vgg"], "vgg19-dcbb9e9d.pth"), (["--clip"], "ViT-B-32.pt")]
)
def test_asking_for_a_network_without_its_file_names_the_file_and_the_fetch_command(
    capsys, clip: Path, reference: Path, out_dir: Path, tmp_path: Path, flag: list[str], filename: str
) -> None:
    from vidcolor.cli import run

    args = [str(clip), "--style", str(reference), "-o", str(out_dir / "o.mp4"), "-q", "--no-cache"]
    code = run([*args, "--colorizer", "optim", "--weights-dir", str(tmp_path / "empty"), *flag])
    err = capsys.readouterr().err
    assert code == 5
    assert filename in err and "vidcolor weights fetch" in err
    assert list(out_dir.iterdir()) == []


def test_product_never_picks_random_weights(tmp_path: Path) -> None:
    from vidcolor.solver.features import build_features

    assert isinstance(build_features("auto", str(tmp_path)), PyramidFeatures)  # no file: weight-free, not random VGG
    with pytest.raises(WeightsError, match=r"vgg19-dcbb9e9d\.pth"):
        build_features("vgg", str(tmp_path))


def test_weights_import_verifies_the_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "net.bin"
    good.write_bytes(b"pretend weights")
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    fake = weights.WeightFile("toy", "toy.bin", "https://example.invalid/toy.bin", digest, 1, "a test entry")
    monkeypatch.setitem(weights.KNOWN, "toy", fake)
    folder = tmp_path / "weights"
    installed = weights.import_file("toy", good, folder)
    assert installed == folder / "toy.bin" and installed.read_bytes() == good.read_bytes()
    bad = tmp_path / "other.bin"
    bad.write_bytes(b"something else")
    with pytest.raises(WeightsError, match="does not match"):
        weights.import_file("toy", bad, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere" / "toy.bin").exists()


def test_vgg_loads_torchvision_layout_from_a_file(tmp_path: Path) -> None:
    net = VGGFeatures.untrained(seed=1)
    path = tmp_path / "vgg.pth"
    torch.save({f"features.{k}": v for k, v in net.body.state_dict().items()}, path)
    loaded = VGGFeatures.from_file(path)
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(loaded(x), net(x), strict=True):
        torch.testing.assert_close(a, b)
    assert [f.shape[1] for f in net(x)] == [64, 128, 256, 512]


def test_clip_guide_embeds_and_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Conv2d(3, 4, 7, stride=7), nn.Flatten(), nn.LazyLinear(16))
    guide = ClipGuide(encoder, input_size=28)
    a = torch.rand(1, 3, 40, 50)
    with torch.no_grad():
        target = guide.embed(a)
        assert float(guide.loss(a, target)) == pytest.approx(0.0, abs=1e-5)
        assert float(guide.loss(torch.rand(1, 3, 40, 50), target)) > 1e-4


def test_rgb_to_lab_matches_skimage() -> None:
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(0).uniform(0, 1, (4, 5, 3)).astype(np.float32)
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy() * 100
    np.testing.assert_allclose(ours, rgb2lab(rgb), atol=0.5)


def test_cuda_asked_for_without_a_gpu_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(UsageError, match="device is cuda, but torch sees no CUDA device"):
        OptimColorizer(device="cuda", features=TinyRandomFeatures())


def _colour_clip() -> ClipGuide:
    """A fake CLIP: an image embeds as its mean colour (centred); a prompt as the colour it names."""
    named = {"a blue sky": (0.0, 0.0, 1.0), "a grey wall": (0.5, 0.5, 0.5), "green foliage": (0.0, 0.6, 0.0)}

    def image(x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) * torch.tensor([0.229, 0.224, 0.225]) + torch.tensor([0.481, 0.458, 0.408]) - 0.5

    def text(prompts: list[str]) -> torch.Tensor:
        return torch.tensor([named.get(p, (0.9, 0.1, 0.5)) for p in prompts]) - 0.5

    return ClipGuide(image, input_size=16, text_encoder=text)


def test_clip_prompts_pick_the_closest_description_and_guide_the_solve() -> None:
    guide = _colour_clip()
    blue = torch.zeros(1, 3, 20, 20)
    blue[:, 2] = 1.0
    prompt, _ = guide.pick_prompt(blue, "background")
    assert prompt == "a blue sky"
    keyframe, reference = two_region_problem()
    reference = Reference(
        reference.luma, reference.chroma, RegionMasks(("background", "skin"), reference.masks.weights)
    )
    keyframe = Keyframe(keyframe.luma, RegionMasks(("background", "skin"), keyframe.masks.weights))
    options = SolverOptions(clip=True, clip_prompts=True, iterations=3, solve_size=48)
    solver = OptimColorizer(options, features=TinyRandomFeatures(), clip=guide)
    chroma = solver.colorize(keyframe, reference, None)
    assert np.isfinite(chroma).all()
    # the reference's regions → their chosen prompts' text embeddings (the targets prepared for the solve)
    prompts = solver.engine.targets(reference.at_size(options.solve_size)).prompts
    assert set(prompts) == {"background", "skin"}
    torch.testing.assert_close(prompts["background"], guide.embed_text(["a blue sky"])[0])


def test_clip_prompts_need_clip() -> None:
    with pytest.raises(UsageError, match=r"solver\.clip_prompts needs solver\.clip"):
        SolverOptions(clip_prompts=True)


def _digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trust_file(monkeypatch: pytest.MonkeyPatch, name: str, path: Path) -> None:
    """Point the product's digest check at a test file's own digest (the check itself stays on)."""
    entry = weights.KNOWN[name]
    monkeypatch.setitem(weights.KNOWN, name, dataclasses.replace(entry, filename=path.name, sha256=_digest_of(path)))


def test_a_torchscript_clip_archive_loads_through_the_product_loader(tmp_path, monkeypatch) -> None:
    """OpenAI's ViT-B-32.pt is TorchScript; torch 2.14 refuses it under weights_only=True."""
    import open_clip
    from open_clip.model import CLIP

    torch.manual_seed(0)
    tiny = CLIP(
        32,
        vision_cfg={"layers": 1, "width": 64, "patch_size": 16, "image_size": 32},
        text_cfg={"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1},
        quick_gelu=True,
    ).eval()
    path = tmp_path / "ViT-B-32.pt"
    # OpenAI's archives hold the model's tensors (no causal mask: their model builds it) in TorchScript.
    state = {k: v for k, v in tiny.state_dict().items() if k != "attn_mask"}
    torch.jit.save(torch.jit.script(_TensorHolder(state)), str(path))
    with pytest.raises(Exception, match=r"Weights only load failed|weights_only"):
        torch.load(path, weights_only=True)  # what open_clip.create_model(pretrained=...) would do
    _trust_file(monkeypatch, "clip-vit-b32", path)
    guide = ClipGuide.from_weights(tmp_path, torch.device("cpu"))
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        want = torch.nn.functional.normalize(tiny.encode_image(guide_input(image, guide)), dim=-1)
        torch.testing.assert_close(guide.embed(image), want, atol=1e-4, rtol=0)
    assert guide.embed_text(["a blue sky"]).shape == (1, 32)
    assert open_clip.get_tokenizer("ViT-B-32-quickgelu")(["a blue sky"]).shape == (1, 77)


class _TensorHolder(nn.Module):
    """A TorchScript-able module whose state dict is ``state`` (nested names become submodules)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        for key, value in state.items():
            *path, leaf = key.split(".")
            module: nn.Module = self
            for part in path:
                if not hasattr(module, part):
                    module.add_module(part, nn.Module())
                module = getattr(module, part)
            module.register_parameter(leaf, nn.Parameter(value.detach().clone(), requires_grad=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def guide_input(image: torch.Tensor, guide: ClipGuide) -> torch.Tensor:
    """What ClipGuide feeds its encoder: resized to its input size and normalized with CLIP's statistics."""
    from vidcolor.solver.clip_guide import _CLIP_MEAN, _CLIP_STD

    x = torch.nn.functional.interpolate(
        image, size=(guide.input_size, guide.input_size), mode="bilinear", antialias=True, align_corners=False
    )
    return (x - torch.tensor(_CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(_CLIP_STD).view(1, 3, 1, 1)


def test_a_torchvision_vgg19_state_dict_loads_through_the_product_loader(tmp_path, monkeypatch) -> None:
    from vidcolor.solver.features import build_features

    net = VGGFeatures.untrained(seed=2)
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({f"features.{k}": v for k, v in net.body.state_dict().items()}, path)
    _trust_file(monkeypatch, "vgg19", path)
    loaded = build_features("vgg", tmp_path)
    x = torch.rand(1, 3, 32, 32)
    for a, b in zip(loaded(x), net(x), strict=True):
        torch.testing.assert_close(a, b)
    path.write_bytes(path.read_bytes()[:-1] + b"x")  # one byte changed: refused, never loaded
    with pytest.raises(WeightsError, match="does not match"):
        build_features("vgg", tmp_path)


def test_the_cache_key_names_the_network_actually_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run without weights, then 'vidcolor weights fetch vgg19', then the same run: no stale keyframes."""
    from vidcolor import Settings

    settings = Settings(colorizer="optim", weights_dir=tmp_path, use_cache=False)  # features: auto
    context = RunContext(weights_dir=settings.weights_dir)
    before = COLORIZERS.create("optim", settings.solver, context).identity()
    net = VGGFeatures.untrained(seed=3)
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({f"features.{k}": v for k, v in net.body.state_dict().items()}, path)
    _trust_file(monkeypatch, "vgg19", path)
    after = COLORIZERS.create("optim", settings.solver, context).identity()
    assert before["features"] == "pyramid"
    assert after["features"] == f"vgg19:{_digest_of(path)[:16]}"
    assert settings.colour_key("ref", before)[0] != settings.colour_key("ref", after)[0]


def test_trusted_colour_stays_where_it_is_sure_and_the_rest_is_refined() -> None:
    from vidcolor.shared_types import Trusted

    keyframe, reference = two_region_problem()
    h, w = keyframe.luma.shape
    certainty = np.zeros((h, w), np.float32)
    certainty[:, : w // 4] = 1.0  # the left quarter is known: green, unlike anything in the reference
    known = np.zeros((h, w, 2), np.float32)
    known[:, : w // 4] = (-0.1, -0.1)
    chroma = solver().refine(keyframe, reference, None, Trusted(known, certainty))
    assert np.abs(chroma[4:-4, 2 : w // 4 - 6] - known[4:-4, 2 : w // 4 - 6]).max() < 0.03


def test_the_plateau_stop_fires_at_the_default_cap_and_adam_carries_within_a_shot() -> None:
    keyframe, reference = two_region_problem()
    colorizer = OptimColorizer(SolverOptions(solve_size=96), features=TinyRandomFeatures())
    first = colorizer.colorize(keyframe, reference, None)
    assert colorizer.last_iterations < SolverOptions().iterations
    assert colorizer._adam is not None
    steps = int(colorizer._adam["step"])
    colorizer.colorize(keyframe, reference, Propagated.anchor(first))  # the next keyframe of the shot
    assert int(colorizer._adam["step"]) == steps + colorizer.last_iterations
    colorizer.colorize(keyframe, reference, None)  # a new shot starts afresh
    assert int(colorizer._adam["step"]) == colorizer.last_iterations


def test_bt709_input_asks_for_the_colours_bt601_input_of_the_same_picture_asks_for() -> None:
    from vidcolor.colour import rgb_to_ycbcr

    # Two colours whose luma is the same in both matrices (0.0864 R - 0.1282 G + 0.0418 B = 0), scaled
    # by a texture: the same picture, with the same luma, whichever matrix its video uses. What the
    # solver asks of a keyframe (colour-feature statistics of the RGB it composes) must not change.
    _, reference = two_region_problem()
    left = reference.masks.weights[1][..., None]
    colours = left * np.array([0.2, 0.3956, 0.8]) + (1 - left) * np.array([0.8, 0.6037, 0.2])
    ref_rgb = (colours * (0.5 + reference.luma[..., None])).astype(np.float32).clip(0, 1)
    asked = []
    for matrix in ("bt601", "bt709"):
        ref_luma, ref_chroma = rgb_to_ycbcr(ref_rgb, matrix)
        asked.append(solver().engine.targets(Reference(ref_luma, ref_chroma, reference.masks, matrix)))
    for (mean_601, std_601), (mean_709, std_709) in zip(asked[0].stats, asked[1].stats, strict=True):
        torch.testing.assert_close(mean_601, mean_709, atol=2e-3, rtol=0)
        torch.testing.assert_close(std_601, std_709, atol=2e-3, rtol=0)


def test_the_eccv16_network_loads_a_state_dict_of_the_published_layout(tmp_path, monkeypatch) -> None:
    from vidcolor.solver.zhang import ECCV16, AutomaticColorizer

    published = tmp_path / "colorization_release_v2-9b330a0b.pth"
    torch.manual_seed(0)
    torch.save(ECCV16().state_dict(), published)  # random weights, the published file's layout
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    entry = dataclasses.replace(weights.KNOWN["eccv16"], sha256=digest)  # the check stays on, pointed at this file
    monkeypatch.setitem(weights.KNOWN, "eccv16", entry)
    colorizer = AutomaticColorizer.from_weights(tmp_path)
    chroma = colorizer.colorize(textured(60, 80))
    assert chroma.shape == (60, 80, 2) and np.isfinite(chroma).all()
    # No --style, no --hints: a video and a photograph coloured by the network, luma kept.
    from tests.media import make_reference, make_video
    from vidcolor.cli import run

    clip = make_video(tmp_path / "clip.mp4", frames=8)
    out = tmp_path / "auto.mp4"
    assert run([str(clip), "-o", str(out), "-q", "--no-cache", "--crf", "0", "--weights-dir", str(tmp_path)]) == 0
    assert [p.tobytes() for p in luma_planes(out)] == [p.tobytes() for p in luma_planes(clip)]
    photo = make_reference(tmp_path / "scan.png")
    assert run([str(photo), "-o", str(tmp_path / "scan.out.png"), "-q", "--weights-dir", str(tmp_path)]) == 0
    wrong = tmp_path / "other" / "colorization_release_v2-9b330a0b.pth"
    wrong.parent.mkdir()
    torch.save({"model1.0.weight": torch.zeros(1)}, wrong)
    monkeypatch.setitem(weights.KNOWN, "eccv16", dataclasses.replace(entry, sha256=weights.sha256_of(wrong)))
    with pytest.raises(Exception, match="not the ECCV16 colorization network"):
        AutomaticColorizer.from_weights(wrong.parent)


def test_annealed_mean_decoding_runs_from_the_mean_to_the_mode() -> None:
    from vidcolor.solver.zhang import ECCV16, annealed_mean

    bins = torch.tensor([[-20.0, 10.0], [30.0, -40.0], [0.0, 0.0]])
    logits = torch.tensor([2.0, 1.0, 0.0]).view(1, 3, 1, 1)
    plain = annealed_mean(logits, bins, temperature=1.0)[0, :, 0, 0]
    expected = (torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0)[:, None] * bins).sum(0)
    torch.testing.assert_close(plain, expected)
    sharp = annealed_mean(logits, bins, temperature=0.01)[0, :, 0, 0]
    torch.testing.assert_close(sharp, bins[0], atol=1e-3, rtol=0)  # T → 0: the most likely bin
    network = ECCV16()
    assert network(torch.full((1, 1, 64, 64), 50.0)).shape == (1, 313, 16, 16)
    assert network.bins().shape == (313, 2)


def test_the_siggraph17_network_reads_points_and_loads_through_the_product_loader(tmp_path, monkeypatch) -> None:
    from vidcolor.solver.zhang import SIGGRAPH17, AutomaticColorizer

    network = SIGGRAPH17()
    lightness = torch.full((1, 1, 32, 48), 50.0)
    points = torch.zeros(1, 2, 32, 48)
    out = network(lightness, points, torch.zeros(1, 1, 32, 48))
    assert out.shape == (1, 2, 32, 48) and out.abs().max() <= 110.0  # tanh, in Lab units
    assert {k.split(".")[0] for k in network.state_dict()} >= {"model1", "model3short8", "model10", "model_class"}
    published = tmp_path / "siggraph17-df00044c.pth"
    torch.save(network.state_dict(), published)
    entry = dataclasses.replace(weights.KNOWN["siggraph17"], sha256=weights.sha256_of(published))
    monkeypatch.setitem(weights.KNOWN, "siggraph17", entry)
    colorizer = AutomaticColorizer.from_weights(tmp_path, model="siggraph17")
    assert colorizer.identity.startswith("siggraph17:")
    assert colorizer.colorize(textured(40, 56)).shape == (40, 56, 2)


def test_clip_sees_each_region_in_one_batched_forward_with_augmented_views() -> None:
    torch.manual_seed(0)
    calls: list[int] = []
    inner = nn.Sequential(nn.Conv2d(3, 4, 7, stride=7), nn.Flatten(), nn.LazyLinear(16))

    def encoder(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return inner(x)

    guide = ClipGuide(encoder, input_size=28)
    keyframe, reference = two_region_problem()
    solve = lambda: OptimColorizer(  # noqa: E731
        SolverOptions(clip=True, iterations=4, solve_size=48, patience=100), features=TinyRandomFeatures(), clip=guide
    ).colorize(keyframe, reference, None)
    first = solve()
    # Per step one batch: the whole image (1) and both regions, each with 3 augmented views (8).
    assert calls[-4:] == [9] * 4
    np.testing.assert_array_equal(first, solve())  # the views are drawn from a seeded generator


class _Recording:
    """An engine that keeps the problems it is given (what a keyframe's solve hands the device)."""

    def __init__(self, engine: OptimEngine) -> None:
        self.engine = engine
        self.problems: list[SolveProblem] = []

    def solve(self, problems: list[SolveProblem]) -> list[SolveResult]:
        self.problems += problems
        return self.engine.solve(problems)

    def identity(self) -> dict[str, str]:
        return self.engine.identity()


SOLVE = SolverOptions(iterations=40, solve_size=96)


def _three_problems() -> list[SolveProblem]:
    """A shot's first keyframe, its second (warm: the carry and Adam's state), another shot's first."""
    recording = _Recording(OptimEngine(SOLVE, features=TinyRandomFeatures()))
    colorizer = OptimColorizer(SOLVE, engine=recording)
    keyframe, reference = two_region_problem()
    first = colorizer.colorize(keyframe, reference, None)
    colorizer.colorize(Keyframe(textured(seed=5), keyframe.masks), reference, Propagated.anchor(first))
    other = Reference(reference.luma, reference.chroma[:, ::-1].copy(), reference.masks)
    colorizer.colorize(keyframe, other, None)
    return recording.problems


def _assert_same_results(got: list[SolveResult], alone: list[SolveResult]) -> None:
    for g, a in zip(got, alone, strict=True):
        assert g.iterations == a.iterations
        torch.testing.assert_close(g.grids.cpu(), a.grids.cpu(), atol=1e-5, rtol=0)
        assert (g.adam is None) == (a.adam is None)
        if g.adam is not None and a.adam is not None:
            torch.testing.assert_close(g.adam["exp_avg_sq"].cpu(), a.adam["exp_avg_sq"].cpu(), atol=1e-7, rtol=1e-4)
            assert int(g.adam["step"]) == int(a.adam["step"])


def test_keyframes_solved_together_get_what_each_gets_alone() -> None:
    problems = _three_problems()
    assert problems[1].adam is not None and problems[1].previous is not None  # the warm one carries its shot's state
    alone = [OptimEngine(SOLVE, features=TinyRandomFeatures()).solve([p])[0] for p in problems]
    calls: list[int] = []
    together_engine = OptimEngine(SOLVE, features=TinyRandomFeatures())
    forward = together_engine.features.forward
    together_engine.features.forward = lambda rgb: calls.append(rgb.shape[0]) or forward(rgb)  # type: ignore[method-assign]
    together = together_engine.solve(problems)
    _assert_same_results(together, alone)
    assert max(calls) == 3  # one feature pass for all three; a problem that plateaus leaves the batch
    assert len({r.iterations for r in alone}) > 1 and calls[-1] < 3


def test_a_device_service_solves_the_keyframes_of_waiting_workers_together(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _three_problems()
    alone = [OptimEngine(SOLVE, features=TinyRandomFeatures()).solve([p])[0] for p in problems]
    monkeypatch.setattr(device_service, "BATCH_WAIT_S", 30.0)  # the batch closes when every worker is waiting
    engine = OptimEngine(SOLVE, features=TinyRandomFeatures())
    results: list[SolveResult | None] = [None] * len(problems)
    with DeviceService({"optim": optim_handler(engine)}, {"optim": engine.identity()}) as service:
        ready = threading.Barrier(len(problems))

        def worker(i: int) -> None:
            client = ServiceEngine(service.address)
            assert client.identity() == engine.identity()  # connected
            ready.wait()
            results[i] = client.solve([problems[i]])[0]

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(problems))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert service.stats.batches == [3]
    assert not Path(service.address.path).exists()  # its socket's folder goes with it
    _assert_same_results([r for r in results if r is not None], alone)


def test_a_device_service_tells_its_workers_what_failed_and_when_it_is_gone() -> None:
    def failing(problems: list[object]) -> list[object]:
        raise RuntimeError("CUDA out of memory")

    with DeviceService({"optim": failing}, {"optim": {"features": "x", "clip": "none"}}) as service:
        client = ServiceEngine(service.address)
        with pytest.raises(SolverError, match=r"the device service failed: RuntimeError: CUDA out of memory"):
            client.solve([_three_problems()[0]])
    with pytest.raises(ServiceGone, match=r"device service at .* is gone|cannot reach the device service"):
        ServiceEngine(service.address).solve([_three_problems()[0]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_keyframes_solved_together_on_cuda_get_what_each_gets_alone() -> None:
    """On the device, batched kernels may round otherwise than a batch of one: close, not equal."""
    problems = _three_problems()
    alone = [OptimEngine(SOLVE, device="cuda", features=TinyRandomFeatures()).solve([p])[0] for p in problems]
    together = OptimEngine(SOLVE, device="cuda", features=TinyRandomFeatures()).solve(problems)
    for g, a in zip(together, alone, strict=True):
        assert abs(g.iterations - a.iterations) <= SOLVE.patience  # a plateau test may fall a few steps apart
        torch.testing.assert_close(g.grids.cpu(), a.grids.cpu(), atol=1e-2, rtol=0)  # a step is at most lr


def test_a_device_service_answers_only_those_with_its_key() -> None:
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    engine = OptimEngine(SOLVE, features=TinyRandomFeatures())
    with DeviceService({"optim": optim_handler(engine)}, {"optim": engine.identity()}) as service:
        with pytest.raises(AuthenticationError):
            Client(service.address.path, family="AF_UNIX", authkey=b"not the key")
        assert ServiceEngine(service.address).identity() == engine.identity()  # still answering the keyholder
        assert Path(service.address.path).parent.stat().st_mode & 0o077 == 0  # its folder is the user's alone
