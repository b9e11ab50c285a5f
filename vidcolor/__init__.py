"""vidcolor: colorize black-and-white video from a colour reference image.

The library is the product; the CLI (``vidcolor.cli``) is a thin layer over it::

    from vidcolor import colorize_video, Settings
    colorize_video("movie.mp4", "ref.jpg", "movie.colorized.mp4", Settings(keyframe_interval=32))
"""

from vidcolor import collector  # first: it pauses the cyclic garbage collector for the imports below

try:
    from vidcolor.errors import (
        EncodeError,
        InputError,
        OutputError,
        ReferenceImageError,
        SettingError,
        StageError,
        UsageError,
        VidcolorError,
        WeightsError,
    )
    from vidcolor.frames.output import default_output_path
    from vidcolor.frames.timecode import FrameRange
    from vidcolor.photos import PhotoResult, colorize_photo
    from vidcolor.pipeline import ColorizeResult, colorize_video
    from vidcolor.preview import PreviewResult, preview_video
    from vidcolor.settings import EncoderSettings, FlowOptions, Settings, SolverOptions

finally:
    collector.resume()


def __getattr__(name: str) -> str:
    """``__version__``, read when asked for: ``importlib.metadata`` costs 20 ms at every start, a worker's too."""
    if name != "__version__":
        raise AttributeError(f"module 'vidcolor' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vidcolor")  # pyproject.toml is the one place the version is written
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "0+unknown"


__all__ = [
    "ColorizeResult",
    "EncodeError",
    "EncoderSettings",
    "FlowOptions",
    "FrameRange",
    "InputError",
    "OutputError",
    "PhotoResult",
    "PreviewResult",
    "ReferenceImageError",
    "SettingError",
    "Settings",
    "SolverOptions",
    "StageError",
    "UsageError",
    "VidcolorError",
    "WeightsError",
    "__version__",
    "colorize_photo",
    "colorize_video",
    "default_output_path",
    "preview_video",
]
