"""Python's cyclic garbage collector, paused while the package imports, and the objects of the imports set aside.

Importing vidcolor (NumPy, SciPy, OpenCV, PyAV and our modules) allocates so many container objects that the
collector ran about 150 times on the way, each young collection over all of them: 45-70 ms of each start (a
worker's too), for no garbage, as a module's objects live as long as the process. The package's first import
pauses the collector (importing this module does); once its own imports are done the package calls
:func:`resume`, which moves every object alive then to the permanent generation (``gc.freeze``: later
collections skip them; reference counting still frees each, only cycles among them stay) and turns the
collector back on as it was. The imports' collections: 45-70 ms → 4-5 ms.
"""

from __future__ import annotations

import gc

_was_enabled = gc.isenabled()
gc.disable()


def resume() -> None:
    """Freeze what is alive, and the collector as it was before the package's imports (a program that had turned
    it off keeps it off)."""
    gc.freeze()
    if _was_enabled:
        gc.enable()
