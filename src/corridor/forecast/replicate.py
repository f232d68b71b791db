"""One replicate of one policy of a forecast scenario, as the tables the results store keeps.

This is the forecast path of the one entry, :func:`corridor.analysis.ensemble.run_one`: every
command that runs a scenario with a forecast (``corridor run``, ``corridor ensemble``, the
dashboard's jobs) reaches :func:`replicate_tables` through it, on whatever pool runs the
replicates, so the same scenario, policy, seed and engine give the same tables by any command.

Reads: a scenario folder with a forecast (``forecast:`` in ``scenario.yaml`` and ``fitted/``), a
policy (a variant id, or any other name: the status quo), levers (dotted paths set from the
forecast's start), the replicate's seed and the engine. Keys beside the levers move the
forecast itself (:data:`ORIGIN_KEYS`): ``forecast.cutoff`` (data used through this day: a
back-test), ``forecast.end``, ``forecast.refit`` (true: the flows and route preferences are
fitted through the cut-off now, never read from ``fitted/``) and ``forecast.fitted.<path>``
(calibrated values that replace the pack's stored calibration: a back-test origin's own).

Produces (one row per month and key; ``date`` is the month's first day; the fitted past from
2018 and the forecast after the cut-off):

=========== ==================================================================================
``stocks``  date, nationality, every ``n_<stage>`` on the month's last simulated day
``flows``   date, nationality, every ``new_<flow>`` summed over the month, plus the Channel's
            ``new_intercepted`` (attempts stopped at the French coast: ``p/(1 − p)`` per
            person who crossed, retries included) and ``new_deaths_at_sea``; small-boat
            nationalities carry them in proportion to their arrivals
``costs``   date, item, gbp
``routes``  date, route, ``new_detected`` (Frontex detections on the three EU routes; attempts
            at the Channel), ``new_crossed`` (small-boat arrivals, Channel only),
            ``new_reentered`` (hub leavers back on the Western Balkans route),
            ``new_via_montenegro`` / ``new_via_serbia`` (people on the Western Balkans routes
            through each: the route network's shares without or with Montenegro's railway)
``metrics`` date and :data:`~corridor.forecast.model.METRICS` plus ``grants`` (the main job's
            monthly figures, from which ``summary.json`` is made)
=========== ==================================================================================

Invariants: the tables depend only on (scenario content, policy, levers, seed, engine): not on
the worker, the pool or the order of tasks. Each month's ``new_intercepted`` of the Channel in
``routes`` equals the sum over nationalities in ``flows``.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from corridor.errors import InputError
from corridor.forecast.config import Variant, has_forecast
from corridor.forecast.deaths import channel_risk, deaths
from corridor.forecast.flows import intercepted, prevention_on
from corridor.forecast.model import METRICS, Context, ReplicateResult, run_replicate

__all__ = [
    "forecast_context",
    "has_forecast",
    "prepare_forecast",
    "replicate_tables",
    "with_flow_levers",
]

ROUTES = ("western_balkans", "eastern_mediterranean", "central_mediterranean", "channel")


def prepare_forecast(
    folder: str | Path,
    cutoff: date | None = None,
    end: date | None = None,
    *,
    refit: bool = False,
    calibrated: dict[str, Any] | None = None,
) -> Context:
    """A forecast's context from its pack as stored: the calibrated scenario, the flow fits
    and the railway's route effects read from ``fitted/`` (what every replicate shares).
    ``cutoff``/``end`` move the forecast's origin and horizon (a back-test): the fits stored
    for that cut-off are used, or fitted now when none are stored (always with ``refit``).
    ``calibrated`` replaces the stored calibration."""
    from corridor.forecast.config import load_flagship
    from corridor.forecast.fitted import (
        load_reentry_routes,
        load_route_effects,
        load_route_shares,
        load_series_fits,
    )
    from corridor.forecast.model import build_context

    pack = Path(folder)
    cfg = load_flagship(pack)
    cut = cutoff or cfg.cutoff
    fits = None if refit else load_series_fits(pack, cut.isoformat())
    factor, note = load_route_effects(pack)
    chains = None
    if (pack / "network" / "network.yaml").is_file():  # resolved here, and per replicate
        from corridor.forecast.network import corridor_chains, terms_of

        chains = corridor_chains(pack / "network")
        terms = terms_of(chains.evaluate())
        factor, shares, reentry = terms.rail_wb_factor, terms.route_shares, terms.reentry_routes
    else:  # a pack without a network: what its refit stored, if anything
        shares, reentry = load_route_shares(pack), load_reentry_routes(pack)
    return build_context(  # fits the flows now when none are stored for this cut-off
        pack,
        cutoff=cutoff,
        end=end,
        fits=fits,
        rail_wb_factor=factor,
        rail_note=note,
        route_shares=shares,
        reentry_routes=reentry,
        calibrated=calibrated,
        stored_routes=not refit,
        network=chains,
    )


@functools.lru_cache(maxsize=8)
def forecast_context(
    folder: str,
    content_hash: str,
    cutoff: date | None = None,
    end: date | None = None,
    refit: bool = False,
    calibrated: tuple[tuple[str, Any], ...] | None = None,
) -> Context:
    """:func:`prepare_forecast`, once per process (the hash keys the cache on the scenario's
    content, so an edited scenario is prepared anew)."""
    cal = dict(calibrated) if calibrated is not None else None
    return prepare_forecast(folder, cutoff, end, refit=refit, calibrated=cal)


# Settings a run may give beside its levers: the forecast's origin and horizon (a back-test),
# whether it refits the flows, and (prefix) calibrated values of its own.
ORIGIN_KEYS = ("forecast.cutoff", "forecast.end", "forecast.refit")
FITTED_PREFIX = "forecast.fitted."


def replicate_tables(
    folder: str,
    content_hash: str,
    policy: str,
    seed: int,
    engine: str,
    levers: dict[str, Any] | None = None,
    replicate: int = 0,
) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """Run one replicate and return its tables and meta (see the module docstring)."""
    levers = dict(levers or {})
    origin = [levers.pop(k, None) for k in ORIGIN_KEYS[:2]]
    cutoff, end = (None if v is None else date.fromisoformat(str(v)) for v in origin)
    refit = str(levers.pop("forecast.refit", False)).lower() in ("1", "true", "yes")
    own_keys = sorted(k for k in levers if k.startswith(FITTED_PREFIX))
    own = {k[len(FITTED_PREFIX) :]: levers.pop(k) for k in own_keys}
    ctx = forecast_context(
        folder, content_hash, cutoff, end, refit, tuple(own.items()) if own else None
    )
    ids = {v.id for v in ctx.config.variants}
    variant = with_flow_levers(
        ctx.config.variant(policy if policy in ids else "status_quo"), levers
    )
    res = run_replicate(
        ctx, variant, replicate, seed, engine=engine, levers=levers or None, keep_asylum=True
    )
    meta = {**res.meta, "scenario": ctx.loaded.name, "content_hash": content_hash}
    return _tables(ctx, res), meta


def with_flow_levers(variant: Variant, levers: dict[str, Any]) -> Variant:
    """``variant`` with the flow levers given as ``variant.<field>`` paths (taken out of
    ``levers``): e.g. ``variant.prevention_add=0.15`` and ``variant.prevention_from=2026-01-01``,
    ``variant.montenegro_rail=true``; ``corridor levers`` lists them."""
    fields = {k.split(".", 1)[1]: levers.pop(k) for k in list(levers) if k.startswith("variant.")}
    if not fields:
        return variant
    try:
        return Variant.model_validate({**variant.model_dump(), **fields})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = "variant." + ".".join(str(x) for x in err["loc"])
        raise InputError(f"lever {where}: {err['msg']}", field=where) from exc


def _tables(ctx: Context, res: ReplicateResult) -> dict[str, pa.Table]:
    assert res.asylum is not None
    asylum = res.asylum
    # the replicate's asylum scenario asks for monthly tables (forecast.handoff.scenario_for)
    assert asylum.meta.get("resolution") == "month"
    flows = asylum.flows.copy()
    prevention = prevention_on(ctx, res.paths, flows["date"])
    boats = ~flows["nationality"].isin(set(ctx.config.boat_nationalities_exclude)).to_numpy()
    crossed = np.where(boats, flows["new_arrivals"].to_numpy(dtype=float), 0.0)
    flows["new_intercepted"] = intercepted(crossed, prevention)
    risk = channel_risk(
        ctx.pack, ctx.cutoff, ctx.config.channel.death_risk, flows["date"], res.seed
    )
    flows["new_deaths_at_sea"] = deaths(crossed, prevention, risk)
    metrics = res.monthly.copy()
    period = pd.PeriodIndex(metrics.index)
    metrics.insert(0, "date", period.to_timestamp().to_numpy(dtype="datetime64[D]"))
    flow_table = _sorted(_arrow(flows), "nationality")
    return {
        "stocks": _sorted(_arrow(asylum.stocks), "nationality"),
        "flows": flow_table,
        "costs": _sorted(_arrow(asylum.costs), "item"),
        "routes": _arrow(_routes(ctx, res, flow_table, metrics)),
        "metrics": _arrow(metrics[["date", *METRICS, "grants"]].reset_index(drop=True)),
    }


def _sorted(table: pa.Table, key: str) -> pa.Table:
    """``table`` in the order of (date, ``key``), ties kept in their order (a stable sort, as
    pandas' ``sort_values(kind="stable")``; strings by their UTF-8 bytes, which is code-point
    order), done in Arrow."""
    order = pc.sort_indices(table, sort_keys=[("date", "ascending"), (key, "ascending")])
    return table.take(order)


def _via(ctx: Context, res: ReplicateResult, metrics: pd.DataFrame) -> dict[str, Any]:
    """People on the Western Balkans routes each month passing through Montenegro and through
    Serbia: detections ÷ detections per person × the share through each, by the route
    network's run without or with the railway (as the month has it)."""
    n = len(metrics)
    zeros = np.zeros(n)
    shares = res.meta.get("route_shares") or ctx.route_shares  # the replicate's own network
    if not shares:
        return {"montenegro": zeros, "serbia": zeros}
    rail = np.zeros(n)
    rail_on = res.paths.get("rail_on", np.zeros(0))
    if len(rail_on):
        rail[n - len(rail_on) :] = rail_on
    people = {
        run: metrics["wb_detections"].to_numpy(dtype=float) / s["wb_detections_per_person"]
        for run, s in shares.items()
    }

    def through(key: str) -> Any:
        off = people["without"] * shares["without"][key]
        on = people["with_rail"] * shares["with_rail"][key]
        return np.where(rail > 0, on, off)

    return {"montenegro": through("share_via_montenegro"), "serbia": through("share_via_serbia")}


def _routes(
    ctx: Context, res: ReplicateResult, flows: pa.Table, metrics: pd.DataFrame
) -> pd.DataFrame:
    date = metrics["date"].to_numpy()
    n = len(date)
    reentered = pd.Series(res.paths.get("hub_reentered", np.zeros(0)), dtype=float)
    re_by_month = np.zeros(n)
    if len(reentered):
        re_by_month[n - len(reentered) :] = reentered.to_numpy()
    # summed in the stored order (date, nationality): the same bits whatever the engine's order
    by_month = (
        pd.DataFrame(
            {
                "date": flows["date"].to_numpy().astype("datetime64[ns]"),
                "new_intercepted": flows["new_intercepted"].to_numpy(),
            }
        )
        .groupby("date")[["new_intercepted"]]
        .sum()
    )
    intercepted = by_month["new_intercepted"].reindex(date).fillna(0.0).to_numpy()
    crossed = metrics["small_boat_arrivals"].to_numpy(dtype=float)
    zeros = np.zeros(n)
    via = _via(ctx, res, metrics)
    parts = [
        ("western_balkans", metrics["wb_detections"], zeros, re_by_month, via),
        ("eastern_mediterranean", metrics["em_detections"], zeros, zeros, None),
        ("central_mediterranean", metrics["cm_detections"], zeros, zeros, None),
        ("channel", crossed + intercepted, crossed, zeros, None),
    ]
    columns: dict[str, list[Any]] = {
        k: []
        for k in (
            "date",
            "route",
            "new_detected",
            "new_crossed",
            "new_reentered",
            "new_via_montenegro",
            "new_via_serbia",
        )
    }
    for route, detected, cross, back, through in parts:
        columns["date"].append(date)
        columns["route"].append(np.full(n, route, dtype=object))
        columns["new_detected"].append(np.asarray(detected, dtype=float))
        columns["new_crossed"].append(np.asarray(cross, dtype=float))
        columns["new_reentered"].append(np.asarray(back, dtype=float))
        columns["new_via_montenegro"].append(zeros if through is None else through["montenegro"])
        columns["new_via_serbia"].append(zeros if through is None else through["serbia"])
    return pd.DataFrame({k: np.concatenate(v) for k, v in columns.items()})


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """An Arrow table straight from the frame's NumPy columns (dates as date32, names as
    strings): no per-row Python objects, this runs five times a replicate."""
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if name == "date":
            columns[name] = pa.array(values.astype("datetime64[D]"), type=pa.date32())
        elif values.dtype == object:
            columns[name] = pa.array(values, type=pa.string())
        else:
            columns[name] = pa.array(values)
    return pa.table(columns)
