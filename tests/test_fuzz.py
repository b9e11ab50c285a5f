"""Mutated bytes of a valid clip and of a reference PNG: every run ends with a documented exit code.

Bounded in examples and time (no deadline per example: decoding a damaged file may take a moment),
and deterministic (derandomized), so CI sees the same cases every time.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.media import make_reference, make_video
from vidcolor.cli import run

DOCUMENTED = {0, 2, 3, 4, 5, 6}  # 70 (internal error) and a traceback are what this looks for

mutations = st.lists(st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(0, 255)), min_size=1, max_size=8)


def _mutated(source: bytes, changes: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(source)
    for position, value in changes:
        data[position % len(data)] = value
    return bytes(data[:cut] if cut else data)


def _run(clip: Path, reference: Path, out: Path) -> int:
    return run([str(clip), "--style", str(reference), "-o", str(out), "-y", "-q", "--no-cache", "--segmenter", "whole"])


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=mutations, cut=st.one_of(st.none(), st.integers(min_value=16, max_value=20000)))
def test_mutated_clips_fail_cleanly(tmp_path_factory, changes: list[tuple[int, int]], cut: int | None) -> None:
    folder = tmp_path_factory.mktemp("fuzz-clip")
    clip = make_video(folder / "clip.mp4", frames=8, tones=())
    reference = make_reference(folder / "ref.png")
    bad = folder / "bad.mp4"
    bad.write_bytes(_mutated(clip.read_bytes(), changes, cut))
    assert _run(bad, reference, folder / "out.mp4") in DOCUMENTED


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=mutations, cut=st.one_of(st.none(), st.integers(min_value=8, max_value=2000)))
def test_mutated_references_fail_cleanly(tmp_path_factory, changes: list[tuple[int, int]], cut: int | None) -> None:
    folder = tmp_path_factory.mktemp("fuzz-ref")
    clip = make_video(folder / "clip.mp4", frames=4, tones=())
    reference = make_reference(folder / "ref.png")
    bad = folder / "bad.png"
    bad.write_bytes(_mutated(reference.read_bytes(), changes, cut))
    assert _run(clip, bad, folder / "out.mp4") in DOCUMENTED
