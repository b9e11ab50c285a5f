"""``colorize_photo``: a black-and-white photograph in, a coloured photograph out, its luma kept.

Archives hold photographs beside film. A photograph is coloured exactly as a video's keyframe is
(reference correspondence, regions, edge-aware spreading, the keyframe colorizer), at the same work
size, and its colour brought back to full size inside the RGB gamut of its own luma. Greyscale or
colour input (taken as luma), 8- or 16-bit (16-bit kept where the output format holds it), EXIF
orientation applied. Written to a hidden temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidcolor.cache import KeyframeCache
from vidcolor.colour import fit_chroma_to_gamut, rgb_to_ycbcr, ycbcr_to_rgb
from vidcolor.errors import InputError, OutputError, check_readable_file
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.output import check_output, requested_output
from vidcolor.frames.sequence import picture_params
from vidcolor.frames.sequence_in import looks_like_sequence
from vidcolor.geometry import work_size
from vidcolor.keyframes import KeyframeComposer, WorkFrame
from vidcolor.match.placement import Placement
from vidcolor.native import native_stderr_silenced
from vidcolor.references import IMAGE_SUFFIXES, References, StyleSource
from vidcolor.segment.base import Segmenter
from vidcolor.settings import Settings
from vidcolor.solver.base import KeyframeColorizer
from vidcolor.stages import build_automatic, build_stages, check_stage_names
from vidcolor.temporal.flow import FlowEstimator
from vidcolor.temporal.shots import thumbnail

# Photographs are coloured in this matrix (luma is computed and kept in it).
MATRIX = "bt601"
# Output suffix → image format; the formats that hold 16-bit samples.
PHOTO_FORMATS = {
    ".png": "png", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".bmp": "bmp",
}  # fmt: skip
SIXTEEN_BIT = {"png", "tiff"}


@dataclass(frozen=True)
class PhotoResult:
    output: Path
    width: int
    height: int
    bit_depth: int
    keyframe_sources: dict[str, float]


def is_photo(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an image (by its suffix): it is then coloured as a photograph.

    A name with a ``%d`` pattern or glob characters names an image sequence, a film.
    """
    path = Path(path)
    return path.suffix.lower() in IMAGE_SUFFIXES and not looks_like_sequence(path)


def default_photo_output(input_path: Path) -> Path:
    """``scan.tif`` → ``scan.colorized.png`` beside it."""
    return input_path.with_name(f"{input_path.stem}.colorized.png")


def colorize_photo(
    input_path: str | os.PathLike[str],
    style_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output_path: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    *,
    overwrite: bool = False,
    colorizer: KeyframeColorizer | None = None,
    segmenter: Segmenter | None = None,
    flow: FlowEstimator | None = None,
) -> PhotoResult:
    """Colour the photograph ``input_path`` after the reference(s); write ``output_path`` (an image).

    Raises:
        VidcolorError subclasses with a one-line message naming the file and the problem.
    """
    settings = settings or Settings()
    check_stage_names(settings)
    input_path = Path(input_path)
    luma, depth = _read_luma(input_path)
    output = requested_output(output_path, default_photo_output(input_path))
    target = check_output(output, input_path, overwrite=overwrite, formats=PHOTO_FORMATS)
    references = References.read(StyleSource.parse_all(style_path), MATRIX)
    automatic = build_automatic(settings, MATRIX) if not references.items else None  # no reference: the network
    stages = build_stages(settings, segmenter=segmenter, colorizer=colorizer, flow=flow)
    references = references.segmented(stages.segmenter)
    if references.items:
        references = references.placed(_best_reference(references, luma))

    h, w = luma.shape
    work_h, work_w = work_size(h, w, settings.work_size)
    work = WorkFrame.of_unit(LumaFrame(0, None, Fraction(1), luma), luma, (work_w, work_h))
    keyframes = KeyframeComposer(
        stages.colorizer,
        stages.segmenter,
        references,
        KeyframeCache(None, "", ""),
        automatic=automatic.colorize if automatic is not None else None,
        match_flow=stages.match_flow,
    )
    keyframes.new_shot()  # a photograph is a shot of one keyframe
    chroma = keyframes.solve(work, previous=None).chroma
    if chroma.shape[:2] != (h, w):
        chroma = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    rgb = np.clip(ycbcr_to_rgb(luma, fit_chroma_to_gamut(luma, chroma, MATRIX), MATRIX), 0.0, 1.0)
    out_depth = depth if target.container_format in SIXTEEN_BIT else 8
    try:
        _write(target.partial, rgb, out_depth)
        target.commit()
    except BaseException as exc:
        target.discard()
        if isinstance(exc, OSError):  # a full disk, a folder gone: the output's fault, named as the user knows it
            raise OutputError(f"{target.path}: cannot be written ({exc.strerror or exc})") from exc
        raise
    return PhotoResult(target.path, w, h, out_depth, keyframes.stats.source_shares())


def _read_luma(path: Path) -> tuple[np.ndarray, int]:
    """Unit luma ``(H, W)`` float32 of an image (greyscale or colour taken as luma) and its bit depth."""
    check_readable_file(path, InputError, "an image")
    data = np.fromfile(path, dtype=np.uint8)
    with native_stderr_silenced():
        image = cv2.imdecode(data, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH) if data.size else None
    if image is None or image.dtype not in (np.uint8, np.uint16):
        raise InputError(f"{path}: not a readable 8- or 16-bit image (PNG, JPEG, TIFF, WebP, BMP)")
    depth = 16 if image.dtype == np.uint16 else 8
    unit = image.astype(np.float32) / float((1 << depth) - 1)
    if unit.ndim == 2:
        return unit, depth
    rgb = cv2.cvtColor(unit[..., :3], cv2.COLOR_BGR2RGB)
    return rgb_to_ycbcr(rgb, MATRIX)[0], depth


def _best_reference(references: References, luma: np.ndarray) -> Placement:
    """Several references: the one resembling the photograph most (as a shot takes its reference)."""
    from vidcolor.match.placement import place

    return place([(0.0, thumbnail(luma))], [r.luma for r in references.items], [None] * len(references.items), 1.0)


def _write(path: Path, rgb: np.ndarray, depth: int) -> None:
    top = float((1 << depth) - 1)
    samples = np.rint(rgb * top).astype(np.uint16 if depth == 16 else np.uint8)
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(samples, cv2.COLOR_RGB2BGR), picture_params(path.suffix))
    if not ok:
        raise OutputError(f"{path}: the image could not be encoded")
    encoded.tofile(path)
