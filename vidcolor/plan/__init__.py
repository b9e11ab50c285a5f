"""The shot plan: a film seen shot by shot, as data a restorer reads and edits (see ``plan.model``)."""

from vidcolor.plan.files import (
    default_plan_path,
    plan_from_dict,
    plan_from_json,
    plan_to_dict,
    plan_to_json,
    plan_to_toml,
    read_plan,
    write_plan,
)
from vidcolor.plan.make import check_plan_for, plan_video, render_parts
from vidcolor.plan.model import (
    NEEDS_REFERENCE,
    PLAN_FORMAT,
    STATUSES,
    TRANSITIONS,
    Plan,
    PlanError,
    PlanInput,
    PlanReference,
    PlanShot,
    ShotOverrides,
)

__all__ = [
    "NEEDS_REFERENCE",
    "PLAN_FORMAT",
    "STATUSES",
    "TRANSITIONS",
    "Plan",
    "PlanError",
    "PlanInput",
    "PlanReference",
    "PlanShot",
    "ShotOverrides",
    "check_plan_for",
    "default_plan_path",
    "plan_from_dict",
    "plan_from_json",
    "plan_to_dict",
    "plan_to_json",
    "plan_to_toml",
    "plan_video",
    "read_plan",
    "render_parts",
    "write_plan",
]
