"""An on-disk cache of solved keyframes, so a re-run or a resumed run skips finished work.

Keyframe solving is the expensive stage (seconds per keyframe with the optimization solver);
propagation and encoding are cheap by comparison and are simply redone. Entries live under
``<root>/<input fingerprint>/<settings key>/`` and are written atomically (temp + rename), so
an interrupted run leaves only whole entries behind. Where the root is: ``vidcolor.places``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger("vidcolor")

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


class PinnedFile(Protocol):
    """A file given for a place in the video (a reference, a hint file)."""

    @property
    def path(self) -> Path: ...

    @property
    def at(self) -> object: ...


def pinned_files_key(files: Iterable[PinnedFile]) -> str:
    """A key that changes whenever one of the files' contents or the place it is pinned to changes."""
    return "+".join(f"{fingerprint(f.path)}@{f.at}" for f in files)


class KeyframeStore(Protocol):
    """Where solved keyframes are kept by name (a :class:`KeyframeCache`, or layers of them)."""

    def get(self, name: str) -> np.ndarray | None: ...

    def put(self, name: str, value: np.ndarray) -> None: ...


class LayeredStore:
    """``first`` over ``second``: read from the first, else from the second (and then copied into the
    first); written to both. A film's keyframe pass keeps a split shot's keyframes in a folder of its own
    (``first``, which must hold them all) and still reads and fills the user's keyframe cache."""

    def __init__(self, first: KeyframeStore, second: KeyframeStore) -> None:
        self.first, self.second = first, second

    def get(self, name: str) -> np.ndarray | None:
        value = self.first.get(name)
        if value is None:
            value = self.second.get(name)
            if value is not None:
                self.first.put(name, value)
        return value

    def put(self, name: str, value: np.ndarray) -> None:
        self.first.put(name, value)
        self.second.put(name, value)


class KeyframeCache:
    """Stores keyframe arrays by name under ``<root>/<input key>/<settings key>/``.

    The cache only saves time, so it never stops a run: any problem with it (a read-only folder,
    a full disk, a path that is a file) is reported once and the run carries on without it.
    Entries are whole files renamed into place, so two runs on the same input at once cannot see
    a half-written one. When the cache grows past ``limit_bytes``, the entries used least recently
    (other runs' folders) are removed when a run starts.

    Args:
        root: the cache folder, or None for no cache.
        input_key, settings_key: what the entries belong to (see :func:`fingerprint`).
        describe: the settings behind ``settings_key``, written beside the entries for people.
        limit_bytes: the most the whole cache may take on disk (None: no limit).
    """

    def __init__(
        self,
        root: Path | None,
        input_key: str,
        settings_key: str,
        describe: dict[str, Any] | None = None,
        limit_bytes: int | None = None,
    ) -> None:
        self.root = root
        self.folder = None if root is None else Path(root) / input_key / settings_key
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            manifest = self.folder / "settings.json"
            if describe is not None and not manifest.exists():
                _atomic_write_bytes(manifest, json.dumps(describe, indent=2, sort_keys=True).encode())
            os.utime(self.folder)  # most recently used
            if limit_bytes is not None:
                evict(Path(root), limit_bytes, keep=self.folder)  # type: ignore[arg-type]
        except OSError as exc:
            self._give_up(exc)

    def get(self, name: str) -> np.ndarray | None:
        if self.folder is None:
            return None
        path = self.folder / f"{name}.npy"
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # missing, or damaged: solved again
            return None
        return value.astype(np.float32)

    def put(self, name: str, value: np.ndarray) -> None:
        if self.folder is None:
            return
        path = self.folder / f"{name}.npy"
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                # float16 halves the disk cost; chroma needs no more precision than the encoder keeps.
                np.save(f, value.astype(np.float16), allow_pickle=False)
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; a shared cache folder needs the usual mode
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        log.warning(
            "%s: the keyframe cache cannot be used (%s); carrying on without it",
            exc.filename or self.folder,
            exc.strerror or exc,
        )
        self.folder = None


@dataclass(frozen=True)
class CacheEntry:
    """One input's keyframes under one settings key."""

    folder: Path
    files: int
    size: int
    last_used: float


def entries(root: Path) -> list[CacheEntry]:
    """The cache's entries, least recently used first."""
    found = []
    for folder in root.glob("*/*"):
        if not folder.is_dir():
            continue
        try:
            stats = [p.stat() for p in folder.iterdir() if p.is_file()]
            used = folder.stat().st_mtime
        except OSError:
            continue
        found.append(CacheEntry(folder, len(stats), sum(s.st_size for s in stats), used))
    return sorted(found, key=lambda e: e.last_used)


def evict(root: Path, limit_bytes: int, keep: Path | None = None) -> list[CacheEntry]:
    """Remove least recently used entries (never ``keep``) until the cache takes at most ``limit_bytes``."""
    found = entries(root)
    total = sum(e.size for e in found)
    removed = []
    for entry in found:
        if total <= limit_bytes:
            break
        if entry.folder == keep:
            continue
        shutil.rmtree(entry.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            entry.folder.parent.rmdir()  # the input's folder, once it holds no settings key
        total -= entry.size
        removed.append(entry)
    if removed:
        log.info("keyframe cache over %d MB: removed %d entries used least recently", limit_bytes >> 20, len(removed))
    return removed


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
