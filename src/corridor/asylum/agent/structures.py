"""The agent engine's stateful helpers around the kernels: the timer heap and server pools.

Reads: a kernel set (:mod:`~corridor.asylum.agent.kernel_sets`). Produces: :class:`Timers`, a
growable min-heap of ``(time, agent, kind)`` (push the times before a horizon; pop every entry
due before a time, in order) and :class:`Servers`, a pool of caseworkers or judges (free time and
case in hand per server; the number active from a day on). Reports: nothing.

Invariants: the timer arrays are a valid heap in ``[0, size)`` after every call, whichever kernel
set is used; timers are cancelled lazily (the caller acts on an entry only if the case's
``t_next`` still equals its time); a server beyond the active count keeps its case until it
finishes (it is never pre-empted); new servers are free from the start of the day they join.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
NO_T = np.zeros(0, np.float64)
NO_A = np.zeros(0, np.int64)
NO_K = np.zeros(0, np.int8)


class Timers:
    """A growable min-heap of (time, agent, kind); see :mod:`corridor.asylum.queue_kernels`."""

    def __init__(self, kern: SimpleNamespace, capacity: int = 1024) -> None:
        self.kern = kern
        self.t = np.empty(capacity, np.float64)
        self.a = np.empty(capacity, np.int64)
        self.k = np.empty(capacity, np.int8)
        self.size = 0

    def _room(self, more: int) -> None:
        need = self.size + more
        if need > self.t.shape[0]:
            cap = max(need, 2 * self.t.shape[0])
            for name in ("t", "a", "k"):
                old = getattr(self, name)
                new = np.empty(cap, old.dtype)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)

    def push(self, t: F64, a: I64, kind: int | NDArray[np.int8], horizon: float) -> None:
        keep = t < horizon
        if not keep.any():
            return
        t, a = t[keep], a[keep]
        k = np.broadcast_to(np.asarray(kind, np.int8), keep.shape)[keep].astype(np.int8)
        self._room(t.size)
        self.size = self.kern.push_timers(self.t, self.a, self.k, self.size, t, a, k)

    def pop_due(self, until: float) -> tuple[F64, I64, NDArray[np.int8]]:
        if self.size == 0 or self.t[0] >= until:  # the minimum is first (heap or sorted)
            return NO_T, NO_A, NO_K
        n_max = self.size
        out_t = np.empty(n_max, np.float64)
        out_a = np.empty(n_max, np.int64)
        out_k = np.empty(n_max, np.int8)
        n, self.size = self.kern.pop_due(
            self.t, self.a, self.k, self.size, until, out_t, out_a, out_k
        )
        return out_t[:n], out_a[:n], out_k[:n]


class Servers:
    """A pool of servers (caseworkers or judges): free time and case in hand, per server."""

    def __init__(self) -> None:
        self.free_at = np.zeros(0, np.float64)
        self.serving = np.zeros(0, np.int64)
        self.active = 0

    def set_count(self, n: int, day: int) -> None:
        """``n`` servers from the start of ``day`` (new servers are free from then)."""
        if n > self.free_at.shape[0]:
            extra = n - self.free_at.shape[0]
            self.free_at = np.concatenate([self.free_at, np.full(extra, float(day))])
            self.serving = np.concatenate([self.serving, np.full(extra, -1, np.int64)])
        self.active = n

    def any_busy(self) -> bool:
        return bool(self.serving.size) and bool(self.serving.max() >= 0)
