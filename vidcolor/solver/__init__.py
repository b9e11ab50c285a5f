"""Keyframe colorizers behind one interface and a registry."""

from vidcolor.solver import exemplar as _exemplar  # noqa: F401  (registers "exemplar")
from vidcolor.solver.base import COLORIZERS, Keyframe, KeyframeColorizer, Reference, SolverError, SolverOptions


@COLORIZERS.register("optim")
def _optim(**kwargs: object) -> KeyframeColorizer:
    # torch is imported only by runs that ask for the optimization solver (its import costs seconds).
    try:
        from vidcolor.solver.optim import OptimColorizer
    except ImportError as exc:
        raise SolverError(f"the optim colorizer needs torch: pip install 'vidcolor[solver]' ({exc})") from exc
    return OptimColorizer(**kwargs)  # type: ignore[arg-type]


__all__ = ["COLORIZERS", "Keyframe", "KeyframeColorizer", "Reference", "SolverError", "SolverOptions"]
