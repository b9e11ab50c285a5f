"""Image sequences out (issue 20): 16-bit RGB pictures, one per frame, a folder written as a whole."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.media import luma_planes, make_video
from vidcolor.cli import run
from vidcolor.colour import YCbCrSpec, rgb_to_ycbcr

FAST = ["--segmenter", "whole", "--no-cache", "-q"]


def _luma_of_pictures(folder: Path, pattern: str, count: int, bit_depth: int) -> list[np.ndarray]:
    spec = YCbCrSpec("bt601", bit_depth, False)
    planes = []
    for k in range(count):
        path = folder / (pattern % k)
        if path.suffix == ".exr":  # 32-bit float RGB (OpenCV reads EXR only when told to at import)
            with av.open(str(path)) as container:
                picture = next(container.decode(video=0))
                assert picture.format.name == "gbrpf32le"
                rgb = picture.to_ndarray()
        else:
            picture = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            assert picture is not None and picture.dtype == np.uint16 and picture.ndim == 3
            rgb = cv2.cvtColor(picture, cv2.COLOR_BGR2RGB).astype(np.float32) / 65535
        luma, _ = rgb_to_ycbcr(rgb, "bt601")
        planes.append(spec.unit_to_luma(luma))
    return planes


@pytest.mark.parametrize(
    ("suffix", "pix_fmt", "depth"), [(".tiff", "yuv420p", 8), (".png", "yuv420p10le", 10), (".exr", "yuv420p10le", 10)]
)
def test_a_sequence_of_16_bit_pictures_keeps_the_luma(
    reference: Path, tmp_path: Path, capsys, suffix: str, pix_fmt: str, depth: int
) -> None:
    clip = make_video(tmp_path / "in.mkv", width=96, height=64, frames=10, pix_fmt=pix_fmt)
    folder = tmp_path / "frames"
    assert run([str(clip), "--style", str(reference), "-o", str(folder / f"f_%04d{suffix}"), *FAST]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"f_{k:04d}{suffix}" for k in range(10)]
    got = _luma_of_pictures(folder, f"f_%04d{suffix}", 10, depth)
    want = [np.asarray(p, np.uint16) for p in luma_planes(clip)] if depth == 10 else luma_planes(clip)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    assert "its audio is not written to the image sequence" in capsys.readouterr().err  # said, not dropped


def test_a_sequence_folder_is_replaced_only_as_a_whole_and_never_left_half_written(
    reference: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    clip = make_video(tmp_path / "in.mp4", width=64, height=48, frames=8)
    folder = tmp_path / "frames"
    pattern = str(folder / "f_%03d.png")
    assert run([str(clip), "--style", str(reference), "-o", pattern, *FAST]) == 0
    assert run([str(clip), "--style", str(reference), "-o", pattern, *FAST]) == 3  # exists: -y to replace
    assert "frames: already exists" in capsys.readouterr().err

    import vidcolor.frames.sequence as sequence

    real_write = sequence.SequenceWriter.write

    def failing(self, frame, chroma):  # type: ignore[no-untyped-def]
        if self.frames_written == 3:
            raise OSError(28, "No space left on device")
        real_write(self, frame, chroma)

    monkeypatch.setattr(sequence.SequenceWriter, "write", failing)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert run([str(clip), "--style", str(reference), "-o", pattern, "-y", *FAST]) == 3
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # the old sequence, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no hidden folder left
    monkeypatch.setattr(sequence.SequenceWriter, "write", real_write)
    stale = tmp_path / ".frames.999999999.partial"  # a killed run's (no such process)
    stale.mkdir()
    (stale / "f_000.png").write_bytes(b"half")
    assert run([str(clip), "--style", str(reference), "-o", pattern, "-y", *FAST]) == 0
    assert not stale.exists() and len(list(folder.iterdir())) == 8


def test_bad_sequence_outputs_are_one_line(reference: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    clip = make_video(tmp_path / "in.mp4", width=64, height=48, frames=4)
    monkeypatch.chdir(tmp_path)
    cases = [
        (["-o", "f_%04d.png"], 3, "a sequence is written as a whole into its own folder"),
        (["-o", str(tmp_path / "s" / "f_%04d.png"), "--codec", "prores"], 2, "an image sequence has no video encoder"),
        (["-o", str(tmp_path / "notes.txt" / "f_%04d.png")], 3, "is a file, not a folder"),
        (["-o", str(tmp_path / "f_%04d.png")], 3, "holds the input; choose another folder"),
        (["-o", str(tmp_path / "s" / "frame.tiff")], 3, "an image sequence's name needs one %d for the frame number"),
        (["-o", str(tmp_path / "s" / "f_%d_%d.png")], 3, "(2 in f_%d_%d.png)"),
    ]
    (tmp_path / "notes.txt").write_text("x")
    for args, code, said in cases:
        assert run([str(clip), "--style", str(reference), *args, *FAST]) == code, args
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "notes.txt"]
