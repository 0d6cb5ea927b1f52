"""A small bounded mapping for the adapters' caches."""

from __future__ import annotations

from collections import OrderedDict


class Lru:
    """A bounded mapping that forgets the least recently used keys (an optimization only)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: str, value: str = "") -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._items
