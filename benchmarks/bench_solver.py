"""Keyframe solver speed: seconds per keyframe at default settings, and per step by size and network.

    .venv/bin/python benchmarks/bench_solver.py [--iterations 30] [--device auto|cpu|cuda] [--batch 4]

``--batch N`` also times N keyframes solved together in one engine call (what the device service does with
the keyframes of N waiting workers) against the same N solved one by one, per network and size.

Timing only: VGG19 and CLIP are randomly initialised here (no weight files on these machines);
their cost does not depend on the weights. The plateau stop is off so every run does the same
number of steps. Keyframe: scikit-image's astronaut with MediaPipe regions.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from skimage import data

from vidcolor.colour import rgb_to_ycbcr
from vidcolor.device import resolve_device
from vidcolor.segment.mediapipe_seg import MediaPipeSegmenter
from vidcolor.shared_types import Keyframe, Reference
from vidcolor.solver.clip_guide import ClipGuide
from vidcolor.solver.features import PyramidFeatures, VGGFeatures
from vidcolor.solver.optim import OptimColorizer
from vidcolor.solver.optim_engine import OptimEngine, SolveProblem, SolveResult
from vidcolor.solver.options import SolverOptions


def untrained_clip(device: torch.device) -> ClipGuide:
    import open_clip

    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None, device=device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return ClipGuide(model.encode_image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=0, help="also time this many keyframes solved together")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rgb = data.astronaut().astype(np.float32) / 255.0
    luma, chroma = rgb_to_ycbcr(rgb)
    segmenter = MediaPipeSegmenter()
    reference = Reference(luma, chroma, segmenter.segment(luma, rgb))
    keyframe = Keyframe(luma, segmenter.segment(luma))
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    # The product's default: a 512 px keyframe, default settings (the plateau stop on), exemplar start included.
    solver = OptimColorizer(SolverOptions(), device=device, features=PyramidFeatures())
    solver.colorize(keyframe, reference, None)  # warm-up
    forget(solver)
    start = time.perf_counter()
    solver.colorize(keyframe, reference, None)
    seconds = time.perf_counter() - start
    print(f"# default settings, 512 px keyframe, weight-free: {seconds:.2f} s ({solver.last_iterations} steps)")
    print(f"# optim solver, {args.iterations} iterations, {len(keyframe.masks.names)} regions, {name}")
    print(f"{'network':<26} {'size':>5} {'s/keyframe':>11} {'it/s':>7}")
    setups = [
        ("weight-free pyramid", lambda: (PyramidFeatures(), None)),
        ("VGG19 (random init)", lambda: (VGGFeatures.untrained(), None)),
        ("VGG19 + CLIP (random init)", lambda: (VGGFeatures.untrained(), untrained_clip(torch.device(device)))),
    ]
    for label, build in setups:
        features, clip = build()
        for size in (256, 512):
            options = SolverOptions(iterations=args.iterations, solve_size=size, patience=10**6)
            solver = OptimColorizer(options, device=device, features=features, clip=clip)
            solver.colorize(keyframe, reference, None)  # warm-up: reference statistics, kernels
            forget(solver)  # a new reference would be prepared again: time it too
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            solver.colorize(keyframe, reference, None)
            if device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            print(f"{label:<26} {size:>5} {seconds:>11.2f} {solver.last_iterations / seconds:>7.1f}")
    if args.batch > 1:
        batched(args, device, keyframe, reference, setups)
    return 0


def forget(solver: OptimColorizer) -> None:
    assert isinstance(solver.engine, OptimEngine)
    solver.engine.forget_references()


class _Kept:
    """An engine that keeps the problems a colorizer hands it (to solve them again, together)."""

    def __init__(self, engine: OptimEngine) -> None:
        self.engine, self.problems = engine, []  # type: tuple[OptimEngine, list[SolveProblem]]

    def solve(self, problems: list[SolveProblem]) -> list[SolveResult]:
        self.problems += problems
        return self.engine.solve(problems)

    def identity(self) -> dict[str, str]:
        return self.engine.identity()


def batched(args: argparse.Namespace, device: str, keyframe: Keyframe, reference: Reference, setups: list) -> None:
    """N keyframes (the astronaut shifted) solved one by one and together, the same steps each."""
    n = args.batch
    print(f"# {n} keyframes solved together vs one by one, {args.iterations} iterations each")
    print(f"{'network':<26} {'size':>5} {'alone s/kf':>11} {'together s/kf':>14} {'speed-up':>9}")
    frames = [Keyframe(np.roll(keyframe.luma, 9 * i, axis=1), keyframe.masks) for i in range(n)]
    for label, build in setups:
        features, clip = build()
        for size in (256, 512):
            options = SolverOptions(iterations=args.iterations, solve_size=size, patience=10**6)
            engine = OptimEngine(options, device=device, features=features, clip=clip)
            kept = _Kept(engine)
            front = OptimColorizer(options, engine=kept)
            for frame in frames:  # the problems, and a warm-up of every kernel
                front.colorize(frame, reference, None)
            engine.solve(kept.problems)  # warm-up at this batch size (cuDNN picks its kernels)
            timings = []
            for together in (False, True):
                sync(device)
                start = time.perf_counter()
                if together:
                    engine.solve(kept.problems)
                else:
                    for problem in kept.problems:
                        engine.solve([problem])
                sync(device)
                timings.append((time.perf_counter() - start) / n)
            alone, joint = timings
            print(f"{label:<26} {size:>5} {alone:>11.3f} {joint:>14.3f} {alone / joint:>8.2f}x")


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


if __name__ == "__main__":
    sys.exit(main())
