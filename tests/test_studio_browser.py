"""The studio in a real headless browser (Debian's chromium, driven by Playwright) over a real server process.

Where no browser is installed these tests skip with one line saying what to install; with
``VIDCOLOR_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import make_video, reference_of, three_shots
from tests.studio_process import FAST_FLAGS, StudioProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("VIDCOLOR_TEST_ARTIFACTS", Path(__file__).parent.parent / "build" / "test-artifacts"))
# Without the background-networking flags chromium keeps calling out on this closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def _browser_or_skip() -> str:
    if CHROMIUM is None:
        message = "no chromium: install Debian's (apt-get install chromium) to run the studio's browser tests"
        if os.environ.get("VIDCOLOR_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture()
def page(tmp_path: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    executable = _browser_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        browser.close()


def test_a_restorer_colours_a_film_shot_by_shot_in_the_page(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reference_of(three_shots(4, 96, 64), 0.12, -0.05, tmp_path / "one.png")
    reference_of(three_shots(28, 96, 64), -0.1, -0.1, tmp_path / "three.png")
    film = make_video(tmp_path / "reel.mp4", width=96, height=64, frames=36, luma_of=three_shots)
    studio = StudioProcess([str(film), "--style", str(tmp_path / "one.png"), *FAST_FLAGS], tmp_path / "cache")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(studio.url)
        page.wait_for_selector("body[data-ready=yes]")
        cards = page.locator(".shot")
        assert cards.count() == 3
        assert "00:00:00:12" in cards.nth(1).inner_text()
        assert "00:00:00:24–00:00:01:10" in cards.nth(2).inner_text()  # frames 24-35 at 25 fps
        assert "needs" in (cards.nth(2).get_attribute("class") or "")  # shot 3 resembles no reference
        page.screenshot(path=str(ARTIFACTS / "studio-opened.png"))

        # Shot 3: upload a reference, pin it to the frame shown, give it to the shot.
        cards.nth(2).click()
        page.locator("#scrub").fill("28")
        page.wait_for_function("document.getElementById('frame-text').textContent.startsWith('frame 28')")
        page.set_input_files("#upload", str(tmp_path / "three.png"))
        page.wait_for_function("document.getElementById('message').textContent.includes('uploaded')")
        page.check("#pin")
        page.click("#give")
        page.wait_for_function("document.getElementById('message').textContent.includes('similarity')")
        assert "given" in page.inner_text("#shot-status")
        assert "needs" not in (page.locator(".shot").nth(2).get_attribute("class") or "")

        # A red stroke on frame 30, saved as the shot's hints.
        page.locator("#scrub").fill("30")
        page.wait_for_function("document.getElementById('frame-text').textContent.startsWith('frame 30')")
        box = page.locator("#paint").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=8)
        page.mouse.up()
        page.click("#save-hints")
        page.wait_for_function("document.getElementById('message').textContent.includes('hints saved')")
        page.screenshot(path=str(ARTIFACTS / "studio-shot3.png"))

        # Preview the shot, then render the film.
        page.click("#preview")
        page.wait_for_selector("body[data-last-job='preview:done']", timeout=120_000)
        assert "/api/files/studio/previews/" in (page.get_attribute("#preview-colour", "src") or "")
        page.wait_for_function("document.getElementById('sheet').naturalWidth > 0")
        page.click("#render")
        page.wait_for_selector("body[data-last-job='render:done']", timeout=120_000)
        assert "rendered" in page.inner_text("#message")
        page.screenshot(path=str(ARTIFACTS / "studio-rendered.png"), full_page=True)
    finally:
        studio.stop()
    output = tmp_path / "reel.colorized.mp4"
    assert output.is_file() and (tmp_path / "reel.plan.toml").is_file()
    with av.open(str(output)) as container:
        frames = [f.to_ndarray(format="yuv444p") for f in container.decode(video=0)]
    assert len(frames) == 36
    hinted = frames[30][2].astype(np.int16) - 128  # Cr on the hinted frame: the stroke is red
    assert hinted[28:36, 20:48].mean() > 8
    assert np.abs(frames[28][1:].astype(np.int16) - 128).mean() > 3  # shot 3 is coloured, not grey
