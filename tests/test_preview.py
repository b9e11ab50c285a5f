"""Previews: a range in the middle reached by seeking, its audio, and the contact sheet."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from tests.media import audio_packets, luma_planes, make_video, moving_pattern, video_pts
from vidcolor.cli import run
from vidcolor.frames.timecode import TimePoint
from vidcolor.preview import SHEET_FRAMES, preview_range


def test_a_preview_in_the_middle_has_its_frames_timestamps_audio_and_sheet(reference: Path, out_dir: Path) -> None:
    clip = make_video(out_dir / "long.mp4", frames=100)  # 4 s, one keyframe (x264's default GOP)
    out = out_dir / "p.mp4"
    code = run(["preview", str(clip), "--style", str(reference), "--at", "1", "--duration", "1", "-o", str(out)])
    assert code == 0
    lumas = luma_planes(out)
    assert len(lumas) == 25
    assert np.abs(lumas[0].astype(int) - moving_pattern(25, 64, 48)).mean() < 3
    assert video_pts(out)[1][0] == 0
    audio = audio_packets(out)[0]
    assert audio and audio[0][1] >= 0 and audio[-1][1] < 1.0 + 0.03
    source = {p[0] for p in audio_packets(clip)[0]}
    assert all(p[0] in source for p in audio), "audio must be copied from the range, not re-encoded"
    sheet = cv2.imread(str(out_dir / "p.sheet.png"))
    # SHEET_FRAMES rows of greyscale | colorized | masks, 4-pixel gaps between them.
    assert sheet.shape == (SHEET_FRAMES * 48 + (SHEET_FRAMES - 1) * 4, 3 * 64 + 2 * 4, 3)


def test_without_at_the_range_is_centred_on_the_middle() -> None:
    centred = preview_range(None, TimePoint(seconds=Fraction(3)), 120.0)
    assert centred.start == TimePoint(seconds=Fraction(117, 2)) and centred.duration == TimePoint(seconds=Fraction(3))
    short = preview_range(None, TimePoint(seconds=Fraction(3)), 1.0)  # a clip shorter than the preview
    assert short.start == TimePoint(seconds=Fraction(0))


def test_an_existing_sheet_is_refused_before_any_work(clip: Path, reference: Path, out_dir: Path) -> None:
    (out_dir / "p.sheet.png").write_bytes(b"keep me")
    code = run(["preview", str(clip), "--style", str(reference), "-o", str(out_dir / "p.mp4"), "-q"])
    assert code == 3
    assert (out_dir / "p.sheet.png").read_bytes() == b"keep me"
    assert not (out_dir / "p.mp4").exists()


def test_a_bad_at_names_the_flag(clip: Path, reference: Path, capsys) -> None:
    assert run(["preview", str(clip), "--style", str(reference), "--at", "0:75"]) == 2
    assert "--at '0:75': not a time" in capsys.readouterr().err
