"""CLIP guidance: keep the result's image embedding near the reference's.

The encoder is OpenAI's CLIP ViT-B/32 loaded by open-clip from ``weights/ViT-B-32.pt`` (no
download), or any callable injected by tests. Images are resized to the encoder's input size and
normalized with CLIP's statistics inside the graph, so gradients reach the chroma.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from vidcolor import weights
from vidcolor.errors import WeightsError

_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# Text prompts a region may be described by; one per region is picked by CLIP similarity to the
# reference's region, then the keyframe's region is pulled toward it (``--clip-prompts``).
PROMPT_POOL: dict[str, tuple[str, ...]] = {
    "skin": ("fair skin", "pale pink skin", "tanned skin", "olive skin", "brown skin", "dark brown skin"),
    "hair": ("blonde hair", "light brown hair", "dark brown hair", "black hair", "red hair", "grey hair"),
    "lips": ("pink lips", "red lips", "pale lips"),
    "clothes": tuple(
        f"{c} clothes"
        for c in ("red", "orange", "yellow", "green", "blue", "purple", "brown", "black", "white", "grey")
    ),
    "background": ("a blue sky", "green foliage", "a grey wall", "a white wall", "a wooden interior", "a dark room"),
}


class ClipGuide:
    """Embeds RGB ``(B, 3, H, W)`` in [0, 1] with a frozen image encoder; ``loss`` is 1 - cosine.

    ``text_encoder`` (prompts → embeddings) enables per-region text prompts.
    """

    def __init__(
        self,
        encoder: Callable[[torch.Tensor], torch.Tensor],
        input_size: int = 224,
        text_encoder: Callable[[list[str]], torch.Tensor] | None = None,
    ) -> None:
        self.encoder = encoder
        self.input_size = input_size
        self.text_encoder = text_encoder
        self.identity = "clip"  # what the encoder is, for the keyframe cache's key (a file's digest)

    @classmethod
    def from_file(cls, path: Path, device: torch.device) -> ClipGuide:
        # The one import deferred below the stage registry: open_clip takes about 3.5 s to import
        # (after torch), and only runs that ask for CLIP need it.
        import open_clip

        # OpenAI's ViT-B-32.pt is a TorchScript archive. open_clip.create_model(pretrained=...) reads
        # files with torch.load(weights_only=True), which torch 2.14 refuses for TorchScript; the
        # OpenAI loader reads it with torch.jit.load (a plain state dict works too) and rebuilds the
        # model from its tensors. The file's sha256 was checked before this point.
        try:
            model = open_clip.load_openai_model(str(path), precision="fp32", device=device)
        except Exception as exc:
            raise WeightsError(f"{path}: not a loadable CLIP file ({exc})") from exc
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        tokenizer = open_clip.get_tokenizer("ViT-B-32-quickgelu")  # its vocabulary ships in the wheel

        def encode_text(prompts: list[str]) -> torch.Tensor:
            return model.encode_text(tokenizer(prompts).to(device))

        size = model.visual.image_size  # 224 for ViT-B/32
        return cls(
            model.encode_image, input_size=size[0] if isinstance(size, tuple) else size, text_encoder=encode_text
        )

    @classmethod
    def from_weights(cls, folder: str | os.PathLike[str] | None, device: torch.device) -> ClipGuide:
        path = weights.require("clip-vit-b32", folder)
        digest = weights.verify("clip-vit-b32", path)
        guide = cls.from_file(path, device)
        guide.identity = f"clip-vit-b32:{digest[:16]}"
        return guide

    def embed(self, rgb: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            rgb, size=(self.input_size, self.input_size), mode="bilinear", antialias=True, align_corners=False
        )
        mean = x.new_tensor(_CLIP_MEAN).view(1, 3, 1, 1)
        std = x.new_tensor(_CLIP_STD).view(1, 3, 1, 1)
        return F.normalize(self.encoder((x - mean) / std).float(), dim=-1)

    def loss(self, rgb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1.0 - (self.embed(rgb) * target).sum(dim=-1).mean()

    def region_views(
        self,
        rgb: torch.Tensor,
        masks: torch.Tensor,
        boxes: list[tuple[slice, slice]],
        augmentations: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Views of regions for one batched forward: ``(len(boxes) * (1 + augmentations), 3, S, S)``.

        Each region is cut out at its box, with the pixels outside it set to mid grey (so the view
        shows the region, not its neighbours), then resized; the augmented copies are random
        sub-crops (85-100 % of each side) and mirror images, so what lowers the loss is the region's
        colour, not a pattern of pixels tuned to the encoder.

        Args:
            rgb: ``(1, 3, H, W)``; masks: soft region masks ``(R, H, W)``, one per box, in box order.
        """
        views = []
        size = (self.input_size, self.input_size)
        for (rows, cols), mask in zip(boxes, masks, strict=True):
            crop = rgb[:, :, rows, cols]
            weight = mask[None, None, rows, cols]
            crop = weight * crop + (1.0 - weight) * 0.5
            views.append(F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False))
            h, w = crop.shape[-2:]
            for _ in range(augmentations):
                scale = 0.85 + 0.15 * torch.rand(2, generator=generator)
                ch, cw = max(2, int(h * float(scale[0]))), max(2, int(w * float(scale[1])))
                y0 = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
                x0 = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
                view = crop[:, :, y0 : y0 + ch, x0 : x0 + cw]
                if bool(torch.rand(1, generator=generator) < 0.5):
                    view = view.flip(-1)
                views.append(F.interpolate(view, size=size, mode="bilinear", antialias=True, align_corners=False))
        return torch.cat(views)

    def embed_views(self, views: torch.Tensor) -> torch.Tensor:
        """Embeddings of views already at the encoder's input size ``(N, 3, S, S)`` → ``(N, D)``."""
        mean = views.new_tensor(_CLIP_MEAN).view(1, 3, 1, 1)
        std = views.new_tensor(_CLIP_STD).view(1, 3, 1, 1)
        return F.normalize(self.encoder((views - mean) / std).float(), dim=-1)

    def region_loss(self, views: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """1 - cosine between each view and its region's target ``(N, D)`` (targets repeated per view), averaged."""
        return 1.0 - (self.embed_views(views) * targets).sum(dim=-1).mean()

    def embed_text(self, prompts: list[str]) -> torch.Tensor:
        if self.text_encoder is None:
            raise ValueError("this CLIP guide has no text encoder")
        with torch.no_grad():
            return F.normalize(self.text_encoder(prompts).float(), dim=-1)

    def pick_prompt(self, crop: torch.Tensor, region: str) -> tuple[str, torch.Tensor] | None:
        """The prompt of ``region``'s pool closest to an RGB crop ``(1, 3, h, w)``, with its text embedding."""
        pool = PROMPT_POOL.get(region)
        if not pool or self.text_encoder is None:
            return None
        texts = self.embed_text(list(pool))
        with torch.no_grad():
            scores = texts @ self.embed(crop)[0]
        best = int(scores.argmax())
        return pool[best], texts[best]


def region_box(mask: torch.Tensor, min_side: int = 8) -> tuple[slice, slice] | None:
    """Row and column slices of the bounding box of ``mask`` ``(H, W)`` (> 0.5); None when too small."""
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    if y1 - y0 < min_side or x1 - x0 < min_side:
        return None
    return slice(y0, y1), slice(x0, x1)
