"""Quiet native libraries: their C/C++ code writes to the process's stderr directly.

MediaPipe's graphs log start-up lines through absl and TensorFlow Lite that no setting silences
(google-ai-edge/mediapipe#5737): only redirecting file descriptor 2 around their calls does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (Python's own sys.stderr is flushed first)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, closed): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
