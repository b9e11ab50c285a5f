"""``vidcolor hints-template``: the greyscale frame at a time, as a PNG to paint colour hints on."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from vidcolor.errors import InputError, OutputError
from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.output import check_output
from vidcolor.frames.probe import probe
from vidcolor.frames.timecode import FrameRange, TimePoint


def write_hints_template(
    input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], at: TimePoint, *, overwrite: bool = False
) -> Path:
    """Write the frame of ``input_path`` at ``at`` as an 8-bit grey PNG of the video's size; return its path.

    Its pixels are exactly grey (R = G = B), which a hint picture reads as "no hint", so only what
    is painted on it counts.
    """
    input_path, output = Path(input_path), Path(output_path)
    target = check_output(output, input_path, overwrite=overwrite, formats={".png": "png"})
    info = probe(input_path)
    frame = next(iter_luma_frames(info, FrameRange(start=at)), None)
    if frame is None:
        raise InputError(f"{input_path}: no frame at {at}")
    luma = frame.luma if frame.luma.dtype == np.uint8 else (frame.luma >> (info.bit_depth - 8)).astype(np.uint8)
    # Three channels: a one-channel PNG opens in editors' greyscale mode, where no colour can be painted.
    if not cv2.imwrite(str(target.partial), cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR)):
        target.discard()
        raise OutputError(f"{target.path}: cannot be written")
    target.commit()
    return target.path
