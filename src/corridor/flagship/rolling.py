"""The rolling-origin back-test: refit at each origin, forecast 1-3 calendar years, score.

Reads: a forecast scenario folder (``uk-balkans``): its observed flows (``observed/
flows_monthly.csv``), UK asylum series (``observed/uk_quarterly.csv``), enforced returns of
people who claimed asylum (``observed/returns_asylum_annual.csv``) and the calibration targets.

Produces: :func:`rolling_backtest` — ``rolling`` of ``backtest.json``:

* ``origins``: 31 December 2020, 2021, 2022 and 2023. At each origin everything the forecast
  depends on is refitted on the data through that day only:

  - the asylum calibration: the project's calibration (:func:`corridor.analysis.calibrate.
    calibrate`, the Optuna search ``corridor refit`` runs, same targets, likelihood, trials
    and seed) with ``fit_through`` the origin: it scores only observations that end on or
    before the origin, and the model is causal, so no later datum moves the values it finds
    (a test perturbs every later datum and gets the same values);
  - the flow series (in the form the pack's ``flow_model_selection.json`` chose) and the route
    preferences: fitted through the origin when the back-test runs (``forecast.refit``);
  - every dated input (caseworkers, productivity, judges, removal capacity, hotels, grant rates
    by nationality, costs, withdrawal-rate policies, the arrivals table): cut at the origin by
    :func:`corridor.forecast.context.truncate_inputs` (the last value carries on; productivity
    and the withdrawal rate at the mean of their last four quarters).

  Not re-estimated per origin (a look-ahead, named here): the scenario's single-valued
  parameters (household size, the appeal lodging and allow rates, the voluntary-return and
  abscond rates, unit costs), some of which cite figures up to 2024, and the flow series'
  form (chosen once on 2021-2024 scores, :mod:`corridor.flagship.flow_selection`).

  Nothing is stored per origin: each run refits. The status quo's replicates run from each
  origin through the one entry on the one pool (:func:`corridor.analysis.ensemble.run_ensemble`,
  one policy per origin), to the end of the last observed year (2024).
* ``horizons[h][metric]`` for ``h`` = 1, 2, 3 (the calendar year ``h`` after the origin, where
  observed: through 2024, so 4, 3 and 2 origins) and the annual metrics of :data:`METRICS`:
  ``mape`` (the replicates' median), ``mape_no_change`` and ``mape_seasonal_naive`` (the two
  baselines of :func:`baselines`), ``coverage80`` / ``coverage95`` (the share of observed years
  inside the 10-90% / 2.5-97.5% bands of the replicates) and ``n``.
* ``pooled[h]``: the coverages over every metric and origin of horizon ``h``.
* ``aims``: whether the model beats no-change on the mean MAPE over the metrics at each
  horizon, on how many metrics at horizon 1, and whether pooled 80% coverage is within 70-90%,
  each computed here, and the metrics where it loses.

``removals`` are enforced removals of people who claimed asylum (the model's ``new_removals``,
not voluntary departures), scored against the Home Office's asylum-related enforced returns
(Ret_05, 2018-2023); 2024 is derived: all enforced returns of 2024 x the asylum-related share of
enforced returns in 2023 (``observed/returns_asylum_annual.csv`` says so row by row).

Invariants: no datum after an origin reaches that origin's fit; a replicate's numbers depend
only on (scenario content, origin, seed); the baselines use only data through the origin.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.forecast.config import load_flagship
from corridor.forecast.record import to_yearly
from corridor.scenario.loader import resolve_scenario

__all__ = [
    "HORIZONS",
    "METRICS",
    "ORIGINS",
    "baselines",
    "calibrate_origin",
    "observed_annual",
    "origin_policies",
    "rolling_backtest",
    "score_rolling",
]

ORIGINS: tuple[int, ...] = (2020, 2021, 2022, 2023)
HORIZONS: tuple[int, ...] = (1, 2, 3)
LAST_YEAR = 2024  # the last observed year: nothing later is read
METRICS: tuple[str, ...] = (
    "small_boat_arrivals",
    "wb_detections",
    "asylum_claims",
    "initial_decisions",
    "initial_grant_rate",
    "backlog_end",
    "removals",
)
TRIALS = 80  # the calibration's trials at each origin (as `corridor refit`)


# ---------------------------------------------------------------------------------------------
# Observed figures, at their published resolution
# ---------------------------------------------------------------------------------------------
def observed_periods(folder: Path) -> dict[str, pd.DataFrame]:
    """Each metric as published, one row a period with columns ``year``, ``quarter`` (0 for a
    series published by year only) and ``value``: monthly flows (a row a month), quarterly UK
    series (claims; initial decisions = grants + refusals; ``grants``; the stock awaiting a
    decision at quarter ends), annual asylum-related enforced returns. The grant rate is kept
    as ``grants`` and ``initial_decisions`` (a rate is recomputed from sums, never averaged)."""
    flows = pd.read_csv(folder / "observed" / "flows_monthly.csv", dtype={"date": str})
    uk = pd.read_csv(folder / "observed" / "uk_quarterly.csv", dtype={"date": str})
    ret = pd.read_csv(folder / "observed" / "returns_asylum_annual.csv")

    def frame(dates: pd.Series, values: pd.Series) -> pd.DataFrame:
        d = pd.to_datetime(dates.astype(str))
        return pd.DataFrame(
            {
                "year": d.dt.year.to_numpy(dtype=int),
                "quarter": d.dt.quarter.to_numpy(dtype=int),
                "value": values.to_numpy(dtype=float),
            }
        )

    out: dict[str, pd.DataFrame] = {}
    for name in ("small_boat_arrivals", "wb_detections"):
        f = flows[flows["metric"] == name]
        out[name] = frame(f["date"], f["value"])
    q = {m: uk[uk["metric"] == m].sort_values("date") for m in uk["metric"].unique()}
    out["asylum_claims"] = frame(q["new_claims"]["date"], q["new_claims"]["value"])
    out["grants"] = frame(q["new_grants"]["date"], q["new_grants"]["value"])
    dec = q["new_grants"]["value"].to_numpy(dtype=float) + q["new_refusals"]["value"].to_numpy(
        dtype=float
    )
    out["initial_decisions"] = frame(q["new_grants"]["date"], pd.Series(dec))
    out["backlog_end"] = frame(q["n_awaiting_decision"]["date"], q["n_awaiting_decision"]["value"])
    r = ret[ret["metric"] == "returns_enforced_asylum"]
    out["removals"] = pd.DataFrame(
        {
            "year": r["year"].to_numpy(dtype=int),
            "quarter": 0,
            "value": r["value"].to_numpy(dtype=float),
        }
    )
    return out


def _year_sum(df: pd.DataFrame, year: int, quarter: int | None = None) -> float:
    rows = df[df["year"] == year]
    if quarter is not None:
        rows = rows[rows["quarter"] == quarter]
    return float(rows["value"].sum())


def observed_annual(folder: Path) -> pd.DataFrame:
    """Calendar years (rows) × :data:`METRICS`: flows summed, the stock at 31 December, the
    grant rate (per cent) from the year's grants and decisions."""
    per = observed_periods(folder)
    years = sorted(set(per["asylum_claims"]["year"]) | set(per["removals"]["year"]))
    rows: dict[int, dict[str, float]] = {}
    for y in years:
        row = {
            k: _year_sum(per[k], y)
            for k in ("small_boat_arrivals", "wb_detections", "asylum_claims", "initial_decisions")
        }
        g = _year_sum(per["grants"], y)
        row["initial_grant_rate"] = 100.0 * g / row["initial_decisions"]
        row["backlog_end"] = _year_sum(per["backlog_end"], y, 4)
        row["removals"] = _year_sum(per["removals"], y)
        rows[y] = row
    return pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)]


def baselines(per: dict[str, pd.DataFrame], origin: int) -> dict[str, dict[str, float]]:
    """The two naive forecasts of every later year, from the data through ``origin`` only:

    * ``no_change``: the last published period carried on (a random walk at the data's own
      resolution): the last quarter × 4 for a flow published by month or quarter (its
      October-December total: a run-rate), the last quarter's rate for the grant rate, the
      stock on 31 December, the year's total for a series published only by year (removals);
    * ``seasonal_naive``: the origin's calendar year repeated (its total, its rate from its
      sums, its year-end stock): the same season a year earlier, for every season.

    For a stock the two coincide (a year-end stock is its own season)."""
    known = {k: v[v["year"] <= origin] for k, v in per.items()}
    no_change: dict[str, float] = {}
    seasonal: dict[str, float] = {}
    for name in ("small_boat_arrivals", "wb_detections", "asylum_claims", "initial_decisions"):
        seasonal[name] = _year_sum(known[name], origin)
        no_change[name] = 4.0 * _year_sum(known[name], origin, 4)
    g, d = known["grants"], known["initial_decisions"]
    no_change["initial_grant_rate"] = 100.0 * _year_sum(g, origin, 4) / _year_sum(d, origin, 4)
    seasonal["initial_grant_rate"] = 100.0 * _year_sum(g, origin) / _year_sum(d, origin)
    no_change["backlog_end"] = seasonal["backlog_end"] = _year_sum(known["backlog_end"], origin, 4)
    no_change["removals"] = seasonal["removals"] = _year_sum(known["removals"], origin)
    return {"no_change": no_change, "seasonal_naive": seasonal}


# ---------------------------------------------------------------------------------------------
# Refitting at an origin
# ---------------------------------------------------------------------------------------------
def calibrate_origin(
    folder: Path, origin: int, *, trials: int = TRIALS, seed: int = 0
) -> dict[str, float]:
    """The asylum calibration of :func:`corridor.flagship.fit.fit_pack` with ``fit_through`` the
    origin's 31 December (its study and files in a temporary folder, then removed)."""
    from corridor.flagship.fit import calibrate_through

    with tempfile.TemporaryDirectory(prefix="corridor-origin-") as tmp:
        res = calibrate_through(folder, f"{origin}-12-31", Path(tmp), trials=trials, seed=seed)
    return {str(k): float(v) for k, v in res.params.items()}


def origin_policies(calibrated: dict[int, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """One status-quo policy per origin: the forecast's origin moved there, refitted flows and
    route preferences, the origin's own calibration, a horizon to the last observed year."""
    return {
        f"origin_{o}": {
            "forecast.cutoff": f"{o}-12-31",
            "forecast.end": f"{min(o + max(HORIZONS), LAST_YEAR)}-12-31",
            "forecast.refit": True,
            **{f"forecast.fitted.{k}": v for k, v in sorted(cal.items())},
        }
        for o, cal in calibrated.items()
    }


def _model_yearly(metrics: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    """A replicate's calendar years of :data:`METRICS`, ``removals`` being enforced removals
    only (``new_removals`` summed over nationalities)."""
    m = metrics.copy()
    m.index = pd.PeriodIndex(pd.to_datetime(m.pop("date")), freq="M")
    yearly = to_yearly(m)
    enforced = flows.groupby(pd.to_datetime(flows["date"]).dt.year)["new_removals"].sum()
    yearly["removals"] = enforced.reindex(yearly.index).to_numpy(dtype=float)
    return yearly[list(METRICS)]


def score_rolling(
    sims: dict[int, np.ndarray[Any, Any]],
    observed: pd.DataFrame,
    per: dict[str, pd.DataFrame],
    years: list[int],
) -> dict[str, Any]:
    """Scores of the replicates' annual figures. ``sims[origin]``: (replicates, years, metrics)
    for the calendar ``years``; ``observed``: :func:`observed_annual`; ``per``:
    :func:`observed_periods` (for the baselines)."""
    horizons: dict[str, dict[str, Any]] = {}
    pooled: dict[str, Any] = {}
    for h in HORIZONS:
        per_metric: dict[str, Any] = {}
        in80_all: list[bool] = []
        in95_all: list[bool] = []
        for j, metric in enumerate(METRICS):
            ape: list[float] = []
            ape_nc: list[float] = []
            ape_sn: list[float] = []
            in80: list[bool] = []
            in95: list[bool] = []
            for origin, arr in sims.items():
                year = origin + h
                if year > LAST_YEAR or year not in years:
                    continue
                obs = float(observed[metric].to_dict()[year])
                vals = arr[:, years.index(year), j]
                vals = vals[np.isfinite(vals)]
                med = float(np.median(vals))
                lo80, hi80, lo95, hi95 = np.percentile(vals, [10, 90, 2.5, 97.5])
                base = baselines(per, origin)
                ape.append(abs(med - obs) / obs)
                ape_nc.append(abs(base["no_change"][metric] - obs) / obs)
                ape_sn.append(abs(base["seasonal_naive"][metric] - obs) / obs)
                in80.append(bool(lo80 <= obs <= hi80))
                in95.append(bool(lo95 <= obs <= hi95))
            if not ape:
                continue
            per_metric[metric] = {
                "mape": 100.0 * float(np.mean(ape)),
                "mape_no_change": 100.0 * float(np.mean(ape_nc)),
                "mape_seasonal_naive": 100.0 * float(np.mean(ape_sn)),
                "coverage80": float(np.mean(in80)),
                "coverage95": float(np.mean(in95)),
                "n": len(ape),
            }
            in80_all += in80
            in95_all += in95
        horizons[str(h)] = per_metric
        if not in80_all:
            continue
        pooled[str(h)] = {
            "coverage80": float(np.mean(in80_all)),
            "coverage95": float(np.mean(in95_all)),
            "n": len(in80_all),
        }
    return {"horizons": horizons, "pooled": pooled, "aims": _aims(horizons, pooled)}


def _aims(horizons: dict[str, Any], pooled: dict[str, Any]) -> dict[str, Any]:
    """The issue's aims, computed: beat no-change on the mean MAPE at every horizon and on at
    least 5 of the 7 metrics at horizon 1; pooled 80% coverage within 70-90% at every horizon."""
    out: dict[str, Any] = {"by_horizon": {}}
    for h, per_metric in horizons.items():
        if not per_metric:
            continue
        model = float(np.mean([v["mape"] for v in per_metric.values()]))
        nc = float(np.mean([v["mape_no_change"] for v in per_metric.values()]))
        sn = float(np.mean([v["mape_seasonal_naive"] for v in per_metric.values()]))
        out["by_horizon"][h] = {
            "mean_mape": model,
            "mean_mape_no_change": nc,
            "mean_mape_seasonal_naive": sn,
            "beats_no_change_on_average": model < nc,
            "beats_seasonal_naive_on_average": model < sn,
            "metrics_beating_no_change": sorted(
                k for k, v in per_metric.items() if v["mape"] < v["mape_no_change"]
            ),
            "metrics_losing_to_no_change": sorted(
                k for k, v in per_metric.items() if v["mape"] >= v["mape_no_change"]
            ),
            "pooled_coverage80_in_70_90": 0.7 <= pooled[h]["coverage80"] <= 0.9,
        }
    h1 = out["by_horizon"].get("1", {})
    out["beats_no_change_on_average_every_horizon"] = all(
        v["beats_no_change_on_average"] for v in out["by_horizon"].values()
    )
    out["metrics_beating_no_change_h1"] = len(h1.get("metrics_beating_no_change", []))
    out["pooled_coverage80_in_70_90_every_horizon"] = all(
        v["pooled_coverage80_in_70_90"] for v in out["by_horizon"].values()
    )
    return out


def rolling_backtest(
    pack: str | Path,
    *,
    replicates: int = 100,
    workers: int = 1,
    store: Any = None,
    scheduler: Any = None,
    origins: tuple[int, ...] = ORIGINS,
    trials: int = TRIALS,
) -> tuple[dict[str, Any], dict[int, dict[str, float]], dict[int, dict[str, pd.DataFrame]]]:
    """Refit at each origin, run the status quo's replicates from there, score (see the module
    docstring). Returns ``rolling``, each origin's calibrated values, and the tables (metrics)
    of the last origin's replicates by run id (the monthly back-test reuses them)."""
    from corridor.analysis.ensemble import run_ensemble
    from corridor.results.store import Store

    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    calibrated = {o: calibrate_origin(folder, o, trials=trials) for o in origins}
    policies = origin_policies(calibrated)
    years = list(range(min(origins) + 1, LAST_YEAR + 1))
    sims: dict[int, np.ndarray[Any, Any]] = {}
    last: dict[int, dict[str, pd.DataFrame]] = {}
    with tempfile.TemporaryDirectory(prefix="corridor-rolling-") as tmp:
        runs = store if store is not None else Store.open(tmp)
        ens = run_ensemble(
            str(folder),
            replicates,
            base_seed=cfg.seed,
            workers=workers,
            scheduler=scheduler,
            policies=policies,
            engine="aggregate",
            store=runs,
        )
        by_origin: dict[int, list[np.ndarray[Any, Any]]] = {o: [] for o in origins}
        for task in ens.plan.tasks:
            origin = int(task.policy.rsplit("_", 1)[1])
            metrics = runs.read(task.run_id, "metrics")
            flows = runs.read(task.run_id, "flows")
            yearly = _model_yearly(metrics, flows).reindex(years)
            by_origin[origin].append(yearly.to_numpy(dtype=float))
            if origin == max(origins):
                last[task.replicate] = {"metrics": metrics}
        sims = {o: np.stack(v) for o, v in by_origin.items()}
    observed = observed_annual(folder)
    per = observed_periods(folder)
    scores = score_rolling(sims, observed, per, years)
    rolling = {
        "origins": [f"{o}-12-31" for o in origins],
        "replicates": replicates,
        "metrics": list(METRICS),
        **scores,
        "calibrated": {str(o): v for o, v in calibrated.items()},
        "observed": {
            str(y): {m: float(observed[m].to_dict()[y]) for m in METRICS}
            for y in observed.index
            if min(origins) <= y <= LAST_YEAR
        },
        "baselines": {str(o): baselines(per, o) for o in origins},
        "median": {
            str(o): {
                str(y): {m: float(np.nanmedian(arr[:, i, j])) for j, m in enumerate(METRICS)}
                for i, y in enumerate(years)
                if o < y <= min(o + max(HORIZONS), LAST_YEAR)
            }
            for o, arr in sims.items()
        },
        "notes": {
            "removals": "enforced removals of people who claimed asylum against the Home"
            " Office's asylum-related enforced returns (Ret_05); 2024 derived: all enforced"
            " returns of 2024 x the 2023 asylum-related share (observed/"
            "returns_asylum_annual.csv)",
            "no_change": "the last published period carried on: Oct-Dec x 4 for flows, the"
            " last quarter's grant rate, the stock on 31 December, the last year for removals"
            " (published by year only)",
            "seasonal_naive": "the origin's calendar year repeated",
            "calibration": f"the asylum calibration ({trials} trials, seed 0) refitted with"
            " fit_through each origin",
        },
    }
    return rolling, calibrated, last
