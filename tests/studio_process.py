"""A real ``vidcolor studio`` process for the server and browser tests: started, its address read, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

FAST_FLAGS = ["--segmenter", "whole", "--no-cache", "--crf", "0"]


class StudioProcess:
    """``python -m vidcolor studio ARGS --no-browser --port 0``; :attr:`url` is the address it printed."""

    def __init__(self, args: list[str], cache: Path) -> None:
        env = {**os.environ, "VIDCOLOR_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vidcolor", "studio", *args, "--no-browser", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.errors: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = self._address()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line)

    def _address(self, timeout: float = 120) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("vidcolor studio: "):
                return line.split(": ", 1)[1].strip()
            if not line and self.process.poll() is not None:
                break
        self.process.kill()
        raise AssertionError(f"the studio printed no address; stderr: {''.join(self.errors)}")

    @property
    def token(self) -> str:
        return self.url.rsplit("token=", 1)[1]

    @property
    def base(self) -> str:
        return self.url.split("/?", 1)[0]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, float]:
        """Send ``sig``; the exit code and how long the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, time.monotonic() - started
