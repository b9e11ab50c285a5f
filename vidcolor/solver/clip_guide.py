"""CLIP guidance: keep the result's image embedding near the reference's.

The encoder is OpenAI's CLIP ViT-B/32 loaded by open-clip from ``weights/ViT-B-32.pt`` (no
download), or any callable injected by tests. Images are resized to the encoder's input size and
normalized with CLIP's statistics inside the graph, so gradients reach the chroma.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from vidcolor import weights
from vidcolor.errors import WeightsError

_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipGuide:
    """Embeds RGB ``(B, 3, H, W)`` in [0, 1] with a frozen image encoder; ``loss`` is 1 - cosine."""

    def __init__(self, encoder: Callable[[torch.Tensor], torch.Tensor], input_size: int = 224) -> None:
        self.encoder = encoder
        self.input_size = input_size

    @classmethod
    def from_file(cls, path: Path, device: torch.device) -> ClipGuide:
        import open_clip

        try:
            model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=str(path), device=device)
        except Exception as exc:
            raise WeightsError(f"{path}: not a loadable CLIP ViT-B/32 file ({exc})") from exc
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return cls(model.encode_image)

    @classmethod
    def from_weights(cls, folder: str | None, device: torch.device) -> ClipGuide:
        path = weights.require("clip-vit-b32", folder)
        weights.verify("clip-vit-b32", path)
        return cls.from_file(path, device)

    def embed(self, rgb: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            rgb, size=(self.input_size, self.input_size), mode="bilinear", antialias=True, align_corners=False
        )
        mean = x.new_tensor(_CLIP_MEAN).view(1, 3, 1, 1)
        std = x.new_tensor(_CLIP_STD).view(1, 3, 1, 1)
        return F.normalize(self.encoder((x - mean) / std).float(), dim=-1)

    def loss(self, rgb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1.0 - (self.embed(rgb) * target).sum(dim=-1).mean()
