"""The studio's latencies on a 2-minute 640x360 reel of 12 shots: page ready, a scrubbed frame, a shot's preview.

    .venv/bin/python benchmarks/bench_studio.py [--minutes 2]

A real ``vidcolor studio`` process and real HTTP requests (httpx), as the page makes them:
- start: the command to the address printed (probe + the plan's thumbnail pass);
- page ready: /api/studio, /api/plan and every card's three thumbnails, cold (made) and warm (cached);
- scrub: one full-size grey frame not seen before (a seek and a decode, or decoding on from the last one),
  the next frame, and a coloured one (a keyframe run);
- preview: a 3-second shot coloured through the studio, against ``vidcolor preview --plan P --shot 1``.
One run each (the machine is noisy: read the ratios, measured in this one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from bench_pipeline import ROOT, VIDCOLOR, back_and_forth, write_grey_clip  # benchmarks/ is on sys.path
from measure import run_measured
from skimage import data

SHOT_SECONDS = [3, 12, 8, 15, 6, 10, 9, 14, 7, 11, 13, 12]  # 120 s; shot 1 is the 3 s preview


def make_reel(path: Path, minutes: float) -> list[np.ndarray]:
    """640x360 grey pans over scikit-image photographs, a cut every few seconds; returns the colour photos."""
    sys.path.insert(0, str(ROOT / "movie"))
    import make_demo

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    paths = [make_demo.camera_path(cv2.cvtColor(p, cv2.COLOR_RGB2GRAY), 150) for p in photos]
    scale = minutes / 2
    write_grey_clip(
        path,
        (
            back_and_forth(paths[shot % len(paths)], k)
            for shot, seconds in enumerate(SHOT_SECONDS)
            for k in range(round(seconds * 25 * scale))
        ),
    )
    return photos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reel = work / "reel.mp4"
        photos = make_reel(reel, args.minutes)
        refs = []
        for k, photo in enumerate(photos):
            refs += ["--style", str(work / f"ref{k}.png")]
            cv2.imwrite(refs[-1], cv2.cvtColor(cv2.resize(photo, (640, 360)), cv2.COLOR_RGB2BGR))
        started = time.perf_counter()
        server = subprocess.Popen(
            [*VIDCOLOR, "studio", str(reel), *refs, "--no-browser", "--no-cache", "-q"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "VIDCOLOR_CACHE": str(work / "cache")},
        )
        assert server.stdout is not None
        url = server.stdout.readline().split(": ", 1)[1].strip()
        start_s = time.perf_counter() - started
        base, token = url.split("/?", 1)[0], url.rsplit("token=", 1)[1]
        client = httpx.Client(base_url=base, headers={"X-Vidcolor-Token": token}, timeout=600)
        try:
            plan = client.get("/api/plan").json()
            shots = plan["shots"]
            print(f"# {plan['input']['frames']} frames 640x360, {len(shots)} shots; one run each")
            print(f"start (probe + plan pass)      {start_s:6.2f} s")
            for label in ("cold", "warm"):
                t = time.perf_counter()
                client.get("/api/studio")
                client.get("/api/plan")
                for s in shots:
                    for n in (s["first_frame"], (s["first_frame"] + s["last_frame"]) // 2, s["last_frame"]):
                        assert client.get(f"/api/frames/{n}?view=grey&width=160").status_code == 200
                print(
                    f"page ready, {label}               {time.perf_counter() - t:6.2f} s ({3 * len(shots)} thumbnails)"
                )
            rng = np.random.default_rng(0)
            grey = []
            for n in rng.integers(0, plan["input"]["frames"], 8):
                t = time.perf_counter()
                assert client.get(f"/api/frames/{n}?view=grey").status_code == 200
                grey.append(time.perf_counter() - t)
            print(
                f"scrubbed frame, grey           {1000 * statistics.median(grey):6.0f} ms (median of 8 unseen frames)"
            )
            forward = []
            for n in range(2000, 2012):  # the slider dragged on, frame by frame
                t = time.perf_counter()
                assert client.get(f"/api/frames/{n}?view=grey").status_code == 200
                forward.append(time.perf_counter() - t)
            print(
                f"scrubbed frame, grey, next     {1000 * statistics.median(forward[1:]):6.0f} ms (median of 11, each the next frame)"
            )
            colour = []
            for n in (40, 1500, 2800):
                t = time.perf_counter()
                assert client.get(f"/api/frames/{n}?view=colour").status_code == 200
                colour.append(time.perf_counter() - t)
            print(
                f"scrubbed frame, colour         {statistics.median(colour):6.2f} s (median of 3, a keyframe run each)"
            )
            t = time.perf_counter()
            assert client.post("/api/preview", json={"shot": 1}).status_code == 202
            while (job := client.get("/api/studio").json()["job"])["state"] == "running":
                time.sleep(0.1)
            studio_preview = time.perf_counter() - t
            assert job["state"] == "done", job
            plan_file = work / "reel.plan.json"
            plan_file.write_text(client.get("/api/plan").text)
        finally:
            server.terminate()
            server.wait(30)
        cli = run_measured(
            [
                *VIDCOLOR,
                "preview",
                str(reel),
                "--plan",
                str(plan_file),
                "--shot",
                "1",
                "--no-cache",
                "-y",
                "-q",
                "-o",
                str(work / "cli.mp4"),
            ]
        )
        print(
            f"preview of shot 1 (3 s)        studio {studio_preview:6.2f} s | CLI preview --plan --shot 1 "
            f"{cli.seconds:6.2f} s (whole command) | ratio {cli.seconds / studio_preview:4.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
