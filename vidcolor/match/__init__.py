"""Where the references meet the video: dense keyframe ↔ reference correspondence, reference placement."""

from vidcolor.match.correspond import Match, ReferenceMatcher

__all__ = ["Match", "ReferenceMatcher"]
