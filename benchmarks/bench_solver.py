"""Keyframe solver speed: seconds per keyframe at default settings, and per step by size and network.

    .venv/bin/python benchmarks/bench_solver.py [--iterations 30] [--device auto|cpu|cuda]

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
    solver._prepared = None
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
            solver._prepared = None  # a new reference would be prepared again: time it too
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            solver.colorize(keyframe, reference, None)
            if device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            print(f"{label:<26} {size:>5} {seconds:>11.2f} {solver.last_iterations / seconds:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
