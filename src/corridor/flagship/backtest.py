"""The back-tests: forecasts of the past from data that stopped before it, scored.

``backtest(pack, out_dir)`` writes ``backtest.json`` (and ``backtest_<series>.png``) into
``out_dir`` atomically, with:

1. ``rolling``: the rolling-origin back-test (:mod:`corridor.flagship.rolling`): at each origin
   (end-2020, -2021, -2022, -2023) the asylum calibration, the flow series and the route
   preferences are refitted on data through the origin only and every dated input is cut
   there; the status quo's ``replicates`` forecast the next 1, 2 and 3 calendar years (through
   2024), scored per metric and horizon against the no-change and seasonal-naive forecasts,
   with 80% and 95% band coverage, pooled coverage and the aims computed;
2. ``series`` / ``pooled``: the last origin's replicates month by month over 2024 —
   small-boat arrivals and Western Balkans detections (monthly) and people awaiting an initial
   decision (quarter ends) — MAPE of the median beside the seasonal-naive forecast (the same
   month a year earlier) and band coverage;
3. ``flow_model_selection``: the stored choice of the flow series' form and its scores
   (``fitted/flow_model_selection.json``, :mod:`corridor.flagship.flow_selection`);
4. ``cohorts``: outcomes by year of claim 2018-2023 on 30 June 2024 from a run whose inputs
   stop then, against the Home Office's outcome analysis (:mod:`corridor.flagship.cohorts`);
5. ``cohort_2023q1``: the agent engine (one agent per case, ``agents_per_person`` sampling)
   runs the back-test's inputs (cut at end-2023, the pack's stored fits) to 30 Sep 2025; of
   the people who claimed in January-March 2023, the shares granted, removed or departed,
   withdrawn, absconded and unresolved on that day.

Reads only the scenario folder (its observed/ and fitted/); nothing after 2024.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.ensemble import replicate_seeds
from corridor.atomic import write_text
from corridor.flagship.cohorts import agent_scenario, cohort_outcomes
from corridor.flagship.rolling import TRIALS, rolling_backtest
from corridor.forecast.config import load_flagship
from corridor.forecast.replicate import prepare_forecast
from corridor.scenario.loader import resolve_scenario

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["backtest"]

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
    trials: int = TRIALS,
) -> dict[str, Any]:
    """Run the back-tests of the module docstring and write ``backtest.json``.

    The replicates are the status quo's with the forecast's origin moved to each origin, run
    through the one entry on the one pool (:func:`corridor.analysis.ensemble.run_ensemble`:
    local workers or ``scheduler``) and stored in ``store`` (default: a temporary store,
    removed afterwards). ``trials``: the asylum calibration's trials at each origin."""
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    rolling, calibrated, last = rolling_backtest(
        folder,
        replicates=replicates,
        workers=workers,
        store=store,
        scheduler=scheduler,
        trials=trials,
    )
    cut = pd.Timestamp(cfg.backtest_cutoff)
    year = cut.year + 1
    out: dict[str, Any] = {
        "scenario": folder.name,
        "fit_through": str(cut.date()),
        "forecast_year": year,
        "replicates": replicates,
        "seed": cfg.seed,
        "rolling": rolling,
    }
    out.update(_monthly(folder, last, year))
    out["flow_model_selection"] = _stored_selection(folder)
    first_seed = replicate_seeds(cfg.seed, 1)[0]
    last_origin = max(calibrated)
    out["cohorts"] = cohort_outcomes(
        folder, calibrated[last_origin], first_seed, agents_per_person=agents_per_person
    )
    ctx = prepare_forecast(folder, cut.date(), pd.Timestamp("2025-12-31").date())
    out["cohort_2023q1"] = cohort_2023q1(ctx, first_seed, agents_per_person)
    dest = Path(out_dir)
    dest.mkdir(parents=True, exist_ok=True)
    write_text(dest / "backtest.json", json.dumps(out, indent=1))
    _plots(out, dest)
    return out


def _stored_selection(folder: Path) -> dict[str, Any]:
    """The choice of the flow series' form and its scores, as stored in the pack."""
    path = folder / "fitted" / "flow_model_selection.json"
    if not path.is_file():
        return {"chosen": None, "note": "no flow_model_selection.json stored: random walk"}
    sel = json.loads(path.read_text(encoding="utf-8"))
    keys = ("n", "crps", "coverage80", "coverage95", "mape", "half_life_months")
    return {
        "chosen": sel.get("chosen"),
        "rule": sel.get("rule"),
        "origins": sel.get("origins"),
        "forms": {k: {x: v.get(x) for x in keys} for k, v in sel.get("forms", {}).items()},
    }


def _monthly(folder: Path, last: dict[int, dict[str, pd.DataFrame]], year: int) -> dict[str, Any]:
    """The last origin's replicates scored month by month over ``year``."""
    from corridor.forecast.context import observed_monthly

    cfg = load_flagship(folder)
    obs = _observed(folder, observed_monthly(folder, cfg))
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    quarter_ends = months[months.month % 3 == 0]
    sims: dict[str, list[np.ndarray[Any, Any]]] = {s: [] for s in SERIES}
    for r in sorted(last):
        m = last[r]["metrics"].copy()
        m.index = pd.PeriodIndex(pd.to_datetime(m.pop("date")), freq="M")
        for name in SERIES:
            idx = quarter_ends if name == "backlog_end" else months
            sims[name].append(m.loc[idx, name].to_numpy())
    out: dict[str, Any] = {"series": {}}
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
        " the year, so the pool holds 12 + 12 + 4 observations",
    }
    return out


def cohort_2023q1(ctx: Any, seed: int, agents_per_person: float) -> dict[str, Any]:
    """Outcomes on 30 Sep 2025 of the people who claimed asylum in January–March 2023
    (agent engine; status quo; the forecast arrivals of replicate 0 after the cut-off)."""
    from corridor.asylum import queue_kernels as qk
    from corridor.asylum.run import run_agents

    loaded = agent_scenario(ctx, seed, COHORT_DAY, agents_per_person)
    sc = loaded.scenario
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
