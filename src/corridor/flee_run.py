"""Run a Flee-format case: one call in Python, one command on the command line.

>>> from corridor.flee_run import run_flee
>>> from corridor.data import synthetic_flee_case
>>> case = synthetic_flee_case()
>>> result = run_flee(case / "input", case / "observed", seed=1)
>>> sorted(result.metrics)[:3]
['agents_peak', 'ard', 'camps']

Start-up is part of the contract: ``corridor flee`` is timed as a whole process against Flee
(``benchmarks/vs_flee.py``), so this module and what it imports do not import pandas. The camp
counts are kept as plain columns (:attr:`FleeRunResult.columns`); :meth:`FleeRunResult.camps_csv`
writes them without pandas, and :attr:`FleeRunResult.camps` builds the pandas table on first use.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corridor import __version__
from corridor.analysis.metrics import averaged_relative_difference
from corridor.engine.agents import AgentTable
from corridor.engine.loop import ProgressFn, Simulation
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.scenario.flee_case import FleeCase, FleeSettings

if TYPE_CHECKING:
    import pandas as pd

CAMP_COLUMNS = ("day", "date", "camp", "simulated", "observed")


@dataclass(frozen=True)
class FleeRunResult:
    """Camp counts by day (long table), their wide twin, and the run's metrics.

    ``columns`` holds the long table as arrays, one per name of :data:`CAMP_COLUMNS`: ``day``
    and ``simulated`` int64, ``date`` (ISO) and ``camp`` str objects, ``observed`` float64
    with NaN where a camp has no observation.
    """

    columns: dict[str, np.ndarray]
    metrics: dict[str, Any]
    world: FleeWorld

    @cached_property
    def camps(self) -> pd.DataFrame:
        """The long table: day, date, camp, simulated, observed (nullable Int64)."""
        import pandas as pd

        frame = pd.DataFrame({k: self.columns[k] for k in CAMP_COLUMNS[:4]})
        obs = self.columns["observed"]
        missing = np.isnan(obs)
        frame["observed"] = pd.arrays.IntegerArray(
            np.where(missing, 0, obs).astype(np.int64), missing
        )
        return frame

    def camps_csv(self) -> str:
        """The long table as CSV text, byte for byte what ``camps.to_csv(index=False)`` gives."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CAMP_COLUMNS)
        c = self.columns
        obs = ["" if v != v else int(v) for v in c["observed"].tolist()]
        writer.writerows(
            zip(c["day"].tolist(), c["date"], c["camp"], c["simulated"].tolist(), obs, strict=True)
        )
        return buf.getvalue()

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
    before_loop: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> FleeRunResult:
    """Read a Flee case and run it with Flee's movement rules (``before_loop``: see
    :func:`run_flee_case`)."""
    from corridor.scenario.flee_reader import read_flee_case

    t0 = time.perf_counter()
    case = read_flee_case(input_dir, observed_dir, settings)
    return run_flee_case(
        case,
        days=days,
        seed=seed,
        progress=progress,
        use_numba=use_numba,
        started=t0,
        before_loop=before_loop,
    )


def run_flee_case(
    case: FleeCase,
    *,
    days: int | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    use_numba: bool = True,
    started: float | None = None,
    before_loop: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> FleeRunResult:
    """Run an already-read case. ``metrics['seconds']`` is the simulation loop alone.

    ``before_loop``, if given, is called once the world is built with the result's columns,
    ``simulated`` still zero (``corridor flee`` lays its plot out meanwhile).
    """
    t0 = time.perf_counter() if started is None else started
    world = build_world(case, days)
    if before_loop is not None:
        before_loop(_camp_columns(world, np.zeros((world.days, len(world.camps)), np.int64)))
    module = FleeMovement(world, use_numba=use_numba)
    sim = Simulation(
        [module],
        days=world.days,
        seed=seed,
        agents=AgentTable({}, capacity=max(world.total_agents(), 1)),
    )
    sim.init()
    sim.run(progress)
    columns = _camp_columns(world, module.camp_counts)
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
    return FleeRunResult(columns=columns, metrics=metrics, world=world)


def _camp_columns(world: FleeWorld, counts: np.ndarray) -> dict[str, np.ndarray]:
    days = np.arange(world.days)
    n_c = len(world.camps)
    dates = [world.date_of(int(d)).isoformat() for d in days]
    obs = world.observed
    return {
        "day": np.repeat(days, n_c).astype(np.int64),
        "date": np.repeat(np.asarray(dates, dtype=object), n_c),
        "camp": np.tile(
            np.asarray([world.names[c] for c in world.camps], dtype=object), world.days
        ),
        "simulated": counts.reshape(-1).astype(np.int64),
        "observed": (
            obs.reshape(-1).astype(np.float64)
            if obs is not None
            else np.full(world.days * n_c, np.nan)
        ),
    }
