"""The error family of vidcolor.

Every error a user can cause carries a one-line message that names the file and the problem.
The CLI prints that line and exits with the class's ``exit_code``; the library only raises.
Stage-specific errors (segmenters, colorizers, flow) subclass these beside their interfaces.
"""

from __future__ import annotations

import os
from pathlib import Path


class VidcolorError(Exception):
    """Base of all errors vidcolor reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, always: multi-line messages break log scraping in batch runs.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class InputError(VidcolorError):
    """The input video is missing, unreadable, not a video, or damaged."""

    exit_code = 2


class ReferenceImageError(VidcolorError):
    """The colour reference image is missing or unreadable."""

    exit_code = 2


class UsageError(VidcolorError):
    """Options that contradict each other or are out of range."""

    exit_code = 2


class OutputError(VidcolorError):
    """The output cannot be written where asked (exists, folder unwritable, bad container)."""

    exit_code = 3


class EncodeError(VidcolorError):
    """The encoder or muxer refused the stream (codec/container mismatch, encoder failure)."""

    exit_code = 4


class WeightsError(VidcolorError):
    """A weight file a feature network needs is missing or fails verification."""

    exit_code = 5


def check_readable_file(path: Path, error: type[VidcolorError], kind: str) -> None:
    """Raise ``error`` naming ``path`` unless it is an existing, readable file (``kind``: what it should be)."""
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a folder, not {kind}")
    if not os.access(path, os.R_OK):
        raise error(f"{path}: not readable (permission denied)")
