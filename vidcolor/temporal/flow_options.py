"""The flow stage's own options (its part of a run's settings)."""

from __future__ import annotations

from dataclasses import dataclass

from vidcolor.options import check_fields, option

FLOW_PRESETS = ("auto", "ultrafast", "fast", "medium")


@dataclass(frozen=True)
class FlowOptions:
    """The optical flow estimators' options; ``dis`` reads ``preset``."""

    preset: str = option(
        "auto",
        "DIS optical flow preset; auto: medium for small frames (up to 0.05 Mpx at work size), fast above.",
        flag="--flow-preset",
        choices=FLOW_PRESETS,
    )

    def __post_init__(self) -> None:
        check_fields(self, "flow_options.")
