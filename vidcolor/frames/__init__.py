"""Probing, decoding, encoding, audio remux, time syntax and the keyframe cache (PyAV, numpy)."""

from vidcolor.frames.decode import iter_luma_frames
from vidcolor.frames.encode import ColorVideoWriter, EncoderSettings
from vidcolor.frames.frame import LumaFrame
from vidcolor.frames.probe import VideoInfo, probe
from vidcolor.frames.timecode import FrameRange, TimePoint, parse_time

__all__ = [
    "ColorVideoWriter",
    "EncoderSettings",
    "FrameRange",
    "LumaFrame",
    "TimePoint",
    "VideoInfo",
    "iter_luma_frames",
    "parse_time",
    "probe",
]
