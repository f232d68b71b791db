"""Global sensitivity analysis: Sobol' indices of one output over a scenario's priors.

Saltelli's scheme with SALib:

1. ``SALib.sample.sobol.sample`` draws ``n × (d + 2)`` points of the unit cube ``[0, 1]^d``
   (``n`` base samples, a power of 2; ``d`` parameters; scrambled Sobol' sequence seeded by
   ``seed``), without second-order terms;
2. each coordinate goes through its prior's quantile function
   (:func:`corridor.analysis.priors.inverse_cdf`), so the indices are with respect to the priors,
   not to a box;
3. each point is one run (:func:`corridor.analysis.ensemble.run_one` through
   :func:`corridor.analysis.calibrate.simulate_totals`), its output the metric ``Y`` over the
   period ``at``;
4. ``SALib.analyze.sobol.analyze`` gives first-order ``S1`` and total ``ST`` indices with the
   half-widths of their bootstrap 95% confidence intervals (``S1_conf``, ``ST_conf``).

``S1_i`` is the share of ``Var(Y)`` explained by parameter ``i`` alone; ``ST_i`` includes all
its interactions; ``ST_i ≈ 0`` means that ``Y`` does not depend on ``i`` within its prior.

The output ``Y`` is a column of ``ScenarioResult.totals()`` (all nationalities) over the period
``at`` names — a year (``2025``), a month (``"2025-06"``) or a day (``"2025-06-30"``), default
the whole run: a flow or cost is summed over the days of that period within the run, a stock
taken on its last day within the run. The agent engine's output is averaged over
``replicates`` runs whose seeds are the same for every point (common random numbers), so that
noise does not masquerade as sensitivity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.analysis.calibrate import (
    known_metrics,
    metric_is_stock,
    parse_period,
    search_space,
    simulate_totals,
)
from corridor.analysis.pool import Pool
from corridor.errors import InputError

__all__ = ["SobolResult", "output_value", "sensitivity"]

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SobolResult:
    """Sobol' indices of ``metric`` over ``period`` with respect to ``params``.

    ``table``: index = parameter (sorted by ``ST``, largest first), columns ``S1``,
    ``S1_conf``, ``ST``, ``ST_conf`` (confidence half-widths at 95%), ``prior``. ``samples``:
    one row per run, the parameter values and the output ``Y``.
    """

    scenario: str
    metric: str
    period: tuple[str, str]  # first and last day of the output period within the run
    params: tuple[str, ...]
    n: int
    runs: int
    engine: str
    table: pd.DataFrame
    samples: pd.DataFrame
    out_dir: Path | None = None
    files: tuple[Path, ...] = field(default_factory=tuple)
    wall_seconds: float = 0.0

    def ranking(self) -> list[str]:
        """Parameters from the most to the least influential (by ``ST``)."""
        return [str(p) for p in self.table.index]


def output_value(daily: pd.DataFrame, metric: str, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """``metric`` over ``[start, end]`` from daily totals: a stock's last day, a flow's sum."""
    index = pd.DatetimeIndex(daily.index)
    mask = (index >= start) & (index <= end)
    values = daily.loc[mask, metric]
    if values.empty:
        raise InputError(
            f"the run has no day in {start.date()}..{end.date()}",
            field="at",
            expected="a period within the run",
        )
    return float(values.iloc[-1]) if metric_is_stock(metric) else float(values.sum())


def _output_period(
    at: int | str | date | None, run_start: pd.Timestamp, run_end: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if at is None:
        return run_start, run_end
    try:
        start, end, _ = parse_period(at)
    except ValueError:
        raise InputError(
            f"not a year or date: {at!r}", field="at", expected="YYYY, YYYY-MM or YYYY-MM-DD"
        ) from None
    start, end = max(start, run_start), min(end, run_end)
    if start > end:
        raise InputError(
            f"{at} is outside the run ({run_start.date()}..{run_end.date()})",
            field="at",
            expected="a year or date within the run",
        )
    return start, end


def _sobol_problem(names: Sequence[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def sensitivity(
    scenario_ref: str | Path,
    output_metric: str,
    at: int | str | date | None = None,
    params: Sequence[str] | None = None,
    n: int = 64,
    engine: str = "aggregate",
    workers: int = 1,
    *,
    seed: int | None = None,
    replicates: int = 1,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    scheduler: Any = None,
) -> SobolResult:
    """Sobol' indices of ``output_metric`` over ``at`` for ``params`` (default: every
    ``uncertain:`` path) of scenario ``scenario_ref`` (see the module docstring).

    ``n`` base samples (a power of 2) make ``n × (d + 2)`` runs on the one pool
    (:class:`~corridor.analysis.pool.Pool`): ``workers`` processes, or the Dask cluster at
    ``scheduler`` (an address or a ``distributed.Client``); the indices do not depend on which.
    ``seed`` (default: the scenario's) seeds the Sobol' sequence, the bootstrap and the runs.
    Writes ``sobol.csv``, ``sobol.png`` and ``samples.csv`` to ``out_dir`` when given.
    ``progress(done, total)`` is called after each batch of runs.
    """
    from SALib.analyze import sobol as sobol_analyze  # type: ignore[import-untyped]
    from SALib.sample import sobol as sobol_sample  # type: ignore[import-untyped]

    from corridor.analysis.ensemble import replicate_seeds
    from corridor.scenario.loader import load_scenario, resolve_scenario
    from corridor.scenario.prior_values import inverse_cdf

    t0 = time.perf_counter()
    if n < 2 or n & (n - 1):
        raise InputError(
            f"n must be a power of 2 (is {n})", field="n", expected="e.g. 32, 64, 128, 256"
        )
    if engine not in ("agents", "aggregate"):
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )
    if replicates < 1:
        raise InputError(f"replicates must be at least 1 (is {replicates})", field="replicates")
    if output_metric not in known_metrics():
        raise InputError(
            f"unknown metric {output_metric!r}",
            field="metric",
            expected="a column of ScenarioResult.totals(), e.g. n_awaiting_decision, "
            "new_arrivals, cost_total",
        )
    folder = resolve_scenario(scenario_ref)
    loaded = load_scenario(folder)
    run_start = pd.Timestamp(loaded.scenario.period.start)
    run_end = pd.Timestamp(loaded.scenario.period.end)
    start, end = _output_period(at, run_start, run_end)
    space = search_space(loaded, params)
    if len(space) < 2:
        raise InputError(
            "a Sobol' analysis needs at least 2 parameters",
            field="params",
            expected="two or more uncertain: paths",
        )
    names = [p.path for p in space]
    seed0 = loaded.scenario.seed if seed is None else int(seed)
    problem = _sobol_problem(names)
    unit = np.asarray(
        sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed0),
        dtype=np.float64,
    )
    values = np.column_stack(
        [inverse_cdf(p.prior, unit[:, j]) for j, p in enumerate(space)]
    ).astype(np.float64)
    for j, p in enumerate(space):
        if p.integer:
            values[:, j] = np.round(values[:, j])
    seeds = replicate_seeds(seed0, 1 if engine == "aggregate" else replicates)
    ref = str(folder)
    total = len(values)
    y = np.zeros(total)
    batch = max(1, 8 * workers)
    if progress is not None:
        progress(0, total)
    with Pool(workers, scheduler) as pool:
        for lo in range(0, total, batch):
            rows = range(lo, min(lo + batch, total))
            tasks = [
                (
                    ref,
                    s,
                    {p.path: p.value(float(values[i, j])) for j, p in enumerate(space)},
                    engine,
                    [output_metric],
                )
                for i in rows
                for s in seeds
            ]
            outs = pool.map(simulate_totals, tasks)
            k = len(seeds)
            for m, i in enumerate(rows):
                runs = outs[m * k : (m + 1) * k]
                y[i] = float(np.mean([output_value(d, output_metric, start, end) for d in runs]))
            if progress is not None:
                progress(rows[-1] + 1, total)
    table = _indices(problem, y, seed0, sobol_analyze)
    table["prior"] = [_describe(space[names.index(str(p))].prior) for p in table.index]
    samples = pd.DataFrame(values, columns=names)
    samples["Y"] = y
    result = SobolResult(
        scenario=loaded.name,
        metric=output_metric,
        period=(str(start.date()), str(end.date())),
        params=tuple(names),
        n=n,
        runs=total * len(seeds),
        engine=engine,
        table=table,
        samples=samples,
        out_dir=None if out_dir is None else Path(out_dir),
        wall_seconds=time.perf_counter() - t0,
    )
    if out_dir is None:
        return result
    files = _write(result, Path(out_dir))
    from dataclasses import replace

    return replace(result, files=files, wall_seconds=time.perf_counter() - t0)


def _indices(
    problem: dict[str, Any], y: np.ndarray[Any, Any], seed: int, analyze: Any
) -> pd.DataFrame:
    names = list(problem["names"])
    cols = ("S1", "S1_conf", "ST", "ST_conf")
    if not np.all(np.isfinite(y)):
        raise InputError("the output is not finite for some runs", field="metric")
    if float(np.var(y)) <= 1e-12 * max(1.0, float(np.mean(np.abs(y)))) ** 2:
        log.warning("the output does not vary over the priors: every index is 0")
        table = pd.DataFrame(0.0, index=pd.Index(names, name="param"), columns=list(cols))
        return table
    res = analyze.analyze(
        problem, y, calc_second_order=False, num_resamples=200, conf_level=0.95, seed=seed
    )
    table = pd.DataFrame(
        {c: np.asarray(res[c], dtype=np.float64) for c in cols}, index=pd.Index(names, name="param")
    )
    return table.sort_values("ST", ascending=False, kind="stable")


def _describe(prior: Any) -> str:
    if prior.dist in ("uniform", "loguniform"):
        return f"{prior.dist}({prior.low:g}, {prior.high:g})"
    if prior.dist == "normal":
        bounds = (
            ""
            if prior.low is None and prior.high is None
            else (
                f" in [{'-inf' if prior.low is None else f'{prior.low:g}'}, "
                f"{'inf' if prior.high is None else f'{prior.high:g}'}]"
            )
        )
        return f"normal({prior.mean:g}, {prior.sd:g}){bounds}"
    return f"triangular({prior.low:g}, {prior.mode:g}, {prior.high:g})"


def _write(result: SobolResult, out: Path) -> tuple[Path, ...]:
    from corridor.analysis.fit_plot import plot_sobol
    from corridor.atomic import write_text

    out.mkdir(parents=True, exist_ok=True)
    table = result.table.reset_index()
    table.insert(1, "metric", result.metric)
    write_text(out / "sobol.csv", table.to_csv(index=False))
    write_text(out / "samples.csv", result.samples.to_csv(index=False))
    a, b = result.period
    when = (
        a[:4] if a.endswith("-01-01") and b.endswith("-12-31") and a[:4] == b[:4] else f"{a}..{b}"
    )
    plot_sobol(
        result.table,
        out / "sobol.png",
        title=f"{result.scenario}: Sobol' indices of {result.metric} ({when}, n={result.n})",
    )
    return (out / "sobol.csv", out / "samples.csv", out / "sobol.png")
