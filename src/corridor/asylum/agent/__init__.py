"""The agent engine of the asylum system: one agent is one case.

* :mod:`~corridor.asylum.agent.codes` — the state machine's codes and the timer kinds.
* :mod:`~corridor.asylum.agent.kernels_case` — Numba kernels of per-case draws, clocks,
  bookkeeping and the timer heap.
* :mod:`~corridor.asylum.agent.kernels_fifo` — Numba kernels of the FIFO queues (linked lists) and
  the capacity-limited hand-over from them (removal listing, hub transfers).
* :mod:`~corridor.asylum.agent.kernels_serve` — Numba kernels of one day of a multi-server queue
  (caseworkers, judges).
* :mod:`~corridor.asylum.agent.twins` — the plain Python/NumPy twin of every kernel.
* :mod:`~corridor.asylum.agent.kernel_sets` — the two interchangeable kernel sets.
* :mod:`~corridor.asylum.agent.structures` — timer heap and server pools around the kernels.
* :mod:`~corridor.asylum.agent.state` — the agent table's columns and the run's shared state.
* :mod:`~corridor.asylum.agent.modules` — the engine modules, one per phase of the day.

The public names stay importable from :mod:`corridor.asylum.agents` and
:mod:`corridor.asylum.queue_kernels`.
"""
