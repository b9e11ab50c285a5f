"""Automatic colorization without a reference: Zhang, Isola and Efros's ECCV 2016 network, and the
SIGGRAPH 2017 network of its interactive sequel (Zhang, Zhu et al.; it also reads user colour points).

The network (a VGG-like stack with dilated middle layers) reads Lab lightness at 256x256 and gives,
per position at a quarter of that size, a distribution over 313 quantised ab colours; the colour is
its *annealed mean* (the distribution sharpened by a temperature before averaging: the mean alone
is drab, the mode noisy; the paper's T = 0.38). The bins' ab values are the weights of the last 1x1
convolution of the published file, so the file carries its own decoding table.

SIGGRAPH 2017 reads lightness, ab points and their mask, and regresses ab directly through a U-Net
with shortcuts from the encoder (its 529-class head is not used for colour here).

The layer layouts match the authors' published state dicts (``colorization_release_v2-9b330a0b.pth``,
``siggraph17-df00044c.pth``, from their ``colorizers`` code), so the files load as published; each is
checked against its digest first, and the product never runs these networks with random weights.
"""

from __future__ import annotations

import os
from typing import Protocol

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


class SIGGRAPH17(nn.Module):
    """Lightness ``(B, 1, H, W)`` (0..100), ab points ``(B, 2, H, W)`` (Lab units) and their mask
    ``(B, 1, H, W)`` → ab ``(B, 2, H, W)`` (Lab units). H and W must be multiples of 8."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = _stage([64, 64], 4)
        self.model2 = _stage([128, 128], 64)
        self.model3 = _stage([256, 256, 256], 128)
        self.model4 = _stage([512, 512, 512], 256)
        self.model5 = _stage([512, 512, 512], 512, dilation=2)
        self.model6 = _stage([512, 512, 512], 512, dilation=2)
        self.model7 = _stage([512, 512, 512], 512)
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1))
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1))
        self.model8 = nn.Sequential(nn.ReLU(inplace=True), *_stage([256, 256], 256))
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1))
        self.model9 = nn.Sequential(nn.ReLU(inplace=True), *_stage([128], 128))
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, stride=2, padding=1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1))
        self.model10 = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(128, 128, 3, padding=1), nn.LeakyReLU(0.2))
        self.model_class = nn.Sequential(nn.Conv2d(256, 529, 1))  # in the published file; not used for colour
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, lightness: torch.Tensor, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([(lightness - 50.0) / 100.0, points / AB_SCALE, mask], dim=1)
        conv1 = self.model1(x)
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        x = self.model7(self.model6(self.model5(self.model4(conv3[:, :, ::2, ::2]))))
        x = self.model8(self.model8up(x) + self.model3short8(conv3))
        x = self.model9(self.model9up(x) + self.model2short9(conv2))
        x = self.model10(self.model10up(x) + self.model1short10(conv1))
        return self.model_out(x) * AB_SCALE


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


class AutomaticNetwork:
    """One of the networks above on a device: Lab lightness at its input size in, ab out, for a batch."""

    def __init__(self, network: ECCV16 | SIGGRAPH17, device: str = "cpu") -> None:
        self.network = network.eval().to(device)
        for p in self.network.parameters():
            p.requires_grad_(False)
        self.device = device

    def ab_of(self, lightness: np.ndarray) -> np.ndarray:
        """Lightness ``(B, S, S)`` (``S = INPUT_SIZE``, 0..100) → ab ``(B, h, w, 2)`` float32 at the network's
        output size (Lab units); the pictures of a batch go through the network together."""
        with torch.no_grad():
            lightness_t = torch.from_numpy(np.ascontiguousarray(lightness, np.float32))[:, None].to(self.device)
            if isinstance(self.network, ECCV16):
                ab_t = annealed_mean(self.network(lightness_t), self.network.bins())
            else:  # no points: the network's own guess everywhere
                none = torch.zeros_like(lightness_t)
                ab_t = self.network(lightness_t, torch.cat([none, none], dim=1), none)
            return ab_t.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


class NetworkRunner(Protocol):
    """What runs the network for :class:`AutomaticColorizer`: an :class:`AutomaticNetwork` of this process,
    or a client of a device service shared by a render's workers."""

    def ab_of(self, lightness: np.ndarray) -> np.ndarray: ...


class AutomaticColorizer:
    """Chroma for a keyframe's luma from one of the networks above (no reference needed).

    ``runner`` runs the network (see :class:`NetworkRunner`); ``identity`` names the network and its file's
    digest for the keyframe cache's key.
    """

    def __init__(self, runner: NetworkRunner, matrix: str = "bt601", identity: str = "untrained") -> None:
        self.runner = runner
        self.matrix = matrix
        self.identity = identity

    @classmethod
    def from_weights(
        cls,
        folder: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        matrix: str = "bt601",
        model: str = "eccv16",
    ) -> AutomaticColorizer:
        """Load ``model``'s published file (``eccv16`` or ``siggraph17``) from the weights folder, after its digest check."""
        network, identity = load_checked(folder, model)
        return cls(AutomaticNetwork(network, device), matrix, identity)

    def colorize(self, luma: np.ndarray) -> np.ndarray:
        """Unit chroma ``(h, w, 2)`` in the video's matrix for unit luma ``(h, w)``."""
        h, w = luma.shape
        lightness = lightness_of(luma)
        small = cv2.resize(lightness, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        ab = self.runner.ab_of(small[None])[0]
        ab = cv2.resize(ab, (w, h), interpolation=cv2.INTER_LINEAR)
        lab = np.dstack([lightness, ab]).astype(np.float32)
        rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
        return rgb_to_ycbcr(rgb, self.matrix)[1]


def load_checked(folder: str | os.PathLike[str] | None, model: str) -> tuple[ECCV16 | SIGGRAPH17, str]:
    """``model``'s network from its file in ``folder``, after its digest check, and its identity."""
    path = weights.require(model, folder)
    digest = weights.verify(model, path)
    return load_network(path, model), f"{model}:{digest[:16]}"


def load_network(path: os.PathLike[str] | str, model: str = "eccv16") -> ECCV16 | SIGGRAPH17:
    """``model``'s network from a state dict of the published layout."""
    label = model.upper()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable {label} colorization file ({exc})") from exc
    network: ECCV16 | SIGGRAPH17 = ECCV16() if model == "eccv16" else SIGGRAPH17()
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise SolverError(f"{path}: not the {label} colorization network ({first})") from exc
    return network
