"""The main job through the CLI, in-process: frames, timestamps, audio packets and luma kept."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import (
    Tone,
    audio_packets,
    decoded_frames,
    luma_planes,
    make_labelled_mkv,
    make_video,
    moving_pattern,
    video_pts,
)
from vidcolor.cli import run


def colorize(inp: Path, ref: Path, out: Path, *extra: str) -> int:
    # --crf 0 makes the encoder lossless, so luma can be compared bit for bit.
    return run([str(inp), "--style", str(ref), "-o", str(out), "-q", "--crf", "0", "--no-cache", *extra])


def chroma_spread(path: Path) -> float:
    """How far the output's chroma strays from neutral, on average (0 = grey)."""
    values = []
    for f in decoded_frames(path):
        u = np.frombuffer(f.planes[1], np.uint8)
        values.append(float(np.abs(u.astype(np.float32) - 128).mean()))
    return float(np.mean(values))


def test_colorizes_keeping_frames_timestamps_audio_and_luma(clip: Path, reference: Path, out_dir: Path) -> None:
    out = out_dir / "clip.colorized.mp4"
    assert colorize(clip, reference, out) == 0
    assert video_pts(out) == video_pts(clip)
    assert audio_packets(out) == audio_packets(clip)
    for a, b in zip(luma_planes(out), luma_planes(clip), strict=True):
        np.testing.assert_array_equal(a, b)
    assert chroma_spread(out) > 2.0, "output has no colour"
    assert [p.name for p in out_dir.iterdir()] == [out.name], "temporary files left behind"


def test_default_output_name_and_no_overwrite_without_y(media_dir: Path, reference: Path, tmp_path: Path) -> None:
    inp = make_video(tmp_path / "film.mp4", frames=5, tones=())
    args = [str(inp), "--style", str(reference), "-q", "--no-cache"]
    assert run(args) == 0
    out = tmp_path / "film.colorized.mp4"
    assert out.exists()
    before = out.stat().st_mtime_ns
    assert run(args) == 3  # exists: refused
    assert out.stat().st_mtime_ns == before
    assert run([*args, "-y"]) == 0


def test_rational_rate_is_kept_exactly(media_dir: Path, reference: Path, out_dir: Path) -> None:
    rate = Fraction(30000, 1001)
    inp = make_video(media_dir / "ntsc.mp4", rate=rate, time_base=Fraction(1, 30000), frames=20)
    out = out_dir / "ntsc.mp4"
    assert colorize(inp, reference, out) == 0
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.average_rate == rate
        assert stream.time_base == Fraction(1, 30000)
    assert video_pts(out) == video_pts(inp)


def test_variable_frame_rate_timestamps_survive(media_dir: Path, reference: Path, out_dir: Path) -> None:
    pts = [0, 1000, 2000, 5000, 5500, 9000, 9100, 12000, 15000, 15040, 18000, 21000]
    inp = make_video(media_dir / "vfr.mp4", rate=Fraction(25), time_base=Fraction(1, 25000), pts=pts, frames=len(pts))
    assert video_pts(inp)[1] == pts
    out = out_dir / "vfr.mp4"
    assert colorize(inp, reference, out) == 0
    assert video_pts(out) == (Fraction(1, 25000), pts)


def test_odd_size_keeps_exact_size_and_luma(media_dir: Path, reference: Path, out_dir: Path) -> None:
    inp = make_video(media_dir / "odd.mp4", width=63, height=47, pix_fmt="yuv444p", frames=12)
    out = out_dir / "odd.mp4"
    assert colorize(inp, reference, out) == 0
    frames = decoded_frames(out)
    assert (frames[0].width, frames[0].height) == (63, 47)
    assert len(frames) == 12
    for a, b in zip(luma_planes(out), luma_planes(inp), strict=True):
        np.testing.assert_array_equal(a, b)


def test_rotation_metadata_is_applied_to_the_pixels(media_dir: Path, reference: Path, out_dir: Path) -> None:
    inp = make_video(media_dir / "rotated.mp4", rotation=90, frames=8, tones=())
    out = out_dir / "rotated.mp4"
    assert colorize(inp, reference, out) == 0
    frames = decoded_frames(out)
    assert (frames[0].width, frames[0].height) == (48, 64)
    assert frames[0].rotation == 0
    for a, b in zip(luma_planes(out), luma_planes(inp), strict=True):
        np.testing.assert_array_equal(a, np.rot90(b, 1))


def test_ten_bit_input_gives_ten_bit_output_with_same_luma(media_dir: Path, reference: Path, out_dir: Path) -> None:
    inp = make_video(media_dir / "tenbit.mp4", pix_fmt="yuv420p10le", frames=10, tones=())
    out = out_dir / "tenbit.mp4"
    assert colorize(inp, reference, out) == 0
    assert decoded_frames(out)[0].format.name == "yuv420p10le"
    for a, b in zip(luma_planes(out), luma_planes(inp), strict=True):
        np.testing.assert_array_equal(a, b)


def test_every_audio_stream_is_copied_packet_for_packet(media_dir: Path, reference: Path, out_dir: Path) -> None:
    inp = make_video(media_dir / "two_audio.mp4", tones=(Tone(440.0), Tone(660.0, sample_rate=44100)))
    out = out_dir / "two_audio.mp4"
    assert colorize(inp, reference, out) == 0
    packets = audio_packets(out)
    assert len(packets) == 2
    assert packets == audio_packets(inp)


@pytest.mark.parametrize("suffix", [".mkv", ".mov"])
def test_container_is_chosen_by_extension(clip: Path, reference: Path, out_dir: Path, suffix: str) -> None:
    out = out_dir / f"clip{suffix}"
    assert colorize(clip, reference, out) == 0
    with av.open(str(out)) as c:
        assert ("matroska" if suffix == ".mkv" else "mov") in c.format.name
    # Matroska keeps milliseconds and shifts all streams so none starts below zero (AAC priming):
    # compare times relative to the first video frame, which is what keeps audio in sync.
    tb_in, pts_in = video_pts(clip)
    tb_out, pts_out = video_pts(out)
    t0_in, t0_out = float(pts_in[0] * tb_in), float(pts_out[0] * tb_out)
    assert np.allclose(
        [float(p * tb_out) - t0_out for p in pts_out], [float(p * tb_in) - t0_in for p in pts_in], atol=1e-3
    )
    got, want = audio_packets(out)[0], audio_packets(clip)[0]
    assert [p[0] for p in got] == [p[0] for p in want]
    assert np.allclose([p[1] - t0_out for p in got], [p[1] - t0_in for p in want], atol=1e-3)


def test_libx265_is_available(clip: Path, reference: Path, out_dir: Path) -> None:
    out = out_dir / "hevc.mp4"
    assert run([str(clip), "--style", str(reference), "-o", str(out), "-q", "--codec", "libx265", "--no-cache"]) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "hevc"
        assert c.streams.video[0].frames == 30


def test_time_range_preview_starts_at_zero_with_its_audio(clip: Path, reference: Path, out_dir: Path) -> None:
    out = out_dir / "preview.mp4"
    assert colorize(clip, reference, out, "--start", "0.4", "--duration", "0.4") == 0
    _tb, pts = video_pts(out)
    assert len(pts) == 10  # 0.4 s at 25 fps
    assert pts[0] == 0
    lumas = luma_planes(out)
    np.testing.assert_array_equal(lumas[0], moving_pattern(10, 64, 48))
    audio = audio_packets(out)[0]
    assert audio, "preview lost its audio"
    assert audio[0][1] >= 0 and audio[-1][1] < 0.4 + 0.03
    source = {p[0] for p in audio_packets(clip)[0]}
    assert all(p[0] in source for p in audio), "audio must be copied, not re-encoded"


@pytest.mark.parametrize("suffix", [".ts", ".mp4"])
def test_a_time_range_in_a_long_gop_stream_starts_at_the_right_frame(
    suffix: str, reference: Path, out_dir: Path
) -> None:
    # x264's default GOP (one keyframe in these 75 frames): MPEG-TS has no index, so a seek lands on
    # a frame the decoder cannot start from unless the seek steps back to a keyframe.
    clip = make_video(out_dir / f"gop{suffix}", frames=75)
    out = out_dir / "gop.mkv"
    assert colorize(clip, reference, out, "--start", "1", "--duration", "1") == 0
    lumas = luma_planes(out)
    assert len(lumas) == 25
    np.testing.assert_array_equal(lumas[0], moving_pattern(25, 64, 48))


def test_frame_range_preview(clip: Path, reference: Path, out_dir: Path) -> None:
    out = out_dir / "frames.mp4"
    assert colorize(clip, reference, out, "--start", "5f", "--end", "17f") == 0
    lumas = luma_planes(out)
    assert len(lumas) == 12
    np.testing.assert_array_equal(lumas[0], moving_pattern(5, 64, 48))
    np.testing.assert_array_equal(lumas[-1], moving_pattern(16, 64, 48))


def test_python_api_returns_a_summary(clip: Path, reference: Path, out_dir: Path) -> None:
    from vidcolor import Settings, colorize_video

    result = colorize_video(clip, reference, out_dir / "api.mp4", Settings(use_cache=False, keyframe_interval=10))
    assert result.frames == 30
    assert result.keyframes == 4  # 0, 10, 20 and the last frame (end of the shot)
    assert result.shots == 1
    assert result.audio_packets == len(audio_packets(clip)[0])


def test_rerun_takes_keyframes_from_the_cache(clip: Path, reference: Path, out_dir: Path, tmp_path: Path) -> None:
    from vidcolor import EncoderSettings, Settings, colorize_video

    settings = Settings(cache_dir=tmp_path / "cache", keyframe_interval=10, encoder=EncoderSettings(crf=0))
    first = colorize_video(clip, reference, out_dir / "a.mp4", settings)
    second = colorize_video(clip, reference, out_dir / "b.mp4", settings)
    assert first.keyframes_from_cache == 0
    assert second.keyframes_from_cache == second.keyframes == 4
    # The cache stores float16 chroma: at most one code value of difference after rounding.
    a = np.array([f.to_ndarray() for f in decoded_frames(out_dir / "a.mp4")], np.int16)
    b = np.array([f.to_ndarray() for f in decoded_frames(out_dir / "b.mp4")], np.int16)
    assert np.abs(a - b).max() <= 1


def test_frames_hidden_by_an_edit_list_are_not_mistaken_for_truncation(media_dir, reference, out_dir) -> None:
    """A stream-copy cut keeps packets before the cut and hides them with an edit list (20 samples, 18 shown)."""
    source = make_video(media_dir / "uncut.mp4", frames=20, tones=())
    cut = media_dir / "edit_list.mp4"
    with av.open(str(source)) as inp, av.open(str(cut), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packet.pts -= 2 * 512  # two frames before time zero (the time base is 1/12800 at 25 fps)
                packet.dts -= 2 * 512
                packet.stream = stream
                out.mux(packet)
    with av.open(str(cut)) as c:
        assert c.streams.video[0].frames == 20
    shown = luma_planes(cut)
    assert len(shown) == 18
    out = out_dir / "edit_list.colorized.mp4"
    assert colorize(cut, reference, out) == 0
    for a, b in zip(luma_planes(out), shown, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (2, 2), (8, 8), (4000, 16), (16, 400)])
def test_tiny_and_very_wide_frames_are_coloured_with_their_luma_kept(
    media_dir: Path, reference: Path, out_dir: Path, width: int, height: int
) -> None:
    """Flow needs a dozen pixels: such frames are computed at a minimum work size, never refused."""
    clip = make_video(
        media_dir / f"size{width}x{height}.mp4", width=width, height=height, frames=5, pix_fmt="yuv444p", tones=()
    )
    out = out_dir / "o.mp4"
    assert run([str(clip), "--style", str(reference), "-o", str(out), "-q", "--no-cache", "--crf", "0"]) == 0
    for a, b in zip(luma_planes(out), luma_planes(clip), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_input_whose_timestamps_start_late_comes_out_starting_at_zero(
    media_dir: Path, reference: Path, out_dir: Path
) -> None:
    """An MPEG-TS capture starting at 100 s: ffmpeg shifts it to zero by default, and so does vidcolor."""
    clip = make_video(media_dir / "late.ts", frames=25, start_s=100.0, tones=(Tone(seconds=1.0),))
    out = out_dir / "late.mp4"
    assert run([str(clip), "--style", str(reference), "-o", str(out), "-q", "--no-cache"]) == 0
    starts = {}
    with av.open(str(out)) as c:
        assert c.duration is not None and c.duration / av.time_base < 1.5  # not 101 s
        for packet in c.demux():
            if packet.pts is not None and packet.stream.type not in starts:
                starts[packet.stream.type] = float(packet.pts * packet.stream.time_base)
    assert abs(starts["video"]) < 0.05 and abs(starts["audio"]) < 0.1, starts
    assert len(video_pts(out)[1]) == 25


def test_without_a_terminal_progress_is_plain_lines_with_honest_totals(capsys, clip: Path, reference: Path, out_dir):
    """In a log: a line every few percent, the total known for a preview too, no line wrapped."""
    assert run([str(clip), "--style", str(reference), "-o", str(out_dir / "a.mp4"), "--no-cache"]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    progress = [line for line in lines if line.startswith("vidcolor: clip.mp4: ")]
    assert len(progress) >= 5 and progress[-1].startswith("vidcolor: clip.mp4: 100% (30/30 frames)"), lines
    assert lines[-1].startswith("wrote ") and "(30 frames" in lines[-1]
    assert run([str(clip), "--style", str(reference), "-o", str(out_dir / "b.mp4"), "--no-cache", "--end", "20f"]) == 0
    assert "100% (20/20 frames)" in capsys.readouterr().err


def _streams(path: Path) -> dict[str, list[tuple[str, dict[str, str]]]]:
    with av.open(str(path)) as c:
        found: dict[str, list[tuple[str, dict[str, str]]]] = {
            "chapters": [(ch["metadata"].get("title", ""), {}) for ch in c.chapters()]
        }
        for s in c.streams:
            codec = s.codec_context.name if s.codec_context else getattr(s, "name", "") or ""
            labels = {k: v for k, v in s.metadata.items() if k in ("language", "title")}
            found.setdefault(s.type, []).append((codec, labels))
        found["title"] = [(c.metadata.get("title", ""), {})]
    return found


def test_subtitles_attachments_chapters_and_labels_survive_into_mkv(capsys, media_dir: Path, reference: Path, out_dir):
    source = make_labelled_mkv(media_dir / "labelled.mkv")
    out = out_dir / "o.mkv"
    assert run([str(source), "--style", str(reference), "-o", str(out), "--no-cache"]) == 0
    assert "not copied" not in capsys.readouterr().err
    got = _streams(out)
    assert got["audio"] == [("aac", {"language": "eng", "title": "Commentary"})]
    assert [(codec in ("srt", "subrip"), labels.get("language")) for codec, labels in got["subtitle"]] == [
        (True, "fra")
    ]
    assert len(got["attachment"]) == 1
    assert [t for t, _ in got["chapters"]] == ["Opening", "Street"]
    assert got["title"] == [("Reel 3", {})]


def test_what_mp4_cannot_hold_is_named_in_one_line(capsys, media_dir: Path, reference: Path, out_dir: Path) -> None:
    source = make_labelled_mkv(media_dir / "labelled.mkv")
    out = out_dir / "o.mp4"
    assert run([str(source), "--style", str(reference), "-o", str(out), "--no-cache"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "not copied" in line]
    assert len(notes) == 1 and "subtitle stream" in notes[0] and "choose .mkv" in notes[0] and "attachment" in notes[0]
    got = _streams(out)
    assert got["audio"] == [("aac", {"language": "eng"})]  # MP4 tracks have no title tag: the handler name says it
    with av.open(str(out)) as c:
        assert c.streams.audio[0].metadata.get("handler_name") == "Commentary"
    assert "subtitle" not in got
    assert [t for t, _ in got["chapters"]] == ["Opening", "Street"]
