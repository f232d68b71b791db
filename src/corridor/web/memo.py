"""A small thread-safe memo shared by the dashboard's caches of pure lookups.

Contract
--------
Reads: a key and a function that computes its value. Produces: the value, computed at most
once per key while the key is kept. Invariants: at most ``size`` keys are kept, the oldest
stored dropped first; the lock is never held while computing, so two threads asking for the
same new key may both compute it (the later result is kept), and a computation that raises
stores nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, the ``size`` latest stored kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value of ``key``, from ``compute()`` when not kept."""
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value
