"""A bounded per-process memo: once full, the least recently used entries go first."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """At most ``limit`` entries and, when ``max_weight`` is set, at most that much total
    weight (each ``put`` says what its entry weighs, e.g. the characters it holds)."""

    def __init__(self, limit: int, max_weight: int | None = None) -> None:
        self.limit = limit
        self.max_weight = max_weight
        self.weight = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, weight: int = 0) -> V:
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.weight -= previous[1]
        if self.max_weight is not None and weight > self.max_weight:
            return value  # heavier than the whole memo: not kept
        self._entries[key] = (value, weight)
        self.weight += weight
        while len(self._entries) > self.limit or (
            self.max_weight is not None and self.weight > self.max_weight
        ):
            _, (_, dropped) = self._entries.popitem(last=False)
            self.weight -= dropped
        return value

    def __len__(self) -> int:
        return len(self._entries)
