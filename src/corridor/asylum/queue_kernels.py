"""Kernels of the asylum system: multi-server queues, FIFO hand-overs and event timers.

This module is the stable import path of the agent engine's kernels; they live in
:mod:`corridor.asylum.agent` (:mod:`~corridor.asylum.agent.codes`,
:mod:`~corridor.asylum.agent.kernels_case`, :mod:`~corridor.asylum.agent.kernels_fifo`,
:mod:`~corridor.asylum.agent.kernels_serve`, :mod:`~corridor.asylum.agent.twins`,
:mod:`~corridor.asylum.agent.kernel_sets`) and are re-exported here unchanged.

The state machine's codes (:mod:`~corridor.asylum.agent.codes`) are shared by every kernel. The
modules in :mod:`corridor.asylum.agents` do everything that is the same for each case
independently (random draws, state changes, counts) with vectorised NumPy on the day's batch;
these kernels do the parts that are sequential by nature:

* :func:`serve_day` — one day of a non-preemptive multi-server queue (caseworkers or judges) in
  continuous time: servers are taken in order of the time they become free; a free server takes
  the first waiting case of the highest priority class that has one, or idles until the next
  arrival. Cases that reach the head of the queue after their withdrawal time are withdrawn
  (reneging). The waiting times are those of the continuous-time queue exactly: days only
  decide when results are reported. :func:`serve_day_rate` is the same queue where service is
  *work* (Exp(1), or 1 when fixed) done at a piecewise-constant daily rate (``rate_cum``,
  ``rate_day``): a change of productivity applies to cases already in service;
  :func:`serve_day` is its constant-rate form (mean service time).
* :func:`take_fifo` — hand over the oldest cases of several FIFO queues to a capacity-limited
  process (removal listing, hub flights) while a daily budget and free places last;
  :func:`take_newest` the newest (whole days, a day not taken whole in proportion).
* :func:`append` — append cases to FIFO queues (linked lists through the ``qnext`` column);
  :func:`insert_newest` links them newest first (by day, in random order within a day).
* :func:`draw_uniform` — a case's own uniform draws for a batch of cases.
* :func:`event_times` — when clocks fire under a piecewise-constant daily hazard (the rule of
  :func:`corridor.asylum.params.event_time`, which is its twin).
* :func:`move_states`, :func:`add_flows` — state changes and flows of a batch of cases, kept in
  the people-by-state and people-by-flow counts.
* :func:`queue_members` — the live members of a queue in a given set of states (to restate them
  when a returns agreement starts or ends).
* :func:`push_timers`, :func:`pop_due` — a binary min-heap of per-case event times
  ``(time, agent, kind)`` with lazy cancellation: an entry is acted on only if the case's
  ``t_next`` still equals its time and the case is still in the state the timer was set for.

Each kernel is compiled with Numba (``cache=True``) and has a twin in plain Python/NumPy with the
same arguments (``*_py``): :func:`serve_day_py` keeps its servers in :mod:`heapq`,
:func:`take_fifo_py` scans the queue heads with Python lists, :func:`append_py` links a batch with
vectorised NumPy, :func:`push_timers_py`/:func:`pop_due_py` keep the heap as a sorted array (a
sorted array is a valid heap, so either implementation can continue the other's). Tests check
that a whole run gives identical results with either set.

Queues are singly linked lists through the agent column ``qnext`` (``-1`` ends a list) with
``qhead[q]``/``qtail[q]``. A case is in at most one queue at a time and leaves it only at the
head; a case that leaves the system while queued (withdrawn, departed, absconded) stays linked
and is dropped when it reaches the head (lazy deletion). Such cases are never queued again, so
their links are never reused.
"""

from __future__ import annotations

from corridor.asylum.agent.codes import (
    ABSCONDED,
    DEPARTED,
    DETAINED,
    GRANTED,
    IN_APPEAL,
    IN_DECISION,
    IN_HUB,
    INADMISSIBLE,
    LIMBO,
    N_STATES,
    NEW,
    NOT_CLAIMED,
    REFUSED,
    STATE_NAMES,
    STATE_STOCK,
    T_ABSCOND,
    T_HUB_EXIT,
    T_REMOVE,
    T_VOLUNTARY,
    T_WITHDRAW,
    WAITING_APPEAL,
    WAITING_DECISION,
    WITHDRAWN,
)
from corridor.asylum.agent.kernel_sets import NUMBA, TWINS
from corridor.asylum.agent.kernels_case import (
    add_flows,
    draw_uniform,
    event_times,
    move_states,
    pop_due,
    push_timers,
)
from corridor.asylum.agent.kernels_fifo import (
    append,
    insert_newest,
    queue_members,
    take_fifo,
    take_newest,
)
from corridor.asylum.agent.kernels_serve import serve_day, serve_day_rate, work_end
from corridor.asylum.agent.twins import (
    add_flows_py,
    append_py,
    draw_uniform_py,
    insert_newest_py,
    move_states_py,
    pop_due_py,
    push_timers_py,
    queue_members_py,
    serve_day_py,
    serve_day_rate_py,
    take_fifo_py,
    take_newest_py,
    work_end_py,
)

__all__ = [
    "ABSCONDED",
    "DEPARTED",
    "DETAINED",
    "GRANTED",
    "INADMISSIBLE",
    "IN_APPEAL",
    "IN_DECISION",
    "IN_HUB",
    "LIMBO",
    "NEW",
    "NOT_CLAIMED",
    "NUMBA",
    "N_STATES",
    "REFUSED",
    "STATE_NAMES",
    "STATE_STOCK",
    "TWINS",
    "T_ABSCOND",
    "T_HUB_EXIT",
    "T_REMOVE",
    "T_VOLUNTARY",
    "T_WITHDRAW",
    "WAITING_APPEAL",
    "WAITING_DECISION",
    "WITHDRAWN",
    "add_flows",
    "add_flows_py",
    "append",
    "append_py",
    "draw_uniform",
    "draw_uniform_py",
    "event_times",
    "insert_newest",
    "insert_newest_py",
    "move_states",
    "move_states_py",
    "pop_due",
    "pop_due_py",
    "push_timers",
    "push_timers_py",
    "queue_members",
    "queue_members_py",
    "serve_day",
    "serve_day_py",
    "serve_day_rate",
    "serve_day_rate_py",
    "take_fifo",
    "take_fifo_py",
    "take_newest",
    "take_newest_py",
    "work_end",
    "work_end_py",
]
