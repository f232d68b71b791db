"""Re-entry: people who leave a return hub set off for the UK again.

Rule (scenario ``hubs:``, fields ``reentry``, ``reentry_reach_uk``, ``reentry_days``): of the
people who leave hub *j* on day *d* (the hub's ``left`` outcome), a share ``reentry`` are back on
the routes towards the UK on day ``d + reentry_days`` (at least the next day), and a share
``reentry_reach_uk`` of those arrive in the UK that day, where they are arrivals like any other
(deterrence, claims, screening). A hub off the routes (Rwanda) has ``reentry = 0``; the forecast
sets a Western Balkans host's hub from the route network resolved in that replicate: the share
who can pay for a route, their days to the UK and their reach scaled to the Western Balkans
route's fitted rate (:mod:`corridor.forecast.reentry`).

* :func:`reentry_day` (:func:`reentry_days` for several people): the day people who left on
  day ``d`` are back on the routes.
* :func:`schedule_reentry` (expected people, aggregate engine): adds them to the people due
  back on the routes and due to arrive.
* :func:`reentry_outcome` (one person's draw ``u``, agent engine): back and arriving
  (``u < reentry × reach``), back but not arriving (``u < reentry``), or gone.

Reads: numbers and arrays. Produces: days, amounts, outcome codes. Invariants: pure; people due
to arrive never exceed people due back on the routes; nobody is back on the day they left.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

GONE = 0  # outcomes of :func:`reentry_outcome`
BACK = 1  # back on the routes, not (yet) in the UK
ARRIVES = 2  # back on the routes and arriving in the UK


@nb.njit(cache=True, inline="always")
def reentry_day(d: int, delay: float) -> int:
    """The day people who left a hub on day ``d`` are back on the routes (at least ``d + 1``)."""
    return d + max(int(delay + 0.5), 1)  # delay >= 0: rounded to whole days


@nb.njit(cache=True)
def reentry_days(d: int, delay: F64) -> I64:
    """:func:`reentry_day` for each of several people who left on day ``d``."""
    out = np.empty(delay.shape[0], dtype=np.int64)
    for k in range(delay.shape[0]):
        out[k] = reentry_day(d, delay[k])
    return out


@nb.njit(cache=True)
def schedule_reentry(
    due_route: F64,
    due_uk: F64,
    d: int,
    i: int,
    left: float,
    share: float,
    reach: float,
    delay: float,
) -> None:
    """Add the expected ``left`` people of nationality ``i`` who left a hub on day ``d`` to
    those due back on the routes (``share`` of them) and due to arrive in the UK (``share ×
    reach``) on :func:`reentry_day` (dropped past the end of the arrays)."""
    at = reentry_day(d, delay)
    if at < due_route.shape[0] and left > 0.0 and share > 0.0:
        due_route[at, i] += left * share
        due_uk[at, i] += left * share * reach


@nb.njit(cache=True)
def reentry_outcome(u: F64, share: F64, reach: F64) -> NDArray[np.uint8]:
    """Per person who left a hub (own draw ``u``): :data:`ARRIVES`, :data:`BACK` or
    :data:`GONE`."""
    out = np.empty(u.shape[0], dtype=np.uint8)
    for k in range(u.shape[0]):
        if u[k] < share[k] * reach[k]:
            out[k] = ARRIVES
        elif u[k] < share[k]:
            out[k] = BACK
        else:
            out[k] = GONE
    return out
