"""A name → factory registry shared by the pluggable stages (segmenters, flow, colorizers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from vidcolor.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories of one stage's implementations.

    ``create`` turns an unknown name into a :class:`UsageError` that lists the known ones, so
    the CLI can pass user input straight through.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, **kwargs: object) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise UsageError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}") from None
        return factory(**kwargs)
