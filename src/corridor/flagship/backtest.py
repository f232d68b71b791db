"""The back-test: fit through 2023, forecast 2024 month by month, score against what happened.

``backtest(pack, out_dir)``:

1. the flows are fitted through the back-test cut-off (31 Dec 2023) — stored in the pack as
   ``fitted/series-2023-12-31.json`` by :func:`corridor.flagship.fit.fit_pack`, refitted here
   when absent — and the asylum parameters are those calibrated through 2023
   (``fitted/fitted.yaml``); every dated input after the cut-off (caseworkers, productivity,
   removal capacity, grant rates, costs) is cut off as in the main job;
2. ``replicates`` status-quo replicates forecast January 2024 onwards: the forecast's origin
   moved to the cut-off (``forecast.cutoff``), run through the one entry on the one pool
   (:func:`corridor.analysis.ensemble.run_ensemble`) and stored;
3. for small-boat arrivals and Western Balkans detections (monthly) and people awaiting an
   initial decision (published for quarter ends only: March, June, September, December), the
   median forecast is scored by the mean absolute percentage error against the observed values,
   beside the seasonal-naive forecast (the same month a year earlier), and the share of
   observed values inside the 80% (10–90th percentile) and 95% (2.5–97.5th) bands;
4. ``flow_model_selection``: the flow model's forecasts of each earlier year (2021-2023) from
   fits ending the December before (:func:`rolling_origin`) — the evidence the flow model's form
   was chosen on, with no 2024 data;
5. ``cohort_2023q1``: the agent engine (one agent per case, ``agents_per_person`` sampling)
   runs the same inputs to 30 Sep 2025; of the people who claimed in January–March 2023, the
   shares granted, removed or departed, withdrawn, absconded and unresolved on that day.

Writes ``backtest.json`` (and ``backtest_<series>.png``) into ``out_dir`` atomically.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.ensemble import replicate_seeds
from corridor.atomic import write_text
from corridor.forecast.config import load_flagship
from corridor.forecast.model import observed_monthly, prepare_replicate
from corridor.forecast.replicate import prepare_forecast
from corridor.forecast.series import BREAK_THRESHOLD, fit_series, simulate_paths
from corridor.scenario.loader import resolve_scenario

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["backtest", "choose_spec", "rolling_origin"]

SERIES = ("small_boat_arrivals", "wb_detections", "backlog_end")
COHORT_DAY = pd.Timestamp("2025-09-30")


def _observed(folder: Path, flows: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """The scored series, monthly PeriodIndex: the context's observed flows and the quarter-end
    people awaiting a decision."""
    uk = pd.read_csv(folder / "observed" / "uk_quarterly.csv", dtype={"date": str})
    out: dict[str, pd.Series] = {}
    for name in ("small_boat_arrivals", "wb_detections"):
        s = flows[name].copy()
        s.index = pd.PeriodIndex(s.index, freq="M")
        out[name] = s
    b = uk[uk["metric"] == "n_awaiting_decision"].set_index("date")["value"].astype(float)
    b.index = pd.PeriodIndex([d[:7] for d in b.index], freq="M")
    out["backlog_end"] = b
    return out


def _score(
    sims: np.ndarray[Any, Any], obs: np.ndarray[Any, Any], naive: np.ndarray[Any, Any]
) -> dict[str, Any]:
    med = np.median(sims, axis=0)
    lo80, hi80 = np.percentile(sims, [10, 90], axis=0)
    lo95, hi95 = np.percentile(sims, [2.5, 97.5], axis=0)
    in80 = (obs >= lo80) & (obs <= hi80)
    in95 = (obs >= lo95) & (obs <= hi95)
    return {
        "n": len(obs),
        "mape_model": float(100 * np.mean(np.abs(med - obs) / obs)),
        "mape_seasonal_naive": float(100 * np.mean(np.abs(naive - obs) / obs)),
        "coverage_80": float(in80.mean()),
        "coverage_95": float(in95.mean()),
        "beats_seasonal_naive": bool(
            np.mean(np.abs(med - obs) / obs) < np.mean(np.abs(naive - obs) / obs)
        ),
        "_in80": in80.tolist(),
        "_in95": in95.tolist(),
        "observed": obs.tolist(),
        "median": med.tolist(),
        "p10": lo80.tolist(),
        "p90": hi80.tolist(),
        "p2_5": lo95.tolist(),
        "p97_5": hi95.tolist(),
        "seasonal_naive": naive.tolist(),
    }


def backtest(
    pack: str | Path,
    out_dir: str | Path,
    *,
    replicates: int = 100,
    workers: int = 1,
    agents_per_person: float = 0.1,
    store: Store | None = None,
    scheduler: Any = None,
) -> dict[str, Any]:
    """Fit through the back-test cut-off, forecast the next year by month, and score it.

    The replicates are the status quo's with the forecast's origin moved to the cut-off
    (``forecast.cutoff``), run through the one entry on the one pool
    (:func:`corridor.analysis.ensemble.run_ensemble`: local workers or ``scheduler``) and
    stored in ``store`` (default: a temporary store, removed afterwards)."""
    import tempfile

    from corridor.analysis.ensemble import run_ensemble
    from corridor.results.store import Store

    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    cut = pd.Timestamp(cfg.backtest_cutoff)
    end = pd.Timestamp("2025-12-31")
    ctx = prepare_forecast(folder, cut.date(), end.date())
    year = cut.year + 1
    sims: dict[str, list[np.ndarray[Any, Any]]] = {s: [] for s in SERIES}
    obs = _observed(folder, ctx.observed)
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    quarter_ends = months[months.month % 3 == 0]
    origin = {"forecast.cutoff": str(cut.date()), "forecast.end": str(end.date())}
    with tempfile.TemporaryDirectory(prefix="corridor-backtest-") as tmp:
        runs = store if store is not None else Store.open(tmp)
        ens = run_ensemble(
            str(folder),
            replicates,
            base_seed=cfg.seed,
            workers=workers,
            scheduler=scheduler,
            policies={"status_quo": origin},
            engine="aggregate",
            store=runs,
        )
        for task in ens.plan.tasks:
            m = runs.read(task.run_id, "metrics")
            m.index = pd.PeriodIndex(pd.to_datetime(m.pop("date")), freq="M")
            sims["small_boat_arrivals"].append(m.loc[months, "small_boat_arrivals"].to_numpy())
            sims["wb_detections"].append(m.loc[months, "wb_detections"].to_numpy())
            sims["backlog_end"].append(m.loc[quarter_ends, "backlog_end"].to_numpy())
    out: dict[str, Any] = {
        "scenario": ctx.loaded.name,
        "fit_through": str(cut.date()),
        "forecast_year": year,
        "replicates": replicates,
        "seed": cfg.seed,
        "fitted": ctx.fitted_values,
        "series": {},
    }
    in80: list[bool] = []
    in95: list[bool] = []
    for name in SERIES:
        idx = quarter_ends if name == "backlog_end" else months
        o = obs[name].reindex(idx).to_numpy(dtype=float)
        naive = obs[name].reindex(idx - 12).to_numpy(dtype=float)
        sc = _score(np.vstack(sims[name]), o, naive)
        sc["periods"] = [str(p) for p in idx]
        in80 += sc.pop("_in80")
        in95 += sc.pop("_in95")
        out["series"][name] = sc
    out["pooled"] = {
        "n": len(in80),
        "coverage_80": float(np.mean(in80)),
        "coverage_95": float(np.mean(in95)),
        "note": "people awaiting a decision are published for quarter ends only: 4 points in"
        " 2024, so the pool holds 12 + 12 + 4 observations",
    }
    out["flow_model_selection"] = rolling_origin(folder)
    first_seed = replicate_seeds(cfg.seed, 1)[0]
    out["cohort_2023q1"] = cohort_2023q1(ctx, first_seed, agents_per_person)
    dest = Path(out_dir)
    dest.mkdir(parents=True, exist_ok=True)
    write_text(dest / "backtest.json", json.dumps(out, indent=1))
    _plots(out, dest)
    return out


def cohort_2023q1(ctx: Any, seed: int, agents_per_person: float) -> dict[str, Any]:
    """Outcomes on 30 Sep 2025 of the people who claimed asylum in January–March 2023
    (agent engine; status quo; the forecast arrivals of replicate 0 after the cut-off)."""
    from corridor.asylum import queue_kernels as qk
    from corridor.asylum.run import run_agents

    loaded, _paths, _draws = prepare_replicate(ctx, ctx.config.variant("status_quo"), seed)
    sc = loaded.scenario.model_copy(
        update={
            "period": loaded.scenario.period.model_copy(update={"end": COHORT_DAY.date()}),
            "agents_per_person": agents_per_person,
        }
    )
    loaded = dataclasses.replace(loaded, scenario=sc)
    _res, state = run_agents(loaded, seed)
    ag = state.agents
    start = pd.Timestamp(sc.period.start)
    t0 = (pd.Timestamp("2023-01-01") - start).days
    t1 = (pd.Timestamp("2023-04-01") - start).days
    t_arr = ag["t_arrive"]
    st = ag["state"]
    people = ag["people"].astype(np.float64)
    claimed = (t_arr >= t0) & (t_arr < t1) & (st != qk.NOT_CLAIMED)
    groups = {
        "granted": [qk.GRANTED],
        "removed_or_departed": [qk.DEPARTED],
        "withdrawn": [qk.WITHDRAWN],
        "absconded": [qk.ABSCONDED],
        "unresolved": [
            qk.WAITING_DECISION, qk.IN_DECISION, qk.WAITING_APPEAL, qk.IN_APPEAL, qk.REFUSED,
            qk.DETAINED, qk.LIMBO, qk.INADMISSIBLE, qk.IN_HUB,
        ],
    }  # fmt: skip
    total = float(people[claimed].sum())
    shares = {
        k: float(people[claimed & np.isin(st, v)].sum() / total) if total else None
        for k, v in groups.items()
    }
    return {
        "on": str(COHORT_DAY.date()),
        "claimed": "2023-01-01..2023-03-31",
        "engine": "agents",
        "agents_per_person": agents_per_person,
        "people_in_cohort": total / agents_per_person,
        "shares": shares,
        "note": "removed_or_departed: removals, voluntary returns and hub exits together (the"
        " agent table does not keep the exit route); unresolved: awaiting a decision or appeal,"
        " refused awaiting removal, in limbo, inadmissible or in a hub",
    }


def _plots(out: dict[str, Any], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from corridor.atomic import write_with

    for name, s in out["series"].items():
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        x = np.arange(len(s["periods"]))
        ax.fill_between(x, s["p2_5"], s["p97_5"], alpha=0.15, color="C0", label="95% band")
        ax.fill_between(x, s["p10"], s["p90"], alpha=0.3, color="C0", label="80% band")
        ax.plot(x, s["median"], color="C0", label="median forecast")
        ax.plot(x, s["observed"], "ko-", ms=3, label="observed")
        ax.plot(x, s["seasonal_naive"], "--", color="C3", label="seasonal naive")
        ax.set_xticks(x, s["periods"], rotation=60, fontsize=7)
        ax.set_title(f"{name}: back-test {out['forecast_year']}", fontsize=10)
        ax.legend(fontsize=7)

        def save(f: Any, fig: Any = fig) -> None:
            fig.savefig(f, format="png", dpi=90, bbox_inches="tight")

        write_with(dest / f"backtest_{name}.png", save, binary=True)
        plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Rolling-origin evaluation of the flow model (data before the back-test year only)
# ---------------------------------------------------------------------------------------------
ROLLING_SERIES = ("small_boat_arrivals", "wb_detections", "em_detections", "cm_detections")
SPECS: dict[str, float | None] = {"plain": None, "breaks": BREAK_THRESHOLD}


def rolling_origin(pack: str | Path, *, first_year: int = 2021, paths: int = 400) -> dict[str, Any]:
    """How the flow model would have forecast each year before the back-test year, fitted
    through the December before it: 80% and 95% band coverage and MAPE of the median, pooled
    over the route flows and years, for the plain model and the one with breaks and outliers
    (:mod:`corridor.forecast.series`). This is the evidence the flow model was chosen on; the
    back-test year itself is never used."""
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    observed = observed_monthly(folder, cfg)
    last_year = pd.Timestamp(cfg.backtest_cutoff).year
    years = list(range(first_year, last_year + 1))
    seeds = replicate_seeds(cfg.seed, paths)
    out: dict[str, Any] = {
        "years": years,
        "series": list(ROLLING_SERIES),
        "paths": paths,
        "specs": {},
    }
    for spec, threshold in SPECS.items():
        per_year: dict[str, Any] = {}
        all80: list[bool] = []
        all95: list[bool] = []
        ape: list[float] = []
        for year in years:
            y80: list[bool] = []
            y_ape: list[float] = []
            for name in ROLLING_SERIES:
                s = observed[name]
                fit = fit_series(
                    name, s, cfg.series[name].start, f"{year - 1}-12", 12, threshold=threshold
                )
                sims = simulate_paths(fit, seeds, 12)
                o = s.reindex([f"{year}-{m:02d}" for m in range(1, 13)]).to_numpy(dtype=float)
                lo80, hi80 = np.percentile(sims, [10, 90], axis=0)
                lo95, hi95 = np.percentile(sims, [2.5, 97.5], axis=0)
                med = np.median(sims, axis=0)
                y80 += ((o >= lo80) & (o <= hi80)).tolist()
                all95 += ((o >= lo95) & (o <= hi95)).tolist()
                y_ape += (np.abs(med - o) / o).tolist()
            per_year[str(year)] = {
                "coverage_80": float(np.mean(y80)),
                "mape": float(100 * np.mean(y_ape)),
            }
            all80 += y80
            ape += y_ape
        out["specs"][spec] = {
            "n": len(all80),
            "coverage_80": float(np.mean(all80)),
            "coverage_95": float(np.mean(all95)),
            "mape": float(100 * np.mean(ape)),
            "by_year": per_year,
        }
    out["rule"] = (
        "the spec whose pooled 80% coverage is nearer 80% is used; within 5 points of each"
        " other, the one with the lower MAPE"
    )
    out["chosen"] = choose_spec(out["specs"])
    return out


def choose_spec(specs: dict[str, dict[str, Any]]) -> str:
    """The rule of :func:`rolling_origin` (see its ``rule``)."""
    gap = {k: abs(v["coverage_80"] - 0.8) for k, v in specs.items()}
    best = min(gap.values())
    near = [k for k in specs if gap[k] <= best + 0.05]
    return min(near, key=lambda k: float(specs[k]["mape"]))
