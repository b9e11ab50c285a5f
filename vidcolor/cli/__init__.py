"""The command-line fence around the library (typer + rich). The library never imports this."""

from vidcolor.cli import plan_command as _plan_command  # registers 'vidcolor plan' on the app
from vidcolor.cli.app import app, main, run

__all__ = ["app", "main", "run"]
del _plan_command
