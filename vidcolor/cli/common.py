"""What every command of the CLI shares: the typer app, stderr, how a setting becomes an option and an
option's name goes back into a message, interruption, progress, logging."""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

import vidcolor
from vidcolor.errors import EXIT_SIGNAL_BASE
from vidcolor.pipeline import ColorizeResult, ProgressCallback
from vidcolor.settings import OPTIONS, Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Colorize black-and-white video from a colour reference image.\n\n"
    "Usage: vidcolor INPUT [--style REF | --hints HINTS@TIME] [-o OUTPUT] (the 'colorize' command is the default; "
    "without --style and --hints, colour comes from a colorization network).",
)
T = TypeVar("T")

DEFAULTS = Settings()
# Library messages name API arguments that are not settings; the CLI's names for them.
_API_FLAGS = {
    "overwrite": "-y",
    "preview.at": "--at",
    "preview.duration": "--duration",
    "hints": "--hints",
    "shot": "--shot",
}

PLAN_OPTION = typer.Option(
    "--plan",
    help="Render this shot plan (NAME.plan.toml from 'vidcolor plan'): its cuts, each shot's reference, hints and "
    "overrides, and its settings where no flag is given.",
)
SHOT_OPTION = typer.Option(
    "--shot",
    help="N=REF[@TIME]: shot N's own reference (placed in that shot, or pinned); repeat for several shots. "
    "'vidcolor plan' lists the shots.",
)

# Lines are never wrapped: logs of long batch runs are read and searched line by line.
err_console = Console(stderr=True, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vidcolor {vidcolor.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Colorize black-and-white video from a colour reference image."""


def setting_option(path: str, *aliases: str) -> Any:
    """The typer option of a declared setting: its flag and help come from ``vidcolor.settings``."""
    declared = OPTIONS[path]
    choices = f" ({', '.join(declared.choices)})" if declared.choices else ""
    unit = f" ({declared.unit})" if declared.unit else ""
    option = typer.Option(declared.flag, *aliases, help=f"{declared.help}{choices}{unit}", show_default=True)
    option.setting = path  # the field it sets, read back by setting_paths
    return option


def default_of(path: str) -> Any:
    """A setting's default, read from a default ``Settings`` (never restated here)."""
    return functools.reduce(getattr, path.split("."), DEFAULTS)


def flag_of(name: str) -> str:
    """What the CLI calls a setting or API argument named in a library message."""
    if name in _API_FLAGS:
        return _API_FLAGS[name]
    declared = OPTIONS.get(name)
    return declared.flag if declared is not None and declared.flag else name


@contextlib.contextmanager
def interruptible(output: Path | None, said: str | Callable[[], str] | None = None) -> Iterator[None]:
    """Ctrl-C, or SIGTERM/SIGHUP turned into the same interruption by main(), as one line and 128 + signal
    (the library has removed its temporary file on the way out). ``said``: what the line says instead of
    "nothing was written to OUTPUT" (a server that was asked to stop; a batch's count, told when it stops)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        what = (said() if callable(said) else said) or f"nothing was written to {output}"
        err_console.print(f"vidcolor: interrupted ({signal.Signals(signum).name}); {what}", highlight=False)
        raise typer.Exit(EXIT_SIGNAL_BASE + signum) from None


def with_progress(quiet: bool, name: str, work: Callable[[ProgressCallback | None], T]) -> T:
    if quiet:
        return work(None)
    from vidcolor.cli.progress import FrameProgress

    with FrameProgress(err_console, name) as bar:
        return work(bar)


def say_written(result: ColorizeResult) -> None:
    err_console.print(
        f"[green]wrote[/green] {result.output}  ({result.frames} frames, {result.shots} shots, "
        f"{result.keyframes} keyframes, {result.audio_packets} audio packets, "
        f"{result.frames / max(result.seconds, 1e-9):.1f} fps)"
    )


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def configure_logging(*, quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose and not quiet else logging.WARNING
    logger = logging.getLogger("vidcolor")
    handler: logging.Handler
    if err_console.is_terminal:
        handler = RichHandler(console=err_console, show_path=False, show_time=False)
    else:  # a log file or a pipe: one plain line per message, never wrapped
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter("vidcolor: %(levelname)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``timeout``, ``docker stop``, systemd, a closed terminal), handled as Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
