"""Photographs in, photographs out: same size, luma kept, 16-bit kept where the format holds it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from vidcolor import Settings
from vidcolor.cli import run
from vidcolor.colour import rgb_to_ycbcr
from vidcolor.photos import colorize_photo


@pytest.fixture(scope="module")
def colour_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def _luma_of(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    top = 65535.0 if image.dtype == np.uint16 else 255.0
    return rgb_to_ycbcr(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / top)[0]


def test_a_greyscale_photograph_gets_colour_and_keeps_its_luma(colour_reference: Path, tmp_path: Path) -> None:
    grey = (rgb_to_ycbcr(data.astronaut().astype(np.float32) / 255)[0] * 255).round().astype(np.uint8)[40:440, 20:500]
    scan = tmp_path / "scan.png"
    cv2.imwrite(str(scan), grey)
    assert run([str(scan), "--style", str(colour_reference), "-q"]) == 0
    out = tmp_path / "scan.colorized.png"
    image = cv2.imread(str(out))
    assert image.shape == (400, 480, 3)
    np.testing.assert_allclose(_luma_of(out) * 255, grey, atol=1.0)  # within the 8-bit rounding of R, G, B
    _, chroma = rgb_to_ycbcr(cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255)
    assert np.abs(chroma).mean() > 0.02  # coloured, not grey


def test_sixteen_bit_tiff_stays_sixteen_bit(colour_reference: Path, tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(2000, 60000, 96, dtype=np.float32), (64, 1)).astype(np.uint16)
    scan = tmp_path / "plate.tif"
    cv2.imwrite(str(scan), ramp)
    result = colorize_photo(scan, colour_reference, tmp_path / "plate.colorized.tif", Settings(segmenter="whole"))
    assert result.bit_depth == 16 and (result.width, result.height) == (96, 64)
    out = cv2.imread(str(result.output), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (64, 96, 3)
    np.testing.assert_allclose(_luma_of(result.output) * 65535, ramp, atol=2.0)
    assert not list(tmp_path.glob(".*partial*"))
    import tifffile

    with tifffile.TiffFile(result.output) as tiff:  # deflate, which every TIFF reader has; not LZW
        assert tiff.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE


def test_a_photograph_to_an_unknown_image_type_is_refused(capsys, colour_reference: Path, tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    cv2.imwrite(str(scan), np.full((20, 30), 100, np.uint8))
    assert run([str(scan), "--style", str(colour_reference), "-o", str(tmp_path / "o.gif"), "-q"]) == 3
    assert "unknown output type '.gif'" in capsys.readouterr().err
