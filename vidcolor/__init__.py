"""vidcolor: colorize black-and-white video from a colour reference image.

The library is the product; the CLI (``vidcolor.cli``) is a thin layer over it::

    from vidcolor import colorize_video, Settings
    colorize_video("movie.mp4", "ref.jpg", "movie.colorized.mp4", Settings(keyframe_interval=32))
"""

from vidcolor.errors import (
    EncodeError,
    InputError,
    OutputError,
    ReferenceImageError,
    UsageError,
    VidcolorError,
    WeightsError,
)
from vidcolor.frames.encode import EncoderSettings
from vidcolor.frames.timecode import FrameRange
from vidcolor.pipeline import ColorizeResult, colorize_video, default_output_path
from vidcolor.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ColorizeResult",
    "EncodeError",
    "EncoderSettings",
    "FrameRange",
    "InputError",
    "OutputError",
    "ReferenceImageError",
    "Settings",
    "UsageError",
    "VidcolorError",
    "WeightsError",
    "colorize_video",
    "default_output_path",
]
