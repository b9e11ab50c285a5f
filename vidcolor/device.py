"""Pick the compute device for the torch stages."""

from __future__ import annotations

from vidcolor.errors import SettingError


def resolve_device(requested: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is an error.

    Called only for runs with a torch stage, once that stage's module (and so torch) has loaded:
    the import below then costs nothing, and a run without torch stages never pays for it.
    """
    if requested == "cpu":
        return "cpu"
    import torch

    cuda = bool(torch.cuda.is_available())
    if requested == "cuda" and not cuda:
        raise SettingError("device", "is cuda, but torch sees no CUDA device; use auto or cpu")
    return "cuda" if cuda else "cpu"
