"""The main job: every policy variant × replicates, 2025–2030, summary.json and a comparison.

``run_flagship(pack, out_dir)`` prepares one :class:`~corridor.flagship.model.Context` from the
pack's stored fits (``fitted/``: the calibrated asylum parameters and the flow series fitted
through the cut-off), checks that replaying the fitted history gives the state stored in the
pack for the day after the cut-off (:func:`~corridor.flagship.fit.check_fitted_state`; a pack
edited without refitting is refused), runs every variant with the same replicate seeds
(common random numbers) in a pool of worker processes, and writes (atomically):

* ``summary.json`` — ``{policy_id: {year: {metric: {p10, p50, p90}}}}`` for 2025..end;
* ``differences.json`` — each variant minus the status quo, replicate by replicate, over the
  forecast years: ``{policy_id: {metric: {p10, p50, p90, share_lower}}}``;
* ``replicates.parquet`` — one row per variant, replicate and year with every metric;
* ``variants.json`` — what each variant assumes, its sources, hosts' positions;
* ``report.html`` — the comparison, fan charts and the variants explained (plus PNGs);

and, given a results store, one run in it (engine ``flagship``) whose extra tables
``flagship_yearly`` (every variant, replicate and year), ``flagship_summary`` (variant, year,
metric, p10/p50/p90) and ``flagship_differences`` (variant, metric, p10/p50/p90, share_lower)
``corridor query`` can read.

Results do not depend on the number of workers: each replicate's randomness is keyed on its
seed only.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from corridor.analysis.ensemble import replicate_seeds
from corridor.flagship.config import load_flagship
from corridor.flagship.fit import check_fitted_state, state_file
from corridor.flagship.model import (
    METRICS,
    Context,
    build_context,
    run_replicate,
    to_yearly,
)
from corridor.flagship.series import SeriesFit
from corridor.results.atomic import write_text as atomic_write_text
from corridor.results.atomic import write_with
from corridor.scenario.loader import resolve_scenario

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "TABLE_METRICS",
    "FlagshipRun",
    "differences",
    "load_series_fits",
    "run_flagship",
    "summarise",
]

Progress = Callable[[int, int], None]

# Columns of the printed comparison (totals over the forecast years, or values at the end).
TABLE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("small_boat_arrivals", "sum", "Arrivals (small boats)"),
    ("backlog_end", "last", "Awaiting decision (end)"),
    ("initial_decisions", "sum", "Decisions"),
    ("removals", "sum", "Removals"),
    ("hub_transfers", "sum", "Transfers to hubs"),
    ("in_hub_end", "last", "In hubs (end)"),
    ("limbo_end", "last", "In limbo (end)"),
    ("deaths", "sum", "Deaths at sea"),
    ("cost_gbp", "sum", "Total cost (GBP)"),
)


@dataclass
class FlagshipRun:
    out_dir: Path
    summary: dict[str, Any]
    table: pd.DataFrame  # per variant: p50 (p10-p90) of the comparison metrics
    yearly: pd.DataFrame  # variant, replicate, year, metrics
    seconds: float
    replicates: int
    workers: int
    run_id: str | None = None
    ensemble_id: str | None = None
    differences: dict[str, Any] = field(default_factory=dict)  # against the status quo


def load_series_fits(pack: Path, cutoff: str) -> dict[str, SeriesFit] | None:
    """The flow fits stored in the pack for this cut-off (``fitted/series-<cutoff>.json``)."""
    path = pack / "fitted" / f"series-{cutoff}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: SeriesFit.from_dict(v) for k, v in data["fits"].items()}


def load_route_effects(pack: Path) -> tuple[float, str]:
    path = pack / "fitted" / "route_effects.json"
    if not path.is_file():
        return 1.0, "no route effects stored (factor 1)"
    data = json.loads(path.read_text(encoding="utf-8"))
    return float(data["wb_detection_factor"]), str(data.get("note", ""))


# Worker state: one context per process (sent once through the initializer).
_CTX: Context | None = None


def _init(ctx: Context) -> None:
    """Hold the job's context in this process (a pool worker, or the caller when serial).
    Nothing else is set: environment variables here would leak into the caller's process."""
    global _CTX
    _CTX = ctx


def _task(args: tuple[str, int, int]) -> tuple[str, int, pd.DataFrame, dict[str, Any]]:
    assert _CTX is not None
    vid, r, seed = args
    res = run_replicate(_CTX, _CTX.config.variant(vid), r, seed)
    return vid, r, res.monthly, res.meta


def run_all(
    ctx: Context,
    variants: list[str],
    replicates: int,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[tuple[str, int, pd.DataFrame, dict[str, Any]]]:
    """Every (variant, replicate): ``(variant, replicate, monthly metrics, meta)``, in order.
    Replicate ``r`` has the same seed in every variant (common random numbers)."""
    seeds = replicate_seeds(ctx.config.seed, replicates)
    tasks = [(v, r, seeds[r]) for v in variants for r in range(replicates)]
    out: list[tuple[str, int, pd.DataFrame, dict[str, Any]]] = []
    if workers <= 1:
        _init(ctx)
        for i, t in enumerate(tasks):
            out.append(_task(t))
            if progress:
                progress(i + 1, len(tasks))
        return out
    import multiprocessing as mp

    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("fork"), initializer=_init, initargs=(ctx,)
    ) as pool:
        for i, res in enumerate(pool.map(_task, tasks, chunksize=4)):
            out.append(res)
            if progress:
                progress(i + 1, len(tasks))
    return out


def _q(values: np.ndarray[Any, Any]) -> dict[str, float | None]:
    v = values[~np.isnan(values)]
    if not len(v):
        return {"p10": None, "p50": None, "p90": None}
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def summarise(yearly: pd.DataFrame, first_year: int) -> dict[str, Any]:
    """``{policy_id: {year: {metric: {p10, p50, p90}}}}`` (years from ``first_year``)."""
    out: dict[str, Any] = {}
    for vid, g in yearly[yearly["year"] >= first_year].groupby("variant", sort=False):
        per_year: dict[str, Any] = {}
        for year, gy in g.groupby("year"):
            per_year[str(int(str(year)))] = {m: _q(gy[m].to_numpy(dtype=float)) for m in METRICS}
        out[str(vid)] = per_year
    return out


def _per_replicate(g: pd.DataFrame) -> dict[str, pd.Series]:
    """Each table metric per replicate over the forecast years (sums, or the last year's stock)."""
    out = {}
    for m, how, _label in TABLE_METRICS:
        agg = g.groupby("replicate")[m]
        out[m] = agg.sum() if how == "sum" else agg.last()
    return out


def differences(
    yearly: pd.DataFrame, first_year: int, order: list[str], baseline: str = "status_quo"
) -> dict[str, Any]:
    """Each variant minus the baseline, replicate by replicate (common random numbers: both
    saw the same flows and assumption draws), over the forecast years:
    ``{variant: {metric: {p10, p50, p90, share_lower}}}``; ``share_lower`` is the share of
    replicates in which the variant's value is below the baseline's. Paired differences are far
    narrower than the spread of either variant's levels: they are what a comparison rests on."""
    fut = yearly[yearly["year"] >= first_year]
    if baseline not in set(fut["variant"]):
        return {}
    base = _per_replicate(fut[fut["variant"] == baseline])
    out: dict[str, Any] = {}
    for vid in order:
        if vid == baseline:
            continue
        cur = _per_replicate(fut[fut["variant"] == vid])
        per: dict[str, Any] = {}
        for m, _how, _label in TABLE_METRICS:
            d = (cur[m] - base[m]).dropna().to_numpy(dtype=float)
            per[m] = {**_q(d), "share_lower": float(np.mean(d < 0)) if len(d) else None}
        out[vid] = per
    return out


def comparison_table(yearly: pd.DataFrame, first_year: int, order: list[str]) -> pd.DataFrame:
    """Per variant, over the forecast years: p50 and the 10-90% range of each table metric,
    plus cost per removal (total cost ÷ removals, returns onward from hubs included)."""
    fut = yearly[yearly["year"] >= first_year]
    rows = []
    for vid in order:
        g = fut[fut["variant"] == vid]
        per_rep = {m: v.to_numpy(dtype=float) for m, v in _per_replicate(g).items()}
        removals = per_rep["removals"]
        per_rep["cost_per_removal"] = per_rep["cost_gbp"] / np.where(removals > 0, removals, np.nan)
        row: dict[str, Any] = {"variant": vid}
        for m, v in per_rep.items():
            q = _q(v)
            row[m] = q["p50"]
            row[f"{m}_p10"] = q["p10"]
            row[f"{m}_p90"] = q["p90"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


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
    from corridor.analysis.ensemble import run_ensemble
    from corridor.results.store import Store

    t0 = time.perf_counter()
    started = datetime.now(UTC)
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    cutoff = cfg.cutoff.isoformat()
    fits = load_series_fits(folder, cutoff)
    factor, note = load_route_effects(folder)
    ctx = build_context(folder, fits=fits, rail_wb_factor=factor, rail_note=note)
    state_diff = check_fitted_state(ctx)  # the forecasts start from the stored fitted state
    ids = variants or [v.id for v in cfg.variants]
    for vid in ids:
        cfg.variant(vid)  # unknown ids: a clear error before any work
    n = replicates or cfg.replicates
    w = workers if workers is not None else min(os.cpu_count() or 1, 8)
    store = store if store is not None else Store.open()
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
    )
    frames = []
    metas: dict[str, list[dict[str, Any]]] = {}
    for task in ens.plan.tasks:
        monthly = store.read(task.run_id, "metrics")
        monthly.index = pd.PeriodIndex(pd.to_datetime(monthly.pop("date")), freq="M", name="date")
        frames.append(monthly.assign(variant=task.policy, replicate=task.replicate))
        if task.replicate == 0:  # hubs operating: the same in every replicate of a variant
            metas.setdefault(task.policy, []).append(store.read_meta(task.run_id)["result"])
    yearly = to_yearly(pd.concat(frames), keys=["variant", "replicate"]).reset_index()
    first = ctx.cutoff.year + 1
    summary = summarise(yearly, first)
    table = comparison_table(yearly, first, ids)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, allow_nan=False))
    diffs = differences(yearly, first, ids)
    atomic_write_text(out / "differences.json", json.dumps(diffs, indent=1, allow_nan=False))
    write_with(
        out / "replicates.parquet", lambda fh: yearly.to_parquet(fh, index=False), binary=True
    )
    info = _variants_info(ctx, ids, metas, n, time.perf_counter() - t0, w)
    info["fitted_state"] = {"file": str(state_file(ctx).relative_to(ctx.pack)),
                            "max_difference_people": state_diff}  # fmt: skip
    info["ensemble_id"] = ens.ensemble_id
    info["engine"] = ens.plan.engine
    atomic_write_text(out / "variants.json", json.dumps(info, indent=1, default=str))
    seconds = time.perf_counter() - t0
    run = FlagshipRun(out, summary, table, yearly, seconds, n, w, differences=diffs)
    if report:
        from corridor.flagship.report import write_report

        write_report(run, ctx, info)
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


def differences_frame(diffs: dict[str, Any]) -> pd.DataFrame:
    """differences.json as a long table: variant, metric, p10, p50, p90, share_lower."""
    rows = [{"variant": v, "metric": m, **q} for v, per in diffs.items() for m, q in per.items()]
    return pd.DataFrame(rows, columns=["variant", "metric", "p10", "p50", "p90", "share_lower"])


def summary_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """summary.json as a long table: variant, year, metric, p10, p50, p90."""
    rows = [
        {"variant": vid, "year": int(year), "metric": m, **q}
        for vid, years in summary.items()
        for year, metrics in years.items()
        for m, q in metrics.items()
    ]
    return pd.DataFrame(rows)


def _variants_info(
    ctx: Context,
    ids: list[str],
    metas: dict[str, list[dict[str, Any]]],
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
                "source": str(row["source"]),
            })  # fmt: skip
    variants = []
    for vid in ids:
        v = ctx.config.variant(vid)
        hubs = (metas.get(vid) or [{}])[0].get("hubs", {})
        variants.append({
            "id": v.id,
            "label": v.label,
            "kind": v.kind,
            "hypothetical": v.hypothetical,
            "assumes": " ".join(v.assumes.split()),
            "why_no_effect": v.why_no_effect,
            "sources": v.sources,
            "hubs_operating": {k: h for k, h in hubs.items() if h.get("operating_days", 0) > 0},
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
        "rail_note": ctx.rail_note,
        "series": {k: f.as_dict() | {"mean_forecast": None} for k, f in ctx.fits.items()},
        "host_positions": positions,
        "variants": variants,
    }


def fmt_number(x: float | None, *, compact: bool = False) -> str:
    """``1.23bn``, ``4.5m``, ``12,345`` (``compact``: ``12.3k`` too)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    steps = ((1e9, "bn"), (1e6, "m"), (1e3, "k")) if compact else ((1e9, "bn"), (1e6, "m"))
    for div, suffix in steps:
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}" if compact else f"{x / div:.{3 - len(suffix)}f}{suffix}"
    return f"{x:,.0f}"
