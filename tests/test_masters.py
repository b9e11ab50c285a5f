"""Masters and archive copies out (issue 20): FFV1 lossless in Matroska, ProRes and DNxHR in QuickTime, SVT-AV1."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import audio_packets, luma_planes, make_video
from vidcolor.cli import run
from vidcolor.frames.encode import at_depth

FAST = ["--segmenter", "whole", "--no-cache", "-q"]


def _stream(path: Path) -> av.codec.context.CodecContext:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le"])
def test_ffv1_in_matroska_keeps_the_luma_bit_for_bit_and_the_audio(reference: Path, tmp_path: Path, pix_fmt) -> None:
    clip = make_video(tmp_path / "in.mkv", width=96, height=64, frames=12, pix_fmt=pix_fmt)
    out = tmp_path / "master.mkv"
    assert run([str(clip), "--style", str(reference), "--codec", "ffv1", "-o", str(out), *FAST]) == 0
    context = _stream(out)
    assert context.name == "ffv1" and context.pix_fmt == pix_fmt  # the input's bit depth kept
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(out), luma_planes(clip), strict=True))
    # Every audio packet, payload and time (Matroska rewrites the priming packet's duration, not its samples).
    assert [[p[:2] for p in s] for s in audio_packets(out)] == [[p[:2] for p in s] for s in audio_packets(clip)]


@pytest.mark.parametrize(
    ("codec", "profile", "name", "pix_fmt"),
    [
        ("prores", "", "HQ", "yuv422p10le"),
        ("prores", "4444", "4444", "yuv444p12le"),  # written 10-bit; FFmpeg decodes 4444 to 12 bits
        ("dnxhr", "", "DNXHR HQX", "yuv422p10le"),
        ("dnxhr", "hq", "DNXHR HQ", "yuv422p"),
    ],
)
def test_masters_decode_with_their_profile_size_and_depth(
    reference: Path, tmp_path: Path, codec: str, profile: str, name: str, pix_fmt: str
) -> None:
    clip = make_video(tmp_path / "in.mp4", width=256, height=144, frames=6)
    out = tmp_path / "master.mov"
    extra = ["--profile", profile] if profile else []
    assert run([str(clip), "--style", str(reference), "--codec", codec, *extra, "-o", str(out), *FAST]) == 0
    context = _stream(out)
    assert (context.profile, context.pix_fmt, context.width, context.height) == (name, pix_fmt, 256, 144)
    # Lossy, but the luma is the input's within the codec's rounding (10-bit output: the input's 8 bits shifted).
    scale = {"10le": 4, "12le": 16}.get(pix_fmt[-4:], 1)
    for got, want in zip(luma_planes(out), luma_planes(clip), strict=True):
        assert np.abs(got.astype(np.float32) / scale - want).max() <= 2


def test_the_default_output_takes_the_codecs_type_and_a_wrong_one_is_refused(
    reference: Path, tmp_path: Path, capsys
) -> None:
    clip = make_video(tmp_path / "in.mp4", width=64, height=48, frames=4)
    assert run([str(clip), "--style", str(reference), "--codec", "prores", *FAST]) == 0
    assert (tmp_path / "in.colorized.mov").is_file()
    capsys.readouterr()
    cases = [
        (["--codec", "prores", "-o", str(tmp_path / "x.mp4")], "prores is written to .mov, .mkv or .mxf, not .mp4"),
        (["--codec", "ffv1", "-o", str(tmp_path / "x.mov")], "ffv1 is written to .mkv, not .mov"),
        (["--profile", "hq", "-o", str(tmp_path / "x.mp4")], "only --codec prores and dnxhr have profiles"),
        (["--codec", "dnxhr", "--profile", "4444"], "'4444' is not a dnxhr profile"),
    ]
    for args, said in cases:
        assert run([str(clip), "--style", str(reference), *args, *FAST]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("x.*"))


def test_an_svtav1_access_copy_and_odd_sizes(reference: Path, tmp_path: Path, capsys) -> None:
    clip = make_video(tmp_path / "in.mp4", width=128, height=72, frames=6)
    out = tmp_path / "access.mp4"
    assert run([str(clip), "--style", str(reference), "--codec", "svtav1", "-o", str(out), *FAST]) == 0
    assert len(luma_planes(out)) == 6
    assert "Svt[info]" not in capsys.readouterr().err
    odd = make_video(tmp_path / "odd.mkv", width=65, height=47, frames=3, pix_fmt="yuv444p")
    assert run([str(odd), "--style", str(reference), "--codec", "svtav1", "-o", str(tmp_path / "o.mkv"), *FAST]) != 0
    err = capsys.readouterr().err
    assert "odd.mkv: svtav1 needs even frame sides; this video is 65x47" in err and "planning" not in err
    # Said before any work, naming the input: a size the encoder cannot take.
    dnxhr = ["--codec", "dnxhr", "--profile", "444", "-o", str(tmp_path / "o.mov")]
    assert run([str(odd), "--style", str(reference), *dnxhr, *FAST]) == 4
    assert "odd.mkv: dnxhr needs frames of at least 256x120; this video is 65x47" in capsys.readouterr().err
    assert run([str(odd), "--style", str(reference), "--codec", "ffv1", "-o", str(tmp_path / "o.mkv"), *FAST]) == 0
    assert all(np.array_equal(a, b) for a, b in zip(luma_planes(tmp_path / "o.mkv"), luma_planes(odd), strict=True))


def test_luma_at_another_bit_depth_is_shifted_up_exactly_and_rounded_down() -> None:
    eight = np.array([[16, 17, 235, 255]], np.uint8)
    np.testing.assert_array_equal(at_depth(eight, 8, 10), [[64, 68, 940, 1020]])
    np.testing.assert_array_equal(at_depth(at_depth(eight, 8, 10), 10, 8), eight)
    np.testing.assert_array_equal(at_depth(np.array([[65, 66, 1023]], np.uint16), 10, 8), [[16, 17, 255]])


def _with_timecode(source: Path, target: Path, timecode: str) -> Path:
    """``source`` remuxed into a MOV whose video carries ``timecode`` (a tmcd track, as cameras write)."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.metadata["timecode"] = timecode
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return target


def _timecode_of(path: Path) -> str | None:
    from vidcolor.frames.probe import probe

    return probe(path).timecode


def test_the_start_timecode_is_carried_moved_to_a_range_and_can_be_set(reference: Path, tmp_path: Path, capsys) -> None:
    clip = _with_timecode(make_video(tmp_path / "in.mp4", frames=50), tmp_path / "tc.mov", "01:00:10:05")
    assert _timecode_of(clip) == "01:00:10:05"
    whole, part, given, mkv = (tmp_path / n for n in ("whole.mov", "part.mov", "given.mp4", "tag.mkv"))
    common = ["--style", str(reference), *FAST]
    assert run([str(clip), *common, "-o", str(whole)]) == 0
    assert _timecode_of(whole) == "01:00:10:05"
    assert run([str(clip), *common, "--start", "1", "--duration", "10f", "-o", str(part)]) == 0
    assert _timecode_of(part) == "01:00:11:05"  # 25 frames on: the range's first frame
    assert run([str(clip), *common, "--timecode", "10:00:00:00", "-o", str(given)]) == 0
    assert _timecode_of(given) == "10:00:00:00"
    assert run([str(clip), *common, "-o", str(mkv)]) == 0
    assert _timecode_of(mkv) == "01:00:10:05"
    capsys.readouterr()
    assert run([str(clip), *common, "--timecode", "25:00", "-o", str(tmp_path / "bad.mov")]) == 2
    assert "--timecode '25:00': not a timecode HH:MM:SS:FF at 25 fps" in capsys.readouterr().err


def test_colour_tags_are_carried_and_a_tagged_matrix_is_the_one_coloured_in(tmp_path: Path, capsys) -> None:
    """An SD clip tagged BT.709 is coloured in BT.709 (not the SD default, BT.601) and keeps its tags; its
    primaries and transfer are written as the input's; an untagged clip says with -v what was assumed."""
    import cv2

    from vidcolor.colour import rgb_to_ycbcr

    colour = np.array([0.78, 0.31, 0.16], np.float32)
    reference = tmp_path / "flat.png"
    cv2.imwrite(str(reference), np.full((64, 96, 3), np.rint(colour[::-1] * 255), np.uint8))
    flat = lambda i, w, h: np.full((h, w), round(16 + 219 * 0.42), np.uint8)  # noqa: E731
    tagged = make_video(tmp_path / "tagged.mp4", width=96, height=64, frames=4, luma_of=flat, colour_tags=(1, 1, 13))
    untagged = make_video(tmp_path / "untagged.mp4", width=96, height=64, frames=4, luma_of=flat)
    for clip, matrix, want_tags in ((tagged, "bt709", (1, 1, 13)), (untagged, "bt601", (6, 6, 6))):
        out = tmp_path / f"{clip.stem}.out.mp4"
        assert run([str(clip), "--style", str(reference), "-o", str(out), "--crf", "0", "--no-cache", "-v"]) == 0
        with av.open(str(out)) as container:
            frame = next(container.decode(video=0))
            assert (int(frame.colorspace), int(frame.color_primaries), int(frame.color_trc)) == want_tags
            chroma = frame.to_ndarray(format="yuv444p")[1:].reshape(2, -1).mean(axis=1)
        _, expected = rgb_to_ycbcr(np.full((1, 1, 3), np.rint(colour * 255) / 255, np.float32), matrix)
        np.testing.assert_allclose(chroma, 128 + 224 * expected.ravel(), atol=2.0)
        said = "no colour matrix tag; coloured and tagged as BT.601" in capsys.readouterr().err
        assert said == (clip is untagged)


@pytest.mark.parametrize(("fields", "order"), [("tff", 2), ("bff", 3)])
def test_an_interlaced_input_is_coloured_as_frames_and_keeps_its_field_order(
    reference: Path, tmp_path: Path, capsys, fields: str, order: int
) -> None:
    clip = make_video(tmp_path / "in.mp4", width=96, height=64, frames=6, fields=fields)
    for out, extra in ((tmp_path / "x264.mp4", ["--crf", "0"]), (tmp_path / "ffv1.mkv", ["--codec", "ffv1"])):
        assert run([str(clip), "--style", str(reference), "-o", str(out), *FAST[:-1], "-v", *extra]) == 0
        with av.open(str(out)) as container:
            frame = next(container.decode(video=0))
            assert container.streams.video[0].codec_context.field_order == order  # the output's flags
            assert frame.interlaced_frame == (out.suffix == ".mp4")  # x264 codes them as fields too
        assert all(np.array_equal(a, b) for a, b in zip(luma_planes(out), luma_planes(clip), strict=True))
        assert f"interlaced (field order {order}): coloured as frames (not deinterlaced)" in capsys.readouterr().err


def test_lossless_is_ffv1_in_matroska_by_default_or_the_codec_coding_losslessly(
    reference: Path, tmp_path: Path, capsys
) -> None:
    clip = make_video(tmp_path / "in.mp4", width=96, height=64, frames=4)
    assert run([str(clip), "--style", str(reference), "--lossless", *FAST]) == 0
    out = tmp_path / "in.colorized.mkv"  # the default output of a lossless run: the archive's master
    assert _stream(out).name == "ffv1"
    for path in (out, tmp_path / "x265.mkv"):
        if path.name == "x265.mkv":
            assert (
                run([str(clip), "--style", str(reference), "--lossless", "--codec", "libx265", "-o", str(path), *FAST])
                == 0
            )
        assert all(np.array_equal(a, b) for a, b in zip(luma_planes(path), luma_planes(clip), strict=True))
    capsys.readouterr()
    for extra, said in (
        (["--codec", "prores"], "--lossless takes ffv1, libx264, libx265; prores is lossy"),
        (["--crf", "20"], "--lossless and --crf 20 contradict each other"),
    ):
        assert (
            run([str(clip), "--style", str(reference), "--lossless", *extra, "-o", str(tmp_path / "x.mov"), *FAST]) == 2
        )
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err
