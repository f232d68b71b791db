"""The main job: every policy variant × replicates, 2025–2030, summary.json and a comparison.

``run_flagship(pack, out_dir)`` prepares one :class:`~corridor.forecast.model.Context` from the
pack's stored fits (``fitted/``: the calibrated asylum parameters and the flow series fitted
through the cut-off), checks that replaying the fitted history gives the state stored in the
pack for the day after the cut-off (:func:`~corridor.forecast.state.check_fitted_state`; a pack
edited without refitting is refused), runs every variant with the same replicate seeds
(common random numbers) in a pool of worker processes, and writes (atomically):

* ``summary.json`` — ``{policy_id: {year: {metric: {p10, p50, p90}}}}`` for 2025..end;
* ``differences.json`` — each variant minus the status quo, replicate by replicate, over the
  forecast years: ``{policy_id: {metric: {p10, p50, p90, share_lower}}}``; hub variants also
  carry their costs per outcome, cost breakdown and break-even deterrence
  (:mod:`corridor.flagship.hubs`);
* ``replicates.parquet`` — one row per variant, replicate and year with every metric;
* ``variants.json`` — what each variant assumes, its sources, hosts' positions, and for each
  hub it names the host's own capacity, costs and their ranges
  (:func:`~corridor.forecast.hub_process.hub_terms`);
* ``report.html`` — the first two forecast years beside the last published one, the
  comparison, charts of every variant against the status quo (also ``figures/<metric>.png``)
  and the variants explained;

and, given a results store, one run in it (engine ``flagship``) whose extra tables
``flagship_yearly`` (every variant, replicate and year), ``flagship_summary`` (variant, year,
metric, p10/p50/p90) and ``flagship_differences`` (variant, metric, p10/p50/p90, share_lower)
``corridor query`` can read.

Results do not depend on the number of workers: each replicate's randomness is keyed on its
seed only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from corridor.atomic import write_text as atomic_write_text
from corridor.atomic import write_with
from corridor.flagship.hubs import hub_outcomes
from corridor.flagship.summaries import (
    FlagshipRun,
    comparison_table,
    differences,
    differences_frame,
    summarise,
    summary_frame,
)
from corridor.forecast.config import load_flagship
from corridor.forecast.hub_process import hub_terms, variant_hubs
from corridor.forecast.levers import apply_variant
from corridor.forecast.model import Context, to_yearly, with_network
from corridor.forecast.replicate import forecast_context, prepare_forecast
from corridor.forecast.state import check_fitted_state, state_file
from corridor.results.tables import table_meta
from corridor.scenario.loader import load_scenario, resolve_scenario

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["run_flagship"]

Progress = Callable[[int, int], None]


def run_flagship(
    pack: str | Path,
    out_dir: str | Path,
    *,
    replicates: int | None = None,
    workers: int | None = None,
    variants: list[str] | None = None,
    progress: Progress | None = None,
    report: bool = True,
    store: Store | None = None,
    engine: str | None = None,
    scheduler: Any = None,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
) -> FlagshipRun:
    """The main job: every variant × replicate through the one entry
    (:func:`corridor.analysis.ensemble.run_ensemble` → ``run_one``), each replicate stored in
    the results store (``store``; default :meth:`Store.open`), then the summaries, paired
    differences and report made from the stored monthly metrics. ``levers`` (dotted paths)
    apply to every variant from the forecast's start."""
    from corridor.analysis.ensemble import check_budget, run_ensemble
    from corridor.analysis.pool import Pool
    from corridor.results.store import Store

    t0 = time.perf_counter()
    started = datetime.now(UTC)
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    cutoff = cfg.cutoff.isoformat()
    ctx = prepare_forecast(folder)
    ids = variants or [v.id for v in cfg.variants]
    for vid in ids:
        cfg.variant(vid)  # unknown ids: a clear error before any work
    n = replicates or cfg.replicates
    w = workers if workers is not None else min(os.cpu_count() or 1, 8)
    store = store if store is not None else Store.open()
    # a job that cannot fit is refused before any worker starts (nothing to shut down)
    check_budget(str(folder), n, len(ids), w, engine or cfg.engine, store, scheduler)
    # one pool for the replicates and the report's charts: its workers start once
    with Pool(w, scheduler) as pool:
        # the forecasts start from the stored fitted state: checked on the workers, which
        # start (and load the engine the replicates need) meanwhile; a failed check stops the
        # job before any replicate runs
        content_hash = load_scenario(folder).content_hash
        checks = pool.map(_check_state, [(str(folder), content_hash)] * max(1, min(w, n)))
        state_diff = max(checks)
        ens = run_ensemble(
            str(folder),
            n,
            base_seed=cfg.seed if seed is None else seed,
            workers=w,
            scheduler=scheduler,
            policies={vid: dict(levers or {}) for vid in ids},
            engine=engine or cfg.engine,
            store=store,
            progress=progress,
            keep=("metrics",),
            pool=pool,
        )
        frames = []
        metas: dict[str, list[dict[str, Any]]] = {}
        for task in ens.plan.tasks:
            kept = ens.kept.get(task.run_id)  # this call's runs; earlier ones from the store
            table = kept["metrics"] if kept else store.read_arrow(task.run_id, "metrics")
            monthly = table.drop_columns(["run_id"]) if "run_id" in table.column_names else table
            monthly = monthly.replace_schema_metadata(None).to_pandas()
            monthly.index = pd.PeriodIndex(
                pd.to_datetime(monthly.pop("date")), freq="M", name="date"
            )
            frames.append(monthly.assign(variant=task.policy, replicate=task.replicate))
            if task.replicate == 0:  # hubs operating: the same in every replicate of a variant
                meta = table_meta(kept) if kept else store.read_meta(task.run_id)["result"]
                metas.setdefault(task.policy, []).append(meta)
        yearly = to_yearly(pd.concat(frames), keys=["variant", "replicate"]).reset_index()
        first = ctx.cutoff.year + 1
        summary = summarise(yearly, first)
        table = comparison_table(yearly, first, ids)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, allow_nan=False))
        diffs = differences(yearly, first, ids)
        for vid, extra in hub_outcomes(yearly, first, ids).items():  # costs per outcome, break-even
            diffs.setdefault(vid, {}).update(extra)
        atomic_write_text(out / "differences.json", json.dumps(diffs, indent=1, allow_nan=False))
        write_with(
            out / "replicates.parquet", lambda fh: yearly.to_parquet(fh, index=False), binary=True
        )
        seeds = sorted({t.seed for t in ens.plan.tasks})
        info = _variants_info(ctx, ids, metas, seeds, n, time.perf_counter() - t0, w)
        info["fitted_state"] = {"file": str(state_file(ctx).relative_to(ctx.pack)),
                                "max_difference_people": state_diff}  # fmt: skip
        info["ensemble_id"] = ens.ensemble_id
        info["engine"] = ens.plan.engine
        atomic_write_text(out / "variants.json", json.dumps(info, indent=1, default=str))
        seconds = time.perf_counter() - t0
        run = FlagshipRun(out, summary, table, yearly, seconds, n, w, differences=diffs)
        if report:
            from corridor.flagship.report import write_report

            write_report(run, ctx, info, pool)
        run.seconds = time.perf_counter() - t0
        run.ensemble_id = ens.ensemble_id
        run.run_id = store.write_run(
            {
                "flagship_yearly": pa.Table.from_pandas(yearly, preserve_index=False),
                "flagship_summary": pa.Table.from_pandas(summary_frame(summary)),
                "flagship_differences": pa.Table.from_pandas(
                    differences_frame(diffs), preserve_index=False
                ),
            },
            {
                "scenario": ctx.loaded.name,
                "scenario_hash": ctx.loaded.content_hash,
                "policy": ",".join(ids),
                "seed": ens.plan.base_seed,
                "engine": "flagship",
                "params": {
                    "replicates": n,
                    "cutoff": cutoff,
                    "fitted": ctx.fitted_values,
                    "ensemble_id": ens.ensemble_id,
                },
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "wall_seconds": run.seconds,
                "status": "ok",
            },
        )
        return run


def _check_state(folder: str, content_hash: str) -> float:
    """:func:`~corridor.forecast.state.check_fitted_state` of the pack's forecast, run on a
    worker of the job's pool (its context is the one the worker's replicates use)."""
    return check_fitted_state(forecast_context(folder, content_hash))


def _text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _rail_factors(ctx: Context, seeds: list[int]) -> list[float] | None:
    """The 10th, 50th and 90th percentiles over the job's replicates of the railway's factor
    each replicate's network gives (step 0 of the forecast, resolved again here: memoised,
    milliseconds); None when the scenario draws no crossing probabilities."""
    values = [with_network(ctx, seed)[1].get("network.rail_wb_factor") for seed in seeds]
    drawn = [float(v) for v in values if v is not None]
    return [float(q) for q in np.percentile(drawn, [10, 50, 90])] if drawn else None


def _variants_info(
    ctx: Context,
    ids: list[str],
    metas: dict[str, list[dict[str, Any]]],
    seeds: list[int],
    replicates: int,
    seconds: float,
    workers: int,
) -> dict[str, Any]:
    hosts = ctx.loaded.tables.get("hosts")
    positions: dict[str, list[dict[str, str]]] = {}
    if hosts is not None:
        for _, row in hosts.iterrows():
            positions.setdefault(str(row["host"]), []).append({
                "date": str(pd.Timestamp(row["date"]).date()),
                "position": str(row["position"]),
                "condition": _text(row.get("condition")),
                "source": str(row["source"]),
            })  # fmt: skip
    variants = []
    for vid in ids:
        v = ctx.config.variant(vid)
        hubs = (metas.get(vid) or [{}])[0].get("hubs", {})
        with_v = apply_variant(ctx.loaded, v, ctx.cutoff.date() + timedelta(days=1))
        terms = hub_terms(with_v, ctx.config.hub_process, v)
        named = variant_hubs(with_v, v)
        variants.append({
            "id": v.id,
            "label": v.label,
            "kind": v.kind,
            "hypothetical": v.hypothetical,
            "assumes": " ".join(v.assumes.split()),
            "why_no_effect": v.why_no_effect,
            "conditions_met": list(v.conditions_met),
            "sources": v.sources,
            "hubs_operating": {k: h for k, h in hubs.items() if h.get("operating_days", 0) > 0},
            "hub_terms": {k: terms[k] for k in named if k in terms},
        })  # fmt: skip
    return {
        "scenario": ctx.loaded.name,
        "content_hash": ctx.loaded.content_hash,
        "cutoff": str(ctx.cutoff.date()),
        "end": str(ctx.end.date()),
        "replicates": replicates,
        "seed": ctx.config.seed,
        "workers": workers,
        "seconds": round(seconds, 2),
        "fitted": ctx.fitted_values,
        "rail_wb_detection_factor": ctx.rail_wb_factor,
        "rail_wb_detection_factor_drawn": _rail_factors(ctx, seeds),
        "rail_note": ctx.rail_note,
        "series": {k: f.as_dict() | {"mean_forecast": None} for k, f in ctx.fits.items()},
        "host_positions": positions,
        "variants": variants,
    }
