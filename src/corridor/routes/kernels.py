"""Kernels of directed travel and border crossings: one simulated day for all agents.

Two kernels, each with a NumPy twin that gives identical arrays (``tests/test_routes_known.py``):

* :func:`move_day` (phase ``move``) advances every agent. A person with a destination
  (``dest >= 0``) follows their route (``path``, ``path_pos``) link by link, with one day of time
  to spend: on a link they cover ``speed`` km a day; at a place with time left they take the next
  link. They choose a route (multinomial logit over the options of :class:`Routes`, among those
  whose price they can pay; stream ``route``) when they have none, when flagged ``CHOOSE``
  (pushed back, priced out, or the network changed) or when their next link is closed; when
  they can pay for none of the options they take the route of least price, and when they
  cannot pay for that either they are ``STUCK`` until the network changes. Reaching the start
  of an active crossing they join its queue (``WAIT``, returned as the day's joiners).
  Reaching their destination they are ``ARRIVED``. A person without a destination
  (``dest < 0``, displaced by conflict) moves by Flee's rule instead, the one implementation
  of :mod:`corridor.modules.flee_rules` (:func:`~corridor.modules.flee_rules.move_agents`):
  move chance of the place, stream ``flee_move``; a link by weight, stream ``flee_route``; on
  again while time is left. What differs from Flee's module is the setting, passed as
  arguments: the day's budget is one day of time (``by_time``, as for people with a
  destination: :func:`~corridor.modules.flee_rules.travel_time`) instead of km; no place is a
  capacity-limited camp (nothing is ``blocked``), no link has a walk probability and no agent
  is put back from a link closed under it (closures only change the choice); crossings other
  than closures are ignored; every link entered is counted in ``entries``.
* :func:`cross_day` (phase ``cross``) serves each crossing's queue, first come, first served:
  people join the end of the queue of the crossing they reach and stay in it (``WAIT``; the
  move kernel skips them) until they leave it. Each day, from the front, every person who can
  pay the price attempts, until ``capacity`` attempts (none: everyone); those who cannot pay
  leave the queue to choose again. Each attempt is intercepted with chance p (stream
  ``intercept``); the intercepted are detained, pushed back, or turned back by the shares
  (stream ``outcome``); the others die with chance ``death_risk`` (stream ``death``) or cross,
  pay, and start along the crossing's link. Pushed back means sent back across the border to
  the crossing's start (the place before the crossing link), where they choose a route again;
  turned back means joining the end of the same queue, to try again. A queue costs nothing a
  day beyond the attempts: people waiting in it are not visited.

Every draw is a counter-based uniform keyed on (day, agent, draw) (:mod:`corridor.engine.rng`),
and every float operation is done in the same order in a kernel and its twin, so both give the
same bits. The move kernel splits agents into a fixed number of chunks (independent of the
number of threads); results do not depend on the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from corridor.engine.rng import uniform, uniform_np
from corridor.modules.flee_rules import move_agents, move_agents_np, travel_time, travel_time_np

__all__ = [
    "ARRIVED",
    "CHOOSE",
    "DEAD",
    "DETAINED",
    "EVENT_KINDS",
    "STOCKS",
    "STUCK",
    "WAIT",
    "MoveOut",
    "cross_day",
    "cross_day_np",
    "move_day",
    "move_day_np",
]

# Bits of the ``status`` column.
ARRIVED = 1  # reached the destination
DEAD = 2  # died in a crossing
DETAINED = 4  # detained at a crossing (out of the journey)
STUCK = 8  # no route they can pay for; waits for a change of the network
CHOOSE = 16  # chooses a route at the next place
WAIT = 32  # in the queue of a crossing
DONE = ARRIVED | DEAD | DETAINED

STOCKS: tuple[str, ...] = (
    "en_route",  # with a destination, travelling or at a place (after the move phase)
    "waiting",  # at the start of a crossing, about to attempt it
    "stranded",  # STUCK
    "arrived",
    "dead",
    "detained",
    "displaced",  # without a destination (Flee's rules)
)
EVENT_KINDS: tuple[str, ...] = (
    "attempt",  # = interception + death + crossing
    "interception",  # = pushback + detention + turned back in place
    "pushback",
    "detention",
    "death",
    "crossing",
)
_ATTEMPT, _INTERCEPT, _PUSHBACK, _DETAIN, _DEATH, _CROSS = range(6)
_EN_ROUTE, _WAITING, _STRANDED, _ARRIVED, _DEAD, _DETAINED, _DISPLACED = range(7)


@nb.njit(cache=True, inline="always")
def _choose_route(
    g: int,
    budget: float,
    r: float,
    ch_ptr: NDArray[np.int64],
    ch_weight: NDArray[np.float64],
    ch_price: NDArray[np.float64],
) -> int:  # pragma: no cover - compiled
    """Option of group ``g`` picked by the logit weights among those priced <= budget; -1 if
    none. The cumulative sum runs in option order (the twin does the same)."""
    lo = ch_ptr[g]
    hi = ch_ptr[g + 1]
    total = 0.0
    for j in range(lo, hi):
        if ch_price[j] <= budget:
            total += ch_weight[j]
    if not total > 0.0:
        return -1
    target = r * total
    acc = 0.0
    last = -1
    for j in range(lo, hi):
        if ch_price[j] <= budget:
            acc += ch_weight[j]
            last = j
            if target < acc:
                return j
    return last


def _build(parallel: bool) -> Any:
    """Compile the move kernel; ``parallel`` is a closure value so Numba caches both."""

    def _move_day(
        n: int,
        loc: NDArray[np.int32],
        link: NDArray[np.int32],
        on_link: NDArray[np.float32],
        dest: NDArray[np.int32],
        origin: NDArray[np.int32],
        path: NDArray[np.int32],
        path_pos: NDArray[np.uint16],
        budget: NDArray[np.float32],
        status: NDArray[np.uint8],
        day: int,
        key_route: np.uint64,
        key_fmove: np.uint64,
        key_froute: np.uint64,
        dst: NDArray[np.int32],
        km: NDArray[np.float64],
        speed: NDArray[np.float64],
        link_open: NDArray[np.bool_],
        link_usable: NDArray[np.bool_],
        link_cross: NDArray[np.int32],
        cross_active: NDArray[np.bool_],
        path_ptr: NDArray[np.int64],
        path_links: NDArray[np.int32],
        dest_slot: NDArray[np.int32],
        ch_ptr: NDArray[np.int64],
        ch_path: NDArray[np.int32],
        ch_weight: NDArray[np.float64],
        ch_price: NDArray[np.float64],
        fb_path: NDArray[np.int32],
        fb_price: NDArray[np.float64],
        movechance: NDArray[np.float64],
        csr_ptr: NDArray[np.int64],
        csr_link: NDArray[np.int32],
        flee_w: NDArray[np.float64],
        flee_wsum: NDArray[np.float64],
        flee_nopen: NDArray[np.int64],
        n_dest: int,
        wait_buf: NDArray[np.int64],
        n_chunks: int,
    ) -> tuple[
        NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
    ]:  # pragma: no cover - compiled
        """Advance agents ``0..n-1`` by one day in place.

        Returns per-chunk ``entries`` (people entering each directed link), ``arrivals``
        (index ``slot × n_places + origin``), ``stocks`` (:data:`STOCKS`) and ``n_wait``; the
        waiting agents of chunk ``c`` are ``wait_buf[lo_c : lo_c + n_wait[c]]``.
        """
        _ = parallel
        n_links = dst.shape[0]
        n_places = movechance.shape[0]
        entries = np.zeros((n_chunks, n_links), dtype=np.int64)
        arrivals = np.zeros((n_chunks, n_dest * n_places), dtype=np.int64)
        stocks = np.zeros((n_chunks, 7), dtype=np.int64)
        n_wait = np.zeros(n_chunks, dtype=np.int64)
        # Flee's rule here: no camp is full, no link has walkers, no agent is stale.
        no_block = np.zeros(n_places, dtype=np.bool_)
        no_walk = np.zeros(n_links, dtype=np.float64)
        no_flags = np.zeros(0, dtype=np.uint8)
        displaced = np.zeros(n, dtype=np.bool_)
        moved = np.zeros((n_chunks, n_places), dtype=np.int64)  # not kept
        size = (n + n_chunks - 1) // n_chunks
        for c in nb.prange(n_chunks):
            lo = c * size
            hi = min(n, lo + size)
            for a in range(lo, hi):
                st = int(status[a])
                if st & DONE:
                    if st & ARRIVED:
                        stocks[c, _ARRIVED] += 1
                    elif st & DEAD:
                        stocks[c, _DEAD] += 1
                    else:
                        stocks[c, _DETAINED] += 1
                    continue
                de = dest[a]
                here = int(loc[a])
                lk = int(link[a])
                d = float(on_link[a])
                t = 1.0
                hop = 0
                if de < 0:  # Flee's rule, after this loop (see the module docstring)
                    stocks[c, _DISPLACED] += 1
                    displaced[a] = True
                    continue
                if st & STUCK:
                    stocks[c, _STRANDED] += 1
                    continue
                if st & WAIT:  # in a crossing's queue: the cross phase moves it
                    stocks[c, _WAITING] += 1
                    continue
                p = int(path[a])
                pos = int(path_pos[a])
                slot = dest_slot[de]
                while True:
                    if lk >= 0:
                        arrived, d, t = travel_time(speed[lk], km[lk], d, t)
                        if not arrived:
                            break
                        here = int(dst[lk])
                        lk = -1
                        pos += 1
                        if here == de:
                            st |= ARRIVED
                            arrivals[c, slot * n_places + origin[a]] += 1
                            break
                    if (st & CHOOSE) or not link_usable[path_links[path_ptr[p] + pos]]:
                        r = uniform(key_route, day, a, hop)
                        hop += 1
                        grp = here * n_dest + slot
                        bud = float(budget[a])
                        j = _choose_route(grp, bud, r, ch_ptr, ch_weight, ch_price)
                        st &= ~CHOOSE
                        if j >= 0:
                            p = int(ch_path[j])
                        elif fb_price[grp] <= bud:
                            p = int(fb_path[grp])
                        else:
                            st |= STUCK
                            break
                        pos = 0
                    nl = path_links[path_ptr[p] + pos]
                    cr = link_cross[nl]
                    if cr >= 0 and cross_active[cr]:
                        st |= WAIT
                        wait_buf[lo + n_wait[c]] = a
                        n_wait[c] += 1
                        break
                    if not t > 0.0:
                        break
                    lk = int(nl)
                    d = 0.0
                    entries[c, nl] += 1
                loc[a] = here
                link[a] = lk
                on_link[a] = d
                path[a] = p
                path_pos[a] = pos
                status[a] = st
                if st & ARRIVED:
                    stocks[c, _ARRIVED] += 1
                elif st & STUCK:
                    stocks[c, _STRANDED] += 1
                elif st & WAIT:
                    stocks[c, _WAITING] += 1
                else:
                    stocks[c, _EN_ROUTE] += 1
            if stocks[c, _DISPLACED]:  # Flee's rule for this chunk's displaced people
                move_agents(
                    lo, hi, c, displaced, loc, link, on_link, no_flags, 0, True, day, key_fmove,
                    key_froute, key_fmove, movechance, no_block, csr_ptr, csr_link, dst, dst,
                    km, speed, no_walk, flee_w, link_open, flee_wsum, flee_nopen, 0.0, entries,
                    moved,
                )  # fmt: skip
        return entries, arrivals, stocks, n_wait

    return nb.njit(parallel=parallel, cache=True)(_move_day)


move_day_parallel = _build(True)
move_day_serial = _build(False)

# Below this many agents one thread is faster than waking several (as for Flee's kernel).
PARALLEL_MIN_AGENTS = 1_000_000


@dataclass(frozen=True)
class MoveOut:
    """What a move day returns, summed over chunks; ``waiting`` (the day's joiners of crossing
    queues) is in ascending agent order."""

    entries: NDArray[np.int64]
    arrivals: NDArray[np.int64]
    stocks: NDArray[np.int64]
    waiting: NDArray[np.int64]


def chunks(n: int) -> int:
    """Fixed work split (independent of the thread count, so results are too)."""
    return int(min(256, max(1, n // 4096)))


def move_day(n: int, *args: Any, n_chunks: int | None = None) -> MoveOut:
    """:func:`_move_day` (Numba), on one thread or, for large tables, all of Numba's threads.

    ``args`` are the kernel's arguments after ``n`` up to ``n_dest`` (see :func:`move_day_np`).
    """
    k = chunks(n) if n_chunks is None else n_chunks
    wait_buf = np.empty(max(n, 1), np.int64)
    kernel = (
        move_day_parallel
        if n >= PARALLEL_MIN_AGENTS and nb.get_num_threads() > 1
        else move_day_serial
    )
    entries, arrivals, stocks, n_wait = kernel(n, *args, wait_buf, k)
    size = (n + k - 1) // k
    parts = [wait_buf[c * size : c * size + int(n_wait[c])] for c in range(k) if n_wait[c]]
    waiting = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return MoveOut(entries.sum(axis=0), arrivals.sum(axis=0), stocks.sum(axis=0), waiting)


def move_day_np(
    n: int,
    loc: NDArray[np.int32],
    link: NDArray[np.int32],
    on_link: NDArray[np.float32],
    dest: NDArray[np.int32],
    origin: NDArray[np.int32],
    path: NDArray[np.int32],
    path_pos: NDArray[np.uint16],
    budget: NDArray[np.float32],
    status: NDArray[np.uint8],
    day: int,
    key_route: np.uint64,
    key_fmove: np.uint64,
    key_froute: np.uint64,
    dst: NDArray[np.int32],
    km: NDArray[np.float64],
    speed: NDArray[np.float64],
    link_open: NDArray[np.bool_],
    link_usable: NDArray[np.bool_],
    link_cross: NDArray[np.int32],
    cross_active: NDArray[np.bool_],
    path_ptr: NDArray[np.int64],
    path_links: NDArray[np.int32],
    dest_slot: NDArray[np.int32],
    ch_ptr: NDArray[np.int64],
    ch_path: NDArray[np.int32],
    ch_weight: NDArray[np.float64],
    ch_price: NDArray[np.float64],
    fb_path: NDArray[np.int32],
    fb_price: NDArray[np.float64],
    movechance: NDArray[np.float64],
    csr_ptr: NDArray[np.int64],
    csr_link: NDArray[np.int32],
    flee_w: NDArray[np.float64],
    flee_wsum: NDArray[np.float64],
    flee_nopen: NDArray[np.int64],
    n_dest: int,
    n_chunks: int | None = None,
) -> MoveOut:
    """NumPy twin of :func:`move_day`: the same day, in rounds over the agents still moving."""
    del n_chunks  # the twin has no chunks; results do not depend on them
    n_links = dst.shape[0]
    n_places = movechance.shape[0]
    entries = np.zeros(n_links, np.int64)
    arrivals = np.zeros(n_dest * n_places, np.int64)
    ids = np.arange(n, dtype=np.int64)
    st = status[:n].astype(np.int64)
    here = loc[:n].astype(np.int64)
    lk = link[:n].astype(np.int64)
    d = on_link[:n].astype(np.float64)
    p = path[:n].astype(np.int64)
    pos = path_pos[:n].astype(np.int64)
    t = np.ones(n, np.float64)
    hop = np.zeros(n, np.int64)
    de = dest[:n].astype(np.int64)
    bud = budget[:n].astype(np.float64)
    done = (st & DONE) != 0
    flee = ~done & (de < 0)
    directed = ~done & ~flee & ((st & (STUCK | WAIT)) == 0)

    def travel(a: NDArray[np.int64]) -> NDArray[np.int64]:
        """Travel on the current link; return those who reached its end (time left >= 0)."""
        arrived, d[a], t[a] = travel_time_np(speed[lk[a]], km[lk[a]], d[a], t[a])
        arr = a[arrived]
        here[arr] = dst[lk[arr]]
        lk[arr] = -1
        return arr

    # -- displaced people: Flee's rule, by time (see the module docstring) --------------------
    move_agents_np(
        ids[flee], here, lk, d, np.zeros(n, np.bool_), True, day, key_fmove, key_froute,
        key_fmove, movechance, np.zeros(n_places, np.bool_), csr_ptr, csr_link, dst, dst, km,
        speed, np.zeros(n_links), flee_w, link_open, flee_wsum, flee_nopen, 0.0, entries,
    )  # fmt: skip

    # -- people with a destination ----------------------------------------------------------
    waiting: list[NDArray[np.int64]] = []
    slot_of = dest_slot.astype(np.int64)
    da = ids[directed]
    active = da[lk[da] >= 0]
    at_place = da[lk[da] < 0]
    while active.size or at_place.size:
        arr = travel(active)
        pos[arr] += 1
        fin = here[arr] == de[arr]
        f = arr[fin]
        st[f] |= ARRIVED
        np.add.at(arrivals, slot_of[de[f]] * n_places + origin[f], 1)
        pa = np.sort(np.concatenate([at_place, arr[~fin]]))
        at_place = np.zeros(0, np.int64)
        # choose where flagged or where the next link is closed
        flagged = (st[pa] & CHOOSE) != 0
        nxt = np.zeros(pa.size, np.int64)
        nf = ~flagged
        nxt[nf] = path_links[path_ptr[p[pa[nf]]] + pos[pa[nf]]]
        must = flagged | (nf & ~link_usable[nxt])
        ch = pa[must]
        r = uniform_np(key_route, day, ch, hop[ch])
        hop[ch] += 1
        grp = here[ch] * n_dest + slot_of[de[ch]]
        j = _choose_route_np(grp, bud[ch], r, ch_ptr, ch_weight, ch_price)
        st[ch] &= ~CHOOSE
        ok = j >= 0
        p[ch[ok]] = ch_path[j[ok]]
        fb = ~ok & (fb_price[grp] <= bud[ch])
        p[ch[fb]] = fb_path[grp[fb]]
        st[ch[~ok & ~fb]] |= STUCK
        pos[ch[ok | fb]] = 0
        go = pa[(st[pa] & STUCK) == 0]
        nl = path_links[path_ptr[p[go]] + pos[go]].astype(np.int64)
        cr = link_cross[nl]
        waits = (cr >= 0) & cross_active[np.maximum(cr, 0)]
        st[go[waits]] |= WAIT
        waiting.append(go[waits])
        rest, nl_rest = go[~waits], nl[~waits]
        on = t[rest] > 0.0
        move, nl_move = rest[on], nl_rest[on]
        lk[move] = nl_move
        d[move] = 0.0
        np.add.at(entries, nl_move, 1)
        active = move

    loc[:n] = here
    link[:n] = lk
    on_link[:n] = d.astype(np.float32)
    path[:n] = p
    path_pos[:n] = pos
    status[:n] = st.astype(np.uint8)
    stocks = np.zeros(len(STOCKS), np.int64)
    stocks[_ARRIVED] = np.count_nonzero(st & ARRIVED)
    stocks[_DEAD] = np.count_nonzero((st & DEAD) & ~(st & ARRIVED))
    stocks[_DETAINED] = np.count_nonzero(done & ((st & (ARRIVED | DEAD)) == 0))
    stocks[_DISPLACED] = np.count_nonzero(flee)
    live = ~done & ~flee & ((st & ARRIVED) == 0)
    stocks[_STRANDED] = np.count_nonzero(live & ((st & STUCK) != 0))
    live &= (st & STUCK) == 0
    stocks[_WAITING] = np.count_nonzero(live & ((st & WAIT) != 0))
    stocks[_EN_ROUTE] = np.count_nonzero(live & ((st & WAIT) == 0))
    wait = np.sort(np.concatenate(waiting)) if waiting else np.zeros(0, np.int64)
    return MoveOut(entries, arrivals, stocks, wait)


def _choose_route_np(
    g: NDArray[np.int64],
    budget: NDArray[np.float64],
    r: NDArray[np.float64],
    ch_ptr: NDArray[np.int64],
    ch_weight: NDArray[np.float64],
    ch_price: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Vectorised twin of ``_choose_route`` (same accumulation order, so same floats)."""
    lo = ch_ptr[g]
    hi = ch_ptr[g + 1]
    width = int(np.max(hi - lo)) if g.size else 0
    total = np.zeros(g.size)
    for j in range(width):
        idx = lo + j
        ok = idx < hi
        idx = np.minimum(idx, max(ch_weight.size - 1, 0))
        ok &= ch_price[idx] <= budget
        total[ok] += ch_weight[idx[ok]]
    out = np.full(g.size, -1, np.int64)
    pos = total > 0.0
    target = r * total
    acc = np.zeros(g.size)
    last = np.full(g.size, -1, np.int64)
    done = ~pos
    for j in range(width):
        idx = lo + j
        ok = (idx < hi) & ~done
        idx = np.minimum(idx, max(ch_weight.size - 1, 0))
        ok &= ch_price[idx] <= budget
        acc[ok] += ch_weight[idx[ok]]
        last[ok] = idx[ok]
        hit = ok & (target < acc)
        out[hit] = idx[hit]
        done |= hit
    fallback = pos & (out < 0)
    out[fallback] = last[fallback]
    return out


# ---------------------------------------------------------------------------------------------
# Crossings
# ---------------------------------------------------------------------------------------------
@nb.njit(cache=True)
def cross_day(
    queue: NDArray[np.int64],
    qptr: NDArray[np.int64],
    joiners: NDArray[np.int64],
    link: NDArray[np.int32],
    on_link: NDArray[np.float32],
    path: NDArray[np.int32],
    path_pos: NDArray[np.uint16],
    budget: NDArray[np.float32],
    status: NDArray[np.uint8],
    day: int,
    key_intercept: np.uint64,
    key_outcome: np.uint64,
    key_death: np.uint64,
    path_ptr: NDArray[np.int64],
    path_links: NDArray[np.int32],
    link_cross: NDArray[np.int32],
    interception: NDArray[np.float64],
    pushback: NDArray[np.float64],
    detain: NDArray[np.float64],
    capacity: NDArray[np.int64],
    price: NDArray[np.float64],
    death: NDArray[np.float64],
) -> tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
]:  # pragma: no cover - compiled
    """One day at the crossings.

    The queue of crossing ``c`` is ``queue[qptr[c]:qptr[c+1]]`` (first come, first served);
    today's ``joiners`` (ascending ids) join the end of their crossing's queue. From the front,
    each person who can pay attempts, until ``capacity`` attempts (none: everyone); those who
    cannot pay leave the queue to choose again. The turned back join the end of the queue;
    everyone else who attempted leaves it. Returns ``events[crossing, kind]``
    (:data:`EVENT_KINDS`), ``entries`` of the crossings' links, and the new queue and pointers.
    """
    n_cross = interception.shape[0]
    events = np.zeros((n_cross, len(EVENT_KINDS)), dtype=np.int64)
    entries = np.zeros(link_cross.shape[0], dtype=np.int64)
    nj = joiners.shape[0]
    jstart = np.zeros(n_cross + 1, dtype=np.int64)
    jc = np.empty(nj, dtype=np.int64)
    for i in range(nj):
        a = joiners[i]
        c = link_cross[path_links[path_ptr[path[a]] + path_pos[a]]]
        jc[i] = c
        jstart[c + 1] += 1
    for c in range(n_cross):
        jstart[c + 1] += jstart[c]
    jorder = np.empty(nj, dtype=np.int64)
    fill = jstart[:n_cross].copy()
    for i in range(nj):
        jorder[fill[jc[i]]] = joiners[i]
        fill[jc[i]] += 1
    total = queue.shape[0] + nj
    new_queue = np.empty(total, dtype=np.int64)
    new_qptr = np.zeros(n_cross + 1, dtype=np.int64)
    retry = np.empty(total, dtype=np.int64)
    w = 0
    for c in range(n_cross):
        new_qptr[c] = w
        m_old = qptr[c + 1] - qptr[c]
        m = m_old + jstart[c + 1] - jstart[c]
        cap = capacity[c]
        attempts = 0
        nr = 0
        j = 0
        while j < m:
            if cap >= 0 and attempts >= cap:
                break
            a = queue[qptr[c] + j] if j < m_old else jorder[jstart[c] + j - m_old]
            j += 1
            st = int(status[a]) & ~WAIT
            if float(budget[a]) < price[c]:
                status[a] = st | CHOOSE
                continue
            attempts += 1
            events[c, _ATTEMPT] += 1
            if uniform(key_intercept, day, a, 0) < interception[c]:
                events[c, _INTERCEPT] += 1
                u2 = uniform(key_outcome, day, a, 0)
                if u2 < detain[c]:
                    status[a] = st | DETAINED
                    events[c, _DETAIN] += 1
                elif u2 < detain[c] + pushback[c]:
                    status[a] = st | CHOOSE
                    events[c, _PUSHBACK] += 1
                else:  # turned back: to the end of the queue
                    retry[nr] = a
                    nr += 1
            elif uniform(key_death, day, a, 0) < death[c]:
                status[a] = st | DEAD
                events[c, _DEATH] += 1
            else:
                status[a] = st
                nl = path_links[path_ptr[path[a]] + path_pos[a]]
                events[c, _CROSS] += 1
                budget[a] = budget[a] - price[c]
                link[a] = nl
                on_link[a] = 0.0
                entries[nl] += 1
        while j < m:
            new_queue[w] = queue[qptr[c] + j] if j < m_old else jorder[jstart[c] + j - m_old]
            w += 1
            j += 1
        for r in range(nr):
            new_queue[w] = retry[r]
            w += 1
    new_qptr[n_cross] = w
    return events, entries, new_queue[:w].copy(), new_qptr


def cross_day_np(
    queue: NDArray[np.int64],
    qptr: NDArray[np.int64],
    joiners: NDArray[np.int64],
    link: NDArray[np.int32],
    on_link: NDArray[np.float32],
    path: NDArray[np.int32],
    path_pos: NDArray[np.uint16],
    budget: NDArray[np.float32],
    status: NDArray[np.uint8],
    day: int,
    key_intercept: np.uint64,
    key_outcome: np.uint64,
    key_death: np.uint64,
    path_ptr: NDArray[np.int64],
    path_links: NDArray[np.int32],
    link_cross: NDArray[np.int32],
    interception: NDArray[np.float64],
    pushback: NDArray[np.float64],
    detain: NDArray[np.float64],
    capacity: NDArray[np.int64],
    price: NDArray[np.float64],
    death: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """NumPy twin of :func:`cross_day`, crossing by crossing."""
    n_cross = interception.shape[0]
    events = np.zeros((n_cross, len(EVENT_KINDS)), np.int64)
    entries = np.zeros(link_cross.shape[0], np.int64)
    j = np.asarray(joiners, np.int64)
    jc = link_cross[path_links[path_ptr[path[j]] + path_pos[j]]]
    not_wait = np.uint8(~WAIT & 0xFF)
    parts: list[NDArray[np.int64]] = []
    new_qptr = np.zeros(n_cross + 1, np.int64)
    for c in range(n_cross):
        q = np.concatenate([queue[qptr[c] : qptr[c + 1]], j[jc == c]])
        poor = budget[q].astype(np.float64) < price[c]
        cap = int(capacity[c])
        examined = np.ones(q.size, bool)
        can = np.flatnonzero(~poor)
        if cap >= 0 and can.size > cap:
            cut = can[cap - 1] if cap > 0 else -1
            examined = np.arange(q.size) <= cut
        out = q[examined & poor]
        status[out] = (status[out] & not_wait) | np.uint8(CHOOSE)
        a = q[examined & ~poor]
        rest = q[~examined]
        events[c, _ATTEMPT] = a.size
        caught = uniform_np(key_intercept, day, a, 0) < interception[c]
        u2 = uniform_np(key_outcome, day, a, 0)
        det = caught & (u2 < detain[c])
        back = caught & ~det & (u2 < detain[c] + pushback[c])
        turned = caught & ~det & ~back
        free = ~caught
        died = free & (uniform_np(key_death, day, a, 0) < death[c])
        ok = free & ~died
        events[c, _INTERCEPT] = np.count_nonzero(caught)
        events[c, _DETAIN] = np.count_nonzero(det)
        events[c, _PUSHBACK] = np.count_nonzero(back)
        events[c, _DEATH] = np.count_nonzero(died)
        events[c, _CROSS] = np.count_nonzero(ok)
        leave = a[~turned]
        status[leave] &= not_wait
        status[a[det]] |= np.uint8(DETAINED)
        status[a[back]] |= np.uint8(CHOOSE)
        status[a[died]] |= np.uint8(DEAD)
        ac = a[ok]
        nl = path_links[path_ptr[path[ac]] + path_pos[ac]].astype(np.int64)
        budget[ac] = (budget[ac].astype(np.float64) - price[c]).astype(np.float32)
        link[ac] = nl
        on_link[ac] = 0.0
        np.add.at(entries, nl, 1)
        parts += [rest, a[turned]]
        new_qptr[c + 1] = new_qptr[c] + rest.size + np.count_nonzero(turned)
    new_queue = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return events, entries, new_queue.astype(np.int64), new_qptr
