"""A real `vidcolor` process killed mid-run: nothing left behind, and a re-run finishes the job exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.media import luma_planes, make_video, moving_pattern

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough (about 4 s of work here) to be caught mid-run."""
    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", width=320, height=176, frames=240)


def _command(clip: Path, reference: Path, out: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "vidcolor", str(clip), "--style", str(reference), "-o", str(out), "-q",
            "--cache-dir", str(cache), "--segmenter", "whole", "--keyframe-interval", "12",
            "--crf", "0"]  # fmt: skip  # lossless: x264's lossy rate control is not bit-exact from run to run


def _start_and_signal(command: list[str], out: Path, signum: int) -> subprocess.CompletedProcess[str]:
    """Start ``command``, wait until it is writing its output, send ``signum``, wait for it to end."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(f".{out.stem}.*.partial*")):
        assert proc.poll() is None, f"ended before it could be signalled: {proc.communicate()}"
        assert time.monotonic() < deadline, "no partial output appeared"
        time.sleep(0.05)
    time.sleep(0.3)  # some frames into the output
    os.kill(proc.pid, signum)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_terminate_and_hangup_leave_nothing_behind(
    signum: int, code: int, long_clip: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    done = _start_and_signal(_command(long_clip, reference, out, tmp_path / "cache"), out, signum)
    assert done.returncode == code, done.stderr
    assert "interrupted" in done.stderr and str(out) in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_killed_run_is_finished_by_a_rerun_exactly(long_clip: Path, reference: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "out.mp4", tmp_path / "cache"
    killed = _start_and_signal(_command(long_clip, reference, out, cache), out, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert list(tmp_path.glob(".out.*.partial.mp4")), "SIGKILL cannot clean up: the partial file stays"
    subprocess.run(_command(long_clip, reference, out, cache), check=True, capture_output=True)
    assert not list(tmp_path.glob(".out.*.partial.mp4")), "the re-run removes the dead run's partial file"
    whole = tmp_path / "whole.mp4"
    subprocess.run(_command(long_clip, reference, whole, tmp_path / "fresh-cache"), check=True, capture_output=True)
    for a, b in zip(luma_planes(out), luma_planes(whole), strict=True):
        assert (a == b).all()
    import av

    with av.open(str(out)) as x, av.open(str(whole)) as y:
        for fa, fb in zip(x.decode(video=0), y.decode(video=0), strict=True):
            assert (fa.to_ndarray() == fb.to_ndarray()).all(), "chroma differs from an uninterrupted run"


def test_a_killed_sequence_output_is_finished_by_a_rerun_with_the_same_files(
    long_clip: Path, reference: Path, tmp_path: Path
) -> None:
    """Issue 20: pictures go into a hidden folder renamed as a whole; SIGKILL leaves that folder (nothing can
    clean up), the re-run removes it and ends with exactly the files of an uninterrupted run."""
    folder, cache = tmp_path / "frames", tmp_path / "cache"
    command = _command(long_clip, reference, folder / "f_%04d.png", cache)[:-2]  # pictures: no --crf
    killed = _start_and_signal(command, folder, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL and not folder.exists()  # no half sequence where it is expected
    assert list(tmp_path.glob(".frames.*.partial"))
    subprocess.run(command, check=True, capture_output=True)
    assert not list(tmp_path.glob(".frames.*.partial")), "the re-run removes the dead run's hidden folder"
    whole = tmp_path / "whole"
    subprocess.run(_command(long_clip, reference, whole / "f_%04d.png", tmp_path / "fresh")[:-2], check=True,
                   capture_output=True)  # fmt: skip
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in whole.iterdir()) and len(names) == 240
    assert all((folder / n).read_bytes() == (whole / n).read_bytes() for n in names)


def _six_shots(index: int, width: int, height: int) -> np.ndarray:
    """Six shots of 40 frames: the test pattern, each shot its own brightness and speed."""
    shot, frame = divmod(index, 40)
    luma = moving_pattern(frame * (shot + 1), width, height).astype(np.int16) + (shot % 3) * 25 - 25
    return np.clip(luma, 16, 235).astype(np.uint8)


def test_a_killed_shot_parallel_render_resumes_from_its_segments_and_equals_the_whole(
    reference: Path, tmp_path: Path
) -> None:
    """Issue 21: the whole process group (driver and workers) killed after a segment is finished, as a crash
    kills it; the same command renders only what is left and gives the uninterrupted render, frame for frame."""
    import json

    clip = make_video(tmp_path / "six.mp4", width=160, height=96, frames=240, luma_of=_six_shots)
    out = tmp_path / "out.mp4"
    command = [*_command(clip, reference, out, tmp_path / "cache"), "--jobs", "2"]
    manifest = tmp_path / ".out.mp4.segments" / "segments.json"
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120

    def finished() -> int:
        try:
            return sum(s["done"] for s in json.loads(manifest.read_text())["segments"])
        except (OSError, ValueError, KeyError):
            return 0

    while finished() == 0:
        assert proc.poll() is None, f"ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "no segment was finished"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    kept = finished()
    total = len(json.loads(manifest.read_text())["segments"])
    assert not out.exists() and 0 < kept < total, (kept, total)
    again = subprocess.run([*(a for a in command if a != "-q"), "-v"], check=True, capture_output=True, text=True)
    assert f"{kept} of {total} segments kept from an interrupted run" in again.stderr
    whole = tmp_path / "whole.mp4"
    subprocess.run(
        [*_command(clip, reference, whole, tmp_path / "fresh"), "--jobs", "2"], check=True, capture_output=True
    )
    import av

    with av.open(str(out)) as x, av.open(str(whole)) as y:
        for fa, fb in zip(x.decode(video=0), y.decode(video=0), strict=True):
            assert (fa.to_ndarray() == fb.to_ndarray()).all(), "differs from an uninterrupted render"
