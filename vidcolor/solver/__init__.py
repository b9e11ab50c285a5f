"""Keyframe colorizers behind one interface and a registry."""

from vidcolor.shared_types import Keyframe, Reference
from vidcolor.solver import exemplar as _exemplar  # noqa: F401  (registers "exemplar")
from vidcolor.solver.base import COLORIZERS, KeyframeColorizer, SolverError

# torch is imported only by runs that choose the optimization solver (its import costs about a second).
COLORIZERS.register_lazy("optim", "vidcolor.solver.optim:OptimColorizer", needs_torch=True, extra="solver")

__all__ = ["COLORIZERS", "Keyframe", "KeyframeColorizer", "Reference", "SolverError"]
