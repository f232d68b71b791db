"""Ensemble summaries: quantile bands over time, exceedance probabilities, paired comparisons.

A *metric* names one series of a run, summed over nationalities (or one nationality):

================================  ==============  ===============================================
metric                            table           per period (month, year)
================================  ==============  ===============================================
``n_<stage>``                     stocks          value on the period's last day
``queue_decision``, ``queue_appeal``  events      value on the period's last day
``new_<flow>``                    flows           sum over the period
``cum_<flow>``                    flows           running total of ``new_<flow>`` at period end
``cost_total``, ``cost_<item>``   costs           sum over the period (GBP)
``p_removal``, ``arrivals_factor``  events        mean over nationalities and over the period
================================  ==============  ===============================================

A replicate's *scalar* value of a metric (for comparisons and tables), unless a date is given:
stocks and running totals at the last day, flows and costs summed over the whole period, rates
averaged.

:func:`compare` pairs two policies of one ensemble replicate by replicate: policies share each
replicate's seed and prior draw (common random numbers), so the paired differences are free of
most of the between-replicate noise. It reports p10/p50/p90 (:data:`COMPARE_QUANTILES`, as the
dashboard and the main job do) of each policy and of the paired differences.

Every stored kind reads the same way: daily tables (scenarios without a forecast) and monthly
ones (a forecast's replicates, ``date`` the month's first day): a date given to a monthly run
picks its month. The main job's ensembles hold its variants as policies; its summary run
(engine ``flagship``) stands for its ensemble where an ensemble id is asked for.

:func:`compare` also reports the ratio of the paired-difference standard deviation to the
replicate spread ``sqrt((var_a + var_b) / 2)``: well below 1 when the common random numbers
work; about ``sqrt(2)`` for independent runs.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from corridor.errors import InputError

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "COMPARE_QUANTILES",
    "FAN_QUANTILES",
    "Comparison",
    "Metric",
    "bands",
    "compare",
    "exceedance",
    "exceedance_series",
    "paired",
    "parse_metric",
    "quantile_bands",
    "quantile_label",
    "replicate_table",
    "scalar_values",
    "series",
]

Resolution = Literal["day", "month", "year"]
FAN_QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
COMPARE_QUANTILES: tuple[float, ...] = (0.10, 0.50, 0.90)
_FREQ = {"month": "MS", "year": "YS"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RATES = ("p_removal", "arrivals_factor")
_QUEUES = ("queue_decision", "queue_appeal")


@dataclass(frozen=True)
class Metric:
    """Where a metric comes from and how it aggregates (see the module docstring)."""

    name: str
    table: str
    column: str
    kind: Literal["stock", "flow", "rate"]
    cumulative: bool = False
    item: str | None = None  # cost item (None: all items)


def parse_metric(name: str) -> Metric:
    """The :class:`Metric` called ``name``."""
    from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS

    expected = "n_<stage>, new_<flow>, cum_<flow>, cost_total, cost_<item>, " + ", ".join(
        (*_QUEUES, *_RATES)
    )
    if not _NAME.match(name):
        raise InputError(f"unknown metric {name!r}", field="metric", expected=expected)
    if name in STOCK_COLUMNS:
        return Metric(name, "stocks", name, "stock")
    if name in FLOW_COLUMNS:
        return Metric(name, "flows", name, "flow")
    if name.startswith("cum_") and f"new_{name[4:]}" in FLOW_COLUMNS:
        return Metric(name, "flows", f"new_{name[4:]}", "stock", cumulative=True)
    if name == "cost_total":
        return Metric(name, "costs", "gbp", "flow")
    if name.startswith("cost_"):
        return Metric(name, "costs", "gbp", "flow", item=name[5:])
    if name in _QUEUES:
        return Metric(name, "events", name, "stock")
    if name in _RATES:
        return Metric(name, "events", name, "rate")
    raise InputError(f"unknown metric {name!r}", field="metric", expected=expected)


def quantile_label(q: float) -> str:
    """``0.05`` → ``"p5"``, ``0.5`` → ``"p50"``, ``0.025`` → ``"p2.5"``."""
    pct = round(q * 100, 6)
    return f"p{int(pct)}" if float(pct).is_integer() else f"p{pct:g}"


# ---------------------------------------------------------------------------------------------
# Series
# ---------------------------------------------------------------------------------------------
def _daily(
    store: Store, metric: Metric, run_ids: Sequence[str], nationality: str | None
) -> pd.DataFrame:
    """Daily values (rows: dates, columns: run ids in the order given)."""
    import duckdb

    if not run_ids:
        raise InputError("no runs selected", field="runs", expected="at least one stored run")
    files = [str(store.table_path(r, metric.table)) for r in run_ids]
    missing = [r for r, f in zip(run_ids, files, strict=True) if not store.run_dir(r).is_dir()]
    if missing:
        raise InputError(f"runs not in the store: {', '.join(missing[:5])}", field="runs")
    agg = "avg" if metric.kind == "rate" else "sum"
    where: list[str] = []
    params: list[object] = [files]
    if metric.item is not None:
        where.append("item = ?")
        params.append(metric.item)
    if nationality is not None:
        if metric.table == "costs":
            raise InputError(
                "costs are not split by nationality", field="nationality", expected="no filter"
            )
        where.append("nationality = ?")
        params.append(nationality)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    sql = (
        f'SELECT run_id, date, {agg}("{metric.column}") AS value '
        "FROM read_parquet(?, union_by_name = true, hive_partitioning = false) "
        f"{clause} GROUP BY run_id, date"
    )
    con = duckdb.connect()
    try:
        long = con.execute(sql, params).df()
    except duckdb.Error as exc:
        raise InputError(
            f"metric {metric.name!r} cannot be read from table {metric.table}: {exc}",
            field="metric",
        ) from exc
    finally:
        con.close()
    if long.empty:
        if metric.item is not None:
            raise InputError(f"no cost item {metric.item!r} in these runs", field="metric")
        raise InputError(f"no rows for metric {metric.name!r} in these runs", field="metric")
    wide = long.pivot(index="date", columns="run_id", values="value").sort_index()
    wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index), name="date")
    wide = wide.reindex(columns=list(run_ids)).fillna(0.0)
    wide.columns.name = "run_id"
    return wide


def series(
    store: Store,
    metric: str,
    run_ids: Sequence[str],
    resolution: Resolution = "day",
    nationality: str | None = None,
) -> pd.DataFrame:
    """Metric ``metric`` of each run over time: rows dates (period starts), columns run ids."""
    m = parse_metric(metric)
    daily = _daily(store, m, run_ids, nationality)
    if m.cumulative:
        daily = daily.cumsum()
    if resolution == "day":
        return daily
    if resolution not in _FREQ:
        raise InputError(
            f"unknown resolution {resolution!r}", field="resolution", expected="day | month | year"
        )
    resampler = daily.resample(_FREQ[resolution])
    if m.kind == "stock":
        out = resampler.last()
    elif m.kind == "flow":
        out = resampler.sum()
    else:
        out = resampler.mean()
    return out


def bands(wide: pd.DataFrame, quantiles: Sequence[float] = FAN_QUANTILES) -> pd.DataFrame:
    """Quantiles across the columns (replicates) of ``wide``, row by row, plus mean and n."""
    values = wide.to_numpy(dtype=np.float64)
    out = pd.DataFrame(index=wide.index)
    if values.shape[1] == 0:
        raise InputError("no replicates to summarise", field="runs")
    qs = np.quantile(values, list(quantiles), axis=1)
    for q, row in zip(quantiles, qs, strict=True):
        out[quantile_label(q)] = row
    out["mean"] = values.mean(axis=1)
    out["n"] = values.shape[1]
    return out


def _select_runs(
    store: Store,
    ensemble_id: str | None,
    policy: str | None,
    run_ids: Sequence[str] | None,
) -> pd.DataFrame:
    """Catalog rows of the runs to summarise (default: the most recent ensemble)."""
    if run_ids is not None:
        rows = store.runs({"run_id": list(run_ids)})
    else:
        if ensemble_id is not None:
            ensemble_id = _ensemble_of(store, ensemble_id)
        if ensemble_id is None:
            ensemble_id = _latest_ensemble(store, [policy] if policy is not None else [])
        filt: dict[str, object] = {"ensemble_id": ensemble_id}
        if policy is not None:
            filt["policy"] = policy
        rows = store.runs(filt)
    if rows.empty:
        what = f"ensemble {ensemble_id}" if ensemble_id else "the given run ids"
        extra = f", policy {policy!r}" if policy is not None else ""
        raise InputError(f"no stored runs for {what}{extra}", field="runs")
    return rows.sort_values(["replicate", "run_id"], na_position="last").reset_index(drop=True)


def _ensemble_of(store: Store, ref: str) -> str:
    """``ref``, or the ensemble a main job's summary run (engine ``flagship``) names."""
    if not store.runs({"ensemble_id": ref}).empty:
        return ref
    rows = store.runs({"run_id": ref})
    if rows.empty or str(rows["engine"].iloc[0]) != "flagship":
        return ref
    import json

    try:
        got = json.loads(rows["params_json"].iloc[0] or "{}").get("ensemble_id")
    except (TypeError, ValueError, AttributeError):
        got = None
    return str(got) if got else ref


def _latest_ensemble(store: Store, policies: Sequence[str]) -> str:
    cond = " AND ".join(f"bool_or(policy = {_quote(p)})" for p in policies)  # every policy present
    having = f"HAVING {cond}" if cond else ""
    got = store.query(
        "SELECT ensemble_id FROM runs WHERE ensemble_id IS NOT NULL GROUP BY ensemble_id "
        f"{having} ORDER BY max(finished_at) DESC NULLS LAST LIMIT 1"
    )
    if got.empty:
        need = f" with policies {', '.join(policies)}" if policies else ""
        raise InputError(f"no ensemble in the store{need}", field="ensemble")
    return str(got["ensemble_id"].iloc[0])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quantile_bands(
    store: Store,
    metric: str,
    *,
    ensemble_id: str | None = None,
    policy: str | None = None,
    run_ids: Sequence[str] | None = None,
    resolution: Resolution = "month",
    quantiles: Sequence[float] = FAN_QUANTILES,
    nationality: str | None = None,
) -> pd.DataFrame:
    """Fan-chart data: per date, quantiles ``p5 … p95`` (by default) across replicates, the mean
    and the number of replicates ``n``. Runs: ``run_ids``, or those of ``ensemble_id`` (default
    the most recent ensemble) and ``policy`` (default all)."""
    rows = _select_runs(store, ensemble_id, policy, run_ids)
    wide = series(store, metric, list(rows["run_id"]), resolution, nationality)
    return bands(wide, quantiles)


def _is_monthly(index: pd.Index) -> bool:
    """Whether dates are month starts a month or more apart (a forecast's monthly tables)."""
    idx = pd.DatetimeIndex(index)
    if len(idx) == 0 or not (idx.day == 1).all():
        return False
    return len(idx) == 1 or bool((idx[1:] - idx[:-1]).min() >= pd.Timedelta(days=28))


def _at_row(wide: pd.DataFrame, at: date | str, resolution: Resolution) -> pd.Series:
    when = pd.Timestamp(at)
    if resolution == "month" or (resolution == "day" and _is_monthly(wide.index)):
        when = when.to_period("M").start_time
    elif resolution == "year":
        when = when.to_period("Y").start_time
    if when not in wide.index:
        first, last = wide.index.min().date(), wide.index.max().date()
        raise InputError(
            f"date {pd.Timestamp(at).date()} is outside the runs ({first} to {last})",
            field="at",
            expected=f"a date from {first} to {last}",
        )
    row = wide.loc[when]
    assert isinstance(row, pd.Series)
    return row


def exceedance_series(
    store: Store,
    metric: str,
    threshold: float,
    *,
    ensemble_id: str | None = None,
    policy: str | None = None,
    run_ids: Sequence[str] | None = None,
    resolution: Resolution = "day",
    nationality: str | None = None,
) -> pd.Series:
    """``P(metric > threshold)`` at each date: the share of replicates above ``threshold``."""
    rows = _select_runs(store, ensemble_id, policy, run_ids)
    wide = series(store, metric, list(rows["run_id"]), resolution, nationality)
    out = (wide > threshold).mean(axis=1)
    out.name = f"P({metric} > {threshold:g})"
    return out


def exceedance(
    store: Store,
    metric: str,
    threshold: float,
    at: date | str,
    *,
    ensemble_id: str | None = None,
    policy: str | None = None,
    run_ids: Sequence[str] | None = None,
    resolution: Resolution = "day",
    nationality: str | None = None,
) -> float:
    """``P(metric > threshold at date at)``: the share of replicates above ``threshold`` in the
    period (of ``resolution``) holding ``at``."""
    rows = _select_runs(store, ensemble_id, policy, run_ids)
    wide = series(store, metric, list(rows["run_id"]), resolution, nationality)
    return float((_at_row(wide, at, resolution) > threshold).mean())


def scalar_values(
    store: Store,
    metric: str,
    run_ids: Sequence[str],
    at: date | str | None = None,
    resolution: Resolution = "day",
    nationality: str | None = None,
) -> pd.Series:
    """One value per run (index run ids): at date ``at`` (in periods of ``resolution``), or,
    without a date, stocks at the end, flows and costs summed, rates averaged."""
    m = parse_metric(metric)
    if at is not None:
        wide = series(store, metric, run_ids, resolution, nationality)
        return _at_row(wide, at, resolution).rename(metric)
    wide = series(store, metric, run_ids, "day", nationality)
    if m.kind == "stock":
        out = wide.iloc[-1]
    elif m.kind == "flow":
        out = wide.sum(axis=0)
    else:
        out = wide.mean(axis=0)
    return out.rename(metric)


# ---------------------------------------------------------------------------------------------
# Paired comparisons
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Policy B minus policy A, replicate by replicate."""

    metric: str
    policy_a: str
    policy_b: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float
    sd_diff: float
    spread: float  # sqrt((var_a + var_b) / 2) across replicates
    ratio: float  # sd_diff / spread: << 1 when common random numbers work
    quantiles: dict[str, float] = field(default_factory=dict)  # of the paired differences
    diffs: pd.Series | None = None  # by replicate
    quantiles_a: dict[str, float] = field(default_factory=dict)  # of policy A's values
    quantiles_b: dict[str, float] = field(default_factory=dict)  # of policy B's values
    ensemble_id: str | None = None

    def table(self) -> pd.DataFrame:
        """Rows A, B and B − A; columns the quantiles (p10, p50, p90) and the mean."""
        labels = list(self.quantiles)
        rows = [
            (self.policy_a, self.quantiles_a, self.mean_a),
            (self.policy_b, self.quantiles_b, self.mean_b),
            (f"{self.policy_b} - {self.policy_a} (paired)", self.quantiles, self.mean_diff),
        ]
        records = [
            {"": name, **{k: q.get(k, math.nan) for k in labels}, "mean": m} for name, q, m in rows
        ]
        return pd.DataFrame(records)

    def as_dict(self) -> dict[str, object]:
        """The figures without the per-replicate differences."""
        return {
            "metric": self.metric,
            "policy_a": self.policy_a,
            "policy_b": self.policy_b,
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "mean_diff": self.mean_diff,
            "sd_diff": self.sd_diff,
            "spread": self.spread,
            "ratio": self.ratio,
            "ensemble_id": self.ensemble_id,
            **{f"a_{k}": v for k, v in self.quantiles_a.items()},
            **{f"b_{k}": v for k, v in self.quantiles_b.items()},
            **{f"diff_{k}": v for k, v in self.quantiles.items()},
        }


def paired(
    a: pd.Series,
    b: pd.Series,
    *,
    metric: str = "",
    policy_a: str = "a",
    policy_b: str = "b",
    quantiles: Sequence[float] = COMPARE_QUANTILES,
) -> Comparison:
    """Compare ``b - a`` where ``a`` and ``b`` are indexed by replicate (paired on the index)."""
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise InputError("the two policies share no replicate", field="policies")
    xa = a.loc[common].to_numpy(dtype=np.float64)
    xb = b.loc[common].to_numpy(dtype=np.float64)
    d = xb - xa
    n = len(d)
    ddof = 1 if n > 1 else 0
    sd_diff = float(np.std(d, ddof=ddof))
    spread = math.sqrt((float(np.var(xa, ddof=ddof)) + float(np.var(xb, ddof=ddof))) / 2.0)
    ratio = sd_diff / spread if spread > 0 else (0.0 if sd_diff == 0 else math.inf)

    def qs_of(x: np.ndarray[Any, Any]) -> dict[str, float]:
        got = np.quantile(x, list(quantiles))
        return {quantile_label(q): float(v) for q, v in zip(quantiles, got, strict=True)}

    qs = qs_of(d)
    return Comparison(
        metric=metric,
        policy_a=policy_a,
        policy_b=policy_b,
        n=n,
        mean_a=float(xa.mean()),
        mean_b=float(xb.mean()),
        mean_diff=float(d.mean()),
        sd_diff=sd_diff,
        spread=spread,
        ratio=ratio,
        quantiles=qs,
        diffs=pd.Series(d, index=common, name=f"{metric} {policy_b} - {policy_a}"),
        quantiles_a=qs_of(xa),
        quantiles_b=qs_of(xb),
    )


def compare(
    store: Store,
    policy_a: str,
    policy_b: str,
    metric: str,
    *,
    ensemble_id: str | None = None,
    at: date | str | None = None,
    resolution: Resolution = "day",
    quantiles: Sequence[float] = COMPARE_QUANTILES,
    nationality: str | None = None,
) -> Comparison:
    """Policy ``policy_b`` minus ``policy_a`` on ``metric``, replicate by replicate, in
    ``ensemble_id`` (default: the most recent ensemble holding both policies). Each replicate's
    value is :func:`scalar_values` (at ``at`` if given; on monthly runs, its month). Reports
    p10/p50/p90 by default of each policy and of the paired differences. ``ensemble_id`` may
    name a main job's summary run (its ensemble is used)."""
    if ensemble_id is None:
        ensemble_id = _latest_ensemble(store, [policy_a, policy_b])
    ensemble_id = _ensemble_of(store, ensemble_id)
    values: dict[str, pd.Series] = {}
    for pol in (policy_a, policy_b):
        rows = _select_runs(store, ensemble_id, pol, None)
        vals = scalar_values(store, metric, list(rows["run_id"]), at, resolution, nationality)
        values[pol] = pd.Series(
            vals.loc[rows["run_id"]].to_numpy(), index=rows["replicate"].astype(int).to_numpy()
        )
    got = paired(
        values[policy_a],
        values[policy_b],
        metric=metric,
        policy_a=policy_a,
        policy_b=policy_b,
        quantiles=quantiles,
    )
    return dataclasses.replace(got, ensemble_id=ensemble_id)


def replicate_table(
    store: Store,
    metrics: Sequence[str],
    *,
    ensemble_id: str,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
) -> pd.DataFrame:
    """Per policy and metric, quantiles and mean of the replicates' scalar values."""
    rows = _select_runs(store, ensemble_id, None, None)
    records: list[dict[str, object]] = []
    for pol, group in rows.groupby("policy", sort=False):
        ids = list(group["run_id"])
        for metric in metrics:
            vals = scalar_values(store, metric, ids).to_numpy(dtype=np.float64)
            rec: dict[str, object] = {"policy": pol, "metric": metric, "n": len(vals)}
            for q, v in zip(quantiles, np.quantile(vals, list(quantiles)), strict=True):
                rec[quantile_label(q)] = float(v)
            rec["mean"] = float(vals.mean())
            records.append(rec)
    return pd.DataFrame.from_records(records)
