"""Kernels of Flee's movement rules: one simulated day of decisions and travel for all agents.

The rule itself (move chance, link choice by weight, full-camp block, travel with a daily km
budget, moving on while km are left, stale links) is :mod:`corridor.modules.flee_rules`, shared
with the route network's displaced people (:mod:`corridor.routes.kernels`, which counts the day
in time instead of km). This module applies it to every agent of the table, by distance
(``by_time=False``), and keeps the location counts:

* Reads ``loc``, ``link``, ``on_link`` and the ``STALE`` bit of ``flags`` of agents ``0..n-1``
  and the day's tables (move chances, ``blocked`` camps, weights, open links: those of the start
  of the day; Flee updates camp counts as each agent arrives, here arrivals during a day are
  seen from the next day on, which matters only for camps within 10% of capacity, flee-model.md
  §7.1 item 1).
* Writes those columns back for the agents that travelled (the others are left untouched) and
  clears ``STALE`` of an agent put back at its link's start.
* Returns per-chunk location count changes, whose column sums are the day's net change of people
  at each location (agents on links are at no location). Chunks are a fixed split of the agents
  (independent of the number of threads), and results do not depend on it.

Each kernel has a NumPy twin with the same arguments and results; ``tests/test_kernels.py``
checks that they agree exactly. Random numbers come from the counter-based streams of
:mod:`corridor.engine.rng`, keyed on (day, agent, hop), so the kernels draw nothing from shared
state and give identical results on any number of threads.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.engine.dtypes import AgentFlags
from corridor.modules.flee_rules import move_agents, move_agents_np

STALE = AgentFlags.STALE
STALE_BIT = int(STALE)
FULL_CAMP_FACTOR = 0.5  # C(E) below this blocks a step to a camp (n > 0.95 cap), §1.9


def _build(parallel: bool) -> Any:
    """Compile the day kernel; ``parallel`` is a closure value so Numba caches both versions."""

    def _move_day(
        n: int,
        loc: NDArray[np.int32],
        link: NDArray[np.int32],
        on_link: NDArray[np.float32],
        flags: NDArray[np.uint8],
        day: int,
        key_move: np.uint64,
        key_route: np.uint64,
        key_walk: np.uint64,
        movechance: NDArray[np.float64],
        blocked: NDArray[np.bool_],
        csr_ptr: NDArray[np.int64],
        csr_link: NDArray[np.int32],
        link_src: NDArray[np.int32],
        link_dst: NDArray[np.int32],
        link_len: NDArray[np.float64],
        link_speed: NDArray[np.float64],
        link_walkp: NDArray[np.float64],
        link_w: NDArray[np.float64],
        link_open: NDArray[np.bool_],
        loc_wsum: NDArray[np.float64],
        loc_nopen: NDArray[np.int64],
        walk_speed: float,
        n_chunks: int,
    ) -> NDArray[np.int64]:  # pragma: no cover - compiled
        """Advance agents ``0..n-1`` by one day in place; return per-chunk location count changes.

        ``blocked[L]`` is True for camps more than 95% full. The result has shape
        ``(n_chunks, n_locations)``; its column sums are the day's net change of people at each
        location (agents on links are at no location).
        """
        n_loc = movechance.shape[0]
        _ = parallel  # a closure value, so that Numba's cache keeps both compiled versions
        delta = np.zeros((n_chunks, n_loc), dtype=np.int64)
        no_entries = np.zeros((0, 0), dtype=np.int64)  # Flee's module counts no link entries
        everyone = np.zeros(0, dtype=np.bool_)
        size = (n + n_chunks - 1) // n_chunks
        for c in nb.prange(n_chunks):
            lo = c * size
            hi = min(n, lo + size)
            move_agents(
                lo, hi, c, everyone, loc, link, on_link, flags, STALE_BIT, False, day,
                key_move, key_route, key_walk, movechance, blocked, csr_ptr, csr_link,
                link_src, link_dst, link_len, link_speed, link_walkp, link_w, link_open,
                loc_wsum, loc_nopen, walk_speed, no_entries, delta,
            )  # fmt: skip
        return delta

    return nb.njit(parallel=parallel, cache=True)(_move_day)


move_day_parallel = _build(True)
move_day_serial = _build(False)

# Below this many agents one thread is faster than waking several (and immune to busy cores).
PARALLEL_MIN_AGENTS = 1_000_000


def move_day(n: int, *args: object) -> NDArray[np.int64]:
    """:func:`_move_day` on one thread, or on all of Numba's threads for large tables."""
    if n >= PARALLEL_MIN_AGENTS and nb.get_num_threads() > 1:
        return move_day_parallel(n, *args)  # type: ignore[no-any-return]
    return move_day_serial(n, *args)  # type: ignore[no-any-return]


def move_day_np(
    n: int,
    loc: NDArray[np.int32],
    link: NDArray[np.int32],
    on_link: NDArray[np.float32],
    flags: NDArray[np.uint8],
    day: int,
    key_move: np.uint64,
    key_route: np.uint64,
    key_walk: np.uint64,
    movechance: NDArray[np.float64],
    blocked: NDArray[np.bool_],
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    link_src: NDArray[np.int32],
    link_dst: NDArray[np.int32],
    link_len: NDArray[np.float64],
    link_speed: NDArray[np.float64],
    link_walkp: NDArray[np.float64],
    link_w: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    loc_wsum: NDArray[np.float64],
    loc_nopen: NDArray[np.int64],
    walk_speed: float,
    n_chunks: int = 1,
) -> NDArray[np.int64]:
    """NumPy twin of :func:`move_day`: the same day, in rounds over the agents still moving."""
    n_loc = movechance.shape[0]
    here = loc[:n].astype(np.int64)
    lk = link[:n].astype(np.int64)
    d = on_link[:n].astype(np.float64)
    stale = (flags[:n] & STALE) != 0
    start_here = np.where(lk < 0, here, -1)
    move_agents_np(
        np.arange(n, dtype=np.int64), here, lk, d, stale, False, day,
        key_move, key_route, key_walk, movechance, blocked, csr_ptr, csr_link,
        link_src, link_dst, link_len, link_speed, link_walkp, link_w, link_open,
        loc_wsum, loc_nopen, walk_speed, None,
    )  # fmt: skip
    loc[:n] = here
    link[:n] = lk
    on_link[:n] = d.astype(np.float32)
    flags[:n] = np.where(stale, flags[:n] | STALE, flags[:n] & ~STALE).astype(np.uint8)
    delta = np.zeros((1, n_loc), dtype=np.int64)
    np.subtract.at(delta[0], start_here[start_here >= 0], 1)
    np.add.at(delta[0], here[lk < 0], 1)
    return delta
