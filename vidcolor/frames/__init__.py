"""Probing, decoding, encoding, audio remux, output paths and time syntax (PyAV, numpy)."""

from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.encode import ColorVideoWriter
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.output import CONTAINERS, OutputTarget, check_output, default_output_path
from vidcolor.frames.probe import VideoInfo, probe
from vidcolor.frames.timecode import FrameRange, TimePoint, parse_time

__all__ = [
    "CONTAINERS",
    "ColorVideoWriter",
    "FrameRange",
    "LumaFrame",
    "OutputTarget",
    "TimePoint",
    "VideoInfo",
    "check_output",
    "default_output_path",
    "iter_luma_frames",
    "parse_time",
    "probe",
]
