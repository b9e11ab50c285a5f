"""The ``vidcolor`` process: arguments routed to a command, library errors turned into one line and an exit code
(declared in ``vidcolor.errors``), signals turned into interruptions."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import itertools
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import typer

from vidcolor.capacity import exit_now
from vidcolor.cli import (  # noqa: F401 (each registers its command(s) on the app)
    batch_command,
    cache_command,
    colorize_command,
    hints_command,
    plan_command,
    preview_command,
    studio_command,
    weights_command,
)
from vidcolor.cli.common import Terminated, app, err_console, flag_of
from vidcolor.errors import EXIT_INTERNAL, INTERRUPTING_SIGNALS, UsageError, VidcolorError
from vidcolor.frames.sequence_in import numbered_picture

# The first word that names a command; anything else is an input, short for `vidcolor colorize INPUT`.
SUBCOMMANDS = frozenset(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


# The main app's own options: anything else first on the line belongs to the implicit colorize command.
APP_OPTIONS = frozenset({"--version", "--install-completion", "--show-completion"})


def implicit_colorize(args: list[str]) -> list[str]:
    """The command line with ``colorize`` made explicit where no command is named: ``vidcolor movie.mp4
    --style r.png``, options first (``vidcolor --style r.png -o o.mp4 movie.mp4``), and an input that
    starts with a dash after ``--`` with options after it (``vidcolor -- -dash.mp4 --style r.png``)."""
    if not args or args[0] in SUBCOMMANDS or args[0] in APP_OPTIONS:
        return args
    args = ["colorize", *args]
    if "--" in args:
        # click takes everything after `--` as arguments: the one input is moved to the end instead.
        k = args.index("--")
        if k + 1 < len(args) and k + 2 < len(args):
            args = [*args[:k], *args[k + 2 :], "--", args[k + 1]]
    return args


# Commands that take one input: several numbered pictures given to one are a sequence the shell expanded.
ONE_INPUT = frozenset({"colorize", "plan", "preview", "studio"})


def expanded_sequence(args: list[str]) -> str | None:
    """The one-line error for ``vidcolor scans/reel_*.dpx`` left unquoted: the shell handed over every picture
    (two or more numbered pictures of one name in a row), where a command takes one input."""
    if not args or args[0] not in ONE_INPUT:
        return None

    def name_of(arg: str) -> tuple[Path, str, str] | None:  # one sequence's pictures share it; None: not one
        path = Path(arg)
        numbered = numbered_picture(path.name) if path.is_file() else None
        return (path.parent, *numbered) if numbered else None

    for name, run in itertools.groupby(args[1:], key=name_of):
        pictures = list(run)
        if name is not None and len(pictures) >= 2:
            folder, stem, suffix = name
            return (
                f"the shell expanded a pattern into {len(pictures)} pictures ({Path(pictures[0]).name} ... "
                f"{Path(pictures[-1]).name}); quote it, '{folder / (stem + '*' + suffix)}', or give the folder {folder}"
            )
    return None


def _main_help() -> int:
    """The main job's help as ``vidcolor`` (its usage line reads ``vidcolor [OPTIONS] INPUT``)."""
    command = typer.main.get_command(app).commands["colorize"]  # type: ignore[attr-defined]
    try:
        command.main(args=["--help"], prog_name="vidcolor", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def run(argv: list[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (what ``main`` exits with)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in ([], ["--help"], ["-h"]):  # the main job's options, not just a list of commands
        return _main_help()
    args = implicit_colorize(args)
    if (expanded := expanded_sequence(args)) is not None:
        err_console.print(f"[bold red]vidcolor: error:[/bold red] {expanded}", highlight=False, soft_wrap=True)
        return UsageError.exit_code
    debug = "--debug" in args or os.environ.get("VIDCOLOR_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    try:
        # Standalone mode: click reports usage errors itself (exit 2) and exits through SystemExit.
        typer.main.get_command(app).main(args=args, prog_name="vidcolor", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except VidcolorError as exc:
        if debug:  # the traceback, and the same exit code as without --debug
            traceback.print_exc()
        err_console.print(
            f"[bold red]vidcolor: error:[/bold red] {exc.render(flag_of)}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except Exception as exc:  # a bug: one line for users, the traceback with --debug (same exit code)
        if debug:
            traceback.print_exc()
        err_console.print(
            f"vidcolor: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_INTERNAL
    return 0


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at two for this process.

    glibc gives each allocating thread (decoder, x264, OpenCV workers) an arena of its own; with
    many large short-lived arrays they fragment and resident memory creeps up with video length
    (measured on a 3000-frame 640x360 run: +31 MB over 2000 frames by default, +9 MB with two arenas).
    The CLI owns the process, so it sets this; the library leaves process-wide settings alone.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


def leave(code: int) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, without the interpreter's teardown.

    When a command returns, everything it made is written, renamed and closed; what the interpreter does then
    is clear every module and object one by one, MediaPipe's thousands of protobuf descriptors above all:
    0.2-0.3 s at the end of every run (and every worker's), after the output is done. The exit handlers still
    run (logging's flush, temporary folders' removal, multiprocessing's and Ray's shutdown, the side threads'
    stop after the task each is running), and the standard streams are flushed; the daemon threads left are not
    waited for, as the interpreter would not wait for them either.
    """
    try:
        atexit._run_exitfuncs()
    finally:
        exit_now(code)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main() -> None:
    _limit_malloc_arenas()
    # The CLI owns the process, so it decides what these signals do: unwind like Ctrl-C, so that
    # every ``finally`` runs and no temporary file is left behind (exit 128 + the signal's number).
    for signum in INTERRUPTING_SIGNALS:
        if signum != signal.SIGINT:  # Python already raises KeyboardInterrupt for it
            signal.signal(signum, _terminate)
    leave(run())
