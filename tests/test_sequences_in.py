"""Image sequences in (issue 20): a scanner's numbered DPX/TIFF pictures read as one film."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.media import audio_packets, decoded_frames, luma_planes, make_sequence, make_video, make_wav
from vidcolor.batch import collect_items
from vidcolor.cli import run
from vidcolor.frames.output import default_output_path
from vidcolor.frames.probe import probe
from vidcolor.frames.sequence_in import SequenceReading, find_sequence
from vidcolor.photos import is_photo

FAST = ["--segmenter", "whole", "--no-cache", "-q"]


def _pictures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".dpx", ".tiff"))


def test_a_10_bit_dpx_folder_into_ffv1_keeps_every_luma_sample(reference: Path, tmp_path: Path) -> None:
    scans = make_sequence(tmp_path / "reel1", frames=10)
    out = tmp_path / "reel1.mkv"
    assert run([str(scans), "--style", str(reference), "-o", str(out), "--codec", "ffv1", *FAST]) == 0
    got = luma_planes(out)
    want = [luma_planes(p)[0] for p in _pictures(scans)]  # grey RGB: G (the first plane) is the luma
    assert len(got) == 10 and got[0].dtype == np.uint16 and max(int(p.max()) for p in want) > 255
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    info = probe(out)
    assert info.rate == 24 and info.bit_depth == 10


def test_a_16_bit_tiff_pattern_into_pictures_keeps_luma_and_the_input_numbers(reference: Path, tmp_path: Path) -> None:
    scans = make_sequence(tmp_path / "scans", codec="tiff", pix_fmt="gray16le", suffix=".tiff", first=1, frames=8)
    pattern = scans / "reel_%06d.tiff"
    out = tmp_path / "restored" / "r_%06d.tiff"
    assert run([str(pattern), "--style", str(reference), "-o", str(out), "--start", "3f", *FAST]) == 0
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == [f"r_{n:06d}.tiff" for n in range(4, 9)]  # frames 3.. of a sequence numbered from 1
    for name in written:
        rgb = cv2.imread(str(out.parent / name), cv2.IMREAD_UNCHANGED).astype(np.float64)[..., ::-1]
        luma = np.rint(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])  # full range, BT.601
        source = cv2.imread(str(scans / name.replace("r_", "reel_")), cv2.IMREAD_UNCHANGED)
        assert source.dtype == np.uint16 and np.array_equal(luma, source)


def test_a_gap_is_an_error_naming_the_first_missing_frame_unless_held(reference: Path, tmp_path: Path, capsys) -> None:
    scans = make_sequence(tmp_path / "gap", frames=6, skip=(86402, 86403))
    out = tmp_path / "gap.mkv"
    args = [str(scans / "reel_*.dpx"), "--style", str(reference), "-o", str(out), "--codec", "ffv1", *FAST]
    assert run(args) == 2
    err = capsys.readouterr().err
    assert "frame 86402 (reel_086402.dpx) is missing, 2 in all; --allow-gaps" in err and err.count("\n") == 1
    assert not out.exists()
    assert run([*args, "--allow-gaps"]) == 0
    planes = luma_planes(out)
    assert len(planes) == 6  # the numbering's length: timing kept
    assert np.array_equal(planes[2], planes[1]) and np.array_equal(planes[3], planes[1])
    assert not np.array_equal(planes[4], planes[1])


def test_bad_sequences_are_one_line_naming_the_file(reference: Path, tmp_path: Path, capsys) -> None:
    mixed = make_sequence(tmp_path / "mixed", frames=4)
    make_sequence(tmp_path / "big", frames=4, width=96)
    (tmp_path / "big" / "reel_086402.dpx").replace(mixed / "reel_086402.dpx")
    damaged = make_sequence(tmp_path / "damaged", frames=4)
    (damaged / "reel_086401.dpx").write_bytes(b"SDPX" + b"\0" * 60)
    two = make_sequence(tmp_path / "two", frames=3)
    make_sequence(tmp_path / "two", frames=3, codec="tiff", pix_fmt="gray16le", suffix=".tiff")
    cases = [
        ([str(mixed)], "reel_086402.dpx: 96x48 gbrp10le, but the sequence's first picture is 64x48 gbrp10le"),
        ([str(damaged)], "reel_086401.dpx: not a readable picture"),
        ([str(tmp_path / "none_%04d.dpx")], "none_%04d.dpx: matches no picture"),
        ([str(two)], "holds several sequences"),
        ([str(tmp_path / "empty")], "holds no numbered pictures"),
        ([str(mixed), "--rate", "fast"], "'fast' is not a frame rate"),
    ]
    (tmp_path / "empty").mkdir()
    for args, said in cases:
        assert run([*args, "--style", str(reference), "-o", str(tmp_path / "out.mkv"), *FAST]) == 2, args
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.mkv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial left


def test_a_sequence_is_found_from_its_folder_pattern_or_glob_and_read_at_its_rate(tmp_path: Path) -> None:
    scans = make_sequence(tmp_path / "scans", frames=5, first=998)  # the numbers outgrow their padding
    for given in (scans, scans / "reel_%06d.dpx", scans / "reel_*.dpx", scans / "reel_%d.dpx"):
        sequence = find_sequence(given)
        assert (sequence.first, sequence.last, sequence.count, sequence.missing) == (998, 1002, 5, ())
        assert sequence.path_of(1000).name == "reel_001000.dpx"
    info = probe(scans / "reel_%06d.dpx", SequenceReading(rate="24000/1001"))
    assert info.rate == Fraction(24000, 1001) and info.frame_count == 5 and info.full_range and not info.has_audio
    assert not is_photo(scans / "reel_%06d.dpx") and not is_photo(scans / "*.tiff") and is_photo(tmp_path / "a.tiff")
    assert default_output_path(scans) == tmp_path / "scans.colorized.mp4"
    assert default_output_path(scans / "reel_%06d.dpx") == scans / "reel.colorized.mp4"
    assert default_output_path(scans / "*.dpx") == scans / "scans.colorized.mp4"


def test_a_file_whose_name_looks_like_a_pattern_is_still_a_file(reference: Path, tmp_path: Path) -> None:
    clip = make_video(tmp_path / "film [1080p] 100%d.mp4", frames=3)
    assert default_output_path(clip) == tmp_path / "film [1080p] 100%d.colorized.mp4"
    assert run([str(clip), "--style", str(reference), *FAST]) == 0
    assert len(luma_planes(tmp_path / "film [1080p] 100%d.colorized.mp4")) == 3
    photo = make_video(tmp_path / "x.mp4", frames=1)
    assert is_photo(photo.rename(tmp_path / "scan [2].tif")) and not is_photo(tmp_path / "scan [3].tif")


def test_a_video_told_a_rate_says_it_keeps_its_own(tmp_path: Path, caplog) -> None:
    clip = make_video(tmp_path / "in.mp4", frames=3)
    assert probe(clip, SequenceReading(rate="30")).rate == 25
    assert "--rate and --allow-gaps are for image sequences" in caplog.text


def test_a_dpx_folder_is_one_batch_item_and_a_plan_is_made_for_a_pattern(reference: Path, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    make_sequence(archive / "reel1", frames=4)
    make_video(archive / "clip.mp4", frames=4)
    items = collect_items([str(archive)], tmp_path / "out", [str(reference)])
    assert [(i.input.name, i.output.name) for i in items] == [("reel1", "reel1.mkv"), ("clip.mp4", "clip.mp4")]
    assert run(["batch", str(archive), "--style", str(reference), "-o", str(tmp_path / "out"), *FAST]) == 0
    assert len(luma_planes(tmp_path / "out" / "reel1.mkv")) == 4
    pattern = archive / "reel1" / "reel_%06d.dpx"
    assert run(["plan", str(pattern), "--style", str(reference), "--segmenter", "whole", "-q"]) == 0
    assert (archive / "reel1" / "reel.plan.toml").is_file()
    assert run([str(pattern), "--plan", str(archive / "reel1" / "reel.plan.toml"), *FAST]) == 0
    assert (archive / "reel1" / "reel.colorized.mp4").is_file()


@pytest.mark.parametrize(("pix_fmt", "depth"), [("rgb48le", 16), ("gbrp10le", 10)])
def test_an_rgb_picture_gives_its_luma_at_its_own_depth(tmp_path: Path, pix_fmt: str, depth: int) -> None:
    scans = make_sequence(tmp_path / "s", pix_fmt=pix_fmt, frames=1)
    assert probe(scans).bit_depth == depth


def test_a_scan_and_its_wav_become_one_lossless_master(reference: Path, tmp_path: Path, capsys) -> None:
    scans = make_sequence(tmp_path / "reel1", frames=12)  # 0.5 s at 24 fps
    wav = make_wav(tmp_path / "reel1.wav", 0.5)
    out = tmp_path / "reel1.mkv"
    args = [str(scans), "--style", str(reference), "--codec", "ffv1", *FAST]
    assert run([*args, "-o", str(out), "--audio", str(wav)]) == 0
    got, want = audio_packets(out), audio_packets(wav)
    assert len(got) == 1 and [p[0] for p in got[0]] == [p[0] for p in want[0]]  # every sample, as it was
    assert got[0][0][1] == 0.0  # in sync from the first frame
    assert len(luma_planes(out)) == 12

    long = make_wav(tmp_path / "long.wav", 1.5)
    assert run([*args, "-o", str(tmp_path / "long.mkv"), "--audio", str(long)]) == 2
    assert "1.500 s of audio, 1.000 s longer than the pictures (0.500 s); --fit-audio" in capsys.readouterr().err
    assert run([*args, "-o", str(tmp_path / "long.mkv"), "--audio", str(long), "--fit-audio"]) == 0
    kept = audio_packets(tmp_path / "long.mkv")[0]
    assert kept[-1][1] < 0.5 <= kept[-1][1] + kept[-1][2] + 1e-6  # cut at the packet holding the last frame's end

    mp4 = [str(scans), "--style", str(reference), *FAST, "-o", str(tmp_path / "x.mp4"), "--audio", str(wav)]
    assert run(mp4) == 4  # MP4 holds no PCM
    assert "reel1.wav: the mp4 container cannot hold its pcm_s16le audio" in capsys.readouterr().err
    clip = make_video(tmp_path / "with_sound.mp4", frames=4)
    assert run([str(clip), "--style", str(reference), "--audio", str(wav), *FAST]) == 2
    assert "has its own audio; --audio is for inputs without" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name == "x.mp4"] == []


def test_a_16_bit_tiff_scan_and_its_wav_into_ffv1_keep_16_bits_and_every_sample(
    reference: Path, tmp_path: Path
) -> None:
    scans = make_sequence(tmp_path / "scans", codec="tiff", pix_fmt="gray16le", suffix=".tiff", frames=12)
    wav = make_wav(tmp_path / "scans.wav", 0.5)
    out = tmp_path / "scans.mkv"
    assert (
        run([str(scans), "--style", str(reference), "--codec", "ffv1", "--audio", str(wav), "-o", str(out), *FAST]) == 0
    )
    assert probe(out).bit_depth == 16
    want = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in _pictures(scans)]
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(out), want, strict=True))
    assert [p[0] for p in audio_packets(out)[0]] == [p[0] for p in audio_packets(wav)[0]]
    lossy = (
        tmp_path / "scans.mp4"
    )  # x264 is written at 10 bits: the 16-bit luma rounded, within the lossy codec's error
    assert run([str(scans), "--style", str(reference), "-o", str(lossy), "--crf", "0", *FAST]) == 0
    rounded = [np.minimum((w.astype(np.uint32) + 32) >> 6, 1023) for w in want]
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(lossy), rounded, strict=True))


def test_a_dpx_scan_into_a_16_bit_dpx_sequence_keeps_its_numbers_and_luma(reference: Path, tmp_path: Path) -> None:
    scans = make_sequence(tmp_path / "scans", frames=6)
    out = tmp_path / "restored" / "r_%07d.dpx"
    assert run([str(scans), "--style", str(reference), "-o", str(out), *FAST]) == 0
    written = sorted(out.parent.iterdir())
    assert [p.name for p in written] == [f"r_{86400 + k:07d}.dpx" for k in range(6)]
    for source, picture in zip(_pictures(scans), written, strict=True):
        (frame,) = decoded_frames(picture)
        assert frame.format.name == "rgb48le"
        rgb = frame.to_ndarray().astype(np.float64)
        luma = np.rint((0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 65535 * 1023)
        assert np.array_equal(luma, luma_planes(source)[0])  # the scan's 10-bit luma, exactly


def test_an_unquoted_glob_expanded_by_the_shell_is_one_line_saying_to_quote_it(
    reference: Path, tmp_path: Path, capsys
) -> None:
    scans = make_sequence(tmp_path / "scans", frames=4)
    assert run([*map(str, _pictures(scans)), "--style", str(reference), *FAST]) == 2
    err = capsys.readouterr().err
    assert "the shell expanded a pattern into 4 pictures (reel_086400.dpx ... reel_086403.dpx); quote it" in err
    assert f"'{scans}/reel_*.dpx', or give the folder {scans}" in err and err.count("\n") == 1


def _samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def test_a_scan_and_its_wav_become_an_mxf_master_dnxhr_by_default(reference: Path, tmp_path: Path, capsys) -> None:
    scans = make_sequence(
        tmp_path / "reel1", frames=12, width=256, height=144
    )  # 10-bit DPX, 24 fps (DNxHR: >= 256x120)
    wav = make_wav(tmp_path / "reel1.wav", 0.5)
    out = tmp_path / "reel1.mxf"
    args = ["-o", str(out), "--audio", str(wav), "--timecode", "01:00:00:00"]
    assert run([str(scans), "--style", str(reference), *args, *FAST]) == 0
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.codec_context.profile) == ("dnxhd", "DNXHR HQX")
        assert video.format.name == "yuv422p10le" and container.format.name == "mxf"
        assert container.metadata.get("timecode") == "01:00:00:00"
    assert len(luma_planes(out)) == 12
    np.testing.assert_array_equal(_samples(out), _samples(wav))  # every sample, as it was
    # What MXF cannot hold is one line before any work, and nothing is left behind.
    aac = make_video(tmp_path / "talk.mp4", width=256, height=144, frames=6)
    slow = make_video(tmp_path / "slow.mkv", width=256, height=144, frames=6, rate=Fraction(15), tones=())
    capsys.readouterr()
    for clip, code, said in (
        (aac, 4, "MXF holds only 48 kHz PCM audio (16 or 24 bit), not its aac at 48000 Hz; choose .mov"),
        (slow, 3, "MXF holds only the frame rates 23.976, 24, 25"),
    ):
        assert run([str(clip), "--style", str(reference), "-o", str(tmp_path / "bad.mxf"), *FAST]) == code
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert not [p for p in tmp_path.iterdir() if "bad" in p.name]


def _timecodes(folder: Path) -> list[str | None]:
    codes = []
    for path in sorted(folder.glob("*.dpx")):
        with av.open(str(path)) as container:
            codes.append(next(container.decode(video=0)).metadata.get("timecode"))
    return codes


def test_dpx_timecode_comes_in_from_the_scan_and_goes_out_into_each_picture(reference: Path, tmp_path: Path) -> None:
    from vidcolor.frames.sequence import with_timecode
    from vidcolor.frames.timecode import smpte

    scans = make_sequence(tmp_path / "reel1", frames=5)
    for k, path in enumerate(sorted(scans.glob("*.dpx"))):  # a scanner's timecode, 10:00:00:00 on, at 24 fps
        path.write_bytes(with_timecode(path.read_bytes(), smpte(864000 + k, Fraction(24)), 24.0))
    assert _timecodes(scans) == [f"10:00:00:{k:02d}" for k in range(5)]
    out = tmp_path / "restored"
    assert run([str(scans), "--style", str(reference), "-o", str(out / "r_%06d.dpx"), *FAST]) == 0
    assert _timecodes(out) == [f"10:00:00:{k:02d}" for k in range(5)]  # every picture its own
    master = tmp_path / "reel1.mov"
    assert run([str(scans), "--style", str(reference), "-o", str(master), *FAST]) == 0
    with av.open(str(master)) as container:
        assert container.streams.video[0].metadata.get("timecode") == "10:00:00:00"
    clip = make_video(tmp_path / "clip.mp4", width=64, height=48, frames=3, rate=Fraction(25))
    again = tmp_path / "again"
    assert run([str(clip), "--style", str(reference), "-o", str(again / "a_%04d.dpx"), "--timecode", "01:00:00:24",
                *FAST]) == 0  # fmt: skip
    assert _timecodes(again) == ["01:00:00:24", "01:00:01:00", "01:00:01:01"]
