"""Bad input: one line naming the file and the problem, a non-zero exit, nothing lost or left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import sha256
from tests.media import make_audio_only, make_video
from vidcolor.cli import run
from vidcolor.errors import InputError


def run_and_capture(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = run([*args, "-q", "--no-cache"])
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line_naming(err: str, path: Path, words: str) -> None:
    assert err.count("\n") == 0, f"error must be one line, got: {err!r}"
    assert str(path) in err
    assert words in err


def assert_nothing_written(folder: Path) -> None:
    assert list(folder.iterdir()) == [], f"left behind: {list(folder.iterdir())}"


def _missing(folder: Path, name: str) -> Path:
    return folder / name


def _text_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("this is not a video or an image\n" * 50)
    return path


def _audio_only(folder: Path, name: str) -> Path:
    return make_audio_only(folder / name)


def _cut(folder: Path, name: str, *, faststart: bool, keep: float) -> Path:
    """A clip cut short: without faststart the index (moov, at the end) is lost with it."""
    full = make_video(folder / f"whole-{name}", frames=40 if faststart else 30, faststart=faststart, tones=())
    path = folder / name
    path.write_bytes(full.read_bytes()[: int(full.stat().st_size * keep)])
    return path


BAD_FILES = {
    # case: (which argument is bad, how to make it, words the error must say)
    "missing input": ("input", lambda d: _missing(d, "nope.mp4"), "no such file"),
    "missing reference": ("style", lambda d: _missing(d, "nope.png"), "no such file"),
    "unreadable reference": ("style", lambda d: _text_file(d, "ref.png"), "not a readable image"),
    "not a video": ("input", lambda d: _text_file(d, "notes.mp4"), "not a readable video"),
    "no video stream": ("input", lambda d: _audio_only(d, "sound.m4a"), "has no video stream"),
    "truncated, index lost": ("input", lambda d: _cut(d, "cut.mp4", faststart=False, keep=0.5), "not a readable video"),
    # moov at the front: it opens, but frames are missing; no partial output appears.
    "truncated, index kept": ("input", lambda d: _cut(d, "cut.mp4", faststart=True, keep=0.6), "truncated"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_is_one_line_naming_it_and_nothing_is_written(
    capsys, case: str, clip: Path, reference: Path, out_dir: Path, tmp_path: Path
) -> None:
    which, make, words = BAD_FILES[case]
    bad = make(tmp_path)
    before = sha256(bad) if bad.exists() else None
    inputs = {"input": clip, "style": reference, which: bad}
    code, err = run_and_capture(
        capsys, str(inputs["input"]), "--style", str(inputs["style"]), "-o", str(out_dir / "o.mp4")
    )
    assert code == 2
    assert_one_line_naming(err, bad, words)
    assert (sha256(bad) if bad.exists() else None) == before  # inputs are only read
    assert_nothing_written(out_dir)


def test_output_folder_missing(capsys, clip: Path, reference: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "o.mp4"
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "-o", str(target))
    assert code == 3
    assert_one_line_naming(err, target, "does not exist")


def test_output_folder_not_writable(capsys, clip: Path, reference: Path) -> None:
    # /proc refuses new files even to root, unlike a chmod'ed folder.
    target = Path("/proc/vidcolor-test.mp4")
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "-o", str(target))
    assert code == 3
    assert_one_line_naming(err, target, "not writable")
    assert not target.exists()


def test_unknown_output_type(capsys, clip: Path, reference: Path, out_dir: Path) -> None:
    target = out_dir / "o.avi"
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "-o", str(target))
    assert code == 3
    assert_one_line_naming(err, target, "unknown output type")
    assert_nothing_written(out_dir)


def test_output_may_not_be_the_input(capsys, clip: Path, reference: Path) -> None:
    before = sha256(clip)
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "-o", str(clip), "-y")
    assert code == 3
    assert "is the input itself" in err
    assert sha256(clip) == before


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--start", "soon", "not a time"),
        ("--start", "", "'': not a time"),  # empty is refused, not taken as the whole clip
        ("--start", "100000000000000000000", "beyond the end of any video"),
        ("--crf", "99", "--crf must be 0..51"),
        ("--codec", "mpeg2video", "--codec must be one of libx264, libx265"),
        ("--device", "tpu", "--device must be"),
        ("--segmenter", "magic", "unknown segmenter"),
        ("--flow-size", "10", "--flow-size must be at least 32 pixels"),
    ],
)
def test_bad_options_are_one_line_usage_errors(capsys, clip, reference, out_dir, option, value, words) -> None:
    code, err = run_and_capture(
        capsys, str(clip), "--style", str(reference), "-o", str(out_dir / "o.mp4"), option, value
    )
    assert code == 2
    assert err.count("\n") == 0 and words in err, err
    assert_nothing_written(out_dir)


def test_unknown_option_is_a_usage_error_not_a_crash(capsys, clip: Path, reference: Path) -> None:
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "--no-such-option")
    assert code == 2
    assert "No such option" in err and "internal error" not in err


def test_help_and_version_exit_zero(capsys) -> None:
    assert run(["--help"]) == 0
    shown = capsys.readouterr().out
    # The main job's options and the other commands, on the first help a user asks for.
    assert "--style" in shown and "--keyframe-interval" in shown and "vidcolor weights" in shown and "cache" in shown
    assert run(["--version"]) == 0
    assert "vidcolor 0.1.0" in capsys.readouterr().out


def test_range_outside_the_video(capsys, clip: Path, reference: Path, out_dir: Path) -> None:
    code, err = run_and_capture(
        capsys, str(clip), "--style", str(reference), "-o", str(out_dir / "o.mp4"), "--start", "500f"
    )
    assert code == 2
    assert "no frame inside the range" in err
    assert_nothing_written(out_dir)


def test_interrupted_run_leaves_nothing_and_resumes_from_cache(clip: Path, reference: Path, out_dir: Path, tmp_path):
    from vidcolor import Settings, colorize_video

    settings = Settings(cache_dir=tmp_path / "cache", keyframe_interval=8)

    def interrupt_at_frame_20(done: int, total: int | None) -> None:
        if done == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        colorize_video(clip, reference, out_dir / "o.mp4", settings, progress=interrupt_at_frame_20)
    assert_nothing_written(out_dir)
    result = colorize_video(clip, reference, out_dir / "o.mp4", settings)
    assert result.frames == 30
    assert result.keyframes_from_cache >= 3  # keyframes solved before the interruption are reused


def test_library_raises_typed_errors(reference: Path, tmp_path: Path) -> None:
    from vidcolor import colorize_video

    with pytest.raises(InputError, match="no such file"):
        colorize_video(tmp_path / "missing.mp4", reference)


def test_the_process_leaves_with_its_code_its_output_said_and_its_exit_handlers_run(tmp_path: Path) -> None:
    """The CLI ends without the interpreter's teardown (0.2-0.3 s a run), but as ``sys.exit`` would have: what
    was printed reaches the pipe, exit handlers (a temporary folder's removal among them) run, the code is kept."""
    import subprocess
    import sys

    probe = (
        "import atexit, tempfile; from vidcolor.cli.main import leave; "
        "folder = tempfile.TemporaryDirectory(); print(folder.name); "
        "atexit.register(lambda: print('handler ran')); print('x' * 100_000); leave(7)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    assert done.returncode == 7, done.stderr
    assert lines[1:] == ["x" * 100_000, "handler ran"] and not Path(lines[0]).exists()


def test_quiet_runs_print_nothing_and_errors_print_one_line(clip: Path, reference: Path, tmp_path: Path) -> None:
    """In a real process: MediaPipe's and libpng's native log lines do not reach the terminal."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "vidcolor", str(clip), "-o", str(tmp_path / "o.mp4"), "-q", "--no-cache"]
    good = subprocess.run([*command, "--style", str(reference)], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and good.stderr == "", good.stderr
    broken = tmp_path / "broken.png"
    broken.write_bytes(reference.read_bytes()[:300])
    bad = subprocess.run([*command, "-y", "--style", str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"vidcolor: error: {broken}: not a readable image (PNG, JPEG, TIFF, WebP, BMP)"
    ]


def test_a_bad_reference_fails_before_any_model_loads(capsys, clip: Path, tmp_path: Path, monkeypatch) -> None:
    from vidcolor.segment import SEGMENTERS

    def no_loading(*args: object) -> None:
        raise AssertionError("a model was loaded before the reference was checked")

    monkeypatch.setattr(SEGMENTERS, "create", no_loading)
    grey = tmp_path / "grey.png"
    import cv2
    import numpy as np

    cv2.imwrite(str(grey), np.full((20, 30, 3), 128, np.uint8))
    code, err = run_and_capture(capsys, str(clip), "--style", str(grey), "-o", str(tmp_path / "o.mp4"))
    assert code == 2 and "has no colour" in err


def test_output_to_a_folder_writes_the_default_name_inside(clip: Path, reference: Path, out_dir: Path) -> None:
    assert run([str(clip), "--style", str(reference), "-o", str(out_dir), "-q", "--no-cache"]) == 0
    assert [p.name for p in out_dir.iterdir()] == ["clip.colorized.mp4"]


def test_cache_files_are_readable_by_others_as_usual(clip: Path, reference: Path, out_dir: Path, tmp_path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert (
            run(
                [
                    str(clip),
                    "--style",
                    str(reference),
                    "-o",
                    str(out_dir / "o.mp4"),
                    "-q",
                    "--cache-dir",
                    str(tmp_path / "c"),
                ]
            )
            == 0
        )
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files), [oct(p.stat().st_mode) for p in files]


@pytest.mark.parametrize("problem", ["a file", "read-only", "disk full"])
def test_a_cache_that_cannot_be_used_is_reported_once_and_the_run_goes_on(
    capsys, clip: Path, reference: Path, out_dir: Path, tmp_path: Path, monkeypatch, problem: str
) -> None:
    import errno
    import os

    import numpy as np

    cache = tmp_path / "cache"
    if problem == "a file":
        cache.write_text("not a folder")
    elif problem == "read-only":
        real_mkdir = Path.mkdir

        def refuse(self: Path, *args: object, **kwargs: object) -> None:
            if str(self).startswith(str(cache)):
                raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), str(self))
            real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "mkdir", refuse)
    else:

        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(cache))

        monkeypatch.setattr(np, "save", full)
    code = run([str(clip), "--style", str(reference), "-o", str(out_dir / "o.mp4"), "--cache-dir", str(cache)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert (out_dir / "o.mp4").exists()
    assert err.count("keyframe cache cannot be used") == 1, err


def test_the_cache_keeps_to_its_size_limit_least_recently_used_first(tmp_path: Path) -> None:
    import os

    from vidcolor.cache import KeyframeCache, entries

    root = tmp_path / "cache"
    for i, name in enumerate(("old", "middle", "new")):
        folder = root / name / "settings"
        folder.mkdir(parents=True)
        (folder / "kf_0.npy").write_bytes(b"x" * 600_000)
        os.utime(folder, (1000 + i, 1000 + i))
    KeyframeCache(root, "current", "settings", limit_bytes=1_300_000)  # room for two of them
    assert sorted(e.folder.parent.name for e in entries(root)) == ["current", "middle", "new"]


def test_cache_info_and_clean(capsys, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "input" / "settings").mkdir(parents=True)
    (root / "input" / "settings" / "kf_0.npy").write_bytes(b"x" * 1024)
    assert run(["cache", "info", "--dir", str(root)]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert run(["cache", "clean", "--dir", str(root)]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert list(root.iterdir()) == []
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("x")
    for command in ("info", "clean"):
        assert run(["cache", command, "--cache-dir", str(not_a_folder)]) == 2
        err = capsys.readouterr().err
        assert "cache-file" in err and "not a folder" in err and err.count("\n") == 1, err
    assert not_a_folder.read_text() == "x"


def test_weights_commands_say_every_name_and_a_typo_is_a_usage_error(capsys, tmp_path: Path) -> None:
    from vidcolor.weights import KNOWN

    assert run(["weights", "fetch", "vgg91", "--weights-dir", str(tmp_path)]) == 2
    assert "unknown weights 'vgg91'; known: " + ", ".join(KNOWN) in capsys.readouterr().err
    assert run(["weights", "fetch", "--help"]) == 0
    flat = "".join(capsys.readouterr().out.replace("│", "").split())  # the help as rich wraps it, unwrapped
    assert all(name in flat for name in KNOWN), flat
    assert run(["batch", "--help"]) == 0
    assert "vidcolor[ray]" in capsys.readouterr().out.replace("\n", "").replace(" ", "")


def test_data_folders_follow_the_environment_then_the_user(monkeypatch, tmp_path: Path) -> None:
    from vidcolor import places

    monkeypatch.setenv("VIDCOLOR_CACHE", str(tmp_path / "env-cache"))
    assert places.cache_place() == places.Place(tmp_path / "env-cache", "$VIDCOLOR_CACHE")
    assert places.cache_place(tmp_path / "given").why == "given"
    monkeypatch.delenv("VIDCOLOR_WEIGHTS")
    monkeypatch.setattr(places, "checkout_root", lambda: None)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert places.weights_place().path == tmp_path / "share" / "vidcolor" / "weights"


@pytest.mark.parametrize(
    ("range_args", "code"),
    [(["--end", "35f"], 2), (["--start", "0.2"], 2), (["--start", "4f", "--duration", "1s"], 2), (["--end", "10f"], 0)],
)
def test_a_range_that_needs_frames_past_the_readable_end_is_an_error(
    capsys, reference: Path, out_dir: Path, tmp_path: Path, range_args: list[str], code: int
) -> None:
    """A truncated file (index kept, about 20 of 40 frames readable): a range inside the readable part is fine."""
    full = make_video(tmp_path / "whole.mp4", frames=40, faststart=True, tones=())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    got, err = run_and_capture(capsys, str(cut), "--style", str(reference), "-o", str(out_dir / "o.mp4"), *range_args)
    assert got == code, err
    if code:
        assert_one_line_naming(err, cut, "truncated")
        assert_nothing_written(out_dir)


def test_a_full_disk_names_the_output_with_exit_3(capsys, clip: Path, reference: Path, out_dir: Path, monkeypatch):
    import errno
    import os

    from vidcolor.errors import EncodeError
    from vidcolor.frames.encode import ColorVideoWriter

    def full(self: ColorVideoWriter, *args: object) -> None:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            raise EncodeError(f"{self.path}: encoding or muxing failed ({exc})") from exc

    monkeypatch.setattr(ColorVideoWriter, "write", full)
    target = out_dir / "o.mp4"
    code, err = run_and_capture(capsys, str(clip), "--style", str(reference), "-o", str(target))
    assert code == 3
    assert_one_line_naming(err, target, "no space left")
    assert ".partial" not in err
    assert_nothing_written(out_dir)


def test_options_may_come_before_the_input_and_an_input_may_start_with_a_dash(
    clip: Path, reference: Path, tmp_path: Path
) -> None:
    dashed = tmp_path / "-dash.mp4"
    dashed.write_bytes(clip.read_bytes())
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    fast = ["-q", "--no-cache", "--segmenter", "whole"]
    assert run(["--style", str(reference), "-o", str(first), *fast, str(clip)]) == 0
    assert run(["--", str(dashed), "--style", str(reference), "-o", str(second), *fast]) == 0
    assert first.is_file() and second.is_file()


def test_debug_shows_the_traceback_and_keeps_the_exit_code(capsys, clip: Path, tmp_path: Path) -> None:
    assert run([str(clip), "--style", str(tmp_path / "missing.png"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "missing.png: no such file" in err


@pytest.mark.parametrize("pin", ["999", "500f", "-1"])
def test_a_reference_pinned_outside_the_video_is_an_error(capsys, clip: Path, reference: Path, out_dir: Path, pin):
    code, err = run_and_capture(capsys, str(clip), "--style", f"{reference}@{pin}", "-o", str(out_dir / "o.mp4"))
    assert code == 2
    assert "pinned outside the video (frames 0..29" in err and err.count("\n") == 0, err
    assert_nothing_written(out_dir)


def test_a_missing_reference_is_said_before_an_existing_output(capsys, clip: Path, tmp_path: Path) -> None:
    existing = tmp_path / "o.mp4"
    existing.write_bytes(b"keep me")
    for flag in ("--style", "--hints"):
        code, err = run_and_capture(capsys, str(clip), flag, str(tmp_path / "missing.png"), "-o", str(existing))
        assert code == 2 and "missing.png: no such file" in err, err
    assert existing.read_bytes() == b"keep me"


def test_ranges_in_seconds_on_an_mpeg_ts_that_starts_at_100_s(reference: Path, tmp_path: Path) -> None:
    from tests.media import luma_planes, make_video

    ts = make_video(tmp_path / "capture.ts", frames=75, start_s=100.0)
    out, preview = tmp_path / "range.mp4", tmp_path / "p.mp4"
    fast = ["--style", str(reference), "-q", "--no-cache", "--segmenter", "whole"]
    assert run([str(ts), *fast, "--start", "1", "--duration", "1", "-o", str(out)]) == 0
    assert len(luma_planes(out)) == 25
    assert run(["preview", str(ts), *fast, "--at", "1", "--duration", "1", "-o", str(preview)]) == 0
    assert len(luma_planes(preview)) == 25
