"""Release results in a fixed (topological) order, whatever order they arrive in.

Why: a build finishes views out of plan order — an unchanged view reports at once, a changed one
only after its background Delta write — but a consumer such as Dagster must see a table after
everything it reads. `InOrder` holds what arrived early and releases each item as soon as every
name before it in the order has been released (or declared absent with `skip`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class InOrder(Generic[T]):
    """A buffer that releases `(name, item)` pairs in the order of `names`."""

    def __init__(self, names: Sequence[str]) -> None:
        self._order = list(dict.fromkeys(names))
        self._position = {name: i for i, name in enumerate(self._order)}
        self._next = 0
        self._held: dict[str, T] = {}
        self._absent: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self._position

    def add(self, name: str, item: T) -> list[T]:
        """Hold `item` of `name`; return what can be released now, in order."""
        if name not in self._position:
            raise KeyError(f"{name!r} is not in the release order")
        self._held[name] = item
        return self._release()

    def skip(self, names: Iterable[str]) -> list[T]:
        """`names` will never arrive (not part of this run): stop waiting for them."""
        self._absent.update(n for n in names if n in self._position)
        return self._release()

    def rest(self) -> list[T]:
        """Everything still held, in order (the run ended: nothing else will arrive)."""
        out = [self._held.pop(n) for n in self._order[self._next :] if n in self._held]
        self._next = len(self._order)
        return out

    def _release(self) -> list[T]:
        out: list[T] = []
        while self._next < len(self._order):
            name = self._order[self._next]
            if name in self._held:
                out.append(self._held.pop(name))
            elif name not in self._absent:
                break
            self._next += 1
        return out
