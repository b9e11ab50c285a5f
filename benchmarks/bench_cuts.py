"""Shots found against the true count, on clean clips and the same clips with archive-film damage.

    .venv/bin/python benchmarks/bench_cuts.py

Damage (seeded): exposure flicker +-7 % with a small level wobble, grain (sigma 0.03 of full scale),
dust specks (up to 6 a frame, dark and bright), a wandering vertical scratch, and two flash frames.
Clips: the bench's carphone (1 shot) and bikes (3 shots: cuts at 30 and 76), a 640x360 pan over a
photograph (1 shot), and a 12-shot reel of pans over four photographs (bench_studio's, 30 s).
"Before" is the detector before issue 18 (raw-luma histogram and pixel change, no look-ahead), kept
here verbatim to measure against; "now" is vidcolor.temporal.shots.CutDetector.

Dissolves: the reel (1 minute) with its cuts turned into dissolves of 8, 16 and 24 frames (both shots
keep moving through it: the end of one overlaps the start of the next), clean and damaged: shots found,
dissolves found, and how far each cut lies from its dissolve's middle. "No dissolves" is the detector
with dissolves not looked for (as before they were), on the same clip.
"""

from __future__ import annotations

import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from bench_pipeline import make_pan_clip  # benchmarks/ is on sys.path
from bench_studio import SHOT_SECONDS, make_reel

from vidcolor.temporal.shots import CutDetector, thumbnail

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def frames_of(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="gray").astype(np.float32) / 255


def damaged(frames: Iterable[np.ndarray], seed: int = 0, flashes: tuple[int, ...] = (17, 64)) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for i, f in enumerate(frames):
        f = f * (1 + rng.uniform(-0.07, 0.07)) + rng.uniform(-0.02, 0.02)
        f = f + rng.normal(0, 0.03, f.shape).astype(np.float32)
        h, w = f.shape
        for _ in range(int(rng.integers(0, 7))):
            radius = int(rng.integers(1, max(2, w // 80)))
            cv2.circle(f, (int(rng.integers(0, w)), int(rng.integers(0, h))), radius, float(rng.choice([0, 1])), -1)
        x = int(w * 0.3 + 3 * np.sin(i / 5))
        f[:, x : x + max(1, w // 200)] = 0.95
        if i in flashes:
            f = f * 1.8 + 0.2
        yield np.clip(f, 0, 1)


def before_score(a: np.ndarray, b: np.ndarray) -> float:
    ha = np.histogram(a, bins=32, range=(0.0, 1.0))[0].astype(np.float32) / a.size
    hb = np.histogram(b, bins=32, range=(0.0, 1.0))[0].astype(np.float32) / b.size
    return 0.5 * (0.5 * float(np.abs(ha - hb).sum())) + 0.5 * min(float(np.abs(a - b).mean()) * 4.0, 1.0)


def shots_before(frames: Iterable[np.ndarray]) -> int:
    prev, recent, since, shots = None, [], 0, 1
    for f in frames:
        thumb = thumbnail(f)
        if prev is not None:
            since += 1
            score = before_score(prev, thumb)
            baseline = float(np.mean(recent)) if recent else 0.0
            if score > 0.3 and score > 2 * baseline and since >= 6:
                shots, since, recent = shots + 1, 0, []
            else:
                recent = [*recent, score][-8:]
        prev = thumb
    return shots


def shots_now(frames: Iterable[np.ndarray]) -> int:
    return 1 + sum(cut for _, cut, _ in CutDetector().scan((None, thumbnail(f)) for f in frames))


def dissolved(frames: Iterable[np.ndarray], cuts: list[int], length: int, middles: list[int]) -> Iterator[np.ndarray]:
    """``frames`` with the shots starting at ``cuts`` joined by ``length``-frame dissolves: the last
    ``length`` frames of each shot overlap the first ``length`` of the next. The output's dissolve middles
    are appended to ``middles``."""
    pending: deque[np.ndarray] = deque()  # the tail of the shot before the next cut
    out = 0
    for index, frame in enumerate(frames):
        upcoming = next((c for c in cuts if c > index - length), None)
        if upcoming is not None and upcoming - length <= index < upcoming:
            pending.append(frame)
            continue
        if pending and index >= (upcoming_cut := max(c for c in cuts if c <= index)):
            k = index - upcoming_cut
            share = (k + 0.5) / length
            if k == length // 2:
                middles.append(out)
            frame = (1 - share) * pending.popleft() + share * frame
        yield frame
        out += 1


def shots_and_dissolves(frames: Iterable[np.ndarray], middles: list[int], look: bool) -> tuple[int, int, float]:
    detector = CutDetector(dissolves=look)
    cuts = [i for i, cut, _ in detector.scan((i, thumbnail(f)) for i, f in enumerate(frames)) if cut]
    off = [min(abs(c - m) for c in cuts) if cuts else 99 for m in middles]
    return 1 + len(cuts), len(detector.dissolves), float(np.mean(off)) if off else 0.0


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pan, reel = work / "pan.mp4", work / "reel.mp4"
        make_pan_clip(pan, 250)
        make_reel(reel, 0.5)
        clips = [(BENCH / "carphone.mp4", 1), (BENCH / "bikes.mp4", 3), (pan, 1), (reel, len(SHOT_SECONDS))]
        print(f"{'clip':<10} {'true':>4} | {'clean: before':>13} {'now':>4} | {'damaged: before':>15} {'now':>4}")
        for path, true in clips:
            clean_b, clean_n = shots_before(frames_of(path)), shots_now(frames_of(path))
            dmg_b, dmg_n = shots_before(damaged(frames_of(path))), shots_now(damaged(frames_of(path)))
            print(f"{path.stem:<10} {true:>4} | {clean_b:>13} {clean_n:>4} | {dmg_b:>15} {dmg_n:>4}")
        long_reel = work / "reel1.mp4"
        make_reel(long_reel, 1.0)
        lengths = [round(seconds * 25 * 0.5) for seconds in SHOT_SECONDS]
        cuts = list(np.cumsum(lengths)[:-1])
        print()
        print("dissolves: the 1-minute reel, 12 shots, 11 cuts made dissolves")
        print(
            f"{'length':>6} {'clip':<8} | {'no dissolves: shots':>19} | {'now: shots':>10} {'dissolves':>9} {'off':>5}"
        )
        for length in (8, 16, 24):
            for name, make in (("clean", frames_of), ("damaged", lambda p: damaged(frames_of(p)))):
                middles: list[int] = []
                before, _, _ = shots_and_dissolves(dissolved(make(long_reel), cuts, length, []), [], False)
                shots, found, off = shots_and_dissolves(
                    dissolved(make(long_reel), cuts, length, middles), middles, True
                )
                print(f"{length:>6} {name:<8} | {before:>19} | {shots:>10} {found:>9} {off:>5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
