"""Keyframe colorizers behind one interface and a registry."""

from vidcolor.solver import exemplar as _exemplar  # noqa: F401  (registers "exemplar")
from vidcolor.solver.base import COLORIZERS, Keyframe, KeyframeColorizer, Reference, SolverError

__all__ = ["COLORIZERS", "Keyframe", "KeyframeColorizer", "Reference", "SolverError"]
