"""Name → implementation registries for what is pluggable (segmenters, flow, colorizers, batch executors).

A :class:`Registry` maps names to factories of one contract (the batch executors' classes); a
:class:`StageRegistry` holds the stages of a run, each built the same way, ``cls.from_settings(settings)``,
so the pipeline builds any registered stage without knowing its constructor. Implementations whose
module imports an optional package (torch, mediapipe, ray) are registered by module path and imported
only when chosen: this is the one way optional dependencies are deferred in vidcolor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from vidcolor.errors import SettingError, StageError

if TYPE_CHECKING:
    from vidcolor.settings import Settings

T_co = TypeVar("T_co", covariant=True)


class StageFactory(Protocol[T_co]):
    """What a registry holds: a class (or object) that builds a stage from the run's settings."""

    def from_settings(self, settings: Settings) -> T_co: ...


@dataclass(frozen=True)
class _Entry:
    target: object  # a StageFactory, or "package.module:Name" until first use
    needs_torch: bool
    extra: str | None  # the pip extra that provides its optional packages


F = TypeVar("F")  # what a registry hands out: a factory of its contract
C = TypeVar("C")  # what a decorator registers and hands back untouched
T = TypeVar("T")  # a stage


class Registry(Generic[F]):
    """Maps names to the implementations of one contract ``F`` (a class, or an object with the contract's
    constructor).

    Args:
        kind: what the implementations are called in messages (``segmenter``).
        setting: the field of :class:`~vidcolor.settings.Settings` (or the API argument) that names one.
    """

    def __init__(self, kind: str, setting: str) -> None:
        self.kind = kind
        self.setting = setting
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, *, needs_torch: bool = False) -> Callable[[C], C]:
        """Class decorator for an implementation defined in a module that is always imported."""

        def decorator(factory: C) -> C:
            self._add(name, _Entry(factory, needs_torch, None))
            return factory

        return decorator

    def register_lazy(self, name: str, target: str, *, needs_torch: bool = False, extra: str | None = None) -> None:
        """Register ``"package.module:Name"``, imported when the stage is first built."""
        self._add(name, _Entry(target, needs_torch, extra))

    def unregister(self, name: str) -> None:
        """Remove a stage (plug-ins and tests that registered one for a while)."""
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check(self, name: str) -> None:
        """Raise :class:`SettingError` naming the choices unless ``name`` is registered."""
        if name not in self._entries:
            raise SettingError(self.setting, f"{name!r}: unknown {self.kind}; choose one of {', '.join(self.names())}")

    def needs_torch(self, name: str) -> bool:
        self.check(name)
        return self._entries[name].needs_torch

    def load(self, name: str) -> F:
        """The factory registered as ``name``, importing its module if it was registered lazily."""
        self.check(name)
        entry = self._entries[name]
        if isinstance(entry.target, str):
            module, _, attribute = entry.target.partition(":")
            try:
                factory = getattr(importlib.import_module(module), attribute)
            except ImportError as exc:
                if (exc.name or "").split(".")[0] == "vidcolor":
                    raise  # our own module is broken: a bug, not a missing package
                install = f"pip install 'vidcolor[{entry.extra}]'" if entry.extra else "reinstall vidcolor"
                raise StageError(f"the {name} {self.kind} needs a package that is missing ({exc}); {install}") from exc
            entry = _Entry(factory, entry.needs_torch, entry.extra)
            self._entries[name] = entry
        return cast(F, entry.target)

    def _add(self, name: str, entry: _Entry) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry


class StageRegistry(Registry[StageFactory[T]]):
    """The implementations of one stage of a run (segmenter, flow, colorizer), built from the run's settings."""

    def create(self, name: str, settings: Settings) -> T:
        """Build the stage ``name`` from the run's settings."""
        return self.load(name).from_settings(settings)
