"""The step loop: one documented order in which every module acts each day.

Each simulated day runs the phases below, in this order, for every module that takes part in
them. A module declares the phases it acts in; the loop calls ``module.step(sim, day, phase)``.

    1. ``policies``  dated changes to the world (conflict zones switching on or off, closures,
                     capacities, hub agreements) that take effect at the start of the day
    2. ``spawn``     new people enter (from origins or observed totals)
    3. ``move``      people decide and travel along links (several links a day where time allows)
    4. ``cross``     border crossings, interception, smuggler capacity, deaths
    5. ``claim``     arrivals lodge asylum claims
    6. ``decide``    initial decisions from the caseworker queue
    7. ``appeal``    appeals lodged and heard
    8. ``exit``      returns, removals, transfers to hubs, absconding, limbo
    9. ``record``    every module writes its daily results

The order is the code: :data:`PHASES` is what :meth:`Simulation.run` iterates over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from corridor.engine.agents import AgentTable

PHASES: tuple[str, ...] = (
    "policies",
    "spawn",
    "move",
    "cross",
    "claim",
    "decide",
    "appeal",
    "exit",
    "record",
)


class Module(Protocol):
    """A part of the model. It declares its phases, adds agent columns at set-up, and steps.

    Responsibilities: own its parameters (immutable) and its per-run state; read and write only
    the agent columns it declares; report through ``sim.results``.
    """

    name: str
    phases: tuple[str, ...]

    def init(self, sim: Simulation) -> None: ...

    def step(self, sim: Simulation, day: int, phase: str) -> None: ...


ProgressFn = Callable[[int, int], None]


@dataclass
class Simulation:
    """One run: the agent table, the modules, the seed and the day count."""

    modules: Sequence[Module]
    days: int
    seed: int = 0
    agents: AgentTable = field(default_factory=lambda: AgentTable({}, capacity=1))
    loop_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValueError("days must be non-negative")
        for phase in {p for m in self.modules for p in m.phases}:
            if phase not in PHASES:
                raise ValueError(f"unknown phase {phase!r}")
        self._plan = [(p, m) for p in PHASES for m in self.modules if p in m.phases]
        self._initialised = False

    def init(self) -> None:
        for m in self.modules:
            m.init(self)
        self._initialised = True

    def run(self, progress: ProgressFn | None = None) -> Simulation:
        """Run every day in order; ``progress(done, total)`` is called after each day."""
        if not self._initialised:
            self.init()
        t0 = time.perf_counter()
        for day in range(self.days):
            for phase, module in self._plan:
                module.step(self, day, phase)
            if progress is not None:
                progress(day + 1, self.days)
        self.loop_seconds = time.perf_counter() - t0
        return self
