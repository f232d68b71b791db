"""The servers at work in a queue stage (caseworkers for decisions, judges for appeals).

Rule (scenario ``caseworkers`` / ``judges`` and their productivity): a stage has the day's
servers at work while its service rate is positive, none otherwise. The agent engine has whole
servers, :func:`whole_servers` (``round(count × sample)``); the aggregate engine's fluid queue
works with the expected count itself, fractions included (its servers are a rate of service, not
people), so it calls :func:`servers_at_work` on the unrounded count. The two differ by design.

Reads: the day's server count and service rate. Produces: servers at work. Invariants: pure.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def servers_at_work(servers: float, rate: float) -> float:
    """Servers serving on a day with service rate ``rate`` (0 when nothing can be served)."""
    return servers if rate > 0.0 else 0.0


def whole_servers(count: float, sample: float) -> int:
    """The agent engine's servers: ``count`` scaled to the sample, rounded to whole people."""
    return int(np.rint(count * sample))
