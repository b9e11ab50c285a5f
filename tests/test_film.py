"""Shot-parallel rendering (vidcolor.film): segments of whole shots coloured by workers, joined as packets."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import SHOT_FRAMES, audio_packets, make_video, moving_pattern, reference_of, three_shots, video_pts
from vidcolor import Settings, colorize_video
from vidcolor.capacity import cores
from vidcolor.cli import run
from vidcolor.errors import EncodeError, UsageError
from vidcolor.film import executors
from vidcolor.film.manifest import MANIFEST_NAME
from vidcolor.film.segments import split_segments
from vidcolor.frames.encode import ColorVideoWriter, EncoderSettings
from vidcolor.frames.segment_file import SegmentFileWriter, read_footer, read_packets
from vidcolor.plan import chunks, plan_video
from vidcolor.solver.options import SolverOptions

LOSSLESS = Settings(segmenter="whole", use_cache=False, keyframe_interval=5, encoder=EncoderSettings(crf=0))


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96x64, 25 fps, three shots of 12 frames, with a tone; starts at 0.5 s (the output starts at 0)."""
    return make_video(
        tmp_path_factory.mktemp("film") / "reel.mp4", width=96, height=64, frames=36, luma_of=three_shots, start_s=0.5
    )


@pytest.fixture(scope="module")
def refs(reel: Path) -> list[Path]:
    return [
        reference_of(three_shots(frame, 96, 64), cb, cr, reel.parent / f"ref{frame}.png")
        for frame, cb, cr in ((4, 0.12, -0.05), (16, -0.05, 0.15), (28, -0.1, -0.1))
    ]


@pytest.fixture(scope="module")
def serial(reel: Path, refs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "serial.mp4"
    colorize_video(reel, refs, out, LOSSLESS)
    return out


def _planes(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


def assert_same_film(a: Path, b: Path) -> None:
    """Frame for frame (every plane), the same timestamps, the same audio packets."""
    pa, pb = _planes(a), _planes(b)
    assert len(pa) == len(pb)
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))
    assert video_pts(a) == video_pts(b)
    assert audio_packets(a) == audio_packets(b)


def test_segments_are_runs_of_whole_shots(reel: Path, refs: list[Path]) -> None:
    plan = plan_video(reel, refs, LOSSLESS)
    one_each = split_segments(plan, workers=2, min_frames=1)
    assert [(s.first, s.last, s.shots) for s in one_each] == [(0, 11, (1, 1)), (12, 23, (2, 2)), (24, 35, (3, 3))]
    assert [s.start_s for s in one_each] == pytest.approx([0.0, 0.48, 0.96])
    assert one_each[-1].end_s is None and one_each[0].end_s == pytest.approx(0.48)
    grouped = split_segments(plan, workers=2, min_frames=SHOT_FRAMES + 1)  # a shot alone is too short
    assert [(s.first, s.last) for s in grouped] == [(0, 23), (24, 35)]


def test_two_workers_give_the_single_run_frame_for_frame(
    reel: Path, refs: list[Path], serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 10)  # the analysis pass decoded by the workers, in 4 chunks
    out = tmp_path / "parallel.mp4"
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        result = colorize_video(reel, refs, out, LOSSLESS, jobs=2)
    assert "analysis pass: 36 frames" in caplog.text and "4 chunks on 2 workers" in caplog.text
    assert result.frames == 36 and result.shots == 3 and result.audio_packets > 0
    assert result.plan == plan_video(reel, refs, LOSSLESS)
    assert_same_film(serial, out)
    assert not list(tmp_path.glob(".*segments"))  # the segments go once the output is in place


def test_an_interrupted_render_resumes_from_its_finished_segments(
    reel: Path, refs: list[Path], serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    out = tmp_path / "resumed.mp4"
    rendered: list[int] = []
    real = executors.render_segment

    def killed_after_the_first(task):  # type: ignore[no-untyped-def]
        if rendered:
            raise KeyboardInterrupt
        rendered.append(task.segment.number)
        return real(task)

    monkeypatch.setattr(executors, "render_segment", killed_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert not out.exists()
    folder = tmp_path / f".{out.name}.segments"
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert [s["done"] for s in manifest["segments"]] == [True, False]

    def counted(task):  # type: ignore[no-untyped-def]
        rendered.append(task.segment.number)
        return real(task)

    monkeypatch.setattr(executors, "render_segment", counted)
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert rendered == [1, 2]  # the first segment was not rendered again
    assert "1 of 2 segments kept from an interrupted run" in caplog.text
    assert_same_film(serial, out)
    assert not folder.exists()


def test_segments_of_another_run_are_not_resumed(reel: Path, refs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "other.mp4"
    folder = tmp_path / f".{out.name}.segments"
    folder.mkdir()
    (folder / MANIFEST_NAME).write_text(json.dumps({"format": 1, "key": "another", "segments": []}))
    (folder / "segment_00001.packets").write_bytes(b"old")
    colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert len(_planes(out)) == 36 and not folder.exists()


def test_the_cli_renders_with_jobs(reel: Path, refs: list[Path], serial: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli.mp4"
    args = [str(reel), "-o", str(out), "--jobs", "2", "--segmenter", "whole", "--no-cache", "--crf", "0"]
    args += ["--keyframe-interval", "5", *[a for r in refs for a in ("--style", str(r))]]
    assert run(args) == 0
    assert_same_film(serial, out)
    assert "reel.mp4: segments 2/2" in capsys.readouterr().err  # the progress says the segments (a log: lines)


def test_the_segments_state_follows_the_render(reel: Path, refs: list[Path], tmp_path: Path) -> None:
    states = []
    colorize_video(reel, refs, tmp_path / "s.mp4", LOSSLESS, jobs=2, on_segments=states.append)
    assert states and states[-1].done == states[-1].total == 2 and states[-1].in_flight == ()
    assert any(s.in_flight for s in states) and all(s.done <= s.total for s in states)
    assert [s.done for s in states] == sorted(s.done for s in states)  # only ever forward


def test_a_range_is_rendered_as_one_job_and_says_so(
    reel: Path, refs: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(segmenter="whole", use_cache=False, frame_range=Settings().frame_range.parse("0.5", None, None))
    with caplog.at_level(logging.WARNING, logger="vidcolor"):
        result = colorize_video(reel, refs, tmp_path / "range.mp4", settings, jobs=2)
    assert result.frames < 36
    assert "a range of frames (--start/--end) is rendered as one job" in caplog.text


def test_the_same_film_through_a_local_ray_instance(
    reel: Path, refs: list[Path], serial: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    pytest.importorskip("ray", reason="the ray extra")
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 10)  # the analysis pass's chunks as Ray tasks too
    out = tmp_path / "ray.mp4"
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, out, LOSSLESS, jobs=2, executor="ray")
    assert "4 chunks on 2 workers" in caplog.text
    assert_same_film(serial, out)


def test_a_segment_file_keeps_every_packet_exactly(tmp_path: Path) -> None:
    path = tmp_path / "segment_00001.packets"
    writer = SegmentFileWriter(path)
    writer.add(100, None, True, b"\x00\x01")
    writer.add(-3, -5, False, b"")
    assert not path.exists()  # complete only when finished
    writer.finish(2, Fraction(1, 90000), 1.25, b"\x42")
    footer = read_footer(path)
    assert (footer.frames, footer.packets, footer.time_base, footer.end_s, footer.extradata) == (
        2, 2, Fraction(1, 90000), 1.25, "42",
    )  # fmt: skip
    assert [(p.pts, p.dts, p.keyframe, p.data) for p in read_packets(path)] == [
        (100, None, True, b"\x00\x01"),
        (-3, -5, False, b""),
    ]
    (tmp_path / "bad.packets").write_bytes(b"not a segment")
    with pytest.raises(EncodeError, match=r"bad\.packets: not a vidcolor segment"):
        read_footer(tmp_path / "bad.packets")


LONG_SHOT = (12, 72)  # long_reel: frames 12 to 71 are one shot, longer than a worker's share of the film


def _long_shot(index: int, width: int, height: int) -> np.ndarray:
    """three_shots' second shot, then its first (moving half as fast, so it never wraps) for 60 frames, then its third."""
    if index < LONG_SHOT[0]:
        return three_shots(SHOT_FRAMES + index, width, height)
    if index < LONG_SHOT[1]:
        return moving_pattern((index - LONG_SHOT[0]) // 2, width, height)
    return three_shots(2 * SHOT_FRAMES + index - LONG_SHOT[1], width, height)


@pytest.fixture(scope="module")
def long_reel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Path]:
    """84 frames: a short shot, a 60-frame one, a short one; its references; its single run."""
    folder = tmp_path_factory.mktemp("long")
    reel = make_video(folder / "long.mp4", width=96, height=64, frames=84, luma_of=_long_shot)
    refs = [
        reference_of(_long_shot(frame, 96, 64), cb, cr, folder / f"ref{frame}.png")
        for frame, cb, cr in ((4, -0.05, 0.15), (40, 0.12, -0.05), (78, -0.1, -0.1))
    ]
    out = folder / "serial.mp4"
    colorize_video(reel, refs, out, LOSSLESS)
    return reel, refs, out


def test_a_long_shot_is_cut_into_pieces_at_its_keyframes(long_reel: tuple[Path, list[Path], Path]) -> None:
    reel, refs, _ = long_reel
    plan = plan_video(reel, refs, LOSSLESS)
    assert [(s.first_frame, s.last_frame) for s in plan.shots] == [(0, 11), (12, 71), (72, 83)]
    assert all(not s.is_piece for s in split_segments(plan, workers=2, keyframes_of=lambda k: [0]))  # pays from 3
    segments = split_segments(plan, workers=3, keyframes_of=lambda k: list(range(plan.shots[k].first_frame,
                                                                                plan.shots[k].last_frame + 1, 5)))  # fmt: skip
    assert [(s.first, s.last, s.through, s.origin) for s in segments] == [
        (0, 11, None, None), (12, 36, 37, 12), (37, 71, 71, 12), (72, 83, None, None),
    ]  # fmt: skip


def test_a_long_shot_split_across_three_workers_gives_the_single_run(
    long_reel: tuple[Path, list[Path], Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reel, refs, serial = long_reel
    out = tmp_path / "pieces.mp4"
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, out, LOSSLESS, jobs=3)
    assert "shot 2 (frames 12-71): 13 keyframes solved" in caplog.text  # its pass, before its pieces
    assert_same_film(serial, out)


def test_an_interrupted_render_of_a_shot_in_pieces_resumes_without_its_pass(
    long_reel: tuple[Path, list[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reel, refs, serial = long_reel
    out = tmp_path / "pieces.mp4"
    monkeypatch.setattr(executors.InlineExecutor, "capacity", 3)  # cut as for three workers, run one at a time
    ran: list[tuple[bool, int]] = []
    real = executors.render_segment

    def killed_at_the_first_piece(task):  # type: ignore[no-untyped-def]
        if sum(1 for is_pass, _ in ran if not is_pass) == 2:
            raise KeyboardInterrupt
        ran.append((task.keyframe_pass, task.segment.number))
        return real(task)

    monkeypatch.setattr(executors, "render_segment", killed_at_the_first_piece)
    with pytest.raises(KeyboardInterrupt):
        colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert ran == [(True, 0), (False, 1), (False, 4)]  # the pass first, whole shots beside it; then the pieces
    ran.clear()
    monkeypatch.setattr(executors, "render_segment", lambda task: ran.append((task.keyframe_pass,
                                                                              task.segment.number)) or real(task))  # fmt: skip
    colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert ran == [(False, 2), (False, 3)]  # only the pieces, from the pass's keyframes kept
    assert_same_film(serial, out)


def test_a_workers_encoder_takes_its_share_of_the_cores(
    reel: Path, refs: list[Path], serial: Path, tmp_path, monkeypatch
) -> None:
    """N workers whose x264 each took every core's worth of threads would crowd the machine N times over."""
    workers = executors.LocalExecutor(2)
    try:
        assert workers.encoder_threads == max(1, round(1.5 * cores() / 2))
    finally:
        workers.shutdown(cancel=False)
    assert executors.InlineExecutor.encoder_threads is None  # one segment at a time: the single run's threads
    threads: list[int] = []
    add_stream = ColorVideoWriter._add_video_stream

    def recorded(self: ColorVideoWriter, settings: EncoderSettings) -> av.VideoStream:
        stream = add_stream(self, settings)
        if self._segment is not None:  # a segment's encoder (the film's own output only takes their packets)
            threads.append(stream.codec_context.thread_count)
        return stream

    monkeypatch.setattr(ColorVideoWriter, "_add_video_stream", recorded)
    monkeypatch.setattr(executors.InlineExecutor, "encoder_threads", 1)
    out = tmp_path / "one_thread.mp4"
    colorize_video(reel, refs, out, LOSSLESS, executor="inline")
    assert threads and set(threads) == {1}
    assert_same_film(serial, out)  # lossless: the frames do not depend on the encoder's threads


OPTIM = dataclasses.replace(LOSSLESS, colorizer="optim", solver=SolverOptions(features="pyramid", iterations=6))


@pytest.fixture(scope="module")
def optim_serial(reel: Path, refs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The single run of the optim solver (pyramid features: no weights)."""
    out = tmp_path_factory.mktemp("optim") / "serial.mp4"
    colorize_video(reel, refs, out, OPTIM)
    return out


def test_two_workers_sharing_one_device_service_give_the_single_run(
    reel: Path, refs: list[Path], optim_serial: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The optim solver's keyframes of both workers solved in the driver's device service (the default with
    two local workers; on the CPU here): the single run's frames; and so without it."""
    optim, serial = OPTIM, optim_serial
    shared = tmp_path / "shared.mp4"
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, shared, optim, jobs=2)
    assert "keyframes of the 2 workers solved together on cpu" in caplog.text
    answered = [r.getMessage() for r in caplog.records if r.getMessage().startswith("device service:")]
    assert answered and " 0 keyframe requests" not in answered[0]
    assert_same_film(serial, shared)
    own = tmp_path / "own.mp4"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, own, optim, jobs=2, share_device="off")
    assert "solved together" not in caplog.text
    assert_same_film(serial, own)


def test_ray_tasks_solve_their_keyframes_in_their_nodes_device_service(
    reel: Path, refs: list[Path], optim_serial: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a local Ray instance (one node, no GPU) with --share-device on: one service on the node, in an actor,
    answers the tasks' keyframes; the single run's frames. Off: the tasks run their own networks."""
    pytest.importorskip("ray", reason="the ray extra")
    shared = tmp_path / "shared.mp4"
    with caplog.at_level(logging.INFO, logger="vidcolor"):
        colorize_video(reel, refs, shared, OPTIM, jobs=2, executor="ray", share_device="on")
    assert "solved together by 1 device services on 1 nodes (on the CPU)" in caplog.text
    answered = [r.getMessage() for r in caplog.records if r.getMessage().startswith("device service on node")]
    assert len(answered) == 1 and ": 0 keyframe requests" not in answered[0], answered
    assert f"(cpu, {cores()} threads)" in answered[0]  # the node's cores, not the one thread Ray gives an actor
    assert_same_film(optim_serial, shared)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vidcolor"):  # auto, without GPUs: each task its own
        colorize_video(reel, refs, tmp_path / "own.mp4", OPTIM, jobs=2, executor="ray")
    assert "device service" not in caplog.text and "solved together" not in caplog.text
    assert_same_film(optim_serial, tmp_path / "own.mp4")


def test_ray_device_services_that_do_not_start_in_time_are_an_error_not_a_wait(
    reel: Path, refs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor waiting for a GPU that other work holds would hold the render with it, silently."""
    pytest.importorskip("ray", reason="the ray extra")
    from vidcolor.film import ray_devices

    monkeypatch.setattr(ray_devices, "START_TIMEOUT_S", 0)
    with pytest.raises(ray_devices.DeviceServiceFailed, match=r"of 1 nodes did not start within 0 s") as late:
        colorize_video(reel, refs, tmp_path / "late.mp4", OPTIM, jobs=2, executor="ray", share_device="on")
    assert late.value.exit_code == 6 and not (tmp_path / "late.mp4").exists()  # a stage that cannot run


def test_sharing_a_device_takes_known_values(reel: Path, refs: list[Path], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--share-device sometimes: give one of auto, on, off"):
        colorize_video(reel, refs, tmp_path / "x.mp4", LOSSLESS, jobs=2, share_device="sometimes")
    assert not (tmp_path / "x.mp4").exists()


def test_automatic_colour_through_the_device_service_gives_the_single_run(
    reel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No references: the network runs in the driver's service (loaded and checked once, there), so the
    workers need no weight file of their own."""
    torch = pytest.importorskip("torch")
    from vidcolor import weights
    from vidcolor.solver.zhang import ECCV16

    published = tmp_path / weights.KNOWN["eccv16"].filename
    torch.manual_seed(0)
    torch.save(ECCV16().state_dict(), published)  # random weights, the published file's layout
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    monkeypatch.setitem(weights.KNOWN, "eccv16", dataclasses.replace(weights.KNOWN["eccv16"], sha256=digest))
    automatic = dataclasses.replace(LOSSLESS, weights_dir=tmp_path, keyframe_interval=12)
    serial, shared = tmp_path / "serial.mp4", tmp_path / "shared.mp4"
    colorize_video(reel, [], serial, automatic)
    colorize_video(reel, [], shared, automatic, jobs=2)  # the workers' digest check would refuse this file
    assert_same_film(serial, shared)
