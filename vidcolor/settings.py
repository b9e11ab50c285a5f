"""Every option of a run, declared once: default, valid values, help and flag (see ``vidcolor.options``).

``Settings`` validates itself when it is built, before anything heavy loads, and names a bad setting
by its field path (``solver.solve_size``); the CLI shows the same message with its flag instead.
The colour-affecting part of the settings keys the keyframe cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidcolor.errors import SettingError
from vidcolor.frames.encode import EncoderSettings
from vidcolor.frames.sequence_in import SequenceReading
from vidcolor.frames.timecode import FrameRange
from vidcolor.options import check_fields, declared, option

# Bump when a change alters colours for the same settings, so old cache entries are not reused.
ALGORITHM_VERSION = 3

DEVICES = ("auto", "cpu", "cuda")
FLOW_PRESETS = ("auto", "ultrafast", "fast", "medium")
FEATURES = ("auto", "pyramid", "vgg")


@dataclass(frozen=True)
class SolverSettings:
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


@dataclass(frozen=True)
class Settings:
    """Options of :func:`vidcolor.colorize_video`. Each field's declaration says what it means."""

    colorizer: str = option(
        "exemplar", "Keyframe colorizer: exemplar (fast) or optim (VGG/CLIP solver).", flag="--colorizer"
    )
    segmenter: str = option(
        "mediapipe",
        "Region segmenter: mediapipe (faces, hair, clothes...), bisenet (face parsing, needs its weights) or whole.",
        flag="--segmenter",
    )
    flow: str = option("dis", "Optical flow estimator.")
    flow_preset: str = option(
        "auto",
        "DIS optical flow preset; auto: medium for small frames (up to 0.05 Mpx at work size), fast above.",
        flag="--flow-preset",
        choices=FLOW_PRESETS,
    )
    keyframe_interval: int = option(
        48, "Most frames between keyframes inside a shot.", flag="--keyframe-interval", minimum=1
    )
    work_size: int = option(
        480, "Long side at which colour and flow are computed.", flag="--work-size", minimum=32, unit="pixels"
    )
    device: str = option("auto", "Where the torch stages run.", flag="--device", choices=DEVICES)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    frame_range: FrameRange = field(default_factory=FrameRange)
    sequence: SequenceReading = field(default_factory=SequenceReading)
    use_cache: bool = option(
        True, "Read and write the keyframe cache (re-runs skip solved keyframes).", flag="--cache/--no-cache"
    )
    cache_dir: Path | None = option(
        None,
        "Where solved keyframes are kept (default $VIDCOLOR_CACHE, a checkout's cache/, else ~/.cache/vidcolor).",
        flag="--cache-dir",
    )
    cache_limit_mb: int = option(
        4096,
        "Most disk the keyframe cache may take; entries used least recently go first.",
        flag="--cache-limit",
        minimum=0,
        unit="MB",
    )
    weights_dir: Path | None = option(
        None,
        "Folder of weight files (default $VIDCOLOR_WEIGHTS, a checkout's weights/, else ~/.local/share/vidcolor/weights).",
        flag="--weights-dir",
    )
    auto_model: str = option(
        "eccv16",
        "Network for automatic colour (no --style, no --hints): eccv16 or siggraph17.",
        flag="--auto-model",
        choices=("eccv16", "siggraph17"),
    )
    solver: SolverSettings = field(default_factory=SolverSettings)

    def __post_init__(self) -> None:
        # Stage names are checked against the registries where a run starts (``stages.check_stage_names``):
        # plug-ins may add names, and settings stay below the stages that read them.
        check_fields(self)

    @classmethod
    def from_paths(cls, values: dict[str, Any]) -> Settings:
        """Settings from ``{field path: value}`` (``{"solver.iterations": 10}``); the rest keep defaults."""
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for path, value in values.items():
            head, _, rest = path.partition(".")
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                top[head] = value
        factories = {f.name: f.default_factory for f in dataclasses.fields(cls)}
        for head, fields in nested.items():
            factory = factories[head]
            top[head] = factory(**fields)  # type: ignore[operator]
        return cls(**top)

    def colour_key(self, reference_key: str, stages: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """A short hash of everything that changes keyframe colours, and the dict it hashes.

        ``stages`` says what the chosen stages actually are (the network found, its file's digest).
        """
        describe = {
            "version": ALGORITHM_VERSION,
            "reference": reference_key,
            "stages": stages,
            "colorizer": self.colorizer,
            "segmenter": self.segmenter,
            "flow": [self.flow, self.flow_preset],
            "keyframe_interval": self.keyframe_interval,
            "work_size": self.work_size,
            "range": str(self.frame_range),
            "solver": dataclasses.asdict(self.solver),
        }
        digest = hashlib.sha256(json.dumps(describe, sort_keys=True).encode()).hexdigest()[:16]
        return digest, describe


__all__ = ["ALGORITHM_VERSION", "OPTIONS", "EncoderSettings", "Settings", "SolverSettings"]

OPTIONS = {path: declaration for path, _, declaration in declared(Settings)}
"""Every declared option by field path (``solver.iterations`` → its :class:`~vidcolor.options.Option`)."""
