"""The forecast's context: what every replicate of a job shares, prepared once.

Reads: a scenario folder with a forecast (``scenario.yaml``'s ``forecast:``), its observed
monthly series, its calibrated values (``fitted/``) and a cut-off. Produces: a picklable
:class:`Context` — the calibrated asylum scenario with every dated input cut at the cut-off
(:func:`truncate_inputs`), the flow fits, the observed flows, the future small-boat nationality
mix, the route preferences, the spread of future decision productivity, the route network's
effects of the railway. Invariants: nothing after the cut-off is read from the data; the
scenario's period ends at the forecast's end.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from corridor.asylum.run import apply_overrides
from corridor.forecast.config import FlagshipConfig, load_flagship
from corridor.forecast.series import RANDOM_WALK, SeriesFit, fit_series
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario

if TYPE_CHECKING:
    from corridor.forecast.network import CorridorChains

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
    # people leaving a hub, by host, from the route network (corridor.forecast.fitted)
    reentry_routes: dict[str, dict[str, float]] = field(default_factory=dict)
    fitted_values: dict[str, Any] = field(default_factory=dict)
    # small-boat arrivals per detection on each Frontex route (corridor.flagship.routes_fit)
    route_preferences: dict[str, float] = field(default_factory=dict)
    # the route network's chains, resolved per replicate (None: the terms above for every one)
    network: CorridorChains | None = None

    @functools.cached_property
    def future_months(self) -> pd.PeriodIndex:
        """The months after the cut-off to the end (made once per context: every replicate
        reads them several times)."""
        return pd.period_range(
            (self.cutoff + pd.Timedelta(days=1)).strftime("%Y-%m"),
            self.end.strftime("%Y-%m"),
            freq="M",
        )


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
    observed: dict[str, pd.Series],
    config: FlagshipConfig,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    form: str = RANDOM_WALK,
) -> dict[str, SeriesFit]:
    """Every flow series fitted through ``cutoff`` in ``form`` (the pack's chosen form:
    :func:`corridor.forecast.fitted.load_flow_form`), with a mean forecast to ``end``."""
    horizon = max(_months_between(cutoff, end), 1)
    last = cutoff.strftime("%Y-%m")
    return {
        name: fit_series(name, observed[name], config.series[name].start, last, horizon, form=form)
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
    reentry_routes: dict[str, dict[str, float]] | None = None,
    calibrated: dict[str, Any] | None = None,
    stored_routes: bool = True,
    network: CorridorChains | None = None,
) -> Context:
    """Prepare a job: load the pack, apply the calibrated values, fit (or reuse) the flows.
    ``calibrated`` replaces the values stored in the pack (a back-test origin's own
    calibration); ``stored_routes=False`` fits the route preferences now instead of reading
    those stored for the cut-off."""
    loaded = load_scenario(str(pack))
    folder = loaded.folder
    config = load_flagship(folder)
    cut = pd.Timestamp(cutoff or config.cutoff)
    stop = pd.Timestamp(end or config.end)
    fitted = dict(calibrated) if calibrated is not None else load_fitted(folder, config, cut)
    if fitted:
        loaded = apply_overrides(loaded, fitted)
    observed = observed_monthly(folder, config)
    if fits is None:
        from corridor.forecast.fitted import load_flow_form

        fits = fit_all(observed, config, cut, stop, load_flow_form(folder))
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
        reentry_routes=reentry_routes or {},
        fitted_values=fitted,
        route_preferences=_route_preferences(folder, observed, cut, stored_routes),
        network=network,
    )


def _route_preferences(
    folder: Path, observed: dict[str, pd.Series], cut: pd.Timestamp, use_stored: bool = True
) -> dict[str, float]:
    """The route preferences stored for this cut-off, or fitted now (same fit, no intervals)."""
    from corridor.forecast.channel import fit_channel
    from corridor.forecast.fitted import load_route_preferences

    stored = load_route_preferences(folder, str(cut.date())) if use_stored else None
    if stored is not None:
        return stored
    return fit_channel(observed, cut.strftime("%Y-%m"), intervals=False).per_detection


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
