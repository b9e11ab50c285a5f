"""Name → implementation registries for what is pluggable (segmenters, flow, colorizers, batch executors).

A :class:`Registry` maps names to factories of one contract (the batch executors' classes); a
:class:`StageRegistry` holds the stages of a run, each built the same way, ``cls.create(options, context)``:
a stage owns its options (a small dataclass declared with :func:`vidcolor.options.option`, which
:class:`~vidcolor.settings.Settings` composes and the CLI derives flags from) and gets from the run only a
:class:`RunContext` (the device, the weights folder), so the pipeline builds any registered stage without
knowing its constructor, and no stage knows the whole settings. Implementations whose
module imports an optional package (torch, mediapipe, ray) are registered by module path and imported
only when chosen: this is the one way optional dependencies are deferred in vidcolor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from vidcolor.errors import SettingError, StageError

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class NoOptions:
    """The options of a stage that has none of its own."""


@dataclass(frozen=True)
class ServiceAddress:
    """Where a device service listens (``vidcolor.solver.device_service``): a Unix socket and its key."""

    path: str
    authkey: bytes = field(repr=False)


@dataclass(frozen=True)
class RunContext:
    """What a run hands every stage besides its own options.

    Attributes:
        device: where torch stages run, resolved once for the run (``cpu`` or ``cuda``).
        weights_dir: the folder weight files are looked for in (None: the default folder).
        solve_service: a device service that solves this worker's keyframes together with other workers'
            (None: the stages run their networks in this process).
    """

    device: str = "cpu"
    weights_dir: Path | None = None
    solve_service: ServiceAddress | None = None


class StageFactory(Protocol[T_co]):
    """What a stage registry holds: a class (or object) that builds a stage from its options and the run's context."""

    @property
    def options_type(self) -> type[Any]:
        """The dataclass of the options :meth:`create` takes."""

    def create(self, options: Any, context: RunContext) -> T_co: ...


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
    """The implementations of one stage of a run (segmenter, flow, colorizer), each built from its own options."""

    def options_type(self, name: str) -> type[Any]:
        """The options dataclass the stage ``name`` takes."""
        return self.load(name).options_type

    def create(self, name: str, options: Any = None, context: RunContext | None = None) -> T:
        """Build the stage ``name``; ``options`` default to its options' defaults, ``context`` to the CPU and the
        default weights folder.

        Raises:
            StageError: ``options`` are not the stage's kind of options (a run that mixed up its stages).
        """
        factory = self.load(name)
        expected = factory.options_type
        if options is None:
            options = expected()
        elif not isinstance(options, expected):
            raise StageError(f"the {name} {self.kind} takes {expected.__name__} options, not {type(options).__name__}")
        return factory.create(options, context or RunContext())
