"""Every option of a run, declared once: default, valid values, help and flag (see ``vidcolor.options``).

The stages' own options are declared beside the stages (``solver/options.py``, ``temporal/flow_options.py``)
and composed here, so a stage is built from its options alone (``StageRegistry.create``).

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

from vidcolor.frames.encode import EncoderSettings
from vidcolor.frames.sequence_in import SequenceReading
from vidcolor.frames.timecode import FrameRange
from vidcolor.options import check_fields, declared, option
from vidcolor.solver.options import SolverOptions
from vidcolor.temporal.flow_options import FlowOptions

# Bump when a change alters colours for the same settings, so old cache entries are not reused.
ALGORITHM_VERSION = 6

DEVICES = ("auto", "cpu", "cuda")


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
    flow_options: FlowOptions = field(default_factory=FlowOptions)
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
    # The keyframe colorizers' options (``solver.*``): a colorizer owns them, the settings compose them.
    solver: SolverOptions = field(default_factory=SolverOptions)

    def __post_init__(self) -> None:
        # Stage names are checked against the registries where a run starts (``stages.check_stage_names``):
        # plug-ins may add names. The stages' own options check themselves.
        check_fields(self)

    @classmethod
    def from_paths(cls, values: dict[str, Any]) -> Settings:
        """Settings from ``{field path: value}`` (``{"solver.iterations": 10}``); the rest keep defaults."""
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for path, value in values.items():
            head, _, rest = current_path(path).partition(".")
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
            "flow": [self.flow, self.flow_options.preset, self.flow_options.size],
            "keyframe_interval": self.keyframe_interval,
            "work_size": self.work_size,
            "range": str(self.frame_range),
            "solver": dataclasses.asdict(self.solver),
        }
        digest = hashlib.sha256(json.dumps(describe, sort_keys=True).encode()).hexdigest()[:16]
        return digest, describe


# Field paths that were renamed, so plan files written before still read: old path → the path now.
RENAMED_PATHS = {"flow_preset": "flow_options.preset"}


def current_path(path: str) -> str:
    """``path`` as the settings name it now (an older name of a renamed setting is mapped)."""
    return RENAMED_PATHS.get(path, path)


__all__ = [
    "ALGORITHM_VERSION",
    "OPTIONS",
    "EncoderSettings",
    "FlowOptions",
    "Settings",
    "SolverOptions",
    "current_path",
]

OPTIONS = {path: declaration for path, _, declaration in declared(Settings)}
"""Every declared option by field path (``solver.iterations`` → its :class:`~vidcolor.options.Option`)."""
