"""The batch manifest: one SQLite row per item in the output folder, the single source of truth.

WAL mode, so ``vidcolor batch --status`` can read while a batch writes. Only the process that runs
the batch (the driver) writes; workers report back to it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from vidcolor.errors import OutputError

MANIFEST_NAME = "vidcolor-batch.sqlite"
STATUSES = ("pending", "running", "done", "failed", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    input TEXT PRIMARY KEY,
    output TEXT NOT NULL,
    size INTEGER,
    content TEXT,
    settings TEXT,
    status TEXT NOT NULL,
    started REAL,
    finished REAL,
    seconds REAL,
    frames INTEGER,
    error TEXT,
    colour TEXT
)
"""
# Columns added since the first manifests: a folder from an older vidcolor gets them on its next batch.
_ADDED_COLUMNS = {"colour": "TEXT"}


@dataclass(frozen=True)
class Row:
    """One item as the manifest records it."""

    input: str
    output: str
    size: int | None
    content: str | None
    settings: str | None
    status: str
    started: float | None
    finished: float | None
    seconds: float | None
    frames: int | None
    error: str | None
    colour: str | None = None  # what colours it: its references, its plan, hints, or the automatic network


class Manifest:
    """``OUTDIR/vidcolor-batch.sqlite``; opened for each use, so a crash never leaves it locked."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / MANIFEST_NAME

    @classmethod
    def create(cls, outdir: Path) -> Manifest:
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from exc
        manifest = cls(outdir)
        with manifest._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(items)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE items ADD COLUMN {column} {kind}")
        return manifest

    @classmethod
    def existing(cls, outdir: Path) -> Manifest:
        manifest = cls(outdir)
        if not manifest.path.is_file():
            raise OutputError(f"{outdir}: no batch manifest here ({MANIFEST_NAME})")
        return manifest

    def get(self, input_path: Path) -> Row | None:
        with self._connect() as db:
            found = db.execute("SELECT * FROM items WHERE input = ?", (str(input_path),)).fetchone()
        return Row(*found) if found else None

    def rows(self) -> list[Row]:
        with self._connect() as db:
            return [Row(*r) for r in db.execute("SELECT * FROM items ORDER BY input")]

    def plan(self, input_path: Path, output: Path, size: int, content: str, settings: str, colour: str = "") -> None:
        """Record an item as pending (again), with what identifies its work and what colours it."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO items (input, output, size, content, settings, status, colour) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?) "
                "ON CONFLICT(input) DO UPDATE SET output=excluded.output, size=excluded.size, "
                "content=excluded.content, settings=excluded.settings, status='pending', error=NULL, "
                "colour=excluded.colour",
                (str(input_path), str(output), size, content, settings, colour),
            )

    def started(self, input_path: Path) -> None:
        self._update(input_path, status="running", started=time.time(), finished=None, error=None)

    def finished(self, input_path: Path, *, seconds: float, frames: int) -> None:
        self._update(input_path, status="done", finished=time.time(), seconds=seconds, frames=frames, error=None)

    def failed(self, input_path: Path, error: str, *, seconds: float | None = None) -> None:
        self._update(input_path, status="failed", finished=time.time(), seconds=seconds, error=error)

    def interrupt_running(self) -> None:
        """Items left running by an interruption: to be redone by the next run."""
        with self._connect() as db:
            db.execute("UPDATE items SET status='interrupted' WHERE status IN ('running', 'pending')")

    def _update(self, input_path: Path, **values: object) -> None:
        columns = ", ".join(f"{k} = ?" for k in values)
        with self._connect() as db:
            db.execute(f"UPDATE items SET {columns} WHERE input = ?", (*values.values(), str(input_path)))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                yield db
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: the batch manifest cannot be used ({exc})") from exc
