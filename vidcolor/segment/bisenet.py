"""BiSeNet face parsing (19 CelebAMask-HQ classes) as a segmenter, from the user's weight file.

The network follows the widely used face-parsing BiSeNet (ResNet-18 context path, attention
refinement, feature fusion); module names match its published checkpoint ``79999_iter.pth`` so
that file loads as is. It was trained on face close-ups, so faces are found with MediaPipe, parsed
in a crop around each face, and pasted back; outside the faces the MediaPipe regions stand.
Without the weight file the segmenter is unavailable and says which file it needs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from vidcolor import weights
from vidcolor.errors import WeightsError
from vidcolor.segment.base import SegmentationError, Segmenter
from vidcolor.segment.mediapipe_seg import Face, MediaPipeSegmenter
from vidcolor.shared_types import RegionMasks

if TYPE_CHECKING:
    from vidcolor.registry import RunContext

# CelebAMask-HQ classes → vidcolor regions.
CLASS_REGIONS = (
    "background", "skin", "eyebrows", "eyebrows", "eyes", "eyes", "eyes", "skin", "skin", "skin",
    "skin", "lips", "lips", "lips", "neck", "neck", "clothes", "hair", "hair",
)  # fmt: skip
_INPUT = 512
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, ks: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ks, 1, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class Attention(nn.Module):  # attention refinement: reweigh channels by their global average
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(feat, 1))))


class Backbone(nn.Module):  # ResNet-18 trunk, returning strides 8, 16, 32
    def __init__(self) -> None:
        super().__init__()
        r = resnet18(weights=None)
        self.conv1, self.bn1, self.maxpool = r.conv1, r.bn1, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        f8 = self.layer2(x)
        f16 = self.layer3(f8)
        return f8, f16, self.layer4(f16)


class ContextPath(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.resnet = Backbone()
        self.arm16, self.arm32 = Attention(256, 128), Attention(512, 128)
        self.conv_head32, self.conv_head16 = ConvBNReLU(128, 128), ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, ks=1, padding=0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f8, f16, f32 = self.resnet(x)
        top = F.interpolate(self.conv_avg(F.adaptive_avg_pool2d(f32, 1)), f32.shape[2:], mode="nearest")
        up32 = self.conv_head32(F.interpolate(self.arm32(f32) + top, f16.shape[2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(f16) + up32, f8.shape[2:], mode="nearest"))
        return f8, up16


class Fusion(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, ks=1, padding=0)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        feat = self.convblk(torch.cat([a, b], dim=1))
        gate = torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(feat, 1)))))
        return feat + feat * gate


class Head(nn.Module):
    def __init__(self, cin: int, mid: int, classes: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(cin, mid)
        self.conv_out = nn.Conv2d(mid, classes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    def __init__(self, classes: int = len(CLASS_REGIONS)) -> None:
        super().__init__()
        self.cp = ContextPath()
        self.ffm = Fusion(256, 256)
        self.conv_out = Head(256, 256, classes)
        # Auxiliary training heads: kept so the published checkpoint loads strictly; unused here.
        self.conv_out16, self.conv_out32 = Head(128, 64, classes), Head(128, 64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f8, context = self.cp(x)
        logits = self.conv_out(self.ffm(f8, context))
        return F.interpolate(logits, x.shape[2:], mode="bilinear", align_corners=True)


def load_checkpoint(path: os.PathLike[str] | str, error: type[Exception] = WeightsError) -> nn.Module:
    """The face-parsing network with the weights of ``path``; ``error`` naming the file unless it loads exactly
    into the published layout (what ``vidcolor weights import bisenet`` checks: the file has no published digest)."""
    network = build_network()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    except Exception as exc:
        raise error(f"{path}: not a face-parsing BiSeNet checkpoint ({exc})") from exc
    return network


def build_network() -> nn.Module:
    """An untrained BiSeNet with the published checkpoint's module layout."""
    return BiSeNet()


class BiSeNetSegmenter(Segmenter):
    """Face parts from BiSeNet inside each face's crop; person and background from MediaPipe.

    Args:
        network: an injected network (tests); otherwise built from ``weights/79999_iter.pth``.
        weights_dir: where to look for the file.
    """

    name: ClassVar[str] = "bisenet"

    def __init__(self, network: nn.Module | None = None, weights_dir: str | os.PathLike[str] | None = None) -> None:
        if network is None:
            network = self._load(weights_dir)
        self.network = network.eval()
        self._mediapipe = MediaPipeSegmenter()

    @classmethod
    def create(cls, options: Any, context: RunContext) -> BiSeNetSegmenter:
        return cls(weights_dir=context.weights_dir)

    @staticmethod
    def _load(weights_dir: str | os.PathLike[str] | None) -> nn.Module:
        path = weights.locate("bisenet", weights_dir)
        if path is None:
            w = weights.entry("bisenet")
            raise WeightsError(
                f"{weights.weights_dir(weights_dir) / w.filename}: not found, so the bisenet segmenter is unavailable; "
                f"download it from {w.url} and run 'vidcolor weights import bisenet FILE'"
            )
        return load_checkpoint(path, SegmentationError)

    def segment(self, luma: np.ndarray, rgb: np.ndarray | None = None) -> RegionMasks:
        base, faces = self._mediapipe.segment_with_faces(luma, rgb)  # FaceMesh runs once for both
        h, w = luma.shape
        image = rgb if rgb is not None else np.repeat(luma[..., None], 3, axis=2)
        if not faces:
            return base
        names = list(dict.fromkeys([*base.names, *CLASS_REGIONS]))
        weights_out = np.zeros((len(names), h, w), np.float32)
        for i, name in enumerate(base.names):
            weights_out[names.index(name)] = base.weights[i]
        for face in faces:
            self._paste_face(image, face, names, weights_out)
        weights_out /= np.maximum(weights_out.sum(axis=0, keepdims=True), 1e-6)
        keep = [i for i in range(len(names)) if weights_out[i].max() > 1e-3]
        return RegionMasks(tuple(names[i] for i in keep), weights_out[keep])

    def parse(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities ``(19, H, W)`` for an RGB crop ``(H, W, 3)`` in [0, 1]."""
        h, w = image.shape[:2]
        x = (cv2.resize(image.astype(np.float32), (_INPUT, _INPUT), interpolation=cv2.INTER_LINEAR) - _MEAN) / _STD
        with torch.no_grad():
            logits = self.network(torch.from_numpy(x.transpose(2, 0, 1).copy())[None])[0]
            probs = torch.softmax(logits, dim=0).numpy()
        return np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in probs])

    def _paste_face(self, image: np.ndarray, face: Face, names: list[str], out: np.ndarray) -> None:
        h, w = image.shape[:2]
        size = 1.8 * max(face.width, face.height)  # the parser saw faces with some hair and neck around them
        cx, cy = face.centre_x, 0.5 * (face.top + face.chin)
        x0, y0 = max(0, round(cx - size / 2)), max(0, round(cy - size / 2))
        x1, y1 = min(w, round(cx + size / 2)), min(h, round(cy + size / 2))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return
        probs = self.parse(image[y0:y1, x0:x1])
        # Blend the crop in with a soft window so its border leaves no seam.
        ramp = _window(y1 - y0, x1 - x0)
        for c, region in enumerate(CLASS_REGIONS):
            if region == "background":
                continue
            k = names.index(region)
            out[k, y0:y1, x0:x1] = (1 - ramp) * out[k, y0:y1, x0:x1] + ramp * probs[c]
        for k, name in enumerate(names):
            if name not in CLASS_REGIONS[1:]:
                out[k, y0:y1, x0:x1] *= 1 - ramp * (1 - probs[0])  # other regions give way to face parts


def _window(h: int, w: int) -> np.ndarray:
    """1 in the middle of a crop, falling to 0 over its outer eighth."""
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]) / max(1, h // 8)
    xs = np.minimum(np.arange(w), np.arange(w)[::-1]) / max(1, w // 8)
    return np.clip(np.minimum(ys[:, None], xs[None, :]), 0, 1).astype(np.float32)
