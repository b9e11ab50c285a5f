"""The command-line fence around the library (typer + rich). The library never imports this."""

from vidcolor.cli.app import app, main, run

__all__ = ["app", "main", "run"]
