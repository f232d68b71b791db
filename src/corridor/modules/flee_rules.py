"""Flee's move rule for one day: the one implementation that every kernel moving people by Flee's
rules calls (Flee's module, :mod:`corridor.modules.flee_kernels`; the route network's displaced
people, :mod:`corridor.routes.kernels`).

Rule (flee-model.md §1.7-1.9, §7.1, §7.4), awareness level 1. ``hop`` counts an agent's
decisions of the day (0, 1, ...); every draw is a counter-based uniform keyed on
(day, agent, hop) (:mod:`corridor.engine.rng`), so an agent's day depends on nothing but its
own state and the day's tables.

* **Decide** (Person.evolve). At a place, the agent draws ``u`` (stream
  ``key_move``) and moves if ``u < movechance[here]``. A mover draws ``r`` (stream
  ``key_route``) and picks one open out-link with probability proportional to ``link_w``
  (Flee's ``S(E)·C(E)/(10 + km)``), uniformly among the open links when every weight is 0
  (:func:`choose_link`); it stays when its place has no open link, or when the chosen end is
  ``blocked`` (a camp more than 95% full: Flee's full-camp block). ``hop`` then goes up by one,
  whether the agent moved or not.
* **Travel** (Person.finish_travel). On a link the agent goes at ``v``: the link's speed, or
  ``walk_speed`` with the link's walk probability (stream ``key_walk``, drawn only where that
  probability is above 0). The day's budget comes in one of two units, the only variation
  between the callers (``by_time``):

  - distance (``by_time=False``, Flee's module; :func:`travel_km`): the link is credited ``v``
    km; the agent arrives when its km on the link exceed the length (strict ``>``), and has
    budget left while the km it has actually covered today are below ``v`` (a newly entered
    link is credited a full ``v`` again, as in Flee);
  - time (``by_time=True``, the route network; :func:`travel_time`): the agent has one day;
    the rest of the link takes ``(length - km on it) / v`` days; it arrives when that is at most
    the time left, and has budget left while time is left (``> 0``).

  An agent whose link was closed while it was on it (``stale``) is put back at the link's
  start on arrival, with no further decision that day.
* **On again.** After arriving with budget left, the agent decides again at the new place
  (next ``hop``); a link chosen there starts at 0 km.

Contract of :func:`move_agents` (the rule for a range of agents, inlined into its callers'
loops; :func:`move_agents_np` is the NumPy twin): for each agent it reads its state (``loc``,
``link``, ``on_link``, the ``stale`` bit) and the day's tables, all as at the start of the day
(capacity factors, weights, open links: people arriving today are seen from the next day on,
which matters only for camps within 10% of capacity, flee-model.md §7.1 item 1); it writes
nothing but that agent's state, its own chunk's row of the count changes and, where ``count``
is set, ``entries[c, link] += 1`` for every link the agent enters. Invariants: an agent ends
at a place (``lk < 0``, ``d == 0``) or on a link with ``0 <= d <= length``; the arrays are
never resized; the twin gives the same bits as the Numba function (same draws, same float
operations in the same order; ``tests/test_kernels.py``, ``tests/test_routes_known.py``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.engine.rng import uniform, uniform_np

__all__ = [
    "choose_link",
    "choose_link_np",
    "move_agents",
    "move_agents_np",
    "travel_km",
    "travel_km_np",
    "travel_time",
    "travel_time_np",
]


@nb.njit(cache=True, inline="always")
def choose_link(
    here: int,
    r: float,
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    link_w: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    loc_wsum: NDArray[np.float64],
    loc_nopen: NDArray[np.int64],
) -> int:  # pragma: no cover - compiled
    """The out-link of ``here`` that the uniform ``r`` picks, by weight; -1 if none is open.

    The out-links of ``here`` are ``csr_link[csr_ptr[here]:csr_ptr[here + 1]]``; ``loc_wsum``
    and ``loc_nopen`` are the sum of their weights and the number of open ones. The weights
    (0 for closed links) are summed in that order, the first link whose cumulative weight
    exceeds ``r·total`` wins (the last weighted one if rounding leaves none); with no weight,
    the ``int(r·nopen)``-th open link.
    """
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


@nb.njit(cache=True, inline="always")
def travel_km(
    v: float, length: float, d: float, moved: float
) -> tuple[bool, float, float]:  # pragma: no cover - compiled
    """Credit ``v`` km on a link of ``length`` with ``d`` km done; ``moved``: km covered today.

    Returns (arrived, km on the link, km covered today); on arrival the km on the link are 0
    and the overshoot beyond the length is not counted as covered.
    """
    d += v
    moved += v
    if not d > length:
        return False, d, moved
    return True, 0.0, moved - (d - length)


@nb.njit(cache=True, inline="always")
def travel_time(
    v: float, length: float, d: float, t: float
) -> tuple[bool, float, float]:  # pragma: no cover - compiled
    """Travel at ``v`` km a day for the time left ``t`` (days) on a link of ``length`` with ``d``
    km done. Returns (arrived, km on the link, time left); on arrival the km are 0."""
    need = (length - d) / v
    if need > t:
        return False, d + v * t, t
    return True, 0.0, t - need


@nb.njit(cache=True, inline="always")
def move_agents(
    lo: int,
    hi: int,
    c: int,
    only: NDArray[np.bool_],
    loc: NDArray[np.int32],
    link: NDArray[np.int32],
    on_link: NDArray[np.float32],
    flags: NDArray[np.uint8],
    stale_bit: int,
    by_time: bool,
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
    entries: NDArray[np.int64],
    delta: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled
    """Flee's rule (module docstring) for agents ``lo..hi-1`` (those with ``only[a]``; all if
    ``only`` is empty), in place: writes ``loc``, ``link``, ``on_link`` of those that
    travelled (an agent that stayed at its place all day is left untouched), clears
    ``stale_bit`` of ``flags`` (an empty array: no agent is stale) of those put back, adds the
    links entered to ``entries[c]`` (unless ``entries`` is empty) and the change of people at
    each place to ``delta[c]``.

    Inlined into the caller (Numba IR inlining), so that a caller's ``prange`` body is one
    compiled loop; the rule is written out in this loop, with no per-agent call that passes
    arrays (which would cost a reference count per array and agent in a one-thread kernel).
    ``link_src`` is read only for stale agents, ``key_walk`` only where ``link_walkp > 0``.
    """
    count = entries.shape[0] > 0
    has_flags = flags.shape[0] > 0
    select = only.shape[0] > 0
    for a in range(lo, hi):
        if select and not only[a]:
            continue
        here = int(loc[a])
        lk = int(link[a])
        start = here if lk < 0 else -1
        d = float(on_link[a])
        hop = 0
        t = 1.0  # time left (by_time)
        moved = 0.0  # km covered today (by distance)
        travelled = False
        if lk < 0:  # first decision (hop 0)
            if uniform(key_move, day, a, hop) < movechance[here]:
                r = uniform(key_route, day, a, hop)
                nxt = choose_link(
                    here, r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen
                )
                if nxt >= 0 and not blocked[link_dst[nxt]]:
                    lk = nxt
                    d = 0.0
                    if count:
                        entries[c, nxt] += 1
            hop += 1
        while lk >= 0:
            travelled = True
            v = link_speed[lk]
            wp = link_walkp[lk]
            if wp > 0.0 and uniform(key_walk, day, a, hop) < wp:
                v = walk_speed
            if by_time:
                arrived, d, t = travel_time(v, link_len[lk], d, t)
                left = t > 0.0
            else:
                arrived, d, moved = travel_km(v, link_len[lk], d, moved)
                left = moved < v
            if not arrived:
                break
            if has_flags and (flags[a] & stale_bit) != 0:  # put back at the link's start
                here = int(link_src[lk])
                lk = -1
                flags[a] &= ~stale_bit
                break
            here = int(link_dst[lk])
            lk = -1
            if not left:
                break
            # on again: decision ``hop`` at the new place (as the first one above)
            if uniform(key_move, day, a, hop) < movechance[here]:
                r = uniform(key_route, day, a, hop)
                nxt = choose_link(
                    here, r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen
                )
                if nxt >= 0 and not blocked[link_dst[nxt]]:
                    lk = nxt
                    if count:
                        entries[c, nxt] += 1
            hop += 1
        if travelled:
            if start >= 0:
                delta[c, start] -= 1
            loc[a] = here
            link[a] = lk
            on_link[a] = d
            if lk < 0:
                delta[c, here] += 1


# ---------------------------------------------------------------------------------------------
# NumPy twins
# ---------------------------------------------------------------------------------------------
def choose_link_np(
    here: NDArray[np.int64],
    r: NDArray[np.float64],
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    link_w: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    loc_wsum: NDArray[np.float64],
    loc_nopen: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Vectorised twin of :func:`choose_link` (same accumulation order, so same floats)."""
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


def travel_km_np(
    v: NDArray[np.float64],
    length: NDArray[np.float64],
    d: NDArray[np.float64],
    moved: NDArray[np.float64],
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Elementwise twin of :func:`travel_km` (same operations, so same floats)."""
    d = d + v
    moved = moved + v
    arrived = d > length
    moved = np.where(arrived, moved - (d - length), moved)
    return arrived, np.where(arrived, 0.0, d), moved


def travel_time_np(
    v: NDArray[np.float64],
    length: NDArray[np.float64],
    d: NDArray[np.float64],
    t: NDArray[np.float64],
) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Elementwise twin of :func:`travel_time` (same operations, so same floats)."""
    need = (length - d) / v
    arrived = ~(need > t)
    return arrived, np.where(arrived, 0.0, d + v * t), np.where(arrived, t - need, t)


def move_agents_np(
    who: NDArray[np.int64],
    here: NDArray[np.int64],
    lk: NDArray[np.int64],
    d: NDArray[np.float64],
    stale: NDArray[np.bool_],
    by_time: bool,
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
    entries: NDArray[np.int64] | None,
) -> None:
    """NumPy twin of :func:`move_agents` for the agents ``who`` (ascending ids), in rounds over
    those still moving. Updates ``here``, ``lk``, ``d`` and ``stale`` (indexed by agent id) in
    place and adds every link entered to ``entries`` (when given)."""
    n = here.shape[0]
    hop = np.zeros(n, dtype=np.int64)
    t = np.ones(n, dtype=np.float64)
    moved = np.zeros(n, dtype=np.float64)

    def decide_np(at: NDArray[np.int64]) -> None:
        u = uniform_np(key_move, day, at, hop[at])
        movers = at[u < movechance[here[at]]]
        r = uniform_np(key_route, day, movers, hop[movers])
        nxt = choose_link_np(
            here[movers], r, csr_ptr, csr_link, link_w, link_open, loc_wsum, loc_nopen
        )
        ok = nxt >= 0
        ok[ok] = ~blocked[link_dst[nxt[ok]]]
        lk[movers[ok]] = nxt[ok]
        d[movers[ok]] = 0.0
        if entries is not None:
            np.add.at(entries, nxt[ok], 1)
        hop[at] += 1

    decide_np(who[lk[who] < 0])
    active = who[lk[who] >= 0]
    while active.size:
        a = active
        v = link_speed[lk[a]].copy()
        wp = link_walkp[lk[a]]
        walkers = wp > 0.0
        if walkers.any():
            uw = uniform_np(key_walk, day, a[walkers], hop[a[walkers]])
            v[np.flatnonzero(walkers)[uw < wp[walkers]]] = walk_speed
        if by_time:
            arrived, d[a], t[a] = travel_time_np(v, link_len[lk[a]], d[a], t[a])
            left = t[a[arrived]] > 0.0
        else:
            arrived, d[a], moved[a] = travel_km_np(v, link_len[lk[a]], d[a], moved[a])
            left = moved[a[arrived]] < v[arrived]
        a_arr = a[arrived]
        back = stale[a_arr]
        bounced = a_arr[back]
        here[bounced] = link_src[lk[bounced]]
        stale[bounced] = False
        fwd = a_arr[~back]
        here[fwd] = link_dst[lk[fwd]]
        lk[a_arr] = -1
        again = fwd[left[~back]]
        decide_np(again)
        active = again[lk[again] >= 0]
