"""``vidcolor cache info|clean``: the keyframe cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidcolor.cli.common import app

cache_app = typer.Typer(help="Show or empty the keyframe cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        "--dir",
        help="Cache folder (default $VIDCOLOR_CACHE, a checkout's cache/, else ~/.cache/vidcolor), as for colorize.",
    ),
]


@cache_app.command("info")
def cache_info(folder: CacheDir = None) -> None:
    """Where the keyframe cache is, how many entries it holds and how much disk they take."""
    from vidcolor.cache import entries
    from vidcolor.places import cache_place

    place = cache_place(folder)
    _check_folder(place.path, place.why)
    found = entries(place.path) if place.path.is_dir() else []
    size = sum(e.size for e in found)
    typer.echo(f"{place.path} ({place.why}): {len(found)} entries, {size / 2**20:.1f} MB")


@cache_app.command("clean")
def cache_clean(folder: CacheDir = None) -> None:
    """Remove every entry of the keyframe cache (it only saves time; runs rebuild it)."""
    from vidcolor.cache import evict
    from vidcolor.places import cache_place

    place = cache_place(folder)
    _check_folder(place.path, place.why)
    removed = evict(place.path, 0) if place.path.is_dir() else []
    typer.echo(f"{place.path}: removed {len(removed)} entries, {sum(e.size for e in removed) / 2**20:.1f} MB")


def _check_folder(path: Path, why: str) -> None:
    """A cache path that exists but is no folder is said as such (runs go on without it; these cannot)."""
    from vidcolor.errors import UsageError

    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} ({why}): not a folder; the cache needs a folder there (runs go on without one)")
