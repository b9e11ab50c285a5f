"""Feature extractors for the style loss: a weight-free pyramid, and VGG19 from a weight file.

Every extractor maps RGB ``(B, 3, H, W)`` in [0, 1] to a list of feature maps at several depths.
The product never runs a network with random weights: VGG19 is built only from its verified file;
``VGGFeatures.untrained`` exists for tests and timing and says so in its name.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from vidcolor import weights
from vidcolor.errors import SettingError, WeightsError

log = logging.getLogger("vidcolor.solver")


class FeatureExtractor(nn.Module):
    """RGB ``(B, 3, H, W)`` in [0, 1] → feature maps ``[(B, C_l, H_l, W_l), ...]``; parameters frozen."""

    name: ClassVar[str] = "features"
    # What the network is, for the keyframe cache's key: its name, and its weight file's digest.
    identity: str = "features"

    def freeze(self) -> FeatureExtractor:
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Differentiable sRGB ``(B, 3, H, W)`` in [0, 1] → CIELAB (D65) scaled to about [-1, 1] (L/100, a/100, b/100)."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    rgb = rgb.clamp(0.0, 1.0)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055).clamp_min(1e-8) ** 2.4, rgb / 12.92)
    m = rgb.new_tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = torch.einsum("ij,bjhw->bihw", m, linear) / rgb.new_tensor([0.95047, 1.0, 1.08883]).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-8) ** (1 / 3), 7.787 * xyz + 16 / 116)
    lab_l = 116 * f[:, 1] - 16
    lab_a = 500 * (f[:, 0] - f[:, 1])
    lab_b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([lab_l, lab_a, lab_b], dim=1) / 100.0


class PyramidFeatures(FeatureExtractor):
    """Weight-free features: Lab colour and oriented contrast over a 3-level Gaussian pyramid.

    Per level: L, a, b and the magnitudes of four oriented derivative filters on each channel
    (15 maps). Statistics of these capture a region's colour and its colour texture.
    """

    name = "pyramid"
    identity = "pyramid"
    bank: torch.Tensor  # buffers, registered below
    blur: torch.Tensor

    def __init__(self, levels: int = 3) -> None:
        super().__init__()
        self.levels = levels
        d = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        diag = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 2.0]]) / 8.0
        bank = torch.stack([d, d.T, diag, diag.flip(1)])  # 0°, 90°, 45°, 135°
        self.register_buffer("bank", bank.repeat(3, 1, 1).unsqueeze(1))  # (12, 1, 3, 3), grouped per channel
        g = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
        self.register_buffer("blur", (g[:, None] * g[None, :]).expand(3, 1, 5, 5).clone())
        self.freeze()

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = rgb_to_lab(rgb)
        out = []
        for level in range(self.levels):
            if level:
                x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), self.blur, groups=3)[:, :, ::2, ::2]
            # Four oriented filters per channel: a grouped convolution with four outputs per group
            # gives the same maps as repeating each channel four times, without the copies.
            grads = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.bank, groups=3)
            out.append(torch.cat([x, grads.abs() * 4.0], dim=1))
        return out


# relu1_1, relu2_1, relu3_1, relu4_1 of torchvision's vgg19().features
_VGG_TAPS = (1, 6, 11, 20)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(FeatureExtractor):
    """VGG19 (torchvision layout) up to relu4_1, tapped at relu1_1, relu2_1, relu3_1, relu4_1."""

    name = "vgg"
    mean: torch.Tensor  # buffers, registered below
    std: torch.Tensor

    def __init__(self, body: nn.Sequential) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.freeze()

    @staticmethod
    def _body() -> nn.Sequential:
        from torchvision.models import vgg19

        return nn.Sequential(*list(vgg19(weights=None).features.children())[: _VGG_TAPS[-1] + 1])

    @classmethod
    def from_file(cls, path: Path, digest: str = "") -> VGGFeatures:
        """Load torchvision's ``vgg19-dcbb9e9d.pth`` (the ``features.*`` tensors are all that is used)."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(f"{path}: not a loadable VGG19 weight file ({exc})") from exc
        body = cls._body()
        prefix = "features."
        wanted = {
            k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and int(k.split(".")[1]) < len(body)
        }
        missing, _ = body.load_state_dict(wanted, strict=False)
        if missing:
            raise WeightsError(f"{path}: not a torchvision VGG19 file (missing {', '.join(missing[:3])})")
        network = cls(body)
        network.identity = f"vgg19:{digest[:16] or path.name}"
        return network

    @classmethod
    def untrained(cls, seed: int = 0) -> VGGFeatures:
        """Random weights: for tests and timing only, never chosen by the product."""
        torch.manual_seed(seed)
        return cls(cls._body())

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = (rgb - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in _VGG_TAPS:
                out.append(x)
        return out


def build_features(kind: str, weights_folder: str | os.PathLike[str] | None = None) -> FeatureExtractor:
    """``pyramid``, ``vgg`` (its file is required) or ``auto`` (VGG19 if its file is present)."""
    if kind == "pyramid":
        return PyramidFeatures()
    if kind == "vgg":
        path = weights.require("vgg19", weights_folder)
        return VGGFeatures.from_file(path, digest=weights.verify("vgg19", path))
    if kind == "auto":
        if weights.locate("vgg19", weights_folder) is not None:
            return build_features("vgg", weights_folder)
        log.info("VGG19 weights not in %s: using the weight-free feature pyramid", weights.weights_dir(weights_folder))
        return PyramidFeatures()
    raise SettingError("solver.features", f"{kind!r}: unknown; use auto, pyramid or vgg")
