"""Run a Flee-format case: one call in Python, one command on the command line.

>>> from corridor.flee_run import run_flee
>>> from corridor.data import synthetic_flee_case
>>> case = synthetic_flee_case()
>>> result = run_flee(case / "input", case / "observed", seed=1)
>>> sorted(result.metrics)[:3]
['agents_peak', 'ard', 'camps']
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor import __version__
from corridor.analysis.metrics import averaged_relative_difference
from corridor.engine.agents import AgentTable
from corridor.engine.loop import ProgressFn, Simulation
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.scenario.flee_case import FleeCase, FleeSettings


@dataclass(frozen=True)
class FleeRunResult:
    """Camp counts by day (long table), their wide twin, and the run's metrics."""

    camps: pd.DataFrame  # day, date, camp, simulated, observed
    metrics: dict[str, Any]
    world: FleeWorld

    def wide(self, column: str = "simulated") -> pd.DataFrame:
        """Days as rows, camps as columns."""
        return self.camps.pivot(index="day", columns="camp", values=column)[
            list(dict.fromkeys(self.camps["camp"]))
        ]


SHIPPED_CASES = {"synthetic": "flee-synthetic"}


def resolve_case(input_dir: Path, observed: Path | None) -> tuple[Path, Path | None]:
    """Accept a Flee input folder, a case folder with ``input/`` (and ``observed/``), or the
    name of a shipped case; return the input and observed folders."""
    from corridor.data import data_dir
    from corridor.errors import InputError

    path = Path(input_dir)
    if not path.exists() and str(input_dir) in SHIPPED_CASES:
        path = data_dir() / SHIPPED_CASES[str(input_dir)]
    if not path.exists():
        names = ", ".join(sorted(SHIPPED_CASES))
        raise InputError(
            "no such folder", file=path, expected=f"a Flee input folder or one of: {names}"
        )
    if (path / "input").is_dir() and not (path / "locations.csv").exists():
        if observed is None and (path / "observed").is_dir():
            observed = path / "observed"
        path = path / "input"
    return path, observed


def run_flee(
    input_dir: str | Path,
    observed_dir: str | Path | None = None,
    *,
    settings: FleeSettings | str | Path | None = None,
    days: int | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    use_numba: bool = True,
) -> FleeRunResult:
    """Read a Flee case and run it with Flee's movement rules."""
    from corridor.scenario.flee_reader import read_flee_case

    t0 = time.perf_counter()
    case = read_flee_case(input_dir, observed_dir, settings)
    return run_flee_case(
        case, days=days, seed=seed, progress=progress, use_numba=use_numba, started=t0
    )


def run_flee_case(
    case: FleeCase,
    *,
    days: int | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    use_numba: bool = True,
    started: float | None = None,
) -> FleeRunResult:
    """Run an already-read case. ``metrics['seconds']`` is the simulation loop alone."""
    t0 = time.perf_counter() if started is None else started
    world = build_world(case, days)
    module = FleeMovement(world, use_numba=use_numba)
    sim = Simulation(
        [module],
        days=world.days,
        seed=seed,
        agents=AgentTable({}, capacity=max(world.total_agents(), 1)),
    )
    sim.init()
    sim.run(progress)
    camps = _camp_table(world, module.camp_counts)
    obs = world.observed
    ard = averaged_relative_difference(module.camp_counts, obs) if obs is not None else float("nan")
    metrics: dict[str, Any] = {
        "ard": ard,
        "days": world.days,
        "agents_peak": int(module.agents_peak),
        "seconds": sim.loop_seconds,
        "total_seconds": time.perf_counter() - t0,
        "seed": seed,
        "camps": len(world.camps),
        "start_date": world.start_date.isoformat(),
        "corridor_version": __version__,
        "kernel": "numba" if use_numba else "numpy",
    }
    return FleeRunResult(camps=camps, metrics=metrics, world=world)


def _camp_table(world: FleeWorld, counts: np.ndarray) -> pd.DataFrame:
    days = np.arange(world.days)
    n_c = len(world.camps)
    dates = [world.date_of(int(d)).isoformat() for d in days]
    obs = world.observed
    return pd.DataFrame(
        {
            "day": np.repeat(days, n_c),
            "date": np.repeat(np.asarray(dates, dtype=object), n_c),
            "camp": np.tile(
                np.asarray([world.names[c] for c in world.camps], dtype=object), world.days
            ),
            "simulated": counts.reshape(-1).astype(np.int64),
            "observed": pd.array(
                obs.reshape(-1) if obs is not None else [None] * (world.days * n_c),
                dtype="Int64",
            ),
        }
    )
