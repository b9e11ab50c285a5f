"""MediaPipe's face mesh and selfie segmentation, imported without the start-up of its drawing helpers.

``import mediapipe`` runs the ``__init__`` of ``mediapipe.python.solutions``, which imports ``drawing_utils``,
which imports ``matplotlib.pyplot``: 0.45 s of a run's 1.4 s of imports (and every ``--jobs`` worker's), for
plotting helpers vidcolor never calls. So, when MediaPipe is not imported yet, its two drawing modules are
stood in for by modules that import the real ones the first time anything is read from them: a program that
draws with them (``mp.solutions.drawing_utils.draw_landmarks``) still gets them, a moment later.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_SOLUTIONS = "mediapipe.python.solutions"
_DRAWING = ("drawing_utils", "drawing_styles")


class _ImportedOnFirstUse(types.ModuleType):
    """Stands in for the module of its name until an attribute it lacks is read; then imports the real one,
    puts it in its place (``sys.modules``, its package) and answers from it."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_real(self), attribute)


def _real(stand_in: types.ModuleType) -> types.ModuleType:
    name = stand_in.__name__
    if sys.modules.get(name) is stand_in:
        del sys.modules[name]
    module = importlib.import_module(name)
    package, _, child = name.rpartition(".")
    setattr(sys.modules[package], child, module)
    return module


def _stand_in_for_drawing() -> list[_ImportedOnFirstUse]:
    """Stand-ins for the drawing modules, in ``sys.modules`` before MediaPipe's import looks for them (an
    ``import`` finds a module already there and loads nothing); none when MediaPipe is imported already."""
    if "mediapipe" in sys.modules:
        return []
    stand_ins = [_ImportedOnFirstUse(f"{_SOLUTIONS}.{child}") for child in _DRAWING]
    for stand_in in stand_ins:
        sys.modules.setdefault(stand_in.__name__, stand_in)
    return stand_ins


_stand_ins = _stand_in_for_drawing()

from mediapipe.python.solutions import face_mesh, selfie_segmentation  # noqa: E402 (after the stand-ins)

_package = sys.modules[_SOLUTIONS]
for _stand_in in _stand_ins:  # an import that finds a module in sys.modules does not bind it to its package
    _child = _stand_in.__name__.rpartition(".")[2]
    if not hasattr(_package, _child):
        setattr(_package, _child, _stand_in)

__all__ = ["face_mesh", "selfie_segmentation"]
