from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.media import make_reference, make_video


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def reference(media_dir: Path) -> Path:
    return make_reference(media_dir / "ref.png")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    """64x48, 25 fps, 30 frames, one AAC sine tone."""
    return make_video(media_dir / "clip.mp4")


@pytest.fixture()
def out_dir(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_folders(tmp_path_factory: pytest.TempPathFactory):
    """Tests never read or write the user's cache or weights (nor a checkout's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDCOLOR_CACHE", str(tmp_path_factory.mktemp("user-cache")))
        patch.setenv("VIDCOLOR_WEIGHTS", str(tmp_path_factory.mktemp("user-weights")))
        yield
