"""What the commands that colour share about plans: ``--plan``, ``--shot``, settings from a plan, the shot table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from vidcolor.errors import SettingError, UsageError
from vidcolor.frames.timecode import FrameRange
from vidcolor.plan import NEEDS_REFERENCE, Plan, plan_video, read_plan
from vidcolor.plan.files import check_settings, settings_error
from vidcolor.settings import OPTIONS, Settings
from vidcolor.stages import check_stage_names


def parse_shots(given: Sequence[str] | None, *, selecting: bool = False) -> tuple[dict[int, str], list[int]]:
    """``--shot N=REF[@TIME]`` (a shot's own reference) and, where ``selecting``, ``--shot N`` (that shot)."""
    references: dict[int, str] = {}
    chosen: list[int] = []
    for text in given or ():
        number, sep, reference = text.partition("=")
        if not number.strip().isdigit() or int(number) < 1:
            raise SettingError("shot", f"{text!r}: give a shot number from 1, as N=REF.png (or N=REF.png@TIME)")
        if not sep and selecting:
            chosen.append(int(number))
            continue
        if not reference.strip():
            raise SettingError("shot", f"{text!r}: names no reference; give N=REF.png")
        if int(number) in references:
            raise SettingError("shot", f"{number}: given twice ({references[int(number)]}, {reference})")
        references[int(number)] = reference.strip()
    if len(chosen) > 1:
        raise SettingError("shot", f"{', '.join(map(str, chosen))}: preview one shot at a time")
    return references, chosen


def settings_with_plan(
    context: typer.Context,
    values: Mapping[str, Any],
    paths: Mapping[str, str],
    frame_range: FrameRange,
    plan: Plan | None,
    source: str,
) -> Settings:
    """The run's settings: a flag given on the command line, else what the plan recorded, else the default.

    ``paths`` maps the command's parameters to settings fields; ``context`` tells which were given."""
    chosen = {"frame_range": frame_range, **{path: values[name] for name, path in paths.items()}}
    if plan is None:
        return checked(Settings.from_paths(chosen))
    check_settings(plan, source, OPTIONS)
    given = {path for name, path in paths.items() if _given(context, name)}
    for path, value in plan.settings.items():
        if path not in given:
            chosen[path] = value
    try:
        return checked(Settings.from_paths(chosen))
    except SettingError as exc:
        if exc.setting in plan.settings and exc.setting not in given:
            raise settings_error(exc, source) from exc
        raise
    except TypeError as exc:  # a recorded setting of the wrong kind (text for a number...)
        raise settings_error(SettingError("settings", f"a value of the wrong kind ({exc})"), source) from exc


def checked(settings: Settings) -> Settings:
    """``settings`` once its stage names are known to the registries (before anything loads)."""
    check_stage_names(settings)
    return settings


def _given(context: typer.Context, name: str) -> bool:
    # By name: typer carries its own copy of click, whose ParameterSource is not click's.
    source = context.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def plan_for_run(
    input_path: Path,
    base: Plan | None,
    style: Sequence[str],
    hints: Sequence[str],
    shot_references: Mapping[int, str],
    settings: Settings,
) -> Plan | None:
    """The plan a run renders: the one given (``--plan``), brought up to date where ``--shot``, ``--style``
    or ``--hints`` add to it; a new one where only ``--shot`` is given; None: the run plans by itself."""
    if base is None and not shot_references:
        return None
    if base is not None and not (shot_references or style or hints):
        return base
    return plan_video(input_path, list(style), settings, hints=list(hints), shot_references=shot_references, base=base)


def read_plan_option(plan_file: Path | None) -> Plan | None:
    return read_plan(plan_file) if plan_file is not None else None


def refuse_for_photo(input_path: Path, plan_file: Path | None, shots: Sequence[str] | None) -> None:
    if plan_file is not None or shots:
        raise UsageError(f"{input_path}: a photograph has no shots; --plan and --shot are for videos")


def print_shot_table(console: Console, plan: Plan) -> None:
    """The plan as a table of shots (as PySceneDetect's list-scenes shows scenes), those that need a reference marked."""
    table = Table(title=f"{Path(plan.input.path).name}: {len(plan.shots)} shots, {plan.input.frames} frames")
    for column, justify in (
        ("shot", "right"),
        ("frames", "right"),
        ("start - end", "left"),
        ("seconds", "right"),
        ("begins", "left"),
        ("reference", "left"),
        ("similarity", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    rate = float(plan.input.fps)
    for s in plan.shots:
        reference = s.colour_reference
        status = s.status + (" (needs a reference)" if s.status in NEEDS_REFERENCE else "")
        style = "bold yellow" if s.status in NEEDS_REFERENCE else None
        table.add_row(
            str(s.index),
            f"{s.first_frame}-{s.last_frame}",
            f"{s.start_timecode} - {s.end_timecode}",
            f"{s.frames / rate:.2f}",
            s.transition,
            Path(reference).name if reference else "-",
            (f"{s.similarity:.2f}" + (f" ({s.zoom:.1f}x)" if s.zoom >= 1.05 else "")) if reference else "-",
            status,
            style=style,
        )
    console.print(table)
    wanting = [s.index for s in plan.shots if s.status in NEEDS_REFERENCE]
    if wanting:
        console.print(
            f"{len(wanting)} shot{'s' * (len(wanting) != 1)} need{'s' * (len(wanting) == 1)} a reference "
            f"({', '.join(map(str, wanting))}): give each with --shot N=REF.png, or set overrides.reference "
            "in the plan file",
            highlight=False,
        )
