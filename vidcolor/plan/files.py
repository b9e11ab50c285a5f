"""A plan as a file: TOML written to be read and edited by hand, or JSON for scripts; both round-trip.

Reading checks everything before anything is coloured: the layout's version, unknown keys, that the
shots tile the video in order (no gap, no overlap, none outside it), that every reference and hint
file exists, and that the plan is for this input. Each problem is one :class:`PlanError` line
naming the file, the line where TOML tells it, and the shot or key.

Paths in a file are relative to the file's folder where they can be (a folder of film, plan and
references moves as a whole); in memory they are absolute.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidcolor.errors import SettingError
from vidcolor.frames.output import check_output, named_after
from vidcolor.frames.timecode import smpte
from vidcolor.plan.model import (
    PLAN_FORMAT,
    STATUSES,
    TRANSITIONS,
    Plan,
    PlanError,
    PlanInput,
    PlanReference,
    PlanShot,
    ShotOverrides,
    hint_frame,
    split_spec,
)
from vidcolor.settings import current_path

PLAN_SUFFIX = ".plan.toml"


def default_plan_path(input_path: Path) -> Path:
    """``NAME.plan.toml`` beside the input (where batch and the studio look for one)."""
    return named_after(input_path, PLAN_SUFFIX)


# ---------------------------------------------------------------------------------------------- dicts


def plan_to_dict(plan: Plan, folder: Path | None = None) -> dict[str, Any]:
    """The plan as plain data (JSON's types; None where a value is absent), paths relative to ``folder``."""
    path = _relative_to(folder)
    return {
        "format": plan.format,
        "input": {**vars(plan.input), "path": path(plan.input.path)},
        "settings": dict(plan.settings),
        "references": [
            {"file": path(r.file), "pin": r.pin, "frame": r.frame, "similarity": r.similarity, "shot": r.shot}
            for r in plan.references
        ],
        "shots": [_shot_to_dict(plan, s, path) for s in plan.shots],
    }


def _shot_to_dict(plan: Plan, shot: PlanShot, path: Callable[[str], str]) -> dict[str, Any]:
    taken = plan.reference(shot.reference) if shot.reference else None
    return {
        "index": shot.index,
        "first_frame": shot.first_frame,
        "last_frame": shot.last_frame,
        "start_time": shot.start_time,
        "end_time": shot.end_time,
        "start_timecode": shot.start_timecode,
        "end_timecode": shot.end_timecode,
        "cut_score": shot.cut_score,
        "transition": shot.transition,
        "status": shot.status,
        "reference": _spec_with(shot.reference, path),
        # Read off the references for whoever reads the shot alone (the studio's cards); not read back.
        "reference_frame": taken.frame if taken is not None else None,
        "pinned": taken.pinned if taken is not None else False,
        "similarity": shot.similarity,
        "zoom": shot.zoom,
        "hints": [_spec_with(h, path) for h in shot.hints],
        "overrides": {
            "reference": _spec_with(shot.overrides.reference, path),
            "keyframe_interval": shot.overrides.keyframe_interval,
            "neutral": shot.overrides.neutral,
        },
    }


_TOP = {"format", "input", "settings", "references", "shots"}
_INPUT = {"path": str, "content": str, "frames": int, "rate": str, "width": int, "height": int, "range": str}
_REFERENCE = {"file": str, "pin": str, "frame": int, "similarity": float, "shot": int}
_SHOT = {
    "index": int, "first_frame": int, "last_frame": int, "start_time": float, "end_time": float,
    "start_timecode": str, "end_timecode": str, "cut_score": float, "transition": str, "status": str,
    "reference": str,
    "reference_frame": int, "pinned": bool, "similarity": float, "zoom": float, "hints": list, "overrides": dict,
}  # fmt: skip
_OVERRIDES = {"reference": str, "keyframe_interval": int, "neutral": bool}


def plan_from_dict(
    data: Mapping[str, Any], source: str, folder: Path | None = None, line_of: Callable[[str, int], str] | None = None
) -> Plan:
    """Read a plan from plain data, checking its layout (not its files: see :func:`check_files`).

    Args:
        source: what to call it in messages (the file's path).
        folder: where relative paths start (the file's folder); None: as they are.
        line_of: ``(table, position)`` → ``":LINE"`` where the file shows that table, for messages.
    """
    where = line_of or (lambda table, k: "")
    absolute = _absolute_in(folder)

    def fail(problem: str, table: str = "", k: int = 0) -> PlanError:
        return PlanError(f"{source}{where(table, k) if table else ''}: {problem}")

    if not isinstance(data, Mapping):
        raise fail("not a plan (a table of format, input, settings, references, shots)")
    _no_unknown(data, _TOP, "", fail)
    if data.get("format") != PLAN_FORMAT:
        raise fail(
            f"plan format {data.get('format')!r} is not the one this vidcolor reads ({PLAN_FORMAT}); "
            "make the plan again with 'vidcolor plan'"
        )
    raw_input = _table(data.get("input"), "input", fail)
    _typed(raw_input, _INPUT, "input", fail, required=set(_INPUT) - {"range"})
    plan_input = PlanInput(**{**raw_input, "path": absolute(raw_input["path"])})
    try:
        rate = Fraction(plan_input.rate)
    except (ValueError, ZeroDivisionError) as exc:
        raise fail(f"input: rate {plan_input.rate!r} is not a frame rate like 25 or 30000/1001") from exc
    # A setting renamed since the file was written is read by its name now.
    settings = {current_path(key): value for key, value in _table(data.get("settings", {}), "settings", fail).items()}
    references = []
    for k, raw in enumerate(_list(data.get("references", []), "references", fail)):

        def reference_fail(problem: str, k: int = k) -> PlanError:
            return fail(f"reference {k + 1}: {problem}", "references", k)

        raw = _table(raw, f"reference {k + 1}", fail)
        _typed(raw, _REFERENCE, "", reference_fail, required={"file"})
        references.append(PlanReference(**{**raw, "file": absolute(raw["file"])}))
    specs = {r.spec for r in references}
    shots: list[PlanShot] = []
    raw_shots = _list(data.get("shots"), "shots", fail)
    if not raw_shots:
        raise fail("has no [[shots]]; every frame must belong to a shot")
    for k, raw in enumerate(raw_shots):

        def shot_fail(problem: str, k: int = k) -> PlanError:
            return fail(f"shot {k + 1}: {problem}", "shots", k)

        raw = _table(raw, f"shot {k + 1}", shot_fail)
        _typed(raw, _SHOT, "", shot_fail, required={"first_frame", "last_frame"})
        first, last = raw["first_frame"], raw["last_frame"]
        if last < first:
            raise shot_fail(f"last_frame {last} is before first_frame {first}")
        overrides = _table(raw.get("overrides", {}), "overrides", shot_fail)
        _typed(overrides, _OVERRIDES, "overrides.", shot_fail, required=set())
        if overrides.get("keyframe_interval") is not None and overrides["keyframe_interval"] < 1:
            raise shot_fail(f"overrides.keyframe_interval must be at least 1; got {overrides['keyframe_interval']}")
        reference = _spec_with(raw.get("reference"), absolute)
        if reference is not None and reference not in specs:
            raise shot_fail(
                f"reference {raw['reference']!r} is not one of the plan's [[references]]; "
                "to give the shot a new one, set overrides.reference"
            )
        transition = raw.get("transition", "cut")  # plans written before dissolves were found have none
        if transition not in TRANSITIONS:
            raise shot_fail(f"transition {transition!r} is not one of {', '.join(TRANSITIONS)}")
        status = raw.get("status", "none")
        if status not in STATUSES:
            raise shot_fail(f"status {status!r} is not one of {', '.join(STATUSES)}")
        hints = raw.get("hints", [])
        if not all(isinstance(h, str) for h in hints):
            raise shot_fail("hints must be a list of FILE@FRAMEf strings")
        origin = float(shots[0].start_time) if shots else 0.0
        start_time = _time_of(raw, "start_time", first, rate, origin, shot_fail)
        end_time = _time_of(raw, "end_time", last, rate, origin, shot_fail)
        shots.append(
            PlanShot(
                index=k + 1,
                first_frame=first,
                last_frame=last,
                start_time=start_time,
                end_time=end_time,
                start_timecode=smpte(first, rate),
                end_timecode=smpte(last, rate),
                cut_score=raw.get("cut_score", 0.0),
                transition=transition,
                reference=reference,
                similarity=raw.get("similarity", 0.0),
                zoom=raw.get("zoom", 1.0),
                status=status,
                hints=tuple(_spec_with(h, absolute) or h for h in hints),
                overrides=ShotOverrides(
                    reference=_spec_with(overrides.get("reference"), absolute),
                    keyframe_interval=overrides.get("keyframe_interval"),
                    neutral=overrides.get("neutral", False),
                ),
            )
        )
    _check_tiling(shots, plan_input.frames, fail)
    for k, shot in enumerate(shots):
        for hint in shot.hints:
            frame = hint_frame(hint)
            if frame is None:
                raise fail(f"shot {k + 1}: hint {hint!r} does not end in @FRAMEf (the frame it marks)", "shots", k)
            if not shot.contains(frame):
                raise fail(
                    f"shot {k + 1}: hint {hint!r} marks frame {frame}, outside the shot "
                    f"(frames {shot.first_frame}-{shot.last_frame})",
                    "shots",
                    k,
                )
    return Plan(plan_input, tuple(references), tuple(shots), settings)


def _check_tiling(shots: list[PlanShot], frames: int, fail: Callable[..., PlanError]) -> None:
    """Shots in order, from frame 0 to the last, each frame in exactly one."""
    if shots[0].first_frame != 0:
        raise fail(f"shot 1: starts at frame {shots[0].first_frame}; the first shot must start at frame 0", "shots", 0)
    for k in range(1, len(shots)):
        before, shot = shots[k - 1], shots[k]
        if shot.first_frame <= before.last_frame:
            raise fail(
                f"shot {k + 1} (frames {shot.first_frame}-{shot.last_frame}) overlaps shot {k} "
                f"(frames {before.first_frame}-{before.last_frame})",
                "shots",
                k,
            )
        if shot.first_frame > before.last_frame + 1:
            raise fail(
                f"frames {before.last_frame + 1}-{shot.first_frame - 1} belong to no shot (between shot {k} and "
                f"shot {k + 1}); to merge a cut, delete a shot and extend the one before it",
                "shots",
                k,
            )
    last = shots[-1]
    if last.last_frame != frames - 1:
        side = "past" if last.last_frame >= frames else "before"
        raise fail(
            f"shot {len(shots)}: ends at frame {last.last_frame}, {side} the video's last frame ({frames - 1})",
            "shots",
            len(shots) - 1,
        )


def _time_of(
    raw: Mapping[str, Any], key: str, frame: int, rate: Fraction, origin: float, fail: Callable[[str], PlanError]
) -> float:
    """A shot's time as written, checked against its frame (a table copied to split a shot keeps stale
    times); absent, it is the frame's time at the nominal rate."""
    expected = origin + frame / float(rate)
    given = raw.get(key)
    if given is None:
        return round(expected, 6)
    if not math.isfinite(given) or abs(given - expected) > max(1.0, 0.01 * expected):
        raise fail(
            f"{key} {given:g} does not match frame {frame} (about {expected:.2f} s at {rate} fps); "
            f"fix it or delete {key}"
        )
    return float(given)


def _table(value: Any, what: str, fail: Callable[..., PlanError]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(f"{what} must be a table")
    return dict(value)


def _list(value: Any, what: str, fail: Callable[..., PlanError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(f"{what} must be a list of tables ([[{what}]])")
    return value


def _no_unknown(table: Mapping[str, Any], known: set[str], prefix: str, fail: Callable[..., PlanError]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise fail(f"unknown key {prefix}{unknown[0]!r} (known: {', '.join(sorted(known))})")


def _typed(
    table: dict[str, Any],
    types: Mapping[str, type],
    prefix: str,
    fail: Callable[[str], PlanError],
    *,
    required: set[str],
) -> None:
    """Check keys and value types in place; JSON's nulls stand for absent values."""
    _no_unknown(table, set(types), prefix, fail)
    for key in [k for k, v in table.items() if v is None]:
        del table[key]
    for key in sorted(required - set(table)):
        raise fail(f"{prefix}{key} is missing")
    for key, value in table.items():
        kind = types[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            table[key], ok = float(value), True
        if not ok:
            raise fail(f"{prefix}{key} must be {_KIND_NAMES[kind]}; got {value!r}")


_KIND_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


# ---------------------------------------------------------------------------------------------- paths


def _spec_with(spec: str | None, path: Callable[[str], str]) -> str | None:
    if spec is None:
        return None
    file, pin = split_spec(spec)
    return path(file) + (f"@{pin}" if pin is not None else "")


def _relative_to(folder: Path | None) -> Callable[[str], str]:
    if folder is None:
        return lambda p: p
    base = os.path.abspath(folder)
    return lambda p: os.path.relpath(p, base) if os.path.isabs(p) else p


def _absolute_in(folder: Path | None) -> Callable[[str], str]:
    if folder is None:
        return lambda p: p
    return lambda p: p if os.path.isabs(p) else os.path.normpath(os.path.join(os.path.abspath(folder), p))


def absolute_spec(spec: str) -> str:
    """A reference or hint spec with its file made absolute (``file@pin`` keeps its pin)."""
    return _spec_with(spec, os.path.abspath) or spec


def check_files(plan: Plan, source: str) -> None:
    """Every reference and hint file the plan names exists (one line naming the first that does not)."""
    for r in plan.references:
        if not Path(r.file).is_file():
            raise PlanError(f"{source}: reference {r.file}: no such file")
    for s in plan.shots:
        for spec in (*s.hints, s.overrides.reference):
            if spec is not None and not Path(split_spec(spec)[0]).is_file():
                raise PlanError(f"{source}: shot {s.index}: {split_spec(spec)[0]}: no such file")


def check_settings(plan: Plan, source: str, known: Mapping[str, Any]) -> None:
    """Every recorded setting is one vidcolor has (``known``: the declared options by field path)."""
    for key in plan.settings:
        if key not in known:
            raise PlanError(f"{source}: settings: unknown setting {key!r}")


def settings_error(exc: SettingError, source: str) -> PlanError:
    """A recorded setting that is not accepted, as a plan error naming the file."""
    return PlanError(f"{source}: settings: {exc}")


# ---------------------------------------------------------------------------------------------- files


def plan_to_json(plan: Plan) -> str:
    """The plan as JSON (absolute paths: for scripts and the studio's API)."""
    return json.dumps(plan_to_dict(plan), indent=2)


def plan_from_json(text: str, source: str = "<json>") -> Plan:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{source}:{exc.lineno}: not readable JSON ({exc.msg})") from exc
    return plan_from_dict(data, source)


def read_plan(path: Path) -> Plan:
    """Read a plan file (``.toml`` or ``.json``) and check it and the files it names."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PlanError(f"{path}: no such plan file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read the plan ({getattr(exc, 'strerror', None) or exc})") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f"{path}:{exc.lineno}: not readable JSON ({exc.msg})") from exc
        plan = plan_from_dict(data, str(path), path.parent)
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PlanError(f"{path}: not readable TOML ({exc})") from exc
        plan = plan_from_dict(data, str(path), path.parent, _table_lines(text))
    check_files(plan, str(path))
    return plan


PLAN_FORMATS = {".toml": "toml", ".json": "json"}


def write_plan(plan: Plan, path: Path, *, overwrite: bool = False) -> Path:
    """Write the plan as TOML (or JSON for ``.json``) as every output is: checked first (an existing
    plan may hold a restorer's edits: replaced only with ``overwrite``), then a temporary file renamed."""
    target = check_output(path, Path(plan.input.path), overwrite=overwrite, formats=PLAN_FORMATS)
    text = plan_to_json(plan) + "\n" if path.suffix.lower() == ".json" else plan_to_toml(plan, path.parent)
    try:
        target.partial.write_text(text, encoding="utf-8")
        target.commit()
    except BaseException:
        target.discard()
        raise
    return path


def _table_lines(text: str) -> Callable[[str, int], str]:
    """Where each ``[[table]]`` of a kind starts, as ``":LINE"`` (tomllib tells lines for syntax only)."""
    starts: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"\s*\[\[\s*(\w+)\s*\]\]", line)
        if m:
            starts.setdefault(m.group(1), []).append(number)

    def line_of(table: str, k: int) -> str:
        lines = starts.get(table, [])
        return f":{lines[k]}" if k < len(lines) else ""

    return line_of


# ---------------------------------------------------------------------------------------------- TOML

_HEADER = """\
# vidcolor shot plan. Render it with:  vidcolor {input} --plan {name}
#
# Edit freely; vidcolor checks the whole file before colouring anything.
# - Give a shot its own reference: overrides.reference = "ref.png" (placed where it fits in the shot)
#   or "ref.png@12.5" / "ref.png@300f" (pinned to that frame). Then 'vidcolor plan {input} --plan {name}'
#   places it and says how well it fits (or pass --shot N=REF on the command line).
# - Leave a shot grey: overrides.neutral = true.   Another keyframe interval: overrides.keyframe_interval = 24
# - Merge a cut: delete the second shot's [[shots]] table and set the first's last_frame to its last_frame.
# - Split a shot: copy its [[shots]] table, set the frames of both halves, and delete the copy's
#   start_time and end_time (they are worked out again).
# Timecodes are written from the frame numbers and worked out again when read; status, similarity, zoom,
# cut_score and transition are what the analysis found (for reading; zoom = 1.6: the shot shows a 1.6x zoom
# into its reference; transition = "dissolve": the shot begins halfway through a dissolve, where the detector
# cut it).
"""


def plan_to_toml(plan: Plan, folder: Path | None = None) -> str:
    """The plan as TOML, commented for a reader: shots in order, one ``[[shots]]`` table each."""
    data = plan_to_dict(plan, folder)
    out = [_HEADER.format(input=Path(data["input"]["path"]).name, name=default_plan_path(Path(plan.input.path)).name)]
    out.append(f"format = {PLAN_FORMAT}\n")
    out.append("[input]  # the plan is refused for another input (content) or another frame range")
    out += _pairs(data["input"])
    out.append("\n[settings]  # the colour settings it was made with; a render of the plan uses them")
    out += _pairs(data["settings"])
    for r in data["references"]:
        out.append("\n[[references]]")
        out += _pairs(r)
    for s in data["shots"]:
        out.append(f"\n[[shots]]  # shot {s['index']}: {s['start_timecode']} - {s['end_timecode']}")
        overrides = s.pop("overrides")
        out += _pairs(s)
        out.append(f"overrides = {_inline(overrides)}")
    return "\n".join(out) + "\n"


def _pairs(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None]


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _inline(table: Mapping[str, Any]) -> str:
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None) + " }"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return _inline(value)
    raise TypeError(f"no TOML form for {value!r}")
