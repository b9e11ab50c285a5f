"""How an option is declared: a dataclass field with its help, valid values and flag in its metadata.

Settings dataclasses declare each option once with :func:`option`; :func:`check_fields` validates
an instance against those declarations, and front ends read them (:func:`declared`) to build their
own options, so defaults, ranges and help are written in one place only.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vidcolor.errors import SettingError


@dataclass(frozen=True)
class Option:
    """What a front end needs to offer a setting, and the range the library accepts.

    Attributes:
        help: one sentence for a user.
        flag: the command-line flag (``--work-size``); None when the CLI does not offer it.
        choices: the accepted values of a text setting.
        minimum, maximum: the accepted range of a number (inclusive).
        unit: what a number counts, shown with the range (``pixels``).
    """

    help: str
    flag: str | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""

    def problem_with(self, value: Any) -> str | None:
        """Why ``value`` is not accepted, or None when it is."""
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}; got {value!r}"
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and self.maximum is not None and not self.minimum <= value <= self.maximum:
            return f"must be {self.minimum:g}..{self.maximum:g}{unit}; got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}{unit}; got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}{unit}; got {value!r}"
        return None


def option(default: Any, help: str, **declaration: Any) -> Any:
    """A dataclass field with a default and its :class:`Option` declaration (keywords as Option's)."""
    return field(default=default, metadata={"option": Option(help, **declaration)})


def check_fields(instance: Any, prefix: str = "") -> None:
    """Raise :class:`SettingError` for the first declared field of ``instance`` whose value is not accepted."""
    for f in dataclasses.fields(instance):
        declared_option = f.metadata.get("option")
        if declared_option is None:
            continue
        problem = declared_option.problem_with(getattr(instance, f.name))
        if problem is not None:
            raise SettingError(prefix + f.name, problem)


def declared(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Option]]:
    """Every declared option of a settings dataclass and of the dataclasses nested in it, by field path."""
    hints = typing.get_type_hints(cls)  # field types are strings under postponed annotations
    for f in dataclasses.fields(cls):
        declared_option = f.metadata.get("option")
        if declared_option is not None:
            yield prefix + f.name, f, declared_option
        elif isinstance(hints[f.name], type) and dataclasses.is_dataclass(hints[f.name]):
            yield from declared(hints[f.name], f"{prefix}{f.name}.")
