"""Pick the compute device for the torch stages; torch is imported only here and only when asked."""

from __future__ import annotations

import importlib.util

from vidcolor.errors import SettingError


def resolve_device(requested: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    if requested == "cpu":
        return "cpu"
    has_torch = importlib.util.find_spec("torch") is not None
    cuda = False
    if has_torch:
        import torch

        cuda = bool(torch.cuda.is_available())
    if requested == "cuda" and not cuda:
        why = "torch is not installed" if not has_torch else "torch sees no CUDA device"
        raise SettingError("device", f"is cuda, but {why}; use auto or cpu")
    return "cuda" if cuda else "cpu"
