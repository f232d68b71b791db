"""The two interchangeable kernel sets of the agent engine: compiled (:data:`NUMBA`) and twins.

Reads: nothing. Produces: namespaces with the same attribute names (``event_times``,
``move_states``, ``add_flows``, ``serve_day``, ``serve_day_rate``, ``queue_members``,
``take_fifo``, ``take_newest``, ``append``, ``insert_newest``, ``set_aside``, ``merge_back``,
``push_timers``, ``pop_due``, ``draw_uniform``, ``name``); the engine
calls kernels only through one of them (``Options.use_numba``). Reports: ``name`` (``"numba"`` or
``"numpy"``), recorded in the result's ``meta["kernels"]``.

Invariants: both sets give identical results on a whole run (tests).
"""

from __future__ import annotations

from types import SimpleNamespace

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
    merge_back,
    queue_members,
    set_aside,
    take_fifo,
    take_newest,
)
from corridor.asylum.agent.kernels_serve import serve_day, serve_day_rate
from corridor.asylum.agent.twins import (
    add_flows_py,
    append_py,
    draw_uniform_py,
    insert_newest_py,
    merge_back_py,
    move_states_py,
    pop_due_py,
    push_timers_py,
    queue_members_py,
    serve_day_py,
    serve_day_rate_py,
    set_aside_py,
    take_fifo_py,
    take_newest_py,
)
from corridor.asylum.params import event_time

NUMBA = SimpleNamespace(
    event_times=event_times,
    move_states=move_states,
    add_flows=add_flows,
    serve_day=serve_day,
    serve_day_rate=serve_day_rate,
    queue_members=queue_members,
    take_fifo=take_fifo,
    take_newest=take_newest,
    append=append,
    insert_newest=insert_newest,
    set_aside=set_aside,
    merge_back=merge_back,
    push_timers=push_timers,
    pop_due=pop_due,
    draw_uniform=draw_uniform,
    name="numba",
)
"""The compiled kernels (the default)."""

TWINS = SimpleNamespace(
    event_times=event_time,
    move_states=move_states_py,
    add_flows=add_flows_py,
    serve_day=serve_day_py,
    serve_day_rate=serve_day_rate_py,
    queue_members=queue_members_py,
    take_fifo=take_fifo_py,
    take_newest=take_newest_py,
    append=append_py,
    insert_newest=insert_newest_py,
    set_aside=set_aside_py,
    merge_back=merge_back_py,
    push_timers=push_timers_py,
    pop_due=pop_due_py,
    draw_uniform=draw_uniform_py,
    name="numpy",
)
"""The Python/NumPy twins (reference implementations; slow)."""
