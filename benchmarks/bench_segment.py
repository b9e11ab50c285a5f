"""Segmentation cost at 640x360: ms per frame for detection (MediaPipe) and for tracking (flow).

    .venv/bin/python benchmarks/bench_segment.py

Frames are a pan over scikit-image's astronaut (a face, hair, clothes, background), as in the
demo. Detection is what a keyframe pays when it re-detects; tracking is what carrying the masks
along the accumulated flow costs (the flow itself is shared with colour propagation).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "movie"))

import make_demo  # noqa: E402

from vidcolor.colour import rgb_to_ycbcr  # noqa: E402
from vidcolor.segment.mediapipe_seg import MediaPipeSegmenter  # noqa: E402
from vidcolor.segment.tracking import track, tracking_confidence  # noqa: E402
from vidcolor.shared_types import Propagated  # noqa: E402
from vidcolor.temporal.flow import DISFlow  # noqa: E402
from vidcolor.temporal.propagate import step  # noqa: E402


def main() -> int:
    photo = make_demo.data.astronaut()
    luma_photo = (rgb_to_ycbcr(photo.astype(np.float32) / 255)[0] * 255).clip(0, 255).astype(np.uint8)
    frames = [f.astype(np.float32) / 255 for f in make_demo.camera_path(luma_photo, 60)]
    segmenter = MediaPipeSegmenter()
    segmenter.segment(frames[0])  # model start-up is not per frame
    t = time.perf_counter()
    for f in frames[:30]:
        masks = segmenter.segment(f)
    detect_ms = (time.perf_counter() - t) / 30 * 1000

    flow = DISFlow("fast")
    masks = segmenter.segment(frames[0])
    carried = Propagated.anchor(np.zeros((*frames[0].shape, 2), np.float32))
    flow_ms = track_ms = 0.0
    for prev, cur in itertools.pairwise(frames):
        t = time.perf_counter()
        carried = step(carried, flow.flow((cur * 255).astype(np.uint8), (prev * 255).astype(np.uint8)), cur, prev)
        flow_ms += time.perf_counter() - t
        t = time.perf_counter()
        tracked = track(masks, carried.flow)
        confidence = tracking_confidence(tracked, carried.confidence)
        track_ms += time.perf_counter() - t
    n = len(frames) - 1
    h, w = frames[0].shape
    print(f"# segmentation at {w}x{h}, {cv2.getNumThreads()} OpenCV threads, regions: {', '.join(masks.names)}")
    print(f"detection (FaceMesh + SelfieSegmentation + regions): {detect_ms:6.1f} ms/frame")
    print(f"tracking (warp {len(masks.names)} masks by accumulated flow): {track_ms / n * 1000:6.1f} ms/frame")
    print(f"  (flow + propagation step, shared with colour): {flow_ms / n * 1000:6.1f} ms/frame)")
    print(f"tracking confidence after {n} frames: {confidence:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
