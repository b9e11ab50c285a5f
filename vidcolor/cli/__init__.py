"""The command-line fence around the library (typer + rich). The library never imports this.

One module per command (``*_command.py``), what they share in ``common``, the process in ``main``.
"""

from vidcolor.cli.common import app
from vidcolor.cli.main import main, run

__all__ = ["app", "main", "run"]
