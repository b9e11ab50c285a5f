"""MediaPipe's face mesh and selfie segmentation, imported without the start-up of what vidcolor never uses.

``import mediapipe`` runs the ``__init__`` of ``mediapipe.python.solutions``, which imports ``drawing_utils``,
which imports ``matplotlib.pyplot``: 0.45 s of a run's 1.4 s of imports (and every ``--jobs`` worker's), for
plotting helpers vidcolor never calls. It also imports the Tasks API's audio and vision tasks (the audio tasks
import ``sounddevice``): 0.11 s more, where vidcolor uses the solutions only. So, when MediaPipe is not
imported yet, those modules are stood in for by modules that import the real ones the first time anything is
read from them: a program that draws with them (``mp.solutions.drawing_utils.draw_landmarks``) or runs a task
(``mp.tasks.vision.FaceLandmarker``, ``from mediapipe.tasks.python.audio import AudioClassifier``) still gets
them, a moment later.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any

_SOLUTIONS = "mediapipe.python.solutions"
_TASKS = "mediapipe.tasks.python"
_MODULES = (f"{_SOLUTIONS}.drawing_utils", f"{_SOLUTIONS}.drawing_styles")
# Not the text tasks (6 ms): the Tasks API's __init__ reads core.base_options, which only its tasks import.
_PACKAGES = (f"{_TASKS}.audio", f"{_TASKS}.vision")


class _ImportedOnFirstUse(types.ModuleType):
    """Stands in for the module of its name until an attribute it lacks is read; then imports the real one,
    puts it in its place (``sys.modules``, its package) and answers from it. A package's stand-in has the real
    one's ``__path__``, so that a submodule imported by name (``import mediapipe.tasks.python.audio.core``)
    loads on its own; the real package, when it comes, starts with the submodules imported so far."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_real(self), attribute)


def _real(stand_in: types.ModuleType) -> types.ModuleType:
    name = stand_in.__name__
    current = sys.modules.get(name)
    if current is not None and current is not stand_in:  # imported already: a stand-in held by someone answers
        return current
    package, _, child = name.rpartition(".")
    spec = importlib.machinery.PathFinder.find_spec(name, getattr(sys.modules[package], "__path__", None))
    if spec is None or spec.loader is None:
        raise ImportError(f"{name} cannot be found", name=name)
    module = importlib.util.module_from_spec(spec)
    # Submodules imported while it stood in were bound to the stand-in; the real __init__ counts on them.
    module.__dict__.update({k: v for k, v in vars(stand_in).items() if isinstance(v, types.ModuleType)})
    sys.modules[name] = module
    setattr(sys.modules[package], child, module)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules[name] = stand_in
        setattr(sys.modules[package], child, stand_in)
        raise
    return module


def _stand_in() -> list[_ImportedOnFirstUse]:
    """Stand-ins for ``_MODULES`` and ``_PACKAGES``, in ``sys.modules`` before MediaPipe's import looks for
    them (an ``import`` finds a module already there and loads nothing); none when MediaPipe is imported
    already, or is not where its packages are expected."""
    if "mediapipe" in sys.modules:
        return []
    found = importlib.util.find_spec("mediapipe")
    root = found.submodule_search_locations if found is not None else None
    if not root:
        return []
    stand_ins = [_ImportedOnFirstUse(name) for name in (*_MODULES, *_PACKAGES)]
    for stand_in in stand_ins[len(_MODULES) :]:
        stand_in.__path__ = [os.path.join(root[0], *stand_in.__name__.split(".")[1:])]
    for stand_in in stand_ins:
        sys.modules.setdefault(stand_in.__name__, stand_in)
    return stand_ins


_stand_ins = _stand_in()

from mediapipe.python.solutions import face_mesh, selfie_segmentation  # noqa: E402 (after the stand-ins)

for _module in _stand_ins:  # an import that finds a module in sys.modules does not bind it to its package
    _package, _, _child = _module.__name__.rpartition(".")
    if not hasattr(sys.modules[_package], _child):
        setattr(sys.modules[_package], _child, _module)

__all__ = ["face_mesh", "selfie_segmentation"]
