"""Where vidcolor keeps its data: the keyframe cache and the weight files.

In order: the folder given (``--cache-dir``, ``--weights-dir``), the environment
(``$VIDCOLOR_CACHE``, ``$VIDCOLOR_WEIGHTS``), the checkout's ``cache/`` and ``weights/`` when
vidcolor runs from a source checkout, else the user's folders by the XDG convention
(``~/.cache/vidcolor``, ``~/.local/share/vidcolor/weights``). A run never litters the folder it was
started in, and weights fetched once are found from anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Place:
    """A folder and why it was chosen (for ``-v`` and ``vidcolor cache info``)."""

    path: Path
    why: str


def checkout_root() -> Path | None:
    """The source checkout vidcolor runs from, if it does (its pyproject.toml names vidcolor)."""
    root = _PACKAGE.parent
    pyproject = root / "pyproject.toml"
    try:
        return root if 'name = "vidcolor"' in pyproject.read_text() else None
    except OSError:
        return None


def cache_place(override: str | os.PathLike[str] | None = None) -> Place:
    return _place(override, "VIDCOLOR_CACHE", "cache", Path(_xdg("XDG_CACHE_HOME", ".cache")) / "vidcolor")


def weights_place(override: str | os.PathLike[str] | None = None) -> Place:
    return _place(
        override, "VIDCOLOR_WEIGHTS", "weights", Path(_xdg("XDG_DATA_HOME", ".local/share")) / "vidcolor" / "weights"
    )


def _place(override: str | os.PathLike[str] | None, variable: str, in_checkout: str, per_user: Path) -> Place:
    if override is not None:
        return Place(Path(override), "given")
    if os.environ.get(variable):
        return Place(Path(os.environ[variable]), f"${variable}")
    root = checkout_root()
    if root is not None:
        return Place(root / in_checkout, "the source checkout's")
    return Place(per_user, "the user's")


def _xdg(variable: str, fallback: str) -> str:
    return os.environ.get(variable) or str(Path.home() / fallback)
