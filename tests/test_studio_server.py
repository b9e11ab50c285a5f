"""``vidcolor studio`` as a real process: it binds 127.0.0.1, demands its token, and stops cleanly on a signal."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.media import make_video, reference_of, three_shots
from tests.studio_process import FAST_FLAGS, StudioProcess
from vidcolor.errors import EXIT_SIGNAL_BASE


@pytest.fixture()
def long_film(tmp_path: Path) -> Path:
    """Long enough (360 frames) that a render is still running when the signal comes."""
    reference_of(three_shots(4, 96, 64), 0.12, -0.05, tmp_path / "one.png")
    return make_video(
        tmp_path / "long.mp4", width=96, height=64, frames=360, luma_of=lambda i, w, h: three_shots(i % 36, w, h)
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_render_stops_the_server_in_seconds_leaving_nothing(
    long_film: Path, tmp_path: Path, sig: int
) -> None:
    studio = StudioProcess([str(long_film), "--style", str(tmp_path / "one.png"), *FAST_FLAGS], tmp_path / "cache")
    assert studio.url.startswith("http://127.0.0.1:")
    try:
        assert httpx.get(studio.base + "/api/plan").status_code == 401
        headers = {"X-Vidcolor-Token": studio.token}
        plan = httpx.get(studio.base + "/api/plan", headers=headers).json()
        assert plan["input"]["frames"] == 360
        assert httpx.post(studio.base + "/api/render", json={}, headers=headers).status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = httpx.get(studio.base + "/api/studio", headers=headers).json()["job"]
            if job["frames"] > 0:
                break
            time.sleep(0.1)
        assert job["state"] == "running" and job["frames"] < 360, job
    except BaseException:
        studio.process.kill()
        raise
    code, seconds = studio.stop(sig)
    assert code == EXIT_SIGNAL_BASE + sig, "".join(studio.errors)
    assert seconds < 10
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["cache", "long.mp4", "long.plan.toml", "one.png"], left  # no output, no partial file
    assert not [p for p in (tmp_path / "cache").rglob("*partial*")]


def test_a_port_in_use_is_one_line_and_exit_2(long_film: Path, tmp_path: Path) -> None:
    import socket

    from vidcolor.cli import run

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        code = run(["studio", str(long_film), "--no-browser", "--port", str(port), *FAST_FLAGS, "-q"])
    finally:
        taken.close()
    assert code == 2
