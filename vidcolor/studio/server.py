"""Serving the studio: uvicorn on a socket bound here (port 0 picks a free one), stopped cleanly.

Ctrl-C or SIGTERM stops the server within a few seconds: the running job is cancelled first (its
output discarded, never renamed into place), the event streams end, then uvicorn shuts down.
"""

from __future__ import annotations

import logging
import os
import socket
import webbrowser
from collections.abc import Callable
from types import FrameType

import uvicorn

from vidcolor.errors import UsageError
from vidcolor.studio.access import new_token
from vidcolor.studio.app import create_app
from vidcolor.studio.session import Studio

log = logging.getLogger("vidcolor")
SHUTDOWN_GRACE_S = 2  # open event streams and downloads get this long before they are cut


class _StudioServer(uvicorn.Server):
    """uvicorn's server, telling the studio to stop the moment a signal asks the server to."""

    def __init__(self, config: uvicorn.Config, studio: Studio) -> None:
        super().__init__(config)
        self.studio = studio

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.studio.closing.set()
        self.studio.jobs.cancel()
        super().handle_exit(sig, frame)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a port in use or a host not here is a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"{host}:{port}: cannot listen there ({exc.strerror or exc})") from exc
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(
    studio: Studio,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    on_ready: Callable[[str], None] = print,
    token: str | None = None,
) -> None:
    """Serve ``studio`` until Ctrl-C/SIGTERM; ``on_ready`` gets the page's address (with its token)."""
    token = token or new_token()
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/?token={token}"
    config = uvicorn.Config(
        create_app(studio, token),
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        lifespan="off",
    )
    server = _StudioServer(config, studio)
    on_ready(url)
    if open_browser and _has_display():
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        studio.close()
        sock.close()


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.name == "nt"
