"""An on-disk cache of solved keyframes, so a re-run or a resumed run skips finished work.

Keyframe solving is the expensive stage (seconds per keyframe with the optimization solver);
propagation and encoding are cheap by comparison and are simply redone. Entries live under
``<root>/<input fingerprint>/<settings key>/`` and are written atomically (temp + rename), so
an interrupted run leaves only whole entries behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

_SAMPLE = 4 << 20  # bytes read from the start, middle and end of the input


def fingerprint(path: Path) -> str:
    """A content key for a video: its size plus a hash of three 4 MiB samples.

    Hashing whole archive masters (tens of GB) would cost more than the run it saves; a change
    of size or of any sampled byte gives a new key, and a same-size edit elsewhere is not a
    realistic event for a file that a restorer colorizes.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            f.seek(offset)
            digest.update(f.read(_SAMPLE))
    return digest.hexdigest()[:24]


class KeyframeCache:
    """Stores chroma arrays by name under one folder; ``None`` root means caching is off."""

    def __init__(
        self, root: Path | None, input_key: str, settings_key: str, describe: dict[str, Any] | None = None
    ) -> None:
        self.folder = None if root is None else Path(root) / input_key / settings_key
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            manifest = self.folder / "settings.json"
            if describe is not None and not manifest.exists():
                _atomic_write_bytes(manifest, json.dumps(describe, indent=2, sort_keys=True).encode())

    def get(self, name: str) -> np.ndarray | None:
        if self.folder is None:
            return None
        path = self.folder / f"{name}.npy"
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return value.astype(np.float32)

    def put(self, name: str, value: np.ndarray) -> None:
        if self.folder is None:
            return
        path = self.folder / f"{name}.npy"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                # float16 halves the disk cost; chroma needs no more precision than the encoder keeps.
                np.save(f, value.astype(np.float16), allow_pickle=False)
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; a shared cache folder needs the usual mode
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)


def _umasked(mode: int) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


_FILE_MODE = _umasked(0o666)  # what open() would have given the file
