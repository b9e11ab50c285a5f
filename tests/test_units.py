"""The pure pieces: time syntax, colour arithmetic, cuts, windows, propagation, the colorizer."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from vidcolor.colour import YCbCrSpec, fit_chroma_to_gamut, rgb_to_ycbcr, ycbcr_to_rgb
from vidcolor.colouring import frames_ahead
from vidcolor.errors import UsageError
from vidcolor.frames.timecode import FrameRange, RangeSelector, TimePoint, parse_time
from vidcolor.registry import Registry
from vidcolor.sampling import identity_positions
from vidcolor.shared_types import Keyframe, Propagated, Reference, RegionMasks
from vidcolor.smoothing import smooth_along
from vidcolor.solver.exemplar import ExemplarColorizer
from vidcolor.temporal.flow import DISFlow
from vidcolor.temporal.propagate import blend, step
from vidcolor.temporal.shots import CutDetector, thumbnail
from vidcolor.temporal.windows import windows


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", TimePoint(seconds=Fraction(12))),
        ("2.5s", TimePoint(seconds=Fraction(5, 2))),
        ("500ms", TimePoint(seconds=Fraction(1, 2))),
        ("40000us", TimePoint(seconds=Fraction(1, 25))),
        ("01:02.5", TimePoint(seconds=Fraction(125, 2))),
        ("1:00:00", TimePoint(seconds=Fraction(3600))),
        ("120f", TimePoint(frames=120)),
    ],
)
def test_parse_time_accepts_ffmpeg_syntax_and_frames(text: str, expected: TimePoint) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "12x", "f12", "0:75", "1:00:60"])
def test_parse_time_rejects_garbage(text: str) -> None:
    with pytest.raises(UsageError, match="not a time"):
        parse_time(text, setting="frame_range.start")


def test_range_rejects_end_with_duration() -> None:
    with pytest.raises(UsageError, match=r"frame_range\.end and frame_range\.duration both given"):
        FrameRange.parse("1", "2", "3")


def test_range_selector_by_time_and_by_frames() -> None:
    sel = RangeSelector(FrameRange.parse("1", None, "10f"), origin_s=0.0, frame_period_s=0.04)
    verdicts = [sel.classify(i, i * 0.04) for i in range(50)]
    assert verdicts.index("keep") == 25
    assert verdicts.count("keep") == 10
    assert verdicts[35] == "after"


def test_gamut_fit_keeps_rgb_in_the_cube_and_luma_exact() -> None:
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 1, (32, 32)).astype(np.float32)
    chroma = rng.uniform(-0.5, 0.5, (32, 32, 2)).astype(np.float32)
    fitted = fit_chroma_to_gamut(y, chroma)
    rgb = ycbcr_to_rgb(y, fitted)
    assert rgb.min() >= -1e-5 and rgb.max() <= 1 + 1e-5
    y_back, _ = rgb_to_ycbcr(np.clip(rgb, 0, 1))
    np.testing.assert_allclose(y_back, y, atol=1e-4)
    # Chroma already inside the gamut is untouched.
    small = chroma * 0.01
    np.testing.assert_allclose(fit_chroma_to_gamut(np.full_like(y, 0.5), small), small, atol=1e-7)


def test_ycbcr_spec_round_trips_ten_bit_limited_range() -> None:
    spec = YCbCrSpec(bit_depth=10)
    samples = np.array([64, 512, 940], np.uint16)
    np.testing.assert_allclose(spec.luma_to_unit(samples), [0.0, 512 / 876 - 64 / 876, 1.0], atol=1e-6)
    np.testing.assert_array_equal(spec.unit_to_luma(spec.luma_to_unit(samples)), samples)
    np.testing.assert_array_equal(spec.chroma_to_samples(np.zeros(2, np.float32)), [512, 512])


def _scene(seed: int, width: int = 96, height: int = 54) -> np.ndarray:
    """A unit-luma picture with structure at several scales (blurred noise), wider than the frame: it pans."""
    noise = np.random.default_rng(seed).uniform(0, 1, (height, 2 * width)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.5) + 0.5 * cv2.GaussianBlur(noise, (0, 0), 8)
    return (blurred - blurred.min()) / (blurred.max() - blurred.min()) * 0.7 + 0.15


def _cuts(frames: list[np.ndarray], detector: CutDetector | None = None) -> list[int]:
    scanned = (detector or CutDetector()).scan((i, thumbnail(f)) for i, f in enumerate(frames))
    return [i for i, cut, _ in scanned if cut]


def _two_shots(frames: int = 40) -> list[np.ndarray]:
    a, b = _scene(1), _scene(2)
    return [(a if i < frames // 2 else b)[:, i : i + 96].copy() for i in range(frames)]


def test_cut_detector_finds_a_hard_cut_not_motion() -> None:
    assert _cuts(_two_shots()) == [20]
    fast = _scene(3)
    assert _cuts([np.roll(fast, 3 * i, axis=1)[:, :96] for i in range(40)]) == []  # a fast pan


def test_cuts_survive_film_damage_flicker_grain_specks_and_a_scratch() -> None:
    rng = np.random.default_rng(0)
    damaged = []
    for i, frame in enumerate(_two_shots(80)):
        gain = 1 + rng.uniform(-0.07, 0.07)  # exposure flicker, +-7 %
        frame = frame * gain + rng.normal(0, 0.03, frame.shape).astype(np.float32)  # grain
        for _ in range(6):  # dust: dark and bright specks
            cv2.circle(frame, (int(rng.integers(0, 96)), int(rng.integers(0, 54))), 1, float(rng.choice([0, 1])), -1)
        x = 30 + int(3 * np.sin(i / 5))
        frame[:, x : x + 1] = 0.95  # a wandering vertical scratch
        damaged.append(np.clip(frame, 0, 1))
    assert _cuts(damaged) == [40]


def test_a_flash_frame_and_a_fade_are_not_cuts() -> None:
    frames = _two_shots(60)
    frames[12] = np.clip(frames[12] * 2.2 + 0.3, 0, 1)  # a flash: one over-exposed, partly clipped frame
    for i in range(40, 60):
        frames[i] = frames[i] * (1 - (i - 40) / 22)  # fading to (almost) black
    detector = CutDetector()
    assert _cuts(frames, detector) == [30]
    assert detector.flashes == 1


def _dissolve(frames: int, length: int, *, moving: bool) -> list[np.ndarray]:
    """Two shots joined by a ``length``-frame dissolve centred on frame ``frames // 2``; ``moving``: both
    shots pan (a pixel every 4 frames) during it, as they do in films."""
    a, b = _scene(4), _scene(5)
    start = frames // 2 - length // 2
    out = []
    for i in range(frames):
        x = i // 4 if moving else 0
        share = min(max((i - start + 0.5) / length, 0.0), 1.0)
        out.append(((1 - share) * a[:, x : x + 96] + share * b[:, x : x + 96]).astype(np.float32))
    return out


@pytest.mark.parametrize("length", [10, 24])
@pytest.mark.parametrize("moving", [False, True])
def test_a_dissolve_is_one_transition_cut_once_near_its_middle(length: int, moving: bool) -> None:
    detector = CutDetector()
    cuts = _cuts(_dissolve(90, length, moving=moving), detector)
    assert len(cuts) == 1 and abs(cuts[0] - 45) <= max(3, length // 4), cuts
    assert [d.cut for d in detector.dissolves] == cuts and detector.dissolve_at(cuts[0])
    # Not looked for, the same dissolve joins the two shots (its frames change too little for a cut).
    assert _cuts(_dissolve(90, 24, moving=moving), CutDetector(dissolves=False)) == []


def test_placement_marks_the_shot_a_dissolve_begins() -> None:
    from vidcolor.match.placement import place

    frames = _dissolve(90, 16, moving=True)
    placement = place(((i / 25, thumbnail(f)) for i, f in enumerate(frames)), [frames[0]], [None], 1 / 25)
    assert [(s.start, s.dissolve) for s in placement.shots] == [(0, False), (placement.shots[1].start, True)]
    assert abs(placement.shots[1].start - 45) <= 4


def test_slow_pans_and_zooms_are_no_dissolves() -> None:
    wide = _scene(6, width=192)
    pan = [wide[:, i : i + 96].copy() for i in range(0, 90)]  # a pixel a frame, across new content
    big = cv2.resize(_scene(7), (384, 108))
    zoom = []
    for i in range(90):  # 2x to 1x over 90 frames
        w = int(192 - i * 96 / 90)
        zoom.append(cv2.resize(big[:, 96 - w // 2 : 96 + w // 2][: max(2, w * 54 // 96)], (96, 54)))
    for frames in (pan, zoom, _two_shots(90)):
        detector = CutDetector()
        _cuts(frames, detector)
        assert detector.dissolves == []


def test_windows_split_at_cuts_and_every_interval() -> None:
    # Shot 0 is frames 0-24, shot 1 frames 25-31 (the shots come from the plan).
    got = list(windows(range(32), lambda i: int(i >= 25), interval=10))
    assert [w.frames[0] for w in got] == [0, 10, 20, 25]
    assert [w.next_keyframe for w in got] == [10, 20, None, None]
    assert [w.starts_shot for w in got] == [True, False, False, True]
    assert [w.shot for w in got] == [0, 0, 0, 1]
    assert sum(len(w.frames) for w in got) == 32
    # A shot of its own interval: keyframes every 4 frames in shot 1 only.
    got = list(windows(range(32), lambda i: int(i >= 25), interval=lambda shot: 4 if shot == 1 else 10))
    assert [w.frames[0] for w in got] == [0, 10, 20, 25, 29]


def test_registry_names_the_choices() -> None:
    reg: Registry[int] = Registry("widget", "widget_kind")
    reg.register("a")(int)
    with pytest.raises(UsageError, match="widget_kind 'b': unknown widget; choose one of a"):
        reg.check("b")


def test_each_stage_takes_its_own_options_which_the_settings_compose() -> None:
    """A stage is built from its own options dataclass and the run's context, never the whole settings; every
    registered stage's options are the group of Settings for its kind, so the CLI derives their flags."""
    import dataclasses

    from vidcolor.errors import StageError
    from vidcolor.registry import NoOptions, RunContext
    from vidcolor.segment import SEGMENTERS
    from vidcolor.settings import OPTIONS, Settings
    from vidcolor.solver import COLORIZERS
    from vidcolor.temporal.flow import FLOWS
    from vidcolor.temporal.flow_options import FlowOptions

    defaults = Settings()
    for registry, group in ((FLOWS, "flow_options"), (COLORIZERS, "solver"), (SEGMENTERS, None)):
        for name in registry.names():
            expected = NoOptions if group is None else type(getattr(defaults, group))
            assert registry.options_type(name) is expected, (registry.kind, name)
    assert (
        OPTIONS["flow_options.preset"].flag == "--flow-preset" and OPTIONS["solver.iterations"].flag == "--iterations"
    )
    flow = FLOWS.create("dis", FlowOptions(preset="ultrafast"), RunContext())
    assert flow.preset == "ultrafast"  # type: ignore[attr-defined]
    assert FLOWS.create("dis").preset == "auto"  # type: ignore[attr-defined]  # no options: the defaults
    with pytest.raises(StageError, match=r"^the dis flow estimator takes FlowOptions options, not SolverOptions$"):
        FLOWS.create("dis", defaults.solver)
    assert dataclasses.replace(defaults, flow_options=FlowOptions("fast")).colour_key("r", {}) != defaults.colour_key(
        "r", {}
    )


def test_a_renamed_setting_still_reads_by_its_old_path() -> None:
    """Plan files written before the flow preset moved into the flow stage's options name it ``flow_preset``."""
    from vidcolor.settings import Settings

    assert Settings.from_paths({"flow_preset": "fast"}).flow_options.preset == "fast"


def _textured(shift: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 1, (48, 96)).astype(np.float32)
    import cv2

    base = cv2.GaussianBlur(base, (0, 0), 2.0)
    base = (base - base.min()) / (base.max() - base.min())
    return np.roll(base, shift, axis=1)


def test_propagation_follows_motion() -> None:
    flow = DISFlow("medium")
    a, b = _textured(0), _textured(3)
    chroma = np.zeros((48, 96, 2), np.float32)
    chroma[:, 40:56, 0] = 0.3  # a blue stripe on frame a
    moved = step(Propagated.anchor(chroma), flow.flow((b * 255).astype(np.uint8), (a * 255).astype(np.uint8)), b, a)
    # The stripe is now 3 pixels to the right, inside the image away from the wrap-around.
    assert moved.chroma[10:38, 45:57, 0].mean() > 0.25
    assert moved.chroma[10:38, 30:40, 0].mean() < 0.05
    assert moved.confidence[10:38, 10:80].mean() > 0.8


def test_colour_carried_on_a_coarser_grid_samples_the_keyframes_own_chroma() -> None:
    """Flow below work size: the positions live on a half grid but point into the keyframe's chroma, so a stripe
    as sharp as it is, and the grid comes back to the identity at full size (inside its border)."""
    flow = DISFlow("medium")
    a, b = _textured(0), _textured(4)  # (48, 96), 4 px apart: 2 px on the half grid
    half = lambda image: cv2.resize(image, (48, 24), interpolation=cv2.INTER_AREA)  # noqa: E731
    chroma = np.zeros((48, 96, 2), np.float32)
    chroma[:, 40:56, 0] = 0.3
    anchor = Propagated.anchor(chroma, grid=(24, 48))
    assert anchor.positions.shape == (24, 48, 2) and anchor.confidence.shape == (24, 48)
    inside = (slice(1, -1), slice(1, -1))  # the outermost pixels sit beyond the grid's first centres
    np.testing.assert_allclose(anchor.at_grid(48, 96).positions[inside], identity_positions(48, 96)[inside], atol=1e-4)
    np.testing.assert_allclose(anchor.at_grid(48, 96).chroma[inside], chroma[inside], atol=1e-5)
    u8 = lambda image: (half(image) * 255).astype(np.uint8)  # noqa: E731
    moved = step(anchor, flow.flow(u8(b), u8(a)), half(b), half(a))
    full = moved.at_grid(48, 96)
    assert full.chroma[10:38, 45:59, 0].mean() > 0.25  # the stripe moved 4 px right, at work size
    assert full.chroma[10:38, 30:40, 0].mean() < 0.05
    assert full.confidence[10:38, 10:80].mean() > 0.8
    with pytest.raises(ValueError, match="at_grid"):
        _ = moved.flow  # an accumulated flow is only meaningful on the keyframe's grid


def test_blend_trusts_the_confident_chain() -> None:
    one = Propagated.anchor(np.full((4, 4, 2), 0.2, np.float32))
    lost = Propagated.anchor(np.full((4, 4, 2), -0.2, np.float32))
    lost.confidence[...] = 0.0
    np.testing.assert_allclose(blend(one, lost, 0.5), 0.2, atol=1e-2)
    np.testing.assert_allclose(blend(one, one, 0.5), 0.2, atol=1e-6)


def test_exemplar_colorizer_pairs_regions_by_name() -> None:
    """Reference skin (right half) is blue, its background orange; the keyframe's skin is on the left."""
    h, w = 40, 80
    luma = _textured(0)[:h, :w]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1
    blue, orange = (0.25, -0.1), (-0.15, 0.2)
    ref_chroma = np.zeros((h, w, 2), np.float32)
    ref_chroma[:, w // 2 :] = blue
    ref_chroma[:, : w // 2] = orange
    reference = Reference(luma, ref_chroma, RegionMasks(("skin", "background"), np.stack([1 - left, left])))
    keyframe = Keyframe(luma, RegionMasks(("skin", "background"), np.stack([left, 1 - left])))
    chroma = ExemplarColorizer(position_weight=0.0).colorize(keyframe, reference, previous=None)
    assert chroma.shape == (h, w, 2)
    # Away from the feathered border, each region has its counterpart's colour and no bleeding.
    np.testing.assert_allclose(chroma[5:-5, 5 : w // 2 - 8].mean(axis=(0, 1)), blue, atol=0.03)
    np.testing.assert_allclose(chroma[5:-5, w // 2 + 8 : -5].mean(axis=(0, 1)), orange, atol=0.03)


def test_exemplar_colorizer_keeps_trusted_previous_colour() -> None:
    luma = _textured(0)[:32, :32]
    reference = Reference(luma, np.full((32, 32, 2), 0.2, np.float32), RegionMasks.whole(32, 32))
    previous = Propagated.anchor(np.full((32, 32, 2), -0.2, np.float32))
    colorizer = ExemplarColorizer(continuity=1.0)
    chroma = colorizer.colorize(Keyframe(luma, RegionMasks.whole(32, 32)), reference, previous)
    np.testing.assert_allclose(chroma, -0.2, atol=1e-5)


def test_exemplar_matches_half_the_pixels_and_fills_the_rest_from_their_neighbours(monkeypatch) -> None:
    """A checkerboard half of the wanted pixels is queried (and any pixel with no queried neighbour); every
    other wanted pixel takes its queried neighbours' mean, and the keyframe's colour comes out as it was."""
    from vidcolor.solver import exemplar
    from vidcolor.solver.exemplar import filled_from_neighbours, half_of

    wanted = np.zeros((6, 7), bool)
    wanted[1:5, 1:6] = True
    wanted[5, 0] = True  # a pixel of the black squares with no wanted neighbour: matched itself
    queried = half_of(wanted)
    assert queried[5, 0] and not (queried & ~wanted).any()
    assert queried[1:5, 1:6].sum() == 10  # of 20
    values = np.zeros((6, 7, 2), np.float32)
    values[queried] = np.arange(2 * queried.sum(), dtype=np.float32).reshape(-1, 2)
    filled = filled_from_neighbours(values.copy(), queried, wanted)
    np.testing.assert_array_equal(filled[queried], values[queried])
    np.testing.assert_allclose(filled[2, 3], (values[1, 3] + values[3, 3] + values[2, 2] + values[2, 4]) / 4)
    np.testing.assert_allclose(filled[1, 2], (values[1, 1] + values[1, 3] + values[2, 2]) / 3)  # its 3 queried
    assert (filled[~wanted] == 0).all()

    sizes: list[int] = []
    tree = exemplar.cKDTree

    class Counting(tree):  # type: ignore[misc, valid-type]
        def query(self, points, *args, **kwargs):  # type: ignore[no-untyped-def]
            sizes.append(len(points))
            return super().query(points, *args, **kwargs)

    monkeypatch.setattr(exemplar, "cKDTree", Counting)
    luma = _textured(0)[:32, :48]
    reference = Reference(luma, np.full((32, 48, 2), (0.2, -0.1), np.float32), RegionMasks.whole(32, 48))
    chroma = ExemplarColorizer(continuity=0.0).colorize(Keyframe(luma, RegionMasks.whole(32, 48)), reference, None)
    assert sum(sizes) == 32 * 48 // 2
    np.testing.assert_allclose(chroma, np.broadcast_to((0.2, -0.1), chroma.shape), atol=5e-3)


def test_a_large_jpeg_reference_is_decoded_reduced_with_its_colours(tmp_path) -> None:
    import cv2

    from vidcolor.references import _jpeg_size, load_rgb

    ys, xs = np.mgrid[0:1800, 0:2400].astype(np.float32)
    bgr = np.stack([xs / 2400 * 255, np.full_like(xs, 90), ys / 1800 * 255], axis=-1).astype(np.uint8)
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), bgr)
    assert _jpeg_size(np.fromfile(path, np.uint8)) == (2400, 1800)
    rgb = load_rgb(path)
    assert rgb.shape == (768, 1024, 3)
    np.testing.assert_allclose(
        rgb.reshape(-1, 3).mean(axis=0), bgr[..., ::-1].reshape(-1, 3).mean(axis=0) / 255, atol=0.01
    )


def test_prefetch_keeps_order_raises_where_the_producer_failed_and_stops_when_closed() -> None:
    import threading

    from vidcolor.frames.prefetch import prefetch

    assert list(prefetch(range(100), depth=3)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise ValueError("damaged after 2 frames")

    got = []
    with pytest.raises(ValueError, match="damaged after 2 frames"):
        for value in prefetch(failing()):
            got.append(value)
    assert got == [1, 2]

    produced = []
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                produced.append(i)
                yield i
                i += 1
        finally:
            closed.set()

    stream = prefetch(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5), "the producer's generator is closed"
    assert len(produced) <= 5, "the producer stays at most a few items ahead"


def test_smpte_timecode_reads_back_to_its_frame_drop_frame_included() -> None:
    from fractions import Fraction

    from vidcolor.errors import SettingError
    from vidcolor.frames.timecode import smpte, smpte_frame

    for rate in (Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(60000, 1001)):
        assert all(smpte_frame(smpte(n, rate), rate) == n for n in range(0, 200_000, 37))
    assert smpte_frame("00:01:00;02", Fraction(30000, 1001)) == 1800  # 00:01:00;00 and ;01 do not exist
    for bad in ("25:00", "01:00:61:00", "01:00:00:25"):
        with pytest.raises(SettingError):
            smpte_frame(bad, Fraction(25))


def test_the_edge_aware_smoother_repeats_itself_whatever_opencvs_threads() -> None:
    """OpenCV's fast global smoother rounds differently with one thread than with several (a busy pool runs it in
    the caller alone): smooth_along always runs it with one, and leaves OpenCV's thread count as it was."""
    rng = np.random.default_rng(3)
    guide = cv2.GaussianBlur(rng.integers(0, 256, (90, 160)).astype(np.uint8), (0, 0), 2)
    data = rng.random((90, 160, 3)).astype(np.float32)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        alone = cv2.ximgproc.fastGlobalSmootherFilter(guide, data, 400.0, 5.0)
        cv2.setNumThreads(2)
        np.testing.assert_array_equal(smooth_along(guide, data, 400.0, 5.0), alone)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def test_frames_held_ahead_cover_a_window_within_a_memory_bound() -> None:
    mb = 1 << 20
    assert frames_ahead(48, mb) == 64  # the default keyframe interval and a margin
    assert frames_ahead(120, mb) == 136  # a shot given a longer interval
    assert frames_ahead(48, 4 * mb) == 48  # what 192 MB holds
    assert frames_ahead(48, 9 * mb) == 32  # never fewer than before


def test_side_threads_take_the_most_urgent_task_first_then_in_order() -> None:
    """A keyframe's tree queries (urgent) do not queue behind the flows of the frames read ahead."""
    import threading

    from vidcolor.threads import AHEAD, SOON, URGENT, SideThreads

    pool = SideThreads(1, "test-side")
    release, done = threading.Event(), []
    blocker = pool.submit(release.wait)  # the one thread is busy while the others queue
    futures = [pool.submit(done.append, name, priority=priority)
               for name, priority in (("ahead 1", AHEAD), ("soon", SOON), ("ahead 2", AHEAD), ("urgent", URGENT))]  # fmt: skip
    release.set()
    for future in [blocker, *futures]:
        future.result(timeout=10)
    assert done == ["urgent", "soon", "ahead 1", "ahead 2"]
    failing = pool.submit(int, "not a number")
    with pytest.raises(ValueError):
        failing.result(timeout=10)
    release.clear()
    pool.submit(release.wait)
    queued = pool.submit(done.append, "never")
    threading.Timer(0.2, release.set).start()
    pool.stop()  # the running task ends; the queued one is dropped
    assert queued.cancelled() and "never" not in done
    with pytest.raises(RuntimeError):
        pool.submit(done.append, "after")
