"""The shot plan: made, written, read back, edited by hand and on the command line, rendered exactly."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import SHOT_FRAMES, luma_planes, make_video, moving_pattern
from tests.media import reference_of as _reference_of
from tests.media import three_shots as _three_shots
from vidcolor import Settings, colorize_video
from vidcolor.cli import run
from vidcolor.plan import (
    PlanError,
    plan_from_json,
    plan_to_json,
    plan_to_toml,
    plan_video,
    read_plan,
    write_plan,
)
from vidcolor.plan.files import plan_from_dict

FAST = Settings(segmenter="whole", use_cache=False)
FAST_FLAGS = ["--segmenter", "whole", "--no-cache", "--crf", "0", "-q"]


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96x64, 25 fps, 36 frames in three shots, with a tone."""
    return make_video(
        tmp_path_factory.mktemp("reel") / "reel.mp4", width=96, height=64, frames=36, luma_of=_three_shots
    )


@pytest.fixture(scope="module")
def refs(reel: Path) -> dict[str, Path]:
    """A reference for shot 1 (blue-ish), one for shot 2 (red-ish), one for shot 3 (green-ish)."""
    folder = reel.parent
    return {
        name: _reference_of(_three_shots(frame, 96, 64), cb, cr, folder / f"{name}.png")
        for name, frame, cb, cr in (("one", 4, 0.12, -0.05), ("two", 16, -0.05, 0.15), ("three", 28, -0.1, -0.1))
    }


def _chroma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv444p")[1:].astype(np.int16) for f in c.decode(video=0)]


def test_the_plan_finds_the_shots_places_references_and_says_which_need_one(reel: Path, refs: dict[str, Path]) -> None:
    plan = plan_video(reel, [refs["one"], refs["two"]], FAST)
    assert [(s.first_frame, s.last_frame) for s in plan.shots] == [(0, 11), (12, 23), (24, 35)]
    assert [s.start_timecode for s in plan.shots] == ["00:00:00:00", "00:00:00:12", "00:00:00:24"]
    assert plan.shots[1].end_timecode == "00:00:00:23" and plan.shots[1].start_time == pytest.approx(0.48)
    assert [r.frame for r in plan.references] == [4, 16]
    assert [Path(s.reference or "").name for s in plan.shots] == ["one.png", "two.png", "two.png"]
    assert [s.status for s in plan.shots] == ["matched", "matched", "nearest"]
    assert plan.shots[2].cut_score > 0.3 and plan.shots[0].cut_score == 0
    assert plan.input.frames == 36 and plan.input.rate == "25" and (plan.input.width, plan.input.height) == (96, 64)
    (warning,) = plan.warnings()
    assert "shot 3 (00:00:00:24-00:00:01:10, frames 24-35) resembles no reference" in warning
    assert "--shot 3=REF" in warning


def test_a_shot_that_takes_its_reference_as_a_guess_is_not_matched_to_it_pixel_by_pixel(
    reel: Path, refs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shot 3 resembles neither reference: it takes the nearest one's palette (the colorizer), not a dense
    correspondence with a scene the reference does not show."""
    from vidcolor.keyframes.compose import KeyframeComposer
    from vidcolor.match.correspond import ReferenceMatcher

    solved: dict[int, int] = {}  # id of a keyframe's work-size luma -> its frame
    matched: list[int] = []
    solve, match = KeyframeComposer.solve, ReferenceMatcher.match
    monkeypatch.setattr(KeyframeComposer, "solve", lambda self, work, previous: (
        solved.setdefault(id(work.unit), work.frame.index), solve(self, work, previous))[1])  # fmt: skip
    monkeypatch.setattr(ReferenceMatcher, "match", lambda self, unit, reference: (
        matched.append(id(unit)), match(self, unit, reference))[1])  # fmt: skip
    result = colorize_video(reel, [refs["one"], refs["two"]], tmp_path / "o.mkv", FAST)
    assert [s.status for s in result.plan.shots] == ["matched", "matched", "nearest"]
    frames = sorted(solved[unit] for unit in matched)
    assert frames and all(frame < 24 for frame in frames), frames  # shots 1 and 2 only
    assert any(frame >= 24 for frame in solved.values())  # shot 3's keyframes were solved all the same


def test_a_plan_round_trips_through_toml_and_json_unchanged(reel: Path, refs: dict[str, Path], tmp_path: Path) -> None:
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps({"points": [{"x": 10, "y": 10, "colour": "#c0392b"}]}))
    plan = plan_video(reel, [refs["one"], f"{refs['two']}@16f"], FAST, hints=[f"{hints}@14f"])
    plan = plan.with_shots(
        [
            plan.shots[0],
            dataclasses.replace(plan.shots[1], transition="dissolve"),
            dataclasses.replace(plan.shots[2], overrides=_neutral()),
        ]
    )
    assert plan.shots[1].hints == (f"{hints}@14f",) and plan.references[1].pin == "16f"
    path = write_plan(plan, tmp_path / "reel.plan.toml")
    assert read_plan(path) == plan
    assert plan_from_json(plan_to_json(plan)) == plan
    text = path.read_text()
    assert text.startswith("# vidcolor shot plan") and text.count("\n[[shots]]") == 3
    assert f'file = "{Path("..") / refs["one"].parent.name / "one.png"}"' in text  # relative to the plan's folder
    assert tomllib.loads(text)["shots"][2]["overrides"] == {"neutral": True}
    assert plan_to_toml(read_plan(path), tmp_path) == text  # written again, the same text
    json_path = write_plan(plan, tmp_path / "reel.plan.json")
    assert read_plan(json_path) == plan
    # A plan written before dissolves were found names no transition: its shots begin at cuts.
    older = path.read_text().replace('transition = "dissolve"\n', "").replace('transition = "cut"\n', "")
    assert "\ntransition" not in older
    older_path = tmp_path / "older.plan.toml"
    older_path.write_text(older)
    assert [s.transition for s in read_plan(older_path).shots] == ["cut"] * 3


def test_a_plan_file_naming_a_setting_by_its_old_name_reads(reel: Path, refs: dict[str, Path], tmp_path: Path) -> None:
    """Plans written before the flow preset moved into the flow stage's options call it ``flow_preset``."""
    path = write_plan(plan_video(reel, [refs["one"]], FAST), tmp_path / "reel.plan.toml")
    text = path.read_text()
    assert '"flow_options.preset" = "auto"' in text
    path.write_text(text.replace('"flow_options.preset" = "auto"', 'flow_preset = "fast"'))
    assert read_plan(path).settings["flow_options.preset"] == "fast" and "flow_preset" not in read_plan(path).settings


def _neutral():  # type: ignore[no-untyped-def]
    from vidcolor.plan import ShotOverrides

    return ShotOverrides(neutral=True)


def test_rendering_the_plan_equals_a_default_run_frame_for_frame(
    reel: Path, refs: dict[str, Path], tmp_path: Path
) -> None:
    style = [str(refs["one"]), str(refs["two"])]
    settings = Settings(segmenter="whole", use_cache=False, encoder=Settings().encoder.__class__(crf=0))
    default = colorize_video(reel, style, tmp_path / "default.mkv", settings)
    planned = colorize_video(reel, [], tmp_path / "planned.mkv", settings, plan=plan_video(reel, style, settings))
    assert default.shots == planned.shots == 3
    for a, b in zip(_chroma(tmp_path / "default.mkv"), _chroma(tmp_path / "planned.mkv"), strict=True):
        assert (a == b).all()
    # Through the CLI: plan to a file, then render the file.
    plan_file = tmp_path / "reel.plan.toml"
    assert run(["plan", str(reel), "--style", style[0], "--style", style[1], "-o", str(plan_file), *FAST_FLAGS]) == 0
    assert run([str(reel), "--plan", str(plan_file), "-o", str(tmp_path / "cli.mkv"), *FAST_FLAGS]) == 0
    for a, b in zip(_chroma(tmp_path / "default.mkv"), _chroma(tmp_path / "cli.mkv"), strict=True):
        assert (a == b).all()


def test_a_shot_given_its_own_reference_changes_that_shot_only(
    reel: Path, refs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    base = [str(reel), "--style", str(refs["one"]), "--style", str(refs["two"]), *FAST_FLAGS[:-1]]
    assert run([*base, "-o", str(tmp_path / "before.mkv")]) == 0
    assert "shot 3 (00:00:00:24-00:00:01:10, frames 24-35) resembles no reference" in capsys.readouterr().err
    assert run([*base, "-o", str(tmp_path / "after.mkv"), "--shot", f"3={refs['three']}"]) == 0
    assert "resembles no reference" not in capsys.readouterr().err
    before, after = _chroma(tmp_path / "before.mkv"), _chroma(tmp_path / "after.mkv")
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        if i < 2 * SHOT_FRAMES:
            assert (a == b).all(), f"frame {i} of shots 1-2 changed"
    # Shot 3 now takes the green-ish reference: Cb and Cr both below neutral (128).
    last = np.mean([c.reshape(2, -1).mean(axis=1) for c in after[2 * SHOT_FRAMES :]], axis=0)
    was = np.mean([c.reshape(2, -1).mean(axis=1) for c in before[2 * SHOT_FRAMES :]], axis=0)
    assert last[0] < 120 and last[1] < 120, last
    assert was[1] > 128, was  # it had taken shot 2's red-ish reference


def test_a_false_cut_merged_by_hand_carries_colour_across_it(clip: Path, tmp_path: Path) -> None:
    """A one-shot clip planned with a false cut at frame 15 (as film damage makes them): the frames after it
    get no colour from the hints on frame 0; merged by hand in the file, the colour is carried across."""
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps({"points": [{"x": 32, "y": 24, "colour": "#2060ff"}], "radius": 40}))
    plan = plan_video(clip, [], FAST, hints=[f"{hints}@0f"])
    assert [s.status for s in plan.shots] == ["hinted"]
    text = write_plan(plan, tmp_path / "one.plan.toml").read_text()
    head, shot = text.split("\n[[shots]]")
    second = re.sub(r"\nstart_time = .*|\nend_time = .*", "", shot.replace("first_frame = 0", "first_frame = 15"))
    second = second.replace(f'"{hints.name}@0f"', "")
    split = tmp_path / "split.plan.toml"
    split.write_text(head + "\n[[shots]]" + shot.replace("last_frame = 29", "last_frame = 14") + "\n[[shots]]" + second)
    assert [(s.first_frame, s.last_frame) for s in read_plan(split).shots] == [(0, 14), (15, 29)]
    merged = tmp_path / "merged.plan.toml"
    merged.write_text(split.read_text().split("\n[[shots]]")[0] + "\n[[shots]]" + shot)  # the second table deleted
    for name, plan_path in (("split", split), ("merged", merged)):
        assert run([str(clip), "--plan", str(plan_path), "-o", str(tmp_path / f"{name}.mkv"), *FAST_FLAGS]) == 0
    cut, joined = _chroma(tmp_path / "split.mkv"), _chroma(tmp_path / "merged.mkv")
    assert max(float(np.abs(c - 128).max()) for c in cut[15:]) <= 1  # after the false cut: nothing colours it
    assert min(float(np.abs(c - 128).mean()) for c in joined[15:]) > 2  # merged: carried across


def test_neutral_shots_and_their_own_keyframe_interval(reel: Path, refs: dict[str, Path], tmp_path: Path) -> None:
    from dataclasses import replace

    from vidcolor.plan import ShotOverrides

    plan = plan_video(reel, [refs["one"], refs["two"]], FAST)
    shots = list(plan.shots)
    shots[1] = replace(shots[1], overrides=ShotOverrides(neutral=True))
    shots[0] = replace(shots[0], overrides=ShotOverrides(keyframe_interval=3))
    result = colorize_video(reel, [], tmp_path / "o.mkv", FAST, plan=plan.with_shots(shots))
    chroma = _chroma(tmp_path / "o.mkv")
    assert all(float(np.abs(c - 128).max()) <= 1 for c in chroma[SHOT_FRAMES : 2 * SHOT_FRAMES])
    assert float(np.abs(chroma[0] - 128).mean()) > 2
    # Shot 1 with an interval of 3: keyframes 0, 3, 6, 9, 11 (its end); shot 3: its start and its end.
    assert result.keyframes == 5 + 2


def test_a_plan_for_another_input_is_refused(reel: Path, refs: dict[str, Path], clip: Path, tmp_path: Path, capsys):
    path = write_plan(plan_video(reel, [refs["one"]], FAST), tmp_path / "reel.plan.toml")
    out = tmp_path / "o.mp4"
    assert run([str(clip), "--plan", str(path), "-o", str(out), *FAST_FLAGS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "made for another input" in err and str(clip) in err
    assert not out.exists()
    with pytest.raises(PlanError, match="made for the frames all, not start=5f"):
        colorize_video(reel, [], out, Settings(frame_range=_range("5f")), plan=read_plan(path))


def _range(start: str):  # type: ignore[no-untyped-def]
    from vidcolor.frames.timecode import FrameRange

    return FrameRange.parse(start, None, None)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace("\n[[shots]]", "\n[[shots]", 1), "not readable TOML"),
        (lambda t: t.replace("cut_score = 0.0", "cut_score = 0.0\ncolour = 3", 1), "unknown key 'colour'"),
        (lambda t: t.replace("last_frame = 35", "last_frame = 40"), "past the video's last frame (35)"),
        (lambda t: t.replace("first_frame = 12", "first_frame = 10"), "shot 2 (frames 10-23) overlaps shot 1"),
        (lambda t: t.replace("first_frame = 24", "first_frame = 26"), "frames 24-25 belong to no shot"),
        (lambda t: t.replace("one.png", "gone.png"), "gone.png: no such file"),
        (lambda t: t.replace("format = 1", "format = 7"), "plan format 7 is not the one this vidcolor reads"),
        (lambda t: t.replace('status = "matched"', 'status = "great"', 1), "status 'great' is not one of"),
        (lambda t: t.replace("keyframe_interval = 48", "keyframe_interval = 0"), "settings: keyframe_interval must be"),
    ],
)
def test_a_malformed_plan_is_one_line_naming_the_file_and_where(
    edit, words: str, reel: Path, refs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    plan_file = tmp_path / "reel.plan.toml"
    write_plan(plan_video(reel, [refs["one"], refs["two"]], FAST), plan_file)
    plan_file.write_text(edit(plan_file.read_text()))
    out = tmp_path / "o.mp4"
    assert run([str(reel), "--plan", str(plan_file), "-o", str(out), *FAST_FLAGS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and words in err and str(plan_file) in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reel.plan.toml"]


def test_a_shot_problem_names_the_line_of_its_table(reel: Path, refs: dict[str, Path], tmp_path: Path) -> None:
    plan_file = write_plan(plan_video(reel, [refs["one"]], FAST), tmp_path / "reel.plan.toml")
    text = plan_file.read_text()
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("[[shots]]  # shot 2"))) + 1
    plan_file.write_text(text.replace("first_frame = 12", "first_frame = 10"))
    with pytest.raises(PlanError, match=rf"^{plan_file}:{line}: shot 2 "):
        read_plan(plan_file)


def test_bad_shot_options_are_usage_errors(reel: Path, refs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.mp4"
    cases = [
        (["--shot", f"9={refs['three']}"], "--shot 9="),
        (["--shot", f"x={refs['three']}"], "give a shot number from 1"),
        (["--shot", "2="], "names no reference"),
        (["--shot", f"2={refs['three']}", "--shot", f"2={refs['one']}"], "given twice"),
        (["--shot", f"3={refs['three']}@0f"], "which is not in shot 3 (frames 24-35"),
        (["--shot", f"3={tmp_path / 'none.png'}"], "none.png: no such file"),
    ]
    for extra, words in cases:
        code = run([str(reel), "--style", str(refs["one"]), "-o", str(out), *FAST_FLAGS, *extra])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.count("\n") == 0 and words in err, (extra, err)
        assert not out.exists()


def test_the_plan_command_prints_the_shot_table_and_json(reel: Path, refs: dict[str, Path], tmp_path: Path, capsys):
    plan_file = tmp_path / "reel.plan.toml"
    assert run(["plan", str(reel), "--style", str(refs["one"]), "-o", str(plan_file), "--segmenter", "whole"]) == 0
    out = capsys.readouterr().out
    assert "00:00:00:12 - 00:00:00:23" in out and "needs a reference" in out and "--shot N=REF" in out
    assert run(["plan", str(reel), "--style", str(refs["one"]), "-o", str(plan_file), "-q"]) == 3  # edits are kept
    assert run(["plan", str(reel), "--plan", str(plan_file), "--shot", f"2={refs['two']}", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    shot = data["shots"][1]
    assert shot["status"] == "given" and shot["reference"].endswith("two.png") and shot["similarity"] > 0.9
    assert shot["start_timecode"] == "00:00:00:12" and shot["reference_frame"] is not None
    assert plan_from_dict(data, "<stdout>").shots[1].overrides.reference == shot["reference"]


def _dissolving(index: int, width: int, height: int) -> np.ndarray:
    """60 frames: the moving pattern dissolves into a dark drifting texture over frames 22-37 (16 frames)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = 40 + 25 * np.sin((xs + index // 2) / 5.0) * np.cos(ys / 7.0) + ys / 4
    share = min(max((index - 22 + 0.5) / 16, 0.0), 1.0)
    return np.clip((1 - share) * moving_pattern(index // 4, width, height) + share * texture, 16, 235).astype(np.uint8)


def test_a_dissolve_is_one_shot_boundary_the_plan_calls_a_dissolve(tmp_path: Path, capsys) -> None:
    clip = make_video(tmp_path / "dissolve.mp4", width=96, height=64, frames=60, luma_of=_dissolving)
    plan_file = tmp_path / "dissolve.plan.toml"
    assert run(["plan", str(clip), "-o", str(plan_file), "--segmenter", "whole"]) == 0
    assert re.search(r"2 .*dissolve", capsys.readouterr().out)
    plan = read_plan(plan_file)
    assert [s.transition for s in plan.shots] == ["cut", "dissolve"] and abs(plan.shots[1].first_frame - 30) <= 3
    assert 'transition = "dissolve"' in plan_file.read_text()


def test_a_pin_to_a_frame_the_reference_does_not_show_is_warned_about(reel: Path, refs, tmp_path: Path, capsys):
    assert run([str(reel), "--style", f"{refs['one']}@20f", "-o", str(tmp_path / "o.mp4"), *FAST_FLAGS[:-1]]) == 0
    err = capsys.readouterr().err
    assert "pinned to frame 20, which it does not resemble" in err


def test_preview_takes_a_plan_hints_and_a_shot(reel: Path, refs: dict[str, Path], tmp_path: Path) -> None:
    plan_file = write_plan(plan_video(reel, [refs["one"], refs["two"]], FAST), tmp_path / "reel.plan.toml")
    out = tmp_path / "p.mp4"
    assert run(["preview", str(reel), "--plan", str(plan_file), "--shot", "2", "-o", str(out), *FAST_FLAGS]) == 0
    assert len(luma_planes(out)) == SHOT_FRAMES
    assert (luma_planes(out)[0] == luma_planes(reel)[SHOT_FRAMES]).all()
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps({"points": [{"x": 48, "y": 32, "colour": "#2060ff"}], "radius": 40}))
    out2 = tmp_path / "h.mp4"
    assert run(["preview", str(reel), "--hints", f"{hints}@24f", "--shot", "3", "-o", str(out2), *FAST_FLAGS]) == 0
    assert float(np.abs(_chroma(out2)[0] - 128).mean()) > 2


def test_batch_renders_a_plan_found_beside_an_input_and_has_an_automatic_mode(reel: Path, refs, tmp_path: Path):
    from vidcolor.batch import collect_items

    folder = tmp_path / "in"
    folder.mkdir()
    film = folder / "reel.mp4"
    film.write_bytes(reel.read_bytes())
    write_plan(plan_video(film, [refs["one"]], FAST), folder / "reel.plan.toml")
    (item,) = collect_items([str(folder)], tmp_path / "out", [])
    assert item.plan == folder / "reel.plan.toml" and item.references == ()
    assert run(["batch", str(folder), "-o", str(tmp_path / "out"), *FAST_FLAGS]) == 0
    assert len(luma_planes(tmp_path / "out" / "reel.mp4")) == 36
