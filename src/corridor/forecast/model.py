"""One replicate of the flagship: flows → Channel → UK asylum system, for one policy variant.

The step order (each replicate, each variant)::

    1. flows     draw the latent monthly flows after the cut-off from the fitted structural
                 time-series models (corridor.forecast.series): Western Balkans, Eastern and
                 Central Mediterranean detections, small-boat arrivals, non-boat claims;
                 before the cut-off the observed months are used as they are
    2. levers    apply the variant's levers to the drawn flows: EU return hubs (EU-bound flows
                 fall, a share of the deterred turn to the Channel), Montenegro's railway (its
                 effect on Western Balkans detections, from the agent-based route network),
                 French prevention (small-boat arrivals × F(p1)/F(p0), retries included)
    3. arrivals  small-boat arrivals split by nationality (mean of the last quarters' mix) and
                 non-boat claims, written into the asylum scenario's arrivals table
    4. asylum    the asylum engine (aggregate by default, or agents) runs 2018 → end with the
                 calibrated parameters, the variant's overrides (hubs, caseworkers, transfers),
                 its levers (dated from the forecast's start: history is never rewritten) and
                 deterrence from ``deterrence_from`` with this replicate's elasticity
    5. re-entry  people who leave a hub come back into the flows: hub leavers in a Western
                 Balkans host re-enter the Western Balkans route a month later (each is detected
                 again) and reach the Channel at the rate fitted for that route, the rule every
                 other person on the route follows (:func:`reentry_share`); steps 3-4 run again
                 with them until the leavers no longer change (at most :data:`MAX_PASSES` runs)
    6. record    monthly and yearly metrics (:data:`METRICS`)

Randomness: every draw comes from a named stream of the replicate's seed (``flows/<series>``,
``assumptions``), so replicate ``r`` of two variants shares its flows (common random numbers)
and a replicate's numbers do not depend on which worker runs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import apply_overrides, run_scenario
from corridor.engine.rng import generator
from corridor.forecast.config import FlagshipConfig, Variant, load_flagship
from corridor.forecast.levers import apply_levers, apply_variant
from corridor.forecast.series import SeriesFit, fit_series, simulate_paths
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario
from corridor.scenario.prior_values import inverse_cdf

__all__ = [
    "METRICS",
    "Context",
    "ReplicateResult",
    "build_context",
    "observed_monthly",
    "prepare_replicate",
    "run_replicate",
]

# Metrics of summary.json, per calendar year (stocks at 31 December, flows summed).
METRICS: tuple[str, ...] = (
    "small_boat_arrivals",
    "wb_detections",
    "em_detections",
    "cm_detections",
    "asylum_claims",
    "initial_decisions",
    "initial_grant_rate",
    "backlog_end",
    "removals",
    "hub_transfers",
    "in_hub_end",
    "hub_leavers",
    "hub_reentries_uk",
    "limbo_end",
    "deaths",
    "cost_gbp",
)
FLOW_SERIES = ("wb_detections", "em_detections", "cm_detections")


@dataclass(frozen=True)
class Context:
    """Everything a replicate needs, prepared once per job (picklable)."""

    pack: Path
    config: FlagshipConfig
    loaded: LoadedScenario  # calibrated, arrivals table observed through the cut-off
    cutoff: pd.Timestamp
    end: pd.Timestamp
    fits: dict[str, SeriesFit]
    observed: dict[str, pd.Series]  # monthly, index 'YYYY-MM'
    mix: dict[str, float]  # future small-boat nationality shares
    rail_wb_factor: float = 1.0
    rail_note: str = ""
    # per person on the Western Balkans routes, without and with the railway (route network)
    route_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    fitted_values: dict[str, Any] = field(default_factory=dict)
    # small-boat arrivals per detection on each Frontex route (corridor.flagship.routes_fit)
    route_preferences: dict[str, float] = field(default_factory=dict)
    # σ of log decision productivity after the cut-off (productivity_sigma)
    productivity_sigma: float = 0.0

    @property
    def future_months(self) -> pd.PeriodIndex:
        return pd.period_range(
            (self.cutoff + pd.Timedelta(days=1)).strftime("%Y-%m"),
            self.end.strftime("%Y-%m"),
            freq="M",
        )


@dataclass
class ReplicateResult:
    variant: str
    replicate: int
    seed: int
    monthly: pd.DataFrame  # index month (Period), columns METRICS (stocks at month end)
    meta: dict[str, Any]
    asylum: ScenarioResult | None = None
    paths: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)  # monthly, future

    def yearly(self) -> pd.DataFrame:
        return to_yearly(self.monthly)


_STOCKS = ["backlog_end", "limbo_end", "in_hub_end"]


def to_yearly(monthly: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """Calendar years: flows summed, stocks at year end, the grant rate recomputed. With
    ``keys`` (columns of ``monthly``, e.g. variant and replicate), one group-by for many
    replicates at once, indexed by the keys and ``year``."""
    keys = keys or []
    by = [monthly[k] for k in keys] + [
        pd.Series(pd.PeriodIndex(monthly.index).year, index=monthly.index, name="year")
    ]
    g = monthly.drop(columns=keys).groupby(by, sort=False)
    flows = g[[c for c in monthly.columns if c not in {*keys, *_STOCKS, "initial_grant_rate"}]]
    out = flows.sum()
    grants = out.pop("grants")
    out = out.join(g[_STOCKS].last())
    dec = out["initial_decisions"]
    out["initial_grant_rate"] = 100.0 * grants / dec.where(dec > 0)
    result: pd.DataFrame = out[list(METRICS)]
    return result


# ---------------------------------------------------------------------------------------------
# Preparation
# ---------------------------------------------------------------------------------------------
def observed_monthly(pack: Path, config: FlagshipConfig) -> dict[str, pd.Series]:
    """Each flow series as observed, monthly (index ``YYYY-MM``)."""
    out: dict[str, pd.Series] = {}
    for name, spec in config.series.items():
        df = pd.read_csv(pack / spec.file, dtype={"date": str})
        s = df[df["metric"] == name].set_index("date")["value"].astype(float)
        if s.empty:
            from corridor.errors import InputError

            raise InputError(f"no rows for metric {name!r}", file=pack / spec.file)
        out[name] = s.sort_index()
    return out


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def fit_all(
    observed: dict[str, pd.Series], config: FlagshipConfig, cutoff: pd.Timestamp, end: pd.Timestamp
) -> dict[str, SeriesFit]:
    horizon = max(_months_between(cutoff, end), 1)
    last = cutoff.strftime("%Y-%m")
    return {
        name: fit_series(name, observed[name], config.series[name].start, last, horizon)
        for name in config.series
    }


def nationality_mix(
    loaded: LoadedScenario, cutoff: pd.Timestamp, quarters: int, exclude: list[str]
) -> dict[str, float]:
    """Future small-boat mix: shares of the arrivals table over the last ``quarters`` quarters
    up to the cut-off."""
    t = loaded.tables["arrivals"]
    t = t[~t["nationality"].isin(exclude)]
    start = cutoff - pd.DateOffset(months=3 * quarters) + pd.Timedelta(days=1)
    win = t[(t["month"] >= start) & (t["month"] <= cutoff)]
    by = win.groupby("nationality")["people"].sum()
    total = float(by.sum())
    if total <= 0:
        raise ValueError("no small-boat arrivals in the window before the cut-off")
    return {str(k): float(v) / total for k, v in by.items() if v > 0}


def load_fitted(pack: Path, config: FlagshipConfig, cutoff: pd.Timestamp) -> dict[str, Any]:
    """Calibrated values for a cut-off: through 2023 for the back-test, through the main
    cut-off (2024) otherwise (none stored: the scenario's own values)."""
    name = (
        config.fitted_backtest if cutoff <= pd.Timestamp(config.backtest_cutoff) else config.fitted
    )
    path = pack / name
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = data.get("overrides") or {}
    return {str(k): v for k, v in values.items()}


def build_context(
    pack: str | Path,
    *,
    cutoff: date | None = None,
    end: date | None = None,
    fits: dict[str, SeriesFit] | None = None,
    rail_wb_factor: float = 1.0,
    rail_note: str = "",
    route_shares: dict[str, dict[str, float]] | None = None,
) -> Context:
    """Prepare a job: load the pack, apply the calibrated values, fit (or reuse) the flows."""
    loaded = load_scenario(str(pack))
    folder = loaded.folder
    config = load_flagship(folder)
    cut = pd.Timestamp(cutoff or config.cutoff)
    stop = pd.Timestamp(end or config.end)
    fitted = load_fitted(folder, config, cut)
    if fitted:
        loaded = apply_overrides(loaded, fitted)
    observed = observed_monthly(folder, config)
    fits = fits or fit_all(observed, config, cut, stop)
    mix = nationality_mix(
        loaded, cut, config.nationality_mix_quarters, config.boat_nationalities_exclude
    )
    # the arrivals table keeps observed months only through the cut-off
    loaded = truncate_inputs(loaded, cut)
    arr = loaded.tables["arrivals"]
    tables = dict(loaded.tables)
    tables["arrivals"] = arr[arr["month"] <= cut].reset_index(drop=True)
    loaded = dataclasses.replace(loaded, tables=tables)
    sc = loaded.scenario.model_copy(
        update={"period": loaded.scenario.period.model_copy(update={"end": stop.date()})}
    )
    loaded = dataclasses.replace(loaded, scenario=sc)
    return Context(
        pack=folder,
        config=config,
        loaded=loaded,
        cutoff=cut,
        end=stop,
        fits=fits,
        observed=observed,
        mix=mix,
        rail_wb_factor=rail_wb_factor,
        rail_note=rail_note,
        route_shares=route_shares or {},
        fitted_values=fitted,
        route_preferences=_route_preferences(folder, observed, cut),
        productivity_sigma=productivity_sigma(loaded, cut),
    )


def productivity_sigma(loaded: LoadedScenario, cutoff: pd.Timestamp) -> float:
    """How much the Home Office's decisions per caseworker move from one year to the next:
    the standard deviation of the year-on-year changes of the log annual mean of the
    productivity schedule (quarterly values derived from published decisions), over the whole
    years up to the cut-off. Each replicate scales the productivity it carries on after the
    cut-off by ``exp(σ·z)``, ``z ~ N(0, 1)`` (stream ``productivity``): the decision capacity
    the status quo keeps is as uncertain as it has been."""
    sched = loaded.scenario.asylum.productivity
    if not isinstance(sched, list):
        return 0.0
    by_year: dict[int, list[float]] = {}
    for step in sched:
        if step.date <= cutoff.date():
            by_year.setdefault(step.date.year, []).append(float(step.value))
    years = sorted(y for y in by_year if y < cutoff.year or cutoff.month == 12)
    means = np.log([np.mean(by_year[y]) for y in years])
    if len(means) < 3:
        return 0.0
    return float(np.std(np.diff(means), ddof=1))


def _route_preferences(
    folder: Path, observed: dict[str, pd.Series], cut: pd.Timestamp
) -> dict[str, float]:
    """The route preferences stored for this cut-off, or fitted now (same fit, no intervals)."""
    from corridor.forecast.channel import fit_channel
    from corridor.forecast.fitted import load_route_preferences

    stored = load_route_preferences(folder, str(cut.date()))
    if stored is not None:
        return stored
    return fit_channel(observed, cut.strftime("%Y-%m"), intervals=False).per_detection


# ---------------------------------------------------------------------------------------------
# One replicate
# ---------------------------------------------------------------------------------------------
def _schedule(values: list[tuple[date, float]], months: pd.PeriodIndex) -> np.ndarray[Any, Any]:
    out = np.full(len(months), values[0][1], dtype=np.float64)
    for d, v in sorted(values):
        out[months.to_timestamp() >= pd.Timestamp(d)] = v
    return out


def _crossing_share(p: np.ndarray[Any, Any], give_up: float) -> np.ndarray[Any, Any]:
    """F(p): share of new arrivals at the coast who eventually cross (retries included)."""
    return (1.0 - p) / np.maximum((1.0 - p) + p * give_up, 1e-12)


def assumption_draws(ctx: Context, seed: int) -> dict[str, float]:
    """This replicate's draws of the assumption priors (stream ``assumptions``)."""
    cfg = ctx.config
    g = generator(int(seed), "assumptions")
    u = g.random(3)
    return {
        "channel.give_up": float(inverse_cdf(cfg.channel.give_up, u[0:1])[0]),
        "deterrence.elasticity": float(inverse_cdf(cfg.deterrence_elasticity, u[1:2])[0]),
        "eu.displacement": float(inverse_cdf(cfg.eu_return_hubs.displacement, u[2:3])[0]),
    }


MAX_PASSES = 3  # asylum runs per replicate at most while hub leavers re-enter the flows
WB_HOSTS: tuple[str, ...] = (
    "Albania",
    "Bosnia and Herzegovina",
    "Kosovo",
    "Montenegro",
    "North Macedonia",
    "Serbia",
)


def run_replicate(
    ctx: Context,
    variant: Variant,
    replicate: int,
    seed: int,
    *,
    engine: str = "aggregate",
    levers: dict[str, Any] | None = None,
    keep_asylum: bool = False,
) -> ReplicateResult:
    """Steps 1-6 of one replicate of one variant (see the module docstring). ``levers`` are
    dotted paths set from the forecast's start (:func:`apply_levers`) on top of the variant."""
    draws, paths = flow_paths(ctx, variant, seed)  # 1-2
    share = reentry_share(ctx, variant)
    months = ctx.future_months
    reentered = np.zeros(len(months))
    passes = 0
    while True:
        passes += 1
        run_paths = with_reentry(ctx, paths, reentered)
        loaded = scenario_for(ctx, variant, run_paths, draws, seed, levers)  # 3
        result = run_scenario(loaded, seed=seed, engine=engine)  # type: ignore[arg-type]  # 4
        leavers = _future_monthly(result.flows, "new_hub_left", months)
        nxt = np.zeros(len(months))
        nxt[1:] = share * leavers[:-1]  # 5. a month from the hub back onto the route
        if share <= 0.0 or passes >= MAX_PASSES or np.max(np.abs(nxt - reentered)) < 0.5:
            break
        reentered = nxt
    monthly = _monthly_metrics(ctx, result, run_paths, months)  # 6
    meta = {
        "variant": variant.id,
        "replicate": replicate,
        "seed": seed,
        "engine": engine,
        "draws": draws,
        "hubs": result.meta.get("hubs", {}),
        "reentry": {"share_in_balkans": share, "passes": passes},
    }
    return ReplicateResult(
        variant.id, replicate, seed, monthly, meta, result if keep_asylum else None, run_paths
    )


def reentry_share(ctx: Context, variant: Variant) -> float:
    """Share of a variant's hub leavers who re-enter the Western Balkans route: the beds of the
    hubs that can operate in the variant whose host is a Western Balkans state, over all such
    beds (0 without hubs; a hub in Rwanda, say, sends nobody back onto the Balkans route)."""
    loaded = apply_variant(ctx.loaded, variant, (ctx.cutoff + pd.Timedelta(days=1)).date())
    beds = {"wb": 0.0, "all": 0.0}
    for hub in loaded.scenario.hubs:
        if not any(step.status == "operating" for step in hub.agreement):
            continue
        beds["all"] += float(hub.beds)
        if hub.host.startswith(WB_HOSTS):
            beds["wb"] += float(hub.beds)
    return beds["wb"] / beds["all"] if beds["all"] > 0 else 0.0


def with_reentry(
    ctx: Context, paths: dict[str, np.ndarray[Any, Any]], reentered: np.ndarray[Any, Any]
) -> dict[str, np.ndarray[Any, Any]]:
    """The flows with ``reentered`` people a month back on the Western Balkans route: each is
    a Western Balkans detection, and a share of them, the route's fitted small-boat arrivals
    per detection, reaches the UK the same month (as for everyone on the route)."""
    a_wb = ctx.route_preferences.get("wb_detections", 0.0)
    out = dict(paths)
    out["hub_reentered"] = reentered
    out["hub_reentries_uk"] = a_wb * reentered
    if reentered.any():
        out["wb_detections"] = paths["wb_detections"] + reentered
        out["small_boat_arrivals"] = paths["small_boat_arrivals"] + a_wb * reentered
    return out


def _future_monthly(frame: pd.DataFrame, column: str, months: pd.PeriodIndex) -> Any:
    """``column`` of a daily table summed over each month of ``months`` (other days dropped)."""
    d = frame["date"].to_numpy(dtype="datetime64[s]").astype("datetime64[M]")
    first = np.datetime64(str(months[0]), "M")
    code = (d - first).astype(np.int64)
    keep = (code >= 0) & (code < len(months))
    values = frame[column].to_numpy(dtype=float)
    return np.bincount(code[keep], weights=values[keep], minlength=len(months))


def prepare_replicate(
    ctx: Context, variant: Variant, seed: int, levers: dict[str, Any] | None = None
) -> tuple[LoadedScenario, dict[str, np.ndarray[Any, Any]], dict[str, float]]:
    """Steps 1-3 of a replicate without re-entry: its flow paths after the cut-off (levers
    applied), its assumption draws, and the asylum scenario they make (any engine can run it)."""
    draws, paths = flow_paths(ctx, variant, seed)
    paths = with_reentry(ctx, paths, np.zeros(len(ctx.future_months)))
    return scenario_for(ctx, variant, paths, draws, seed, levers), paths, draws


def flow_paths(
    ctx: Context, variant: Variant, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray[Any, Any]]]:
    """Steps 1-2: this replicate's assumption draws and its monthly flows after the cut-off,
    with the variant's levers on the routes and the Channel. ``paths["prevention"]`` is the
    share of attempts at the French coast prevented each month (the variant's)."""
    cfg = ctx.config
    months = ctx.future_months
    n = len(months)
    draws = assumption_draws(ctx, seed)
    paths = {name: simulate_paths(fit, [seed], n)[0] for name, fit in ctx.fits.items()}
    ts = months.to_timestamp()

    eu = cfg.eu_return_hubs
    if variant.eu_return_hubs:
        on = ts >= pd.Timestamp(eu.from_date)
        cut = draws["deterrence.elasticity"] * eu.return_rate_add
        # of the people deterred from each route, a share turns to the Channel and reaches
        # the UK at that route's fitted rate (corridor.flagship.routes_fit)
        displaced = sum(
            ctx.route_preferences.get(s, 0.0) * paths[s] * cut * on for s in FLOW_SERIES
        )
        for s in FLOW_SERIES:
            paths[s] = paths[s] * np.where(on, 1.0 - cut, 1.0)
        paths["small_boat_arrivals"] = (
            paths["small_boat_arrivals"] + draws["eu.displacement"] * displaced
        )
    paths["rail_on"] = np.zeros(n)
    if variant.montenegro_rail:
        on = ts >= pd.Timestamp(variant.rail_from or cfg.cutoff)
        paths["rail_on"] = on.astype(float)
        before = paths["wb_detections"]
        paths["wb_detections"] = before * np.where(on, ctx.rail_wb_factor, 1.0)
        # the Channel moves with the Western Balkans at the fitted rate
        a_wb = ctx.route_preferences.get("wb_detections", 0.0)
        paths["small_boat_arrivals"] = np.maximum(
            paths["small_boat_arrivals"] + a_wb * (paths["wb_detections"] - before), 0.0
        )
    prevention = _schedule([(d.date, d.value) for d in cfg.channel.prevention], months)
    paths["prevention"] = prevention
    if variant.prevention_add > 0:
        on = ts >= pd.Timestamp(variant.prevention_from or cfg.cutoff)
        p1 = np.minimum(prevention + np.where(on, variant.prevention_add, 0.0), 0.95)
        g_up = draws["channel.give_up"]
        paths["small_boat_arrivals"] = paths["small_boat_arrivals"] * (
            _crossing_share(p1, g_up) / _crossing_share(prevention, g_up)
        )
        paths["prevention"] = p1
    return draws, paths


def scenario_for(
    ctx: Context,
    variant: Variant,
    paths: dict[str, np.ndarray[Any, Any]],
    draws: dict[str, float],
    seed: int,
    levers: dict[str, Any] | None = None,
) -> LoadedScenario:
    """Step 3: the asylum scenario of a replicate: future arrivals from ``paths``, the
    variant, its levers from the forecast's start, deterrence, future productivity."""
    loaded = _with_future_arrivals(ctx, paths, ctx.future_months)
    start = (ctx.cutoff + pd.Timedelta(days=1)).date()
    loaded = apply_variant(loaded, variant, start)
    if levers:
        loaded = apply_levers(loaded, levers, start)
    loaded = _with_deterrence(loaded, ctx.config.deterrence_from, draws["deterrence.elasticity"])
    factor = float(np.exp(ctx.productivity_sigma * generator(int(seed), "productivity").normal()))
    draws["asylum.productivity_factor"] = factor
    return _scale_future_productivity(loaded, ctx.cutoff, factor)


def _scale_future_productivity(
    loaded: LoadedScenario, cutoff: pd.Timestamp, factor: float
) -> LoadedScenario:
    """Productivity steps dated after the cut-off (the carried-on mean and any variant's
    change) times ``factor``."""
    from corridor.scenario.schema import Scenario

    if factor == 1.0:
        return loaded
    data = loaded.scenario.model_dump(mode="python")
    sched = data["asylum"]["productivity"]
    if not isinstance(sched, list):
        return loaded
    cut = cutoff.date()
    data["asylum"]["productivity"] = [
        {**st, "value": st["value"] * factor} if st["date"] > cut else st for st in sched
    ]
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data))


def truncate_inputs(loaded: LoadedScenario, cutoff: pd.Timestamp) -> LoadedScenario:
    """Keep only inputs published up to ``cutoff``: dated schedules and policies lose their later
    steps (the last value then carries on), except the rates derived quarter by quarter from
    observed data (productivity; withdrawal-rate policies), which after the cut-off are the mean
    of their last four quarterly values (one year); dated tables lose their later rows."""
    from corridor.scenario.schema import Scenario

    data = loaded.scenario.model_dump(mode="python")
    cut = cutoff.date()

    def trim(node: dict[str, Any], key: str, mean_last: int = 0) -> None:
        sched = node.get(key)
        if not isinstance(sched, list):
            return
        kept = [s for s in sched if s["date"] <= cut] or sched[:1]
        if mean_last:
            vals = [float(s["value"]) for s in kept[-mean_last:]]
            nxt = (cutoff + pd.Timedelta(days=1)).date()
            kept = [*kept, {"date": nxt, "value": sum(vals) / len(vals)}]
        node[key] = kept

    trim(data["asylum"], "caseworkers")
    trim(data["asylum"], "productivity", mean_last=4)
    trim(data["asylum"]["appeals"], "judges")
    trim(data["returns"], "removal_capacity")
    trim(data["accommodation"], "hotel")
    data["policies"] = _trim_policies(data.get("policies") or [], cutoff)
    tables = dict(loaded.tables)
    for name, col in (("grant_rates", "from_date"), ("costs", "from_date")):
        t = tables.get(name)
        if t is not None and col in t.columns and len(t):
            tables[name] = t[~(t[col] > cutoff)].reset_index(drop=True)
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data), tables=tables)


# Policy paths whose dated values are derived quarter by quarter from observed data: after a
# cut-off they carry on at the mean of their last four values (as productivity does).
MEAN_LAST_POLICIES: tuple[str, ...] = ("asylum.withdrawal_rate",)


def _trim_policies(policies: list[dict[str, Any]], cutoff: pd.Timestamp) -> list[dict[str, Any]]:
    cut = cutoff.date()
    kept = [p for p in policies if p["date"] <= cut]
    nxt = (cutoff + pd.Timedelta(days=1)).date()
    year_ago = (cutoff - pd.DateOffset(years=1)).date()
    for path in MEAN_LAST_POLICIES:
        recent = [float(p["set"][path]) for p in kept if path in p["set"] and p["date"] > year_ago]
        if recent:
            mean = sum(recent[-4:]) / len(recent[-4:])
            kept.append({"date": nxt, "set": {path: mean}, "note": "mean of the last year"})
    return kept


def _with_future_arrivals(
    ctx: Context, paths: dict[str, np.ndarray[Any, Any]], months: pd.PeriodIndex
) -> LoadedScenario:
    claim_share = float(ctx.loaded.scenario.arrivals.claim_share)
    rows: list[pd.DataFrame] = []
    ts = months.to_timestamp()
    sb = paths["small_boat_arrivals"]
    for nat, share in ctx.mix.items():
        rows.append(pd.DataFrame({"month": ts, "nationality": nat, "people": sb * share}))
    non_boat = ctx.config.boat_nationalities_exclude
    if non_boat:
        rows.append(
            pd.DataFrame(
                {
                    "month": ts,
                    "nationality": non_boat[0],
                    "people": paths["other_route_claims"] / max(claim_share, 1e-9),
                }
            )
        )
    future = pd.concat(rows, ignore_index=True)
    future["source"] = "simulated (corridor.flagship)"
    tables = dict(ctx.loaded.tables)
    tables["arrivals"] = pd.concat([tables["arrivals"], future], ignore_index=True)
    return dataclasses.replace(ctx.loaded, tables=tables)


def _with_deterrence(loaded: LoadedScenario, start: date, elasticity: float) -> LoadedScenario:
    """Deterrence off before ``start`` (observed arrivals are used as they are), on after."""
    from corridor.scenario.schema import Deterrence, Policy

    sc = loaded.scenario
    det = Deterrence(enabled=True, elasticity=0.0)
    policy = Policy(
        date=start,
        set={"deterrence.elasticity": float(elasticity)},
        note="flagship: deterrence from the cut-off",
    )
    policies = [*sc.policies, policy]  # fmt: skip
    sc = sc.model_copy(update={"deterrence": det, "policies": policies})
    return dataclasses.replace(loaded, scenario=sc)


_FLOW_COLS = (
    "new_claims", "new_grants", "new_refusals", "new_removals", "new_voluntary_returns",
    "new_hub_removals", "new_hub_transfers",
)  # fmt: skip
_STOCK_COLS = ("n_awaiting_decision", "n_in_hub", "n_limbo", "n_inadmissible")


def _month_codes(dates: np.ndarray[Any, Any], months: np.ndarray[Any, Any]) -> Any:
    """Each date's position in the sorted ``months`` (``datetime64[M]``)."""
    return np.searchsorted(months, dates.astype("datetime64[M]"))


def _monthly_metrics(
    ctx: Context,
    result: ScenarioResult,
    paths: dict[str, np.ndarray[Any, Any]],
    months: pd.PeriodIndex,
) -> pd.DataFrame:
    """The replicate's monthly :data:`METRICS`: flows summed over each month and every
    nationality, stocks on the month's last day. NumPy sums by month code instead of pandas
    group-bys: the main job does this for every replicate."""
    fl, st, co = result.flows, result.stocks, result.costs
    f_dates = fl["date"].to_numpy(dtype="datetime64[s]")
    f_months = f_dates.astype("datetime64[M]")
    uniq = np.unique(f_months)
    n_m = len(uniq)
    index = pd.PeriodIndex(pd.DatetimeIndex(uniq.astype("datetime64[ns]")), freq="M", name="date")

    def monthly_sum(values: np.ndarray[Any, Any], codes: np.ndarray[Any, Any]) -> Any:
        return np.bincount(codes, weights=values, minlength=n_m)[:n_m]

    code = np.searchsorted(uniq, f_months)
    out = pd.DataFrame(index=index)
    boats = ~fl["nationality"].isin(set(ctx.config.boat_nationalities_exclude)).to_numpy()
    out["small_boat_arrivals"] = monthly_sum(
        np.where(boats, fl["new_arrivals"].to_numpy(dtype=float), 0.0), code
    )
    future = index > ctx.cutoff.to_period("M")
    labels = index.strftime("%Y-%m")
    for s in FLOW_SERIES:
        observed = ctx.observed[s].reindex(labels).to_numpy(dtype=float)
        simulated = pd.Series(paths[s], index=months).reindex(index).to_numpy(dtype=float)
        out[s] = np.where(future, simulated, observed)
    f = {c: monthly_sum(fl[c].to_numpy(dtype=float), code) for c in _FLOW_COLS}
    # stocks: the sum over nationalities on the last simulated day of each month
    s_dates = st["date"].to_numpy(dtype="datetime64[s]")
    same_days = len(s_dates) == len(f_dates) and np.array_equal(s_dates, f_dates)
    s_code = code if same_days else _month_codes(s_dates, uniq)
    month_end = ((uniq + 1).astype("datetime64[D]") - np.timedelta64(1, "D")).astype(
        "datetime64[s]"
    )
    last_day = np.minimum(month_end, s_dates.max())
    on_last = s_dates == last_day[s_code]
    k = {
        c: monthly_sum(np.where(on_last, st[c].to_numpy(dtype=float), 0.0), s_code)
        for c in _STOCK_COLS
    }
    cost = monthly_sum(
        co["gbp"].to_numpy(dtype=float),
        _month_codes(co["date"].to_numpy(dtype="datetime64[s]"), uniq),
    )
    out["asylum_claims"] = f["new_claims"]
    out["grants"] = f["new_grants"]
    out["initial_decisions"] = f["new_grants"] + f["new_refusals"]
    out["initial_grant_rate"] = (
        100.0 * out["grants"] / out["initial_decisions"].where(out["initial_decisions"] > 0)
    )
    out["backlog_end"] = k["n_awaiting_decision"]
    # returns to the country of origin of people who claimed asylum: enforced and voluntary from
    # the UK, and onward from a hub (the transfer to a hub itself is hub_transfers)
    out["removals"] = f["new_removals"] + f["new_voluntary_returns"] + f["new_hub_removals"]
    out["hub_transfers"] = f["new_hub_transfers"]
    out["in_hub_end"] = k["n_in_hub"]
    out["hub_leavers"] = monthly_sum(fl["new_hub_left"].to_numpy(dtype=float), code)
    reentries = pd.Series(paths["hub_reentries_uk"], index=months).reindex(index)
    out["hub_reentries_uk"] = reentries.fillna(0.0).to_numpy(dtype=float)
    # limbo: refused and not removable, or inadmissible and not transferred (undecided, stuck)
    out["limbo_end"] = k["n_limbo"] + k["n_inadmissible"]
    risk = ctx.config.channel.death_risk
    out["deaths"] = out["small_boat_arrivals"] * risk / (1.0 - risk)
    out["cost_gbp"] = cost
    return out.astype(float)
