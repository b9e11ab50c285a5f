"""The studio's HTTP API, in-process (Starlette's test client): plan, frames, edits, jobs, token, files."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient

from tests.media import make_video, reference_of, three_shots
from vidcolor import EncoderSettings, Settings
from vidcolor.plan import read_plan
from vidcolor.studio import Studio, create_app
from vidcolor.studio.access import COOKIE, TOKEN_HEADER

TOKEN = "test-token-0123456789"
FAST = Settings(segmenter="whole", use_cache=False)


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96x64, 25 fps, 36 frames in three shots, with a tone; a reference for shot 1 beside it."""
    folder = tmp_path_factory.mktemp("film")
    reference_of(three_shots(4, 96, 64), 0.12, -0.05, folder / "one.png")
    reference_of(three_shots(28, 96, 64), -0.1, -0.1, folder / "three.png")
    return make_video(folder / "reel.mp4", width=96, height=64, frames=36, luma_of=three_shots)


@pytest.fixture()
def studio(film: Path, tmp_path: Path) -> Studio:
    opened = Studio(film, [film.parent / "one.png"], FAST, folder=tmp_path / "studio")
    yield opened
    opened.close()
    for leftover in (opened.output, opened.plan_path):
        leftover.unlink(missing_ok=True)


@pytest.fixture()
def client(studio: Studio) -> TestClient:
    with TestClient(create_app(studio, TOKEN), base_url="http://127.0.0.1:8000") as c:
        c.headers[TOKEN_HEADER] = TOKEN
        yield c


def _png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def _wait(studio: Studio, timeout: float = 120) -> dict:
    assert studio.jobs.wait(timeout), "the job did not finish"
    job = studio.jobs.job
    assert job is not None
    return job.summary()


def test_the_plan_as_json_has_the_shots_with_timecodes_and_status(client: TestClient) -> None:
    plan = client.get("/api/plan").json()
    shots = plan["shots"]
    assert [(s["index"], s["first_frame"], s["last_frame"]) for s in shots] == [(1, 0, 11), (2, 12, 23), (3, 24, 35)]
    assert shots[1]["start_timecode"] == "00:00:00:12"
    assert {"reference", "similarity", "status"} <= set(shots[0])
    assert shots[0]["status"] == "matched"
    state = client.get("/api/studio").json()
    assert state["input"]["frames"] == 36 and state["references"][0]["name"] == "one.png"
    assert any("shot 3" in w for w in state["warnings"])


def test_put_plan_round_trips_and_a_bad_edit_is_422_with_the_cli_message(client: TestClient) -> None:
    plan = client.get("/api/plan").json()
    assert client.put("/api/plan", json=plan).json()["shots"] == plan["shots"]
    plan["shots"][1]["first_frame"] = 14  # leaves frames 12-13 in no shot
    answer = client.put("/api/plan", json=plan)
    assert answer.status_code == 422
    assert "frames 12-13 belong to no shot" in answer.json()["error"]
    assert client.put("/api/plan", content=b"{not json").status_code == 422


def test_frames_grey_regions_and_colour_as_pictures(client: TestClient, studio: Studio, film: Path) -> None:
    grey = client.get("/api/frames/30?view=grey&format=png")
    assert grey.status_code == 200 and grey.headers["content-type"] == "image/png"
    picture = cv2.imdecode(np.frombuffer(grey.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert picture.shape == (64, 96)
    assert abs(float(picture.mean()) - float(three_shots(30, 96, 64).mean())) < 20  # studio range to full range
    thumb = client.get("/api/frames/3?width=48")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (32, 48)
    assert client.get("/api/frames/5?view=regions").status_code == 200
    wide = client.get("/api/frames/3?width=5000").content  # never larger than the frame
    assert cv2.imdecode(np.frombuffer(wide, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (64, 96)
    colour = cv2.imdecode(np.frombuffer(client.get("/api/frames/4?view=colour&format=png").content, np.uint8), 1)
    b, _g, r = (float(colour[..., k].mean()) for k in range(3))
    assert b > r + 5  # shot 1's reference is blue-ish (cb > 0)
    for bad in ("/api/frames/36", "/api/frames/1?view=sepia", "/api/frames/1?width=8", "/api/frames/1?format=gif"):
        assert client.get(bad).status_code == 422, bad


def test_giving_a_shot_a_reference_pinned_to_a_frame_updates_the_plan(client: TestClient, film: Path) -> None:
    upload = client.post("/api/references", content=(film.parent / "three.png").read_bytes())
    assert upload.status_code == 201
    index = upload.json()["index"]
    plan = client.post("/api/shots/3/reference", json={"reference": index, "pin_frame": 28}).json()
    shot = plan["shots"][2]
    assert shot["status"] == "given" and shot["similarity"] > 0.9
    assert shot["overrides"]["reference"].endswith("@28f")
    assert client.post("/api/shots/3/reference", json={"file": "/etc/passwd"}).status_code == 422


def test_merge_and_split_cuts(client: TestClient) -> None:
    plan = client.post("/api/shots/2/merge").json()
    assert [(s["first_frame"], s["last_frame"]) for s in plan["shots"]] == [(0, 23), (24, 35)]
    plan = client.post("/api/split", json={"frame": 12}).json()
    assert [(s["first_frame"], s["last_frame"]) for s in plan["shots"]] == [(0, 11), (12, 23), (24, 35)]
    assert plan["shots"][1]["start_timecode"] == "00:00:00:12"
    assert client.post("/api/shots/1/merge").status_code == 422
    assert client.post("/api/split", json={"frame": 12}).status_code == 422
    assert client.post("/api/shots/2", json={"neutral": True}).json()["shots"][1]["overrides"]["neutral"] is True


def test_painted_hints_become_a_hint_file_of_the_plan(client: TestClient, studio: Studio) -> None:
    stroke = np.zeros((64, 96, 4), np.uint8)
    stroke[20:30, 20:40] = (40, 40, 200, 255)  # BGRA: red, opaque
    _ok, data = cv2.imencode(".png", stroke)
    plan = client.post("/api/hints/30", content=data.tobytes()).json()
    hints = plan["shots"][2]["hints"]
    assert len(hints) == 1 and hints[0].endswith("@30f") and plan["shots"][2]["status"] == "hinted"
    assert Path(hints[0].rsplit("@", 1)[0]).is_relative_to(studio.folder)
    again = client.post("/api/hints/30", content=data.tobytes()).json()
    assert len(again["shots"][2]["hints"]) == 1  # painting again replaces the frame's hints
    assert client.get("/api/files/hint/3/0").content == Path(hints[0].rsplit("@", 1)[0]).read_bytes()
    assert client.delete("/api/hints/30").json()["shots"][2]["hints"] == []
    assert client.post("/api/hints/30", content=b"not a picture").status_code == 422


def test_uploads_are_size_limited_and_must_be_pictures(client: TestClient, monkeypatch) -> None:
    import vidcolor.studio.app as app_module
    import vidcolor.studio.session as session_module

    assert client.post("/api/references", content=b"GIF89a not really").status_code == 422
    monkeypatch.setattr(app_module, "UPLOAD_LIMIT_BYTES", 1000)
    monkeypatch.setattr(session_module, "UPLOAD_LIMIT_BYTES", 1000)
    big = _png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    answer = client.post("/api/references", content=big)
    assert answer.status_code == 413


def test_preview_and_render_run_as_jobs_with_events_and_a_second_is_409(
    client: TestClient, studio: Studio, film: Path
) -> None:
    answer = client.post("/api/preview", json={"shot": 1})
    assert answer.status_code == 202
    assert client.post("/api/render", json={}).status_code == 409
    job = _wait(studio)
    assert job["state"] == "done", job
    video = Path(job["result"]["video"])
    assert video.is_file() and Path(job["result"]["sheet"]).is_file()
    assert client.get(studio.studio_url(video)).content == video.read_bytes()
    client.post("/api/shots/3", json={"neutral": True})
    assert client.post("/api/render", json={"overwrite": True}).status_code == 202
    job = _wait(studio)
    assert job["state"] == "done", job
    assert studio.output.is_file() and job["result"]["frames"] == 36
    saved = read_plan(studio.plan_path)
    assert saved.shots[2].overrides.neutral and saved == studio.plan
    kinds = [e["type"] for _, e in studio.jobs.events_since(0)]
    assert kinds.count("started") == 2 and kinds.count("done") == 2 and "progress" in kinds
    assert client.get("/api/files/output").content == studio.output.read_bytes()


def test_a_shot_parallel_render_says_its_segments_in_its_events(client: TestClient, studio: Studio) -> None:
    studio.workers = 2  # vidcolor studio --jobs 2
    assert client.post("/api/render", json={"overwrite": True}).status_code == 202
    job = _wait(studio)
    assert job["state"] == "done", job
    assert job["segments"]["done"] == job["segments"]["total"] >= 2 and job["segments"]["in_flight"] == []
    seen = [e["segments"] for _, e in studio.jobs.events_since(0) if e["type"] == "segments"]
    assert any(s["in_flight"] for s in seen)  # the workers' segments while they ran
    assert job["result"]["frames"] == 36


def test_a_cancelled_render_leaves_no_output_and_no_temp_files(client: TestClient, studio: Studio) -> None:
    import vidcolor.studio.jobs as jobs_module

    def slow(frames: int, total: int | None) -> None:
        time.sleep(0.05)

    before = set(os.listdir(studio.output.parent))
    original = jobs_module.JobRunner._run

    def run_slowly(self, job, work):  # type: ignore[no-untyped-def]
        return original(self, job, lambda progress: work(lambda f, t: (slow(f, t), progress(f, t))))

    jobs_module.JobRunner._run = run_slowly  # type: ignore[method-assign]
    try:
        client.post("/api/render", json={"overwrite": True})
        deadline = time.monotonic() + 60
        while (studio.jobs.job is None or studio.jobs.job.frames < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.post("/api/cancel").json() == {"cancelled": True}
        assert _wait(studio)["state"] == "cancelled"
    finally:
        jobs_module.JobRunner._run = original  # type: ignore[method-assign]
    after = set(os.listdir(studio.output.parent)) - {studio.plan_path.name}
    assert after == before, after - before


def test_the_event_stream_sends_job_events(client: TestClient, studio: Studio) -> None:
    studio.jobs.publish({"type": "plan", "warnings": []})
    studio.jobs.publish({"type": "progress", "frames": 3})
    studio.closing.set()  # the stream sends what is there, then ends as it does when the server stops
    with client.stream("GET", "/api/events?since=0") as answer:
        text = "".join(answer.iter_text())
    assert answer.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in text.split("\n\n") if b.startswith("id:")]
    assert [json.loads(b.split("data: ", 1)[1])["type"] for b in blocks] == ["plan", "progress"]
    assert blocks[1].startswith("id: 2\nevent: progress")


def test_every_request_needs_the_token(studio: Studio) -> None:
    app = create_app(studio, TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8000") as anonymous:
        for path in ("/", "/api/plan", "/api/frames/0", "/static/studio.js", "/api/files/input", "/api/events"):
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.get("/api/plan?token=wrong").status_code == 401
        first = anonymous.get(f"/?token={TOKEN}")
        assert first.status_code == 200 and TOKEN in first.text
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert anonymous.get("/api/plan").status_code == 200  # the cookie now carries it
        # A change with the cookie alone (what a form on another site could make the browser send): refused.
        assert anonymous.post("/api/split", json={"frame": 5}).status_code == 403
        headers = {TOKEN_HEADER: TOKEN, "Origin": "http://evil.example"}
        assert anonymous.post("/api/split", json={"frame": 5}, headers=headers).status_code == 403
        answer = anonymous.get("/api/plan", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in answer.headers
    with TestClient(app, base_url="http://127.0.0.1:8000", cookies={COOKIE: TOKEN}) as with_cookie:
        assert with_cookie.get("/api/studio").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/files/studio/../../../etc/passwd",
        "/api/files/studio/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/files/studio/..%2f..%2f..%2fetc%2fpasswd",
        "/api/files/studio//etc/passwd",
        "/api/files/studio/%2fetc%2fpasswd",
        "/api/files/studio/escape/passwd",
        "/api/files/studio/uploads/../../../../etc/passwd",
        "/api/files/etc/passwd",
        "/api/files/reference/99",
        "/api/files/reference/-1",
        "/api/files/hint/1/0",
        "/api/files/input/../../etc/passwd",
        "/static/../session.py",
        "/static/%2e%2e/session.py",
        "/static/..%2fsession.py",
    ],
)
def test_no_path_reaches_a_file_the_studio_does_not_serve(client: TestClient, studio: Studio, path: str) -> None:
    (studio.folder / "escape").mkdir(exist_ok=True)
    link = studio.folder / "escape" / "passwd"
    if not link.is_symlink():
        link.symlink_to("/etc/passwd")
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.status_code)
    assert b"root:" not in answer.content


def test_the_files_it_does_serve(client: TestClient, studio: Studio, film: Path) -> None:
    assert client.get("/api/files/input").content == film.read_bytes()
    assert client.get("/api/files/reference/0").content == (film.parent / "one.png").read_bytes()
    page = client.get("/static/studio.js")
    assert page.status_code == 200 and "X-Vidcolor-Token" in page.text
    assert client.get("/api/files/output").status_code == 404  # not rendered yet


def test_a_studio_plan_renders_the_same_from_the_cli(client: TestClient, studio: Studio, film: Path) -> None:
    """What the page renders, ``vidcolor INPUT --plan NAME.plan.toml`` renders frame for frame (crf 0)."""
    from tests.media import luma_planes
    from vidcolor.cli import run

    studio.settings = dataclasses.replace(FAST, encoder=EncoderSettings(crf=0))
    client.post("/api/split", json={"frame": 6})
    client.post("/api/render", json={"overwrite": True})
    assert _wait(studio)["state"] == "done"
    again = studio.output.with_name("again.mp4")
    code = run([str(film), "--plan", str(studio.plan_path), "-o", str(again), "--crf", "0", "-q", "-y"])
    assert code == 0
    try:
        first, second = _chroma(studio.output), _chroma(again)
        assert len(first) == len(second) == 36
        assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
        assert all(np.array_equal(a, b) for a, b in zip(luma_planes(studio.output), luma_planes(again), strict=True))
    finally:
        again.unlink(missing_ok=True)


def _chroma(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv444p")[1:] for f in c.decode(video=0)]
