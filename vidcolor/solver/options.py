"""The keyframe colorizers' own options (the colorizer stage's part of a run's settings)."""

from __future__ import annotations

from dataclasses import dataclass

from vidcolor.errors import SettingError
from vidcolor.options import check_fields, option

FEATURES = ("auto", "pyramid", "vgg")


@dataclass(frozen=True)
class SolverOptions:
    """The keyframe colorizers' options; ``exemplar`` reads ``continuity``, ``optim`` reads them all."""

    features: str = option(
        "auto",
        "optim: feature network; auto takes VGG19 when its file is present.",
        flag="--features",
        choices=FEATURES,
    )
    clip: bool = option(False, "optim: add the CLIP loss (needs the CLIP ViT-B/32 weight file).", flag="--clip")
    clip_prompts: bool = option(
        False, "optim with CLIP: per-region text prompts picked from a pool.", flag="--clip-prompts"
    )
    iterations: int = option(40, "optim: most Adam steps per keyframe.", flag="--iterations", minimum=0)
    solve_size: int = option(
        256, "optim: long side at which keyframes are solved.", flag="--solve-size", minimum=16, unit="pixels"
    )
    continuity: float = option(
        0.85,
        "How much a keyframe keeps of the colour carried from the previous one, where trusted.",
        minimum=0,
        maximum=1,
    )
    warm_start: bool = option(True, "optim: start from the exemplar colorizer's result (False: neutral chroma).")
    learning_rate: float = option(0.01, "optim: Adam step size.", minimum=0)
    style_weight: float = option(1.0, "optim: weight of the per-region colour-feature statistics loss.", minimum=0)
    data_weight: float = option(
        1.0, "optim: pull toward the starting colour, by how sure each pixel of it is.", minimum=0
    )
    match_weight: float = option(
        1.0, "optim: weight of the per-position correspondence loss (where colours go).", minimum=0
    )
    clip_weight: float = option(0.1, "optim: weight of the CLIP losses.", minimum=0)
    temporal_weight: float = option(4.0, "optim: pull toward the previous keyframe's carried colour.", minimum=0)
    gamut_weight: float = option(20.0, "optim: penalty on RGB leaving [0, 1].", minimum=0)
    plateau: float = option(5e-3, "optim: relative loss improvement below which a solve stops early.", minimum=0)
    patience: int = option(6, "optim: steps averaged by the plateau test.", minimum=1)
    seed: int = option(0, "optim: random seed (solves are deterministic).")

    def __post_init__(self) -> None:
        check_fields(self, "solver.")
        if self.clip_prompts and not self.clip:
            raise SettingError("solver.clip_prompts", "needs {0} (and the CLIP weight file)", "solver.clip")
