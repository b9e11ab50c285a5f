"""Automatic colorization without a reference: Zhang, Isola and Efros's ECCV 2016 network.

The network (a VGG-like stack with dilated middle layers) reads Lab lightness at 256x256 and gives,
per position at a quarter of that size, a distribution over 313 quantised ab colours; the colour is
its *annealed mean* (the distribution sharpened by a temperature before averaging: the mean alone
is drab, the mode noisy; the paper's T = 0.38). The bins' ab values are the weights of the last 1x1
convolution of the published file, so the file carries its own decoding table.

The layer layout matches the authors' published state dict (``colorization_release_v2-9b330a0b.pth``,
from their ``colorizers`` code), so the file loads as published; it is checked against its digest
first, and the product never runs this network with random weights.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import torch
from torch import nn

from vidcolor import weights
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.errors import WeightsError
from vidcolor.solver.base import SolverError

INPUT_SIZE = 256
TEMPERATURE = 0.38
AB_SCALE = 110.0  # the network's ab units


def _stage(widths: list[int], channels: int, *, stride: int = 1, dilation: int = 1, norm: bool = True) -> nn.Sequential:
    """3x3 convolutions each followed by ReLU (the last one strided), then batch norm: one of the
    network's eight stages, with its layers at the indices the published file names."""
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        last = i == len(widths) - 1
        layers.append(nn.Conv2d(channels, width, 3, stride=stride if last else 1, padding=dilation, dilation=dilation))
        layers.append(nn.ReLU(inplace=True))
        channels = width
    if norm:
        layers.append(nn.BatchNorm2d(channels))
    return nn.Sequential(*layers)


class ECCV16(nn.Module):
    """Lightness ``(B, 1, H, W)`` (Lab L, 0..100) → logits over the 313 ab bins ``(B, 313, H/4, W/4)``."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = _stage([64, 64], 1, stride=2)
        self.model2 = _stage([128, 128], 64, stride=2)
        self.model3 = _stage([256, 256, 256], 128, stride=2)
        self.model4 = _stage([512, 512, 512], 256)
        self.model5 = _stage([512, 512, 512], 512, dilation=2)
        self.model6 = _stage([512, 512, 512], 512, dilation=2)
        self.model7 = _stage([512, 512, 512], 512)
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            *_stage([256, 256], 256, norm=False),
            nn.Conv2d(256, 313, 1),
        )
        # Its weights are the bins' ab values (in AB_SCALE units): logits → colours.
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        x = (lightness - 50.0) / 100.0
        for stage in (self.model1, self.model2, self.model3, self.model4, self.model5, self.model6, self.model7):
            x = stage(x)
        return self.model8(x)

    def bins(self) -> torch.Tensor:
        """The 313 bins' ab values ``(313, 2)`` in Lab units."""
        return self.model_out.weight[:, :, 0, 0].T * AB_SCALE


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """The ab colour ``(B, 2, h, w)`` of per-position logits ``(B, Q, h, w)`` over bins ``(Q, 2)``:
    the mean of the distribution sharpened as ``softmax(logits / T)`` (T = 1: the plain mean; T → 0: the mode)."""
    if logits.ndim != 4 or logits.shape[1] != bins.shape[0] or bins.shape[1] != 2:
        raise ValueError(
            f"logits (B, Q, h, w) and bins (Q, 2) must agree; got {tuple(logits.shape)}, {tuple(bins.shape)}"
        )
    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", probabilities, bins)


def lightness_of(luma: np.ndarray) -> np.ndarray:
    """Lab lightness (0..100) of unit video luma ``(h, w)``, taking luma as a grey's sRGB value."""
    linear = np.where(luma > 0.04045, ((np.clip(luma, 0, 1) + 0.055) / 1.055) ** 2.4, luma / 12.92)
    f = np.where(linear > 0.008856, np.cbrt(np.maximum(linear, 0)), 7.787 * linear + 16 / 116)
    return (116.0 * f - 16.0).astype(np.float32)


class AutomaticColorizer:
    """Chroma for a keyframe's luma from the ECCV 2016 network (no reference needed)."""

    name = "eccv16"

    def __init__(self, network: ECCV16, device: str = "cpu", matrix: str = "bt601") -> None:
        self.network = network.eval().to(device)
        for p in self.network.parameters():
            p.requires_grad_(False)
        self.device = device
        self.matrix = matrix

    @classmethod
    def from_weights(
        cls, folder: str | os.PathLike[str] | None = None, device: str = "cpu", matrix: str = "bt601"
    ) -> AutomaticColorizer:
        """Load the published file from the weights folder (after its digest check)."""
        path = weights.require("eccv16", folder)
        weights.verify("eccv16", path)
        return cls(load_eccv16(path), device, matrix)

    @property
    def identity(self) -> str:
        return "eccv16"

    def colorize(self, luma: np.ndarray) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` in the video's matrix for unit luma ``(h, w)``."""
        h, w = luma.shape
        lightness = lightness_of(luma)
        small = cv2.resize(lightness, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            logits = self.network(torch.from_numpy(small)[None, None].to(self.device))
            ab = annealed_mean(logits, self.network.bins())[0].permute(1, 2, 0).cpu().numpy()
        ab = cv2.resize(ab.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        lab = np.dstack([lightness, ab]).astype(np.float32)
        rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
        return rgb_to_ycbcr(rgb, self.matrix)[1]


def load_eccv16(path: os.PathLike[str] | str) -> ECCV16:
    """The network from a state dict of the published layout."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable ECCV16 colorization file ({exc})") from exc
    network = ECCV16()
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise SolverError(f"{path}: not the ECCV16 colorization network ({first})") from exc
    return network
