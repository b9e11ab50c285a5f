"""All options of a run in one frozen dataclass; the colour-affecting part keys the cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from vidcolor.errors import UsageError
from vidcolor.frames.encode import CODECS, PRESETS, EncoderSettings
from vidcolor.frames.timecode import FrameRange
from vidcolor.solver.base import SolverOptions

# Bump when a change alters colours for the same settings, so old cache entries are not reused.
ALGORITHM_VERSION = 1


@dataclass(frozen=True)
class Settings:
    """Options of :func:`vidcolor.colorize_video`.

    Attributes:
        colorizer, segmenter, flow: registry names of the stages.
        flow_preset: DIS preset (ultrafast, fast, medium).
        keyframe_interval: longest run of frames between two keyframes inside a shot.
        work_size: long side, in pixels, at which flow and colour are computed; chroma is
            brought back to full size at the end (luma is always full size).
        device: ``auto``, ``cpu`` or ``cuda`` for the stages that use torch.
        encoder: codec, CRF and preset of the output.
        frame_range: which part of the input to colorize (a preview).
        cache_dir: where solved keyframes are kept between runs; None turns the cache off.
        features, clip, clip_prompts, iterations, solve_size: the optimization solver's (``colorizer="optim"``):
            feature network (auto, pyramid, vgg), CLIP loss on/off, Adam steps, solve resolution.
        weights_dir: where weight files are looked for (default ``weights/`` or ``$VIDCOLOR_WEIGHTS``).
    """

    colorizer: str = "exemplar"
    segmenter: str = "mediapipe"
    flow: str = "dis"
    flow_preset: str = "fast"
    keyframe_interval: int = 48
    work_size: int = 480
    device: str = "auto"
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    frame_range: FrameRange = field(default_factory=FrameRange)
    cache_dir: Path | None = Path("cache")
    features: str = "auto"
    clip: bool = False
    clip_prompts: bool = False
    iterations: int = 40
    solve_size: int = 256
    weights_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.keyframe_interval < 1:
            raise UsageError(f"--keyframe-interval must be at least 1, got {self.keyframe_interval}")
        if self.work_size < 32:
            raise UsageError(f"--work-size must be at least 32 pixels, got {self.work_size}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UsageError(f"--device must be auto, cpu or cuda, got {self.device!r}")
        if self.encoder.codec not in CODECS:
            raise UsageError(f"--codec {self.encoder.codec!r} is not supported; use one of {', '.join(CODECS)}")
        if self.encoder.preset not in PRESETS:
            raise UsageError(f"--preset {self.encoder.preset!r} unknown; use one of {', '.join(PRESETS)}")
        if self.clip_prompts and not self.clip:
            raise UsageError("--clip-prompts needs --clip (and the CLIP weight file)")
        if not 0 <= self.encoder.crf <= 51:
            raise UsageError(f"--crf must be 0..51, got {self.encoder.crf}")

    def colour_key(self, reference_key: str) -> tuple[str, dict]:
        """A short hash of everything that changes keyframe colours, and the dict it hashes."""
        describe = {
            "version": ALGORITHM_VERSION,
            "reference": reference_key,
            "colorizer": self.colorizer,
            "segmenter": self.segmenter,
            "flow": [self.flow, self.flow_preset],
            "keyframe_interval": self.keyframe_interval,
            "work_size": self.work_size,
            "range": str(self.frame_range),
            "solver": [self.features, self.clip, self.clip_prompts, self.iterations, self.solve_size]
            if self.colorizer == "optim"
            else None,
        }
        digest = hashlib.sha256(json.dumps(describe, sort_keys=True).encode()).hexdigest()[:16]
        return digest, describe

    def solver_options(self) -> SolverOptions:
        return SolverOptions(
            device=self.device,
            features=self.features,
            clip=self.clip,
            clip_prompts=self.clip_prompts,
            weights_dir=None if self.weights_dir is None else str(self.weights_dir),
            iterations=self.iterations,
            solve_size=self.solve_size,
        )
