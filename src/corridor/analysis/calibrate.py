"""Calibration: fit a scenario's uncertain parameters to observed series with an Optuna study.

After Starsim's ``calibration.py``: the search is an Optuna study with a seeded TPE sampler, the
score a pluggable likelihood (:mod:`corridor.analysis.likelihoods`) plus the prior, and the
study lives in SQLite so that it can be resumed and inspected.

Observed series
---------------
CSV files with columns ``date``, ``metric``, ``value`` and optionally ``resolution`` and
``source`` (other columns are ignored). ``metric`` is a column of
:meth:`ScenarioResult.totals() <corridor.asylum.result.ScenarioResult.totals>` (all
nationalities together): a stock ``n_*`` is compared at the *end* of the period, a flow
``new_*`` or a cost ``cost_*`` summed *over* the period. ``date`` (``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``) names the period that contains it; ``resolution`` is ``month``, ``quarter`` or
``year``. A blank resolution is inferred per file and metric: ``YYYY`` dates are years,
``YYYY-MM`` months; for ``YYYY-MM-DD`` dates the median gap between consecutive dates decides
(up to 45 days: month; up to 135: quarter; else year; a single date: month). An observation is
used only if the run covers it (a flow's whole period, a stock's last day). Mistakes are an
:class:`~corridor.errors.InputError` naming the file, line and field.

The search
----------
Each parameter (a dotted path of ``uncertain:``) is searched over its prior's support:
``[low, high]`` (on a log scale for ``loguniform``), a normal prior over its truncation bounds
within ``mean ± 4 sd``. A trial's score is the log posterior (up to a constant)::

    log posterior = Σ_series log L(observed | simulated)  +  Σ_params log prior(value)

so the best trial is the posterior mode (with flat priors, the maximum-likelihood fit). Only
observations whose period ends on or before ``fit_through`` enter the score; later ones are
held out and reported separately. A trial's simulated series is the mean over
``replicates_per_trial`` runs with the seeds :func:`~corridor.analysis.ensemble.replicate_seeds`
``(seed, r)``, the same for every trial (common random numbers; the aggregate engine is
deterministic and runs once).

Trials run in batches of ``workers`` through the ask-and-tell interface; each run is one call of
:func:`corridor.analysis.ensemble.run_one` in a pool of single-threaded spawned processes (or in
this process when ``workers=1``). The study is stored in SQLite (``study.db`` in the output
folder unless ``study_path`` says otherwise) under a name that hashes everything that defines
the objective (scenario content, priors, observations, likelihood, engine, replicates, seed); a
second call with the same inputs resumes that study and runs only the trials missing to reach
``n_trials`` completed ones (its TPE seed is derived from ``seed`` and the trials already done).
One process should work on a study at a time.

Outputs (in ``out_dir``): ``fitted.yaml`` (the fitted values as an override block keyed by the
``uncertain:`` paths, and fit errors per metric: log-likelihood, RMSE, MAPE), ``trials.csv``,
``fit.csv`` (observed vs fitted, point by point) and ``fit_<metric>.png``.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import NormalDist
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from corridor.analysis.likelihoods import Likelihood, make_likelihood
from corridor.analysis.priors import numeric_parameter
from corridor.errors import CorridorError, InputError
from corridor.scenario.schema import Prior

if TYPE_CHECKING:
    import optuna

    from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "DEFAULT_REPLICATES",
    "RESOLUTIONS",
    "CalibrationResult",
    "SearchParam",
    "WorkerPool",
    "calibrate",
    "daily_totals",
    "known_metrics",
    "metric_is_stock",
    "parse_period",
    "period_values",
    "prior_logpdf",
    "read_observed",
    "search_space",
    "simulate_totals",
]

log = logging.getLogger(__name__)

Resolution = Literal["month", "quarter", "year"]
RESOLUTIONS: tuple[str, ...] = ("month", "quarter", "year")
_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
DEFAULT_REPLICATES = 4  # agent-engine runs averaged per trial (the aggregate engine runs once)
_MAX_FAILED_IN_ROW = 20  # trials in a row refused by the scenario before giving up
_STD = NormalDist()
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------------
# Metrics and periods
# ---------------------------------------------------------------------------------------------
def known_metrics() -> tuple[str, ...]:
    """Every column of ``ScenarioResult.totals()``: stocks, flows, ``cost_<item>``,
    ``cost_total``."""
    from corridor.asylum.params import COST_ITEMS
    from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS

    costs = (*tuple(f"cost_{c}" for c in COST_ITEMS), "cost_total")
    return STOCK_COLUMNS + FLOW_COLUMNS + costs


def metric_is_stock(metric: str) -> bool:
    """Whether ``metric`` is a stock (taken at the end of a period) rather than a flow (summed)."""
    from corridor.asylum.result import STOCK_COLUMNS

    return metric in STOCK_COLUMNS


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_period(text: str | int | date) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    """The first and last day of the period a date names, and its kind (year, month or day).

    ``2024`` or ``"2024"`` is that year, ``"2024-06"`` that month, ``"2024-06-30"`` (or a
    :class:`datetime.date`) that day. Raises :class:`ValueError` on anything else.
    """
    if isinstance(text, date):
        ts = pd.Timestamp(text)
        return ts, ts, "day"
    m = _DATE_RE.match(str(text).strip())
    if not m:
        raise ValueError(f"not a date: {text!r}")
    y, mo, d = m.groups()
    if d is not None and mo is not None:
        ts = pd.Timestamp(date(int(y), int(mo), int(d)))
        return ts, ts, "day"
    if mo is not None:
        start = pd.Timestamp(date(int(y), int(mo), 1))
        return start, (start + pd.offsets.MonthEnd(0)).normalize(), "month"
    start = pd.Timestamp(date(int(y), 1, 1))
    return start, pd.Timestamp(date(int(y), 12, 31)), "year"


def _period_start(ts: pd.Timestamp, resolution: str) -> pd.Timestamp:
    return pd.Timestamp(ts.to_period(_FREQ[resolution]).start_time).normalize()


def _period_end(ts: pd.Timestamp, resolution: str) -> pd.Timestamp:
    return pd.Timestamp(ts.to_period(_FREQ[resolution]).end_time).normalize()


def period_values(daily: pd.Series, resolution: str, stock: bool) -> pd.Series:
    """A daily series by period (index: period start): a stock's last day, a flow's sum."""
    index = pd.DatetimeIndex(daily.index)
    keys = pd.DatetimeIndex(index.to_period(_FREQ[resolution]).start_time).normalize()
    grouped = daily.groupby(keys)
    out = grouped.last() if stock else grouped.sum()
    out.index = pd.DatetimeIndex(out.index).as_unit("ns")
    return out


def _covered(
    start: pd.Series,
    end: pd.Series,
    stock: pd.Series,
    run_start: pd.Timestamp,
    run_end: pd.Timestamp,
) -> pd.Series:
    """Whether a run over ``[run_start, run_end]`` covers each period (a flow's every day, a
    stock's last day)."""
    last_in = (end >= run_start) & (end <= run_end)
    whole = (start >= run_start) & (end <= run_end)
    return last_in.where(stock, whole)


# ---------------------------------------------------------------------------------------------
# Observed series
# ---------------------------------------------------------------------------------------------
_OBS_COLUMNS = ("file", "line", "metric", "resolution", "start", "end", "value", "source")


def read_observed(files: Sequence[str | Path] | str | Path) -> pd.DataFrame:
    """Read observed-series CSV files (see the module docstring) into one table.

    Columns: ``file``, ``line``, ``metric``, ``resolution``, ``start`` and ``end`` (the period's
    first and last day), ``value``, ``source``; one row per observation, in file order.
    """
    paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files]
    if not paths:
        raise InputError("no observed series given", field="observed", expected="a CSV file")
    metrics = set(known_metrics())
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(_read_one(path, metrics))
    frame = pd.DataFrame(rows, columns=list(_OBS_COLUMNS))
    seen: dict[tuple[str, str, pd.Timestamp], tuple[str, int]] = {}
    for r in rows:
        key = (str(r["metric"]), str(r["resolution"]), pd.Timestamp(r["start"]))
        if key in seen:
            f0, l0 = seen[key]
            raise InputError(
                f"{key[0]} for the {key[1]} starting {key[2].date()} is also given at {f0}:{l0}",
                file=str(r["file"]),
                line=int(r["line"]),
                field="date",
                expected="one value per metric and period",
            )
        seen[key] = (str(r["file"]), int(r["line"]))
    return frame


def _read_one(path: Path, metrics: set[str]) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError("observed series file not found", file=path, expected="a CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path, expected="a UTF-8 CSV file") from exc
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise InputError("empty file", file=path, line=1, expected="a header: date,metric,value")
    cols = [h.strip().lower() for h in header]
    for need in ("date", "metric", "value"):
        if need not in cols:
            raise InputError(
                f"no column {need!r}",
                file=path,
                line=1,
                field=need,
                expected="columns date, metric, value (optional resolution, source)",
            )
    at: dict[str, int] = {
        c: cols.index(c) for c in ("date", "metric", "value", "resolution", "source") if c in cols
    }
    parsed: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = at.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        def bad(msg: str, fld: str, expected: str, line: int = line) -> InputError:
            return InputError(msg, file=path, line=line, field=fld, expected=expected)

        raw_date = cell("date")
        try:
            ts, _, kind = parse_period(raw_date)
        except ValueError:
            raise bad(
                f"not a date: {raw_date!r}", "date", "YYYY-MM or YYYY-MM-DD (or YYYY)"
            ) from None
        metric = cell("metric")
        if metric not in metrics:
            close = sorted(m for m in metrics if metric and metric.split("_")[-1] in m)[:4]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise bad(
                f"unknown metric {metric!r}{hint}",
                "metric",
                "a column of ScenarioResult.totals(), e.g. new_arrivals, new_decisions, "
                "n_awaiting_decision, cost_total",
            )
        raw_value = cell("value")
        try:
            value = float(raw_value)
        except ValueError:
            raise bad(f"not a number: {raw_value!r}", "value", "a number >= 0") from None
        if not math.isfinite(value) or value < 0:
            raise bad(
                f"value must be a finite number >= 0 (is {raw_value})", "value", "a number >= 0"
            )
        resolution = cell("resolution").lower()
        if resolution and resolution not in RESOLUTIONS:
            raise bad(f"unknown resolution {resolution!r}", "resolution", "month | quarter | year")
        parsed.append(
            {
                "file": str(path),
                "line": line,
                "metric": metric,
                "resolution": resolution,
                "ts": ts,
                "kind": kind,
                "value": value,
                "source": cell("source"),
            }
        )
    if not parsed:
        raise InputError("no observations in file", file=path, expected="rows of date,metric,value")
    _infer_resolution(parsed)
    out: list[dict[str, Any]] = []
    for p in parsed:
        res = p["resolution"]
        out.append(
            {
                "file": p["file"],
                "line": p["line"],
                "metric": p["metric"],
                "resolution": res,
                "start": _period_start(p["ts"], res),
                "end": _period_end(p["ts"], res),
                "value": p["value"],
                "source": p["source"],
            }
        )
    return out


def _infer_resolution(parsed: list[dict[str, Any]]) -> None:
    """Fill blank resolutions per metric (within one file): see the module docstring."""
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for p in parsed:
        if not p["resolution"]:
            by_metric.setdefault(p["metric"], []).append(p)
    for rows in by_metric.values():
        for p in rows:
            if p["kind"] == "year":
                p["resolution"] = "year"
            elif p["kind"] == "month":
                p["resolution"] = "month"
        days = [p for p in rows if not p["resolution"]]
        stamps = sorted({p["ts"] for p in days})
        gaps = [(b - a).days for a, b in itertools.pairwise(stamps)]
        median = float(np.median(gaps)) if gaps else 30.0
        res = "month" if median <= 45 else "quarter" if median <= 135 else "year"
        for p in days:
            p["resolution"] = res


def _prepare(
    observed: pd.DataFrame,
    run_start: pd.Timestamp,
    run_end: pd.Timestamp,
    fit_through: pd.Timestamp | None,
) -> pd.DataFrame:
    """Observations the run covers, with ``stock`` and ``fit`` (used in the score) columns."""
    obs = observed.copy()
    obs["stock"] = obs["metric"].map(metric_is_stock).astype(bool)
    covered = _covered(obs["start"], obs["end"], obs["stock"], run_start, run_end)
    dropped = int((~covered).sum())
    if dropped:
        log.warning(
            "%d observation(s) outside the run %s..%s are not used",
            dropped,
            run_start.date(),
            run_end.date(),
        )
    obs = obs[covered].reset_index(drop=True)
    obs["fit"] = True if fit_through is None else obs["end"] <= fit_through
    if obs.empty or not obs["fit"].any():
        why = "the run covers none of them" if obs.empty else "none ends by fit_through"
        raise InputError(
            f"no observation to fit: {why}",
            field="observed",
            expected=f"observations within {run_start.date()}..{run_end.date()}",
        )
    return obs


# ---------------------------------------------------------------------------------------------
# Priors and the search space
# ---------------------------------------------------------------------------------------------
def prior_logpdf(prior: Prior, x: float) -> float:
    """Log-density of ``prior`` at ``x`` (``-inf`` outside its support).

    uniform ``−log(high − low)``; loguniform ``−log x − log log(high/low)``; normal truncated
    to [low, high] ``log φ(z) − log sd − log(Φ(b) − Φ(a))``; triangular the usual piecewise-linear
    density ``2(x − low)/((high − low)(mode − low))`` rising, ``2(high − x)/((high − low)(high −
    mode))`` falling.
    """
    lo = -math.inf if prior.low is None else float(prior.low)
    hi = math.inf if prior.high is None else float(prior.high)
    if not lo <= x <= hi:
        return -math.inf
    if prior.dist == "uniform":
        return -math.log(hi - lo)
    if prior.dist == "loguniform":
        return -math.log(x) - math.log(math.log(hi / lo))
    if prior.dist == "normal":
        mean, sd = float(prior.mean or 0.0), float(prior.sd or 1.0)
        a = 0.0 if prior.low is None else _STD.cdf((lo - mean) / sd)
        b = 1.0 if prior.high is None else _STD.cdf((hi - mean) / sd)
        z = (x - mean) / sd
        return -0.5 * z * z - 0.5 * math.log(2 * math.pi) - math.log(sd) - math.log(b - a)
    mode = float(prior.mode if prior.mode is not None else lo)
    if x < mode:
        dens = 2 * (x - lo) / ((hi - lo) * (mode - lo))
    elif x > mode:
        dens = 2 * (hi - x) / ((hi - lo) * (hi - mode))
    else:
        dens = 2 / (hi - lo)
    return math.log(dens) if dens > 0 else -math.inf


@dataclass(frozen=True)
class SearchParam:
    """One searched parameter: its path, prior, search bounds and scale."""

    path: str
    prior: Prior
    low: float
    high: float
    log: bool
    integer: bool

    def distribution(self) -> Any:
        """The Optuna distribution searched."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    def value(self, x: float) -> float | int:
        """A searched value as the scenario takes it (rounded for an integer parameter)."""
        return round(x) if self.integer else float(x)


def search_space(loaded: LoadedScenario, params: Sequence[str] | None = None) -> list[SearchParam]:
    """The searched parameters (default: every ``uncertain:`` path, sorted), each checked at both
    ends of its search range against the scenario's bounds."""
    from corridor.asylum.run import apply_overrides

    sc = loaded.scenario
    paths = sorted(sc.uncertain) if params is None else list(dict.fromkeys(params))
    if not paths:
        raise InputError(
            "no parameter to fit: the scenario has no uncertain: priors",
            field="uncertain",
            expected="priors under uncertain: in scenario.yaml, e.g. arrivals.scale: "
            "{dist: uniform, low: 0.5, high: 2}",
        )
    data = sc.model_dump(mode="python")
    space: list[SearchParam] = []
    for path in paths:
        prior = sc.uncertain.get(path)
        if prior is None:
            raise InputError(
                f"parameter {path!r} has no prior",
                field="params",
                expected="one of the uncertain: paths "
                f"({', '.join(sorted(sc.uncertain)) or 'none'}), or add a prior for it",
            )
        current = numeric_parameter(data, path)
        if prior.dist == "normal":
            mean, sd = float(prior.mean or 0.0), float(prior.sd or 1.0)
            lo = mean - 4 * sd if prior.low is None else max(prior.low, mean - 4 * sd)
            hi = mean + 4 * sd if prior.high is None else min(prior.high, mean + 4 * sd)
        else:
            lo, hi = float(prior.low or 0.0), float(prior.high or 0.0)
        integer = isinstance(current, int)
        log_scale = prior.dist == "loguniform"
        if integer:
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
        if not lo < hi:
            raise InputError(
                f"the prior of {path!r} leaves nothing to search ({lo:g}..{hi:g})",
                field=f"uncertain.{path}",
                expected="a range wider than one value",
            )
        for x in (lo, hi):
            try:
                apply_overrides(loaded, {path: round(x) if integer else x})
            except InputError as exc:
                raise InputError(
                    f"the prior of {path!r} reaches {x:g}, which the scenario refuses: "
                    f"{exc.message}",
                    field=f"uncertain.{path}",
                    expected="a prior within the parameter's bounds",
                ) from None
        space.append(SearchParam(path, prior, float(lo), float(hi), log_scale, integer))
    return space


# ---------------------------------------------------------------------------------------------
# Running: the pool and the one simulation call
# ---------------------------------------------------------------------------------------------
def _single_threaded() -> None:
    """Worker initializer: one thread per process (before anything imports Numba there)."""
    from corridor.analysis.ensemble import SINGLE_THREAD_ENV

    os.environ.update(SINGLE_THREAD_ENV)


def simulate_totals(
    scenario_ref: str, seed: int, overrides: dict[str, Any], engine: str, columns: Sequence[str]
) -> pd.DataFrame:
    """Daily totals (all nationalities) of ``columns`` for one run, via
    :func:`corridor.analysis.ensemble.run_one` (a column the run lacks, e.g. a cost item never
    spent, is 0)."""
    from corridor.analysis.ensemble import run_one

    return daily_totals(run_one(scenario_ref, seed, overrides, engine), columns)


def daily_totals(tables: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    """Daily totals over nationalities (or cost items) of ``columns`` from a run's Arrow tables
    (:mod:`corridor.results.tables`): the same numbers as ``to_result(tables).totals("day")``,
    computed for the asked columns only. Index: every day of the run."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stocks = tables["stocks"]
    days = pc.unique(stocks["date"]).sort()
    index = pd.DatetimeIndex(pd.to_datetime(days.to_numpy(zero_copy_only=False))).as_unit("ns")
    out = pd.DataFrame(index=index)

    def by_day(table: pa.Table, col: str) -> pd.Series:
        agg = table.select(["date", col]).group_by("date").aggregate([(col, "sum")])
        keys = pd.DatetimeIndex(pd.to_datetime(agg["date"].to_numpy(zero_copy_only=False)))
        values = agg[f"{col}_sum"].to_numpy(zero_copy_only=False).astype(np.float64)
        return pd.Series(values, index=keys.as_unit("ns")).reindex(index, fill_value=0.0)

    for col in columns:
        if col in stocks.column_names:
            out[col] = by_day(stocks, col)
        elif col in tables["flows"].column_names:
            out[col] = by_day(tables["flows"], col)
        elif col.startswith("cost_"):
            costs = tables["costs"]
            if col != "cost_total":
                costs = costs.filter(pc.equal(costs["item"], col.removeprefix("cost_")))
            out[col] = by_day(costs, "gbp")
        else:
            raise InputError(f"unknown metric {col!r}", field="metric")
    return out.astype(np.float64)


class WorkerPool:
    """``workers`` single-threaded spawned processes (``workers=1``: this process).

    :meth:`map` runs ``fn(*args)`` for each argument tuple and returns the results in order (an
    exception in place of a result with ``return_exceptions=True``). The processes start on the
    first map of more than one task (a lone task runs here) and stop when the ``with`` block
    ends. Results do not depend on the number of workers.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def _executor(self) -> ProcessPoolExecutor:
        """The processes, started on first need (a single task runs in this process)."""
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_single_threaded,
            )
        return self._pool

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc is None, cancel_futures=True)
            self._pool = None

    def map(
        self,
        fn: Callable[..., Any],
        args: Iterable[tuple[Any, ...]],
        return_exceptions: bool = False,
    ) -> list[Any]:
        items = list(args)
        if self.workers == 1 or (len(items) <= 1 and self._pool is None):
            out: list[Any] = []
            for a in items:
                try:
                    out.append(fn(*a))
                except Exception as exc:
                    if not return_exceptions:
                        raise
                    out.append(exc)
            return out
        pool = self._executor()
        futures: list[Future[Any]] = [pool.submit(fn, *a) for a in items]
        results: list[Any] = []
        for fut in futures:
            try:
                results.append(fut.result())
            except BrokenProcessPool as exc:
                raise CorridorError(
                    "a worker process died (out of memory?); run again to resume"
                ) from exc
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Score:
    log_likelihood: float  # over the fitted observations
    by_metric: dict[str, float]
    nuisance: dict[str, dict[str, float]]
    simulated: np.ndarray[Any, np.dtype[np.float64]]  # aligned with every observation


def _series_keys(obs: pd.DataFrame) -> list[tuple[str, str]]:
    """The (metric, resolution) series of ``obs``, sorted."""
    pairs = zip(obs["metric"].astype(str), obs["resolution"].astype(str), strict=True)
    return sorted(set(pairs))


def _align(obs: pd.DataFrame, daily: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    sim = np.full(len(obs), np.nan)
    for metric, res in _series_keys(obs):
        mask = ((obs["metric"] == metric) & (obs["resolution"] == res)).to_numpy(bool)
        series = period_values(daily[metric], res, metric_is_stock(metric))
        starts = pd.DatetimeIndex(obs.loc[mask, "start"]).as_unit("ns")
        sim[mask] = series.reindex(starts).to_numpy(dtype=np.float64)
    return sim


def _score(obs: pd.DataFrame, daily: pd.DataFrame, lik: Likelihood) -> _Score:
    sim = _align(obs, daily)
    if not np.all(np.isfinite(sim)):
        raise CorridorError("the run does not cover every observation (internal error)")
    by_metric: dict[str, float] = {}
    nuisance: dict[str, dict[str, float]] = {}
    fit = obs["fit"].to_numpy(dtype=bool)
    values = obs["value"].to_numpy(dtype=np.float64)
    for metric, res in _series_keys(obs[fit]):
        mask = fit & ((obs["metric"] == metric) & (obs["resolution"] == res)).to_numpy(bool)
        logp, nu = lik.pointwise(values[mask], sim[mask])
        by_metric[metric] = by_metric.get(metric, 0.0) + float(logp.sum())
        if nu:
            nuisance[f"{metric}/{res}"] = nu
    return _Score(sum(by_metric.values()), by_metric, nuisance, sim)


def _mean(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    total = frames[0].copy()
    for f in frames[1:]:
        total = total.add(f, fill_value=0.0)
    return total / len(frames)


# ---------------------------------------------------------------------------------------------
# The calibration
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` found and wrote.

    ``params``: the best trial's values by dotted path. ``metrics``: per metric ``points``,
    ``log_likelihood``, ``rmse``, ``mape_pct`` over the fitted observations (and
    ``holdout_points``, ``holdout_rmse``, ``holdout_mape_pct`` over those after
    ``fit_through``). ``fit``: one row per observation with the fitted simulated value.
    """

    scenario: str
    study_name: str
    storage: str
    params: dict[str, float | int]
    log_posterior: float
    log_likelihood: float
    log_prior: float
    metrics: dict[str, dict[str, float | int | None]]
    nuisance: dict[str, dict[str, float]]
    best_trial: int
    n_trials: int  # completed trials in the study
    new_trials: int  # completed by this call
    likelihood: str
    engine: str
    fit: pd.DataFrame
    out_dir: Path
    files: tuple[Path, ...] = field(default_factory=tuple)
    wall_seconds: float = 0.0


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _study_name(
    loaded: LoadedScenario,
    space: Sequence[SearchParam],
    obs: pd.DataFrame,
    lik: Likelihood,
    engine: str,
    seeds: Sequence[int],
) -> str:
    doc = {
        "scenario_hash": loaded.content_hash,
        "params": [
            [p.path, p.prior.model_dump(mode="json"), p.low, p.high, p.log, p.integer]
            for p in space
        ],
        "observed": [
            [m, res, str(pd.Timestamp(start).date()), float(v), bool(f)]
            for m, res, start, v, f in zip(
                obs["metric"],
                obs["resolution"],
                obs["start"],
                obs["value"],
                obs["fit"],
                strict=True,
            )
        ],
        "likelihood": lik.spec,
        "engine": engine,
        "seeds": list(seeds),
    }
    digest = hashlib.sha256(_canonical(doc).encode()).hexdigest()[:12]
    return f"calibrate-{loaded.name}-{digest}"


def _as_end_date(value: date | str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return parse_period(value)[1]
    except ValueError:
        raise InputError(
            f"not a date: {value!r}", field="fit_through", expected="YYYY-MM-DD, YYYY-MM or YYYY"
        ) from None


def _sqlite_storage(path: Path) -> optuna.storages.RDBStorage:
    """``RDBStorage("sqlite:///<path>")`` whose connections use write-ahead logging with
    ``synchronous=NORMAL``: a commit no longer waits for the disk (a trial costs several), and
    the file stays consistent if the process dies (only a power cut may lose the last trials)."""
    import sqlite3

    import optuna

    target = str(path.resolve())

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(target, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    return optuna.storages.RDBStorage(f"sqlite:///{target}", engine_kwargs={"creator": connect})


def _recover_stale(study: optuna.Study) -> None:
    """Trials left running by an interrupted call: mark them failed and queue their params."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.warning("trial %d was left running by an earlier call; it will be rerun", t.number)
        study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        if t.params:
            study.enqueue_trial(dict(t.params))


def calibrate(
    scenario_ref: str | Path,
    observed_files: Sequence[str | Path] | str | Path,
    params: Sequence[str] | None = None,
    n_trials: int = 100,
    likelihood: str | Likelihood = "poisson",
    engine: str = "aggregate",
    workers: int = 1,
    study_path: str | Path | None = None,
    seed: int | None = None,
    replicates_per_trial: int | None = None,
    fit_through: date | str | None = None,
    *,
    out_dir: str | Path | None = None,
    study_name: str | None = None,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Fit ``params`` of scenario ``scenario_ref`` to the observed series (see the module
    docstring) and write the outputs to ``out_dir`` (default ``./calibration/<scenario>``).

    ``n_trials`` is the number of completed trials the study should hold: a rerun of the same
    study runs only the missing ones. ``likelihood`` is a spec of
    :func:`~corridor.analysis.likelihoods.make_likelihood` (``poisson``, ``negbin``,
    ``negbin:dispersion=20``, ``normal``, ``normal:cv=0.1``, ...) or a likelihood object.
    ``replicates_per_trial`` defaults to :data:`DEFAULT_REPLICATES` for the agent engine (the
    aggregate engine always runs once). ``seed`` (default: the scenario's) seeds the runs and
    the sampler. ``progress(done, total)`` is called after each batch of trials.
    """
    import optuna
    from optuna.trial import TrialState

    from corridor.analysis.ensemble import replicate_seeds
    from corridor.scenario.loader import load_scenario, resolve_scenario

    t0 = time.perf_counter()
    if n_trials < 1:
        raise InputError(f"n_trials must be at least 1 (is {n_trials})", field="n_trials")
    if workers < 1:
        raise InputError(f"workers must be at least 1 (is {workers})", field="workers")
    if engine not in ("agents", "aggregate"):
        raise InputError(
            f"unknown engine {engine!r}", field="engine", expected="agents | aggregate"
        )
    if replicates_per_trial is not None and replicates_per_trial < 1:
        raise InputError(
            f"replicates_per_trial must be at least 1 (is {replicates_per_trial})",
            field="replicates_per_trial",
        )
    lik = make_likelihood(likelihood)
    folder = resolve_scenario(scenario_ref)
    loaded = load_scenario(folder)
    period = loaded.scenario.period
    obs = _prepare(
        read_observed(observed_files),
        pd.Timestamp(period.start),
        pd.Timestamp(period.end),
        _as_end_date(fit_through),
    )
    space = search_space(loaded, params)
    seed0 = loaded.scenario.seed if seed is None else int(seed)
    reps = 1 if engine == "aggregate" else (replicates_per_trial or DEFAULT_REPLICATES)
    seeds = replicate_seeds(seed0, reps)
    columns = sorted(obs["metric"].unique())
    name = study_name or _study_name(loaded, space, obs, lik, engine, seeds)
    out = Path(out_dir) if out_dir is not None else Path("calibration") / loaded.name
    out.mkdir(parents=True, exist_ok=True)
    db = Path(study_path) if study_path is not None else out / "study.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    storage = _sqlite_storage(db)
    dists = {p.path: p.distribution() for p in space}
    by_path = {p.path: p for p in space}
    ref = str(folder)

    def overrides(trial_params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: by_path[k].value(v) for k, v in trial_params.items()}

    try:
        study = optuna.create_study(
            storage=storage, study_name=name, direction="maximize", load_if_exists=True
        )
        if "scenario" not in study.user_attrs:
            for key, value in {
                "scenario": loaded.name,
                "scenario_hash": loaded.content_hash,
                "params": [p.path for p in space],
                "likelihood": lik.spec,
                "engine": engine,
                "seed": seed0,
                "replicates": reps,
            }.items():
                study.set_user_attr(key, value)
        _recover_stale(study)
        done_before = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        sampler_seed = int(np.random.SeedSequence([seed0, done_before]).generate_state(1)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.sampler = optuna.samplers.TPESampler(
                seed=sampler_seed,
                multivariate=True,
                constant_liar=True,
                n_startup_trials=max(10, 3 * len(space)),
            )
        todo = max(n_trials - done_before, 0)
        new = 0
        failed_in_row = 0
        if progress is not None:
            progress(0, todo)
        with WorkerPool(workers) as pool:
            while new < todo:
                batch = [study.ask(dists) for _ in range(min(workers, todo - new))]
                told: set[int] = set()
                try:
                    tasks = [
                        (ref, s, overrides(t.params), engine, columns) for t in batch for s in seeds
                    ]
                    outs = pool.map(simulate_totals, tasks, return_exceptions=True)
                    for j, trial in enumerate(batch):
                        parts = outs[j * reps : (j + 1) * reps]
                        errors = [e for e in parts if isinstance(e, BaseException)]
                        if errors:
                            if not isinstance(errors[0], InputError):
                                raise errors[0]
                            trial.set_user_attr("error", str(errors[0]))
                            study.tell(trial, state=TrialState.FAIL)
                            told.add(trial.number)
                            failed_in_row += 1
                            log.warning("trial %d refused: %s", trial.number, errors[0])
                            continue
                        score = _score(obs, _mean(parts), lik)
                        lp = sum(
                            prior_logpdf(by_path[k].prior, float(v))
                            for k, v in trial.params.items()
                        )
                        value = score.log_likelihood + lp
                        trial.set_user_attr(
                            "score",
                            {
                                "log_likelihood": score.log_likelihood,
                                "log_prior": lp,
                                "by_metric": score.by_metric,
                            },
                        )
                        if not math.isfinite(value):
                            trial.set_user_attr("error", "outside the prior's support")
                            study.tell(trial, state=TrialState.FAIL)
                            told.add(trial.number)
                            failed_in_row += 1
                            continue
                        study.tell(trial, value)
                        told.add(trial.number)
                        new += 1
                        failed_in_row = 0
                finally:
                    for trial in batch:  # interrupted or failed: never leave a trial running
                        if trial.number not in told:
                            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                if failed_in_row >= _MAX_FAILED_IN_ROW:
                    last = study.get_trials(deepcopy=False)[-1].user_attrs.get("error", "")
                    raise CorridorError(f"{failed_in_row} trials in a row failed; the last: {last}")
                if progress is not None:
                    progress(new, todo)
            complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if not complete:
                raise CorridorError(f"study {name!r} has no completed trial")
            best = study.best_trial
            best_params = overrides(best.params)
            parts = pool.map(
                simulate_totals, [(ref, s, best_params, engine, columns) for s in seeds]
            )
        daily = _mean(parts)
        score = _score(obs, daily, lik)
        trials_frame = _trials_frame(study, [p.path for p in space])
    finally:
        storage.engine.dispose()

    lp_best = float(best.user_attrs.get("score", {}).get("log_prior", 0.0))
    fit = obs[["metric", "resolution", "start", "end", "value", "fit", "file", "line"]].copy()
    fit = fit.rename(columns={"value": "observed"})
    fit.insert(5, "simulated", score.simulated)
    metrics = _fit_metrics(fit, score)
    result = CalibrationResult(
        scenario=loaded.name,
        study_name=name,
        storage=str(db),
        params=best_params,
        log_posterior=float(best.value if best.value is not None else math.nan),
        log_likelihood=score.log_likelihood,
        log_prior=lp_best,
        metrics=metrics,
        nuisance=score.nuisance,
        best_trial=int(best.number),
        n_trials=len(complete),
        new_trials=new,
        likelihood=lik.spec,
        engine=engine,
        fit=fit,
        out_dir=out,
        wall_seconds=time.perf_counter() - t0,
    )
    files = _write_outputs(result, trials_frame, daily, _as_end_date(fit_through))
    return _with_files(result, files, time.perf_counter() - t0)


def _with_files(
    result: CalibrationResult, files: tuple[Path, ...], secs: float
) -> CalibrationResult:
    from dataclasses import replace

    return replace(result, files=files, wall_seconds=secs)


def _errors(
    obs: np.ndarray[Any, Any], sim: np.ndarray[Any, Any]
) -> tuple[float | None, float | None]:
    if obs.size == 0:
        return None, None
    rmse = float(np.sqrt(np.mean((sim - obs) ** 2)))
    nz = obs != 0
    mape = float(np.mean(np.abs(sim[nz] - obs[nz]) / np.abs(obs[nz])) * 100) if nz.any() else None
    return rmse, mape


def _fit_metrics(fit: pd.DataFrame, score: _Score) -> dict[str, dict[str, float | int | None]]:
    out: dict[str, dict[str, float | int | None]] = {}
    for metric, rows in fit.groupby("metric", sort=True):
        m = str(metric)
        inn = rows[rows["fit"]]
        held = rows[~rows["fit"]]
        rmse, mape = _errors(inn["observed"].to_numpy(float), inn["simulated"].to_numpy(float))
        entry: dict[str, float | int | None] = {
            "points": len(inn),
            "log_likelihood": score.by_metric.get(m),
            "rmse": rmse,
            "mape_pct": mape,
        }
        if len(held):
            h_rmse, h_mape = _errors(
                held["observed"].to_numpy(float), held["simulated"].to_numpy(float)
            )
            entry.update(
                {"holdout_points": len(held), "holdout_rmse": h_rmse, "holdout_mape_pct": h_mape}
            )
        out[m] = entry
    return out


def _trials_frame(study: optuna.Study, paths: Sequence[str]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for t in study.get_trials(deepcopy=False):
        score = t.user_attrs.get("score") or {}
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name,
            "log_posterior": t.value,
            "log_likelihood": score.get("log_likelihood"),
            "log_prior": score.get("log_prior"),
        }
        for p in paths:
            row[p] = t.params.get(p)
        for metric, v in sorted((score.get("by_metric") or {}).items()):
            row[f"loglik_{metric}"] = v
        row["seconds"] = t.duration.total_seconds() if t.duration is not None else None
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def _plain(x: Any) -> Any:
    """Numbers as plain Python (YAML-safe), NaN as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _shown_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def _write_outputs(
    result: CalibrationResult,
    trials: pd.DataFrame,
    daily: pd.DataFrame,
    fit_through: pd.Timestamp | None,
) -> tuple[Path, ...]:
    import yaml

    from corridor.report.fit_plot import plot_fit
    from corridor.results.atomic import write_text

    out = result.out_dir
    files: list[Path] = []
    doc = {
        "scenario": result.scenario,
        "study": result.study_name,
        "storage": _shown_path(Path(result.storage), out),
        "likelihood": result.likelihood,
        "engine": result.engine,
        "fit_through": None if fit_through is None else str(fit_through.date()),
        "trials": result.n_trials,
        "best_trial": result.best_trial,
        "log_posterior": result.log_posterior,
        "log_likelihood": result.log_likelihood,
        "log_prior": result.log_prior,
        "overrides": dict(result.params),
        "metrics": result.metrics,
        "nuisance": result.nuisance,
    }
    head = (
        f"# Calibration of scenario {result.scenario!r}: the best of {result.n_trials} trials.\n"
        "# `overrides` maps each fitted uncertain: path to its value (use as run overrides or\n"
        "# `--set path=value`); `metrics` are fit errors per observed metric (MAPE in percent).\n"
    )
    write_text(out / "fitted.yaml", head + yaml.safe_dump(_plain(doc), sort_keys=False))
    files.append(out / "fitted.yaml")
    write_text(out / "trials.csv", trials.to_csv(index=False))
    files.append(out / "trials.csv")
    fit = result.fit.copy()
    fit["start"] = pd.to_datetime(fit["start"]).dt.date
    fit["end"] = pd.to_datetime(fit["end"]).dt.date
    write_text(out / "fit.csv", fit.to_csv(index=False))
    files.append(out / "fit.csv")
    run_start, run_end = pd.DatetimeIndex(daily.index).min(), pd.DatetimeIndex(daily.index).max()
    for metric, rows in result.fit.groupby("metric", sort=True):
        m = str(metric)
        stock = metric_is_stock(m)
        sims: list[pd.DataFrame] = []
        for res in sorted(rows["resolution"].unique()):
            series = period_values(daily[m], str(res), stock)
            starts = pd.DatetimeIndex(series.index)
            ends = pd.Series([_period_end(s, str(res)) for s in starts])
            ok = _covered(
                pd.Series(starts), ends, pd.Series([stock] * len(starts)), run_start, run_end
            ).to_numpy(bool)
            sims.append(
                pd.DataFrame(
                    {"date": starts[ok], "value": series.to_numpy(float)[ok], "resolution": res}
                )
            )
        observed = pd.DataFrame(
            {
                "date": pd.to_datetime(rows["start"]),
                "value": rows["observed"].to_numpy(float),
                "fit": rows["fit"].to_numpy(bool),
                "resolution": rows["resolution"],
            }
        )
        dest = out / f"fit_{m}.png"
        mape = result.metrics[m].get("mape_pct")
        plot_fit(
            observed,
            pd.concat(sims, ignore_index=True),
            dest,
            title=f"{result.scenario}: {m}, observed vs fitted"
            + (f" (MAPE {mape:.1f}%)" if isinstance(mape, float) else ""),
            ylabel=m,
            fit_through=fit_through,
        )
        files.append(dest)
    return tuple(files)
