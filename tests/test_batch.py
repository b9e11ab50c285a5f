"""Batch restoration: a folder with a bad file, resuming, killing mid-way, maps and parallel jobs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.media import decoded_frames, luma_planes, make_reference, make_video
from vidcolor.batch import Manifest, ReferenceMap, collect_items
from vidcolor.batch.manifest import MANIFEST_NAME
from vidcolor.cli import run
from vidcolor.errors import EXIT_PARTIAL


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    """Three clips (one in a subfolder), one photograph, and one clip cut short: not a video."""
    folder = tmp_path / "archive"
    (folder / "reel2").mkdir(parents=True)
    make_video(folder / "a.mp4", frames=12)
    make_video(folder / "reel2" / "b.mkv", frames=12)
    make_video(folder / "c.mov", frames=12)
    make_reference(folder / "scan.png")
    (folder / "reel2" / "broken.mp4").write_bytes((folder / "a.mp4").read_bytes()[:2000])
    return folder


def batch(*args: str | Path) -> int:
    return run(["batch", *map(str, args), "-q", "--segmenter", "whole", "--no-cache"])


def test_a_folder_with_a_bad_file_colours_the_rest_records_the_error_and_says_partial(
    archive: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert batch(archive, "--style", reference, "-o", out) == EXIT_PARTIAL
    for name in ("a.mp4", "reel2/b.mkv", "c.mov"):
        assert len(luma_planes(out / name)) == 12, name
    assert (out / "scan.png").is_file()
    assert not (out / "reel2" / "broken.mp4").exists()
    rows = {Path(r.input).name: r for r in Manifest.existing(out).rows()}
    assert {n: r.status for n, r in rows.items()} == {
        "a.mp4": "done", "b.mkv": "done", "c.mov": "done", "scan.png": "done", "broken.mp4": "failed",
    }  # fmt: skip
    assert "broken.mp4: not a readable video" in (rows["broken.mp4"].error or "")
    assert rows["a.mp4"].frames == 12 and rows["a.mp4"].content and rows["a.mp4"].settings

    # Again: nothing done is redone (only the failed item is tried again; no output is rewritten).
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".mp4", ".mkv", ".mov", ".png")}
    assert batch(archive, "--style", reference, "-o", out) == EXIT_PARTIAL
    assert before == {p: p.stat().st_mtime_ns for p in before}
    assert {Path(r.input).name for r in Manifest.existing(out).rows() if r.status == "failed"} == {"broken.mp4"}

    capsys.readouterr()
    assert run(["batch", "--status", str(out)]) == 0
    table = capsys.readouterr().out
    assert "failed" in table and "done" in table and "5 items" in table


def test_changed_settings_or_content_redo_an_item(archive: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    clip = archive / "a.mp4"
    assert batch(clip, "--style", reference, "-o", out) == 0
    first = (out / "a.mp4").stat().st_mtime_ns
    assert batch(clip, "--style", reference, "-o", out, "--keyframe-interval", "6") == 0
    second = (out / "a.mp4").stat().st_mtime_ns
    assert second != first
    make_video(clip, frames=14)
    assert batch(clip, "--style", reference, "-o", out, "--keyframe-interval", "6") == 0
    assert len(luma_planes(out / "a.mp4")) == 14


def test_a_killed_batch_is_completed_by_running_it_again(reference: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        make_video(folder / f"clip{i}.mp4", width=320, height=176, frames=60)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "vidcolor", "batch", str(folder), "--style", str(reference), "-o", str(out),
               "-q", "--segmenter", "whole", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _done(out):
        assert proc.poll() is None, f"ended before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline, "no item finished"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _done(out) < 4, "the batch finished before it was killed: make the clips longer"
    assert run(["batch", str(folder), "--style", str(reference), "-o", str(out), "-q", "--segmenter", "whole",
                "--cache-dir", str(tmp_path / "cache")]) == 0  # fmt: skip
    assert _done(out) == 4
    for i in range(4):
        assert len(luma_planes(out / f"clip{i}.mp4")) == 60
    assert not list(out.glob(".*partial*")), "the killed run's hidden file is removed"


def _done(out: Path) -> int:
    if not (out / MANIFEST_NAME).exists():
        return 0
    try:
        return sum(r.status == "done" for r in Manifest.existing(out).rows())
    except Exception:  # the table may not exist yet
        return 0


def test_two_jobs_write_what_one_job_writes(archive: Path, reference: Path, tmp_path: Path) -> None:
    (archive / "reel2" / "broken.mp4").unlink()
    # Lossless, so the comparison sees the colours, not x264's rate control (not bit-exact across runs).
    assert batch(archive, "--style", reference, "-o", tmp_path / "one", "--crf", "0") == 0
    assert batch(archive, "--style", reference, "-o", tmp_path / "two", "--crf", "0", "--jobs", "2") == 0
    for name in ("a.mp4", "reel2/b.mkv", "c.mov"):
        one, two = decoded_frames(tmp_path / "one" / name), decoded_frames(tmp_path / "two" / name)
        assert [bytes(p) for f in one for p in f.planes] == [bytes(p) for f in two for p in f.planes], name


def test_a_map_picks_references_by_pattern_and_a_list_file_names_inputs(archive: Path, tmp_path: Path) -> None:
    blue, red = make_reference(tmp_path / "blue.png"), make_reference(tmp_path / "red.png", width=32, height=32)
    (tmp_path / "refs.toml").write_text('"reel2/*" = "red.png"\n"*.mov" = ["blue.png", "red.png@0.2"]\n')
    (tmp_path / "refs.csv").write_text("pattern,reference\nreel2/*,red.png\n")
    (tmp_path / "list.txt").write_text(f"# two of them\n{archive / 'a.mp4'}\n\narchive/c.mov\n")
    toml = ReferenceMap.read(tmp_path / "refs.toml")
    items = {i.input.name: i for i in collect_items([str(archive)], tmp_path / "out", [str(blue)], toml)}
    assert items["b.mkv"].references == (str(red),)
    assert items["c.mov"].references == (str(blue), f"{red}@0.2")
    assert items["a.mp4"].references == (str(blue),)  # no pattern: --style
    assert items["b.mkv"].output == tmp_path / "out" / "reel2" / "b.mkv"
    csv_items = collect_items([str(archive)], tmp_path / "out", [str(blue)], ReferenceMap.read(tmp_path / "refs.csv"))
    assert [i.input.name for i in csv_items if i.references == (str(red),)] == ["b.mkv", "broken.mp4"]
    listed = collect_items([f"@{tmp_path / 'list.txt'}"], tmp_path / "out", [str(blue)])
    assert [i.input.name for i in listed] == ["a.mp4", "c.mov"]
    # Neither --style nor --map: the automatic network colours every item (the batch's automatic mode).
    assert {i.references for i in collect_items([str(archive)], tmp_path / "out", [])} == {()}
    # A map that misses an item, and no --style: that item fails (it is said why), the others run.
    missed = collect_items([str(archive)], tmp_path / "out", [], ReferenceMap([("*.mov", (str(red),))]))
    assert {i.input.name: bool(i.problem) for i in missed} == {
        "a.mp4": True, "b.mkv": True, "broken.mp4": True, "c.mov": False, "scan.png": True
    }  # fmt: skip
    assert "no reference for it" in (missed[0].problem or "")


def test_the_manifest_is_sqlite_in_wal_mode(archive: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert batch(archive / "a.mp4", "--style", reference, "-o", out) == 0
    with sqlite3.connect(out / MANIFEST_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_same_batch_through_a_local_ray_instance(archive: Path, reference: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra")
    out = tmp_path / "out"
    assert batch(archive, "--style", reference, "-o", out, "--executor", "ray", "--jobs", "2") == EXIT_PARTIAL
    rows = {Path(r.input).name: r.status for r in Manifest.existing(out).rows()}
    assert rows == {"a.mp4": "done", "b.mkv": "done", "c.mov": "done", "scan.png": "done", "broken.mp4": "failed"}
    for name in ("a.mp4", "reel2/b.mkv", "c.mov"):
        assert len(luma_planes(out / name)) == 12, name
    assert (
        batch(archive, "--style", reference, "-o", out, "--executor", "ray") == EXIT_PARTIAL
    )  # only the bad one again


def test_a_changed_image_in_a_reference_folder_redoes_the_items(archive: Path, tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    make_reference(refs / "a.png")
    out = tmp_path / "out"
    assert batch(archive / "a.mp4", "--style", refs, "-o", out) == 0
    first = (out / "a.mp4").stat().st_mtime_ns
    assert batch(archive / "a.mp4", "--style", refs, "-o", out) == 0
    assert (out / "a.mp4").stat().st_mtime_ns == first  # unchanged folder: nothing redone
    make_reference(refs / "a.png", width=32, height=32)
    assert batch(archive / "a.mp4", "--style", refs, "-o", out) == 0
    assert (out / "a.mp4").stat().st_mtime_ns != first


def test_an_output_folder_inside_the_input_folder_is_never_an_input(reference: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "a.mp4", frames=8)
    for _ in range(2):  # twice: the second run finds the first one's outputs inside the input folder
        assert batch(folder, "--style", reference, "-o", folder / "res") == 0
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.mp4")) == ["a.mp4", "res/a.mp4"]


def test_a_missing_file_of_a_list_fails_its_item_and_the_rest_are_coloured(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # the status table's paths unfolded
    make_video(tmp_path / "a.mp4", frames=8)
    (tmp_path / "list.txt").write_text("a.mp4\ngone.mp4\n")
    out = tmp_path / "out"
    assert batch(f"@{tmp_path / 'list.txt'}", "--style", reference, "-o", out) == EXIT_PARTIAL
    assert "gone.mp4: no such file (listed in" in capsys.readouterr().err
    rows = {Path(r.input).name: r for r in Manifest.existing(out).rows()}
    assert rows["a.mp4"].status == "done" and rows["gone.mp4"].status == "failed"
    assert (out / "a.mp4").is_file()
    assert run(["batch", "--status", str(out)]) == 0
    assert str(out / "a.mp4") in capsys.readouterr().out  # the status shows each item's output


def _slow_batch(folder: Path, reference: Path, out: Path, cache: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "vidcolor", "batch", str(folder), "--style", str(reference), "-o", str(out),
               "--segmenter", "whole", "--cache-dir", str(cache)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture()
def reels(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        make_video(folder / f"clip{i}.mp4", width=320, height=176, frames=90)
    return folder


def test_a_second_batch_on_the_same_folder_is_refused_while_the_first_runs(
    reels: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    first = _slow_batch(reels, reference, out, tmp_path / "cache")
    try:
        deadline = time.monotonic() + 60
        while not (out / ".vidcolor-batch.lock").exists() or not (out / MANIFEST_NAME).exists():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert batch(reels, "--style", reference, "-o", out) == 2
        err = capsys.readouterr().err
        assert f"{out}: another batch is running on this folder (pid {first.pid})" in err and err.count("\n") == 1
    finally:
        first.kill()
        first.communicate(timeout=60)
    assert batch(reels, "--style", reference, "-o", out) == 0  # the killed batch held no lock any more


def test_ctrl_c_during_a_batch_says_what_was_kept(reels: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _slow_batch(reels, reference, out, tmp_path / "cache")
    deadline = time.monotonic() + 120
    while not _done(out):
        assert proc.poll() is None, f"ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "no item finished"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert _done(out) < 3, "the batch finished before it was interrupted: make the clips longer"
    line = err.decode().strip().splitlines()[-1]
    assert "interrupted (SIGINT); 1 item finished and kept in" in line and "nothing was written" not in line, line
    assert "in progress stopped (run the same batch again to finish them)" in line


def test_the_status_says_what_colours_each_item_and_masters_take_their_codecs_type(
    archive: Path, reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    (archive / "reel2" / "broken.mp4").unlink()
    out = tmp_path / "out"
    assert batch(archive, "--style", reference, "-o", out, "--codec", "ffv1") == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name[0] != ".") == [
        "a.mkv", "c.mkv", "reel2/b.mkv", "scan.png", "vidcolor-batch.sqlite",
    ]  # fmt: skip
    monkeypatch.setenv("COLUMNS", "500")
    capsys.readouterr()
    assert run(["batch", "--status", str(out)]) == 0
    table = capsys.readouterr().out
    assert "colour" in table and table.count(reference.name) == 4  # each item's reference


def test_an_older_manifest_gains_the_new_column(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with sqlite3.connect(out / MANIFEST_NAME) as db:  # the first manifests' layout
        db.execute(
            "CREATE TABLE items (input TEXT PRIMARY KEY, output TEXT NOT NULL, size INTEGER, content TEXT, "
            "settings TEXT, status TEXT NOT NULL, started REAL, finished REAL, seconds REAL, frames INTEGER, error TEXT)"
        )
        db.execute("INSERT INTO items (input, output, status) VALUES ('a.mp4', 'o/a.mp4', 'done')")
    rows = Manifest.create(out).rows()
    assert rows[0].status == "done" and rows[0].colour is None
