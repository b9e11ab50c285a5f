"""The manifest of a shot-parallel render: which segments are done, kept beside them for a resumed run.

``segments.json`` in the render's folder names the run (a key of its input, plan, settings and output
encoding: a manifest of another run is not resumed, its segments are cleared) and each segment with its
frames and state, and the shots in pieces whose keyframe pass is done. Only the driver writes it, atomically (temporary file, then rename), after every segment.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "segments.json"
FORMAT = 2


@dataclass
class SegmentEntry:
    number: int
    first: int
    last: int
    done: bool = False
    frames: int = 0
    seconds: float = 0.0
    colour_key: str = ""  # the keyframe cache key the worker coloured with (its stages' identity included)


@dataclass
class SegmentManifest:
    key: str
    segments: dict[int, SegmentEntry] = field(default_factory=dict)
    passes: list[int] = field(default_factory=list)  # shots (from 1) whose keyframes are solved

    @classmethod
    def load(cls, folder: Path, key: str) -> SegmentManifest | None:
        """The manifest in ``folder`` if it is one of the run ``key``, else None (none, unreadable, another run's)."""
        try:
            raw: dict[str, Any] = json.loads((folder / MANIFEST_NAME).read_text())
            if raw.get("format") != FORMAT or raw.get("key") != key:
                return None
            entries = {int(e["number"]): SegmentEntry(**e) for e in raw["segments"]}
            passes = [int(shot) for shot in raw["passes"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return cls(key, entries, passes)

    def save(self, folder: Path) -> None:
        data = {
            "format": FORMAT,
            "key": self.key,
            "segments": [asdict(e) for e in self.segments.values()],
            "passes": self.passes,
        }
        tmp = folder / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, folder / MANIFEST_NAME)

    @property
    def done(self) -> list[SegmentEntry]:
        return [e for e in self.segments.values() if e.done]
