"""Every dtype the engine uses, in one place.

Agents are a struct of arrays; small dtypes keep a 10-million-agent run under 64 bytes per agent.
"""

from __future__ import annotations

import numpy as np

LOC = np.int32  # location index (up to 2**31 places)
LINK = np.int32  # directed link index; -1 when an agent is not on a link
DIST = np.float32  # km travelled on the current link
FLAGS = np.uint8  # bit flags (see AgentFlags)
STATE = np.uint8  # pipeline state code
DAY = np.int32  # day numbers and scheduled event days
COUNT = np.int64  # people counts in results
KEY = np.uint64  # random stream keys

NO_LINK = -1


class AgentFlags:
    """Bits of the ``flags`` column."""

    STALE = np.uint8(1)  # on a link that was closed while the agent was on it (bounces back)
