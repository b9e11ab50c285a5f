"""Where an output goes: its container, the checks made before any work, and the temp-then-rename commit.

An output is written to a hidden temporary name beside the target and renamed only when complete,
so no partial file is ever left at the output path.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vidcolor.errors import OutputError, OutputExistsError
from vidcolor.frames.sequence_in import looks_like_sequence, sequence_stem

# Output suffix → FFmpeg muxer.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".mxf": "mxf"}


def named_after(input_path: Path, ending: str) -> Path:
    """A file named after the input, beside it: ``movie.mp4`` → ``movie{ending}``; an image sequence's folder
    ``scans/`` → ``scans{ending}`` beside the folder; ``scans/reel1_%06d.dpx`` (or ``reel1_*.dpx``) →
    ``scans/reel1{ending}``."""
    if input_path.is_dir() or not looks_like_sequence(input_path):
        return input_path.with_name(input_path.stem + ending)
    stem = sequence_stem(input_path) or input_path.resolve().parent.name
    return input_path.with_name((stem or "sequence") + ending)


def default_output_path(input_path: Path) -> Path:
    """``movie.mp4`` → ``movie.colorized.mp4`` beside it (a sequence as :func:`named_after` says)."""
    return named_after(input_path, ".colorized.mp4")


@dataclass(frozen=True)
class OutputTarget:
    """A checked output path, its muxer, and the temporary name it is written under."""

    path: Path
    container_format: str

    @property
    def partial(self) -> Path:
        """The hidden name written until the output is complete (one per process)."""
        return self.path.with_name(f".{self.path.stem}.{os.getpid()}.partial{self.path.suffix}")

    def commit(self) -> None:
        """Move the complete partial file to the output path (atomic on one file system)."""
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self.partial.unlink(missing_ok=True)

    def remove_stale_partials(self) -> list[Path]:
        """Remove partial files of this output left by runs that were killed (SIGKILL, power loss).

        Only files named as :attr:`partial` names them, and only when their process is gone, so a
        run writing the same output at this moment keeps its file.
        """
        candidates = self.path.parent.glob(f".{glob.escape(self.path.stem)}.*.partial{glob.escape(self.path.suffix)}")
        removed = dead_partials(candidates, self.path.stem)
        for path in removed:
            path.unlink(missing_ok=True)
        return removed


def dead_partials(candidates: Iterable[Path], stem: str) -> list[Path]:
    """Of hidden partials named ``.STEM.PID.…``, those whose process is gone (a killed run's): another run
    writing the same output at this moment keeps its own."""
    dead = []
    for path in candidates:
        pid = path.name[len(stem) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            dead.append(path)
    return dead


def check_writable_folder(output: Path, folder: Path) -> None:
    """:class:`OutputError` naming ``output`` unless ``folder`` exists and a file can be created in it
    (the real test: permission bits do not stop root, read-only mounts do)."""
    if not folder.is_dir():
        raise OutputError(f"{output}: folder {folder} does not exist")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"{output}: folder {folder} is not writable ({exc.strerror})") from exc


def requested_output(requested: str | os.PathLike[str] | None, default: Path) -> Path:
    """The output path: ``default`` when none is given, the default's name inside a given folder."""
    if requested is None:
        return default
    output = Path(requested)
    return output / default.name if output.is_dir() else output


def check_output(
    output: Path, input_path: Path, *, overwrite: bool, formats: Mapping[str, str] = CONTAINERS
) -> OutputTarget:
    """Validate the output path up front, so nothing is decoded for a run that cannot finish.

    ``formats`` maps the accepted suffixes to what they are written as (video containers by default).

    Raises:
        OutputError: unknown container, the input itself, a folder, an existing file without
            ``overwrite``, a missing or unwritable folder.
    """
    if output.suffix.lower() not in formats:
        raise OutputError(
            f"{output}: unknown output type {output.suffix or '(none)'!r}; use one of {', '.join(formats)}"
        )
    container = formats[output.suffix.lower()]
    if output.resolve() == input_path.resolve():
        raise OutputError(f"{output}: is the input itself; choose another output name")
    if output.is_dir():
        raise OutputError(f"{output}: is a folder")
    if output.exists() and not overwrite:
        raise OutputExistsError(output)
    check_writable_folder(output, output.parent if str(output.parent) else Path("."))
    return OutputTarget(output, container)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
