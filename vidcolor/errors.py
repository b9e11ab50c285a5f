"""The error family of vidcolor.

Every error a user can cause carries a one-line message that names the file and the problem.
The CLI prints that line and exits with the class's ``exit_code``; the library only raises.
Stage-specific errors (segmenters, colorizers, flow) subclass these beside their interfaces.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path


class VidcolorError(Exception):
    """Base of all errors vidcolor reports to a user; only its subclasses are raised."""

    exit_code = 70  # the internal-error code: raising the bare base would be a bug

    def __init__(self, message: str) -> None:
        # One line, always: multi-line messages break log scraping in batch runs.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)

    def render(self, name_of: Callable[[str], str]) -> str:
        """The message with the settings it mentions named by ``name_of`` (a front end's names for them).

        ``name_of`` maps a setting's field path (``keyframe_interval``, or an API argument such as
        ``overwrite``) to what the front end calls it (``--keyframe-interval``, ``-y``).
        """
        return self.message


class InputError(VidcolorError):
    """The input video is missing, unreadable, not a video, or damaged."""

    exit_code = 2


class ReferenceImageError(VidcolorError):
    """The colour reference image is missing or unreadable."""

    exit_code = 2


class UsageError(VidcolorError):
    """Options that contradict each other or are out of range."""

    exit_code = 2


class SettingError(UsageError):
    """A setting that is unknown, out of range or contradicts another one.

    The library names settings by their field path (``keyframe_interval``, ``solver.solve_size``);
    a front end renders the same message with its own names for them (the CLI: its flags).

    Args:
        setting: the field path of the offending setting.
        problem: what is wrong, after the setting's name; ``{0}``, ``{1}``... stand for ``related``.
        related: other settings the problem mentions, named the same way as ``setting``.
    """

    def __init__(self, setting: str, problem: str, *related: str) -> None:
        self.setting = setting
        self.problem = problem
        self.related = related
        super().__init__(self.render(str))

    def render(self, name_of: Callable[[str], str]) -> str:
        problem = self.problem
        for i, other in enumerate(self.related):
            problem = problem.replace(f"{{{i}}}", name_of(other))
        return " ".join(f"{name_of(self.setting)} {problem}".split())


class OutputError(VidcolorError):
    """The output cannot be written where asked (exists, folder unwritable, bad container)."""

    exit_code = 3


class OutputExistsError(OutputError):
    """The output file exists and replacing it was not asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(self.render(lambda name: f"{name}=True"))

    def render(self, name_of: Callable[[str], str]) -> str:
        return f"{self.path}: already exists; pass {name_of('overwrite')} to replace it"


class EncodeError(VidcolorError):
    """The encoder or muxer refused the stream (codec/container mismatch, encoder failure)."""

    exit_code = 4


class WeightsError(VidcolorError):
    """A weight file a feature network needs is missing or fails verification."""

    exit_code = 5


class StageError(VidcolorError):
    """A pluggable stage cannot run: an optional package it needs is missing, or its model fails.

    Each stage's own error (``SegmentationError``, ``FlowError``, ``SolverError``) subclasses this
    beside the stage's interface.
    """

    exit_code = 6


class HandedOn(VidcolorError):
    """An error that another process met (a worker, a Ray task or actor), handed on: its one-line message and the
    exit code of the error it was (error classes do not all cross processes)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# The exit codes no error class carries; each class above carries its own (2 to 6, and 70 for a bug).
EXIT_OK = 0
EXIT_PARTIAL = 8  # a batch where some items failed (each recorded with its error); the others were written
EXIT_INTERNAL = VidcolorError.exit_code  # a bug: one line, the traceback with --debug
EXIT_SIGNAL_BASE = 128  # interrupted: 128 + the signal's number, the shells' convention
# What the CLI unwinds on like Ctrl-C: a closed terminal, Ctrl-C, `timeout`/`docker stop`/systemd.
INTERRUPTING_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def exit_codes() -> list[int]:
    """Every exit code a front end returns: the error classes' (stage errors subclass these and keep their
    parent's), the ones above, and the signals the CLI unwinds on. The README's table is checked against it."""
    classes: list[type[VidcolorError]] = [VidcolorError]
    codes = {EXIT_OK, EXIT_PARTIAL}
    while classes:
        error = classes.pop()
        codes.add(error.exit_code)
        classes.extend(error.__subclasses__())
    codes |= {EXIT_SIGNAL_BASE + signum for signum in INTERRUPTING_SIGNALS}
    return sorted(codes)


def check_readable_file(path: Path, error: type[VidcolorError], kind: str) -> None:
    """Raise ``error`` naming ``path`` unless it is an existing, readable file (``kind``: what it should be)."""
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a folder, not {kind}")
    if not os.access(path, os.R_OK):
        raise error(f"{path}: not readable (permission denied)")
