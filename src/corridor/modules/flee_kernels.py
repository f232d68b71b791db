"""Kernels of Flee's movement rules: one simulated day of decisions and travel for all agents.

Each kernel has a NumPy twin with the same arguments and results; ``tests/test_kernels.py``
checks that they agree exactly. Random numbers come from the counter-based streams of
:mod:`corridor.engine.rng`, keyed on (day, agent, hop), so the kernels draw nothing from shared
state and give identical results on any number of threads.

Rules (flee-model.md §1.7-1.9, §7.1, §7.4), for awareness level 1:

* An agent that is not on a link draws ``u`` (stream ``move``); it moves if
  ``u < movechance[loc]``. A mover picks one open out-link with probability proportional to
  ``link_w`` (Flee's ``S(E)·C(E)/(10 + km)``), uniformly among open links when every weight is 0,
  and stays when its location has no open link. If the chosen end is a camp whose capacity factor
  is below 0.5 (more than 95% full) the agent stays (Flee's full-camp block).
* On a link, the agent is credited ``v`` km (the link's speed, or the walking speed with the
  link's walk probability, stream ``walk``). It arrives when its km on the link exceed the length
  (strict ``>``). Arrival on a link that was closed while the agent was on it puts the agent
  back at the link's start, with no further hop that day.
* After arriving, the agent moves on the same day while the km it has actually covered that day
  are below ``v``: it draws again with the new location's move chance; a newly entered link is
  credited a full ``v``.
* Capacity factors and weights are those of the start of the day. Flee updates camp counts as
  each agent arrives (live counts); here arrivals during a day are seen from the next day on.
  This only matters for camps within 10% of capacity (flee-model.md §7.1 item 1).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.engine.dtypes import AgentFlags
from corridor.engine.rng import uniform, uniform_np

STALE = AgentFlags.STALE
FULL_CAMP_FACTOR = 0.5  # C(E) below this blocks a step to a camp (n > 0.95 cap), §1.9


@nb.njit(cache=True, inline="always")
def _choose_link(
    here: int,
    r: float,
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    link_w: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    loc_wsum: NDArray[np.float64],
    loc_nopen: NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    lo = csr_ptr[here]
    hi = csr_ptr[here + 1]
    nopen = loc_nopen[here]
    if nopen == 0:
        return -1
    total = loc_wsum[here]
    if total > 0.0:
        target = r * total
        acc = 0.0
        last = -1
        for j in range(lo, hi):
            lk = csr_link[j]
            w = link_w[lk]
            if w > 0.0:
                acc += w
                last = lk
                if target < acc:
                    return int(lk)
        return last
    k = int(r * nopen)
    for j in range(lo, hi):
        lk = csr_link[j]
        if link_open[lk]:
            if k == 0:
                return int(lk)
            k -= 1
    return -1


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
        size = (n + n_chunks - 1) // n_chunks
        for c in nb.prange(n_chunks):
            lo = c * size
            hi = min(n, lo + size)
            for a in range(lo, hi):
                here = loc[a]
                lk = link[a]
                start_here = here if lk < 0 else -1
                d = float(on_link[a])
                moved = 0.0
                hop = 0
                changed = False
                if lk < 0:
                    # Pass 1: decide (Person.evolve).
                    if uniform(key_move, day, a, hop) < movechance[here]:
                        r = uniform(key_route, day, a, hop)
                        nxt = _choose_link(
                            here, r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen
                        )
                        if nxt >= 0 and not blocked[link_dst[nxt]]:
                            lk = nxt
                            d = 0.0
                            changed = True
                    hop += 1
                # Pass 2: travel, with further hops while time is left (Person.finish_travel).
                while lk >= 0:
                    changed = True
                    v = link_speed[lk]
                    wp = link_walkp[lk]
                    if wp > 0.0 and uniform(key_walk, day, a, hop) < wp:
                        v = walk_speed
                    d += v
                    moved += v
                    length = link_len[lk]
                    if not d > length:
                        break
                    moved -= d - length
                    if flags[a] & STALE:
                        here = link_src[lk]
                        flags[a] &= ~STALE
                        lk = -1
                        d = 0.0
                        break
                    here = link_dst[lk]
                    lk = -1
                    d = 0.0
                    if not moved < v:
                        break
                    if uniform(key_move, day, a, hop) < movechance[here]:
                        r = uniform(key_route, day, a, hop)
                        nxt = _choose_link(
                            here, r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen
                        )
                        if nxt >= 0 and not blocked[link_dst[nxt]]:
                            lk = nxt
                    hop += 1
                if changed:
                    loc[a] = here
                    link[a] = lk
                    on_link[a] = d
                    if start_here >= 0:
                        delta[c, start_here] -= 1
                    if lk < 0:
                        delta[c, here] += 1
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
    ids = np.arange(n, dtype=np.int64)
    here = loc[:n].astype(np.int64)
    lk = link[:n].astype(np.int64)
    d = on_link[:n].astype(np.float64)
    stale = (flags[:n] & STALE) != 0
    start_here = np.where(lk < 0, here, -1)
    moved = np.zeros(n, dtype=np.float64)
    hop = np.zeros(n, dtype=np.int64)

    def decide(who: NDArray[np.int64]) -> None:
        u = uniform_np(key_move, day, who, hop[who])
        movers = who[u < movechance[here[who]]]
        r = uniform_np(key_route, day, movers, hop[movers])
        nxt = _choose_np(here[movers], r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen)
        ok = nxt >= 0
        ok[ok] = ~blocked[link_dst[nxt[ok]]]
        lk[movers[ok]] = nxt[ok]
        d[movers[ok]] = 0.0
        hop[who] += 1

    decide(ids[lk < 0])
    active = ids[lk >= 0]
    while active.size:
        a = active
        v = link_speed[lk[a]].copy()
        wp = link_walkp[lk[a]]
        walkers = wp > 0.0
        if walkers.any():
            uw = uniform_np(key_walk, day, a[walkers], hop[a[walkers]])
            v[np.flatnonzero(walkers)[uw < wp[walkers]]] = walk_speed
        d[a] += v
        moved[a] += v
        length = link_len[lk[a]]
        arrived = d[a] > length
        a_arr, v_arr = a[arrived], v[arrived]
        moved[a_arr] -= d[a_arr] - length[arrived]
        back = stale[a_arr]
        bounced = a_arr[back]
        here[bounced] = link_src[lk[bounced]]
        stale[bounced] = False
        fwd, v_fwd = a_arr[~back], v_arr[~back]
        here[fwd] = link_dst[lk[fwd]]
        lk[a_arr] = -1
        d[a_arr] = 0.0
        again = fwd[moved[fwd] < v_fwd]
        decide(again)
        active = again[lk[again] >= 0]

    loc[:n] = here
    link[:n] = lk
    on_link[:n] = d.astype(np.float32)
    flags[:n] = np.where(stale, flags[:n] | STALE, flags[:n] & ~STALE).astype(np.uint8)
    delta = np.zeros((1, n_loc), dtype=np.int64)
    np.subtract.at(delta[0], start_here[start_here >= 0], 1)
    np.add.at(delta[0], here[lk < 0], 1)
    return delta


def _choose_np(
    here: NDArray[np.int64],
    r: NDArray[np.float64],
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    link_w: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    loc_wsum: NDArray[np.float64],
    loc_nopen: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Vectorised twin of ``_choose_link`` (same accumulation order, so same floats)."""
    out = np.full(here.shape, -1, dtype=np.int64)
    max_deg = int(np.max(np.diff(csr_ptr))) if csr_ptr.size > 1 else 0
    total = loc_wsum[here]
    nopen = loc_nopen[here]
    weighted = (nopen > 0) & (total > 0.0)
    target = r * total
    acc = np.zeros(here.shape, dtype=np.float64)
    last = np.full(here.shape, -1, dtype=np.int64)
    done = ~weighted
    k = np.where((nopen > 0) & ~weighted, (r * nopen).astype(np.int64), -1)
    for j in range(max_deg):
        pos = csr_ptr[here] + j
        valid = pos < csr_ptr[here + 1]
        lkj = np.where(valid, csr_link[np.minimum(pos, csr_link.size - 1)], 0)
        w = np.where(valid, link_w[lkj], 0.0)
        take = ~done & valid & (w > 0.0)
        acc[take] += w[take]
        last[take] = lkj[take]
        hit = take & (target < acc)
        out[hit] = lkj[hit]
        done |= hit
        opn = valid & link_open[lkj] & (k >= 0)
        pick = opn & (k == 0)
        out[pick] = lkj[pick]
        k[opn] -= 1
    fallback = weighted & (out < 0)
    out[fallback] = last[fallback]
    return out
