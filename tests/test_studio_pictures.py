"""The studio's frames as pictures: a reader that decodes forward where it can, thumbnails made in one pass."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tests.media import luma_planes, make_video
from vidcolor.colour import YCbCrSpec
from vidcolor.frames.probe import probe
from vidcolor.studio.pictures import FrameReader, ThumbnailPass


def test_the_reader_gives_every_frame_exactly_and_seeks_only_to_go_back_or_far(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", frames=40)
    truth = [YCbCrSpec("bt601", 8, False).luma_to_unit(p) for p in luma_planes(clip)]
    reader = FrameReader(probe(clip), YCbCrSpec("bt601", 8, False))
    for n in (0, 1, 2, 7, 30):  # forward: one decoder
        assert np.array_equal(reader.luma(n), truth[n])
    assert reader.seeks == 1
    for n in (5, 39, 3):  # back, on, back
        assert np.array_equal(reader.luma(n), truth[n])
    assert reader.seeks == 3  # 39 is read on from 5; 3 needs a seek
    reader.close()


def test_the_thumbnail_pass_makes_the_chosen_frames_once(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mp4", frames=40)
    spec = YCbCrSpec("bt601", 8, False)

    def path_of(frame: int) -> Path:
        return tmp_path / f"{frame}.jpg"

    thumbnails = ThumbnailPass(probe(clip), spec, path_of, 32)
    thumbnails.start([0, 17, 39])
    assert thumbnails.wait_for(39)
    assert all(path_of(f).is_file() for f in (0, 17, 39)) and not path_of(1).exists()
    deadline = time.monotonic() + 10
    while thumbnails.running and time.monotonic() < deadline:
        time.sleep(0.01)
    made = path_of(17).stat().st_mtime_ns
    thumbnails.start([0, 17, 39])  # all on disk: nothing to do
    assert not thumbnails.running and path_of(17).stat().st_mtime_ns == made
    assert not thumbnails.wait_for(5, timeout=0.1)  # not chosen: the caller makes it itself
