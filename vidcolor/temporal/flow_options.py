"""The flow stage's own options (its part of a run's settings)."""

from __future__ import annotations

from dataclasses import dataclass

from vidcolor.options import check_fields, option

FLOW_PRESETS = ("auto", "ultrafast", "fast", "medium")


@dataclass(frozen=True)
class FlowOptions:
    """The optical flow estimators' options; ``dis`` reads ``preset``. ``size`` is where the temporal stage runs
    every estimator: the frames' luma is brought to it, and colour is carried between keyframes on its grid."""

    preset: str = option(
        "auto",
        "DIS optical flow preset; auto: medium for small frames (up to 0.05 Mpx at flow size), fast above.",
        flag="--flow-preset",
        choices=FLOW_PRESETS,
    )
    # Motion needs less resolution than colour: at 240 px the carry costs a quarter of its price at the work
    # size's 480, the keyframes keep the work size's detail (the carried positions point into their chroma), and
    # the bench and own clips lose nothing on average (benchmarks/bench_quality.py; docs/figures.md).
    size: int = option(
        240,
        "Long side at which optical flow runs and colour is carried between keyframes (at most the work size; "
        "keyframes are coloured at work size).",
        flag="--flow-size",
        minimum=32,
        unit="pixels",
    )

    def __post_init__(self) -> None:
        check_fields(self, "flow_options.")
