"""Build :class:`~corridor.asylum.params.AsylumParams` from a loaded scenario (pure).

Reads: a :class:`~corridor.scenario.loaded.LoadedScenario` (scenario, tables). Produces:
:class:`AsylumParams` — every schedule with its policies applied
(:mod:`~corridor.asylum.params.schedules`), the per-nationality tables
(:mod:`~corridor.asylum.params.tables`), the hub arrays (:mod:`~corridor.asylum.params.hubs`),
unit conversions (per month → per day, per year → hazard or probability per day), the initial
backlog split by the first year's arrival mix, the competing exit clocks
(:func:`~corridor.asylum.params.rules.competing_exits`). Reports: :class:`InputError` for an
invalid scenario; :func:`summary` gives headline numbers for logs.

Invariants: :func:`build_params` draws no random number and depends on no run state; the same
scenario gives the same arrays; accommodation shares sum to at most 1 each day; inadmissible
people are held (``inad_held``) while removable or some hub may take them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from corridor.asylum.params.arrays import AsylumParams
from corridor.asylum.params.constants import DAYS_PER_MONTH
from corridor.asylum.params.hubs import _hub_arrays
from corridor.asylum.params.rules import competing_exits
from corridor.asylum.params.schedules import (
    _Policies,
    hazard_per_day,
    prob_per_day,
    schedule_daily,
)
from corridor.asylum.params.tables import (
    _daily_arrivals,
    _grant_rates,
    _inadmissible,
    _nationalities,
    _paused,
    _priority,
    _unit_costs,
)
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario


def build_params(loaded: LoadedScenario) -> AsylumParams:
    """Turn a loaded scenario into :class:`AsylumParams` (pure; raises :class:`InputError`)."""
    sc = loaded.scenario
    start, end = sc.period.start, sc.period.end
    days = (end - start).days + 1
    dates = pd.date_range(pd.Timestamp(start), periods=days, freq="D")
    pol = _Policies(sc, start, days)
    nats, household, returns, removable = _nationalities(loaded, sc.asylum.household_size, dates)
    nidx = {n: i for i, n in enumerate(nats)}

    scale = pol.series("arrivals.scale", sc.arrivals.scale)
    arrivals = _daily_arrivals(loaded, nidx, dates) * scale[:, None]
    a = sc.asylum
    ap = a.appeals
    r = sc.returns
    withdrawal = pol.series("asylum.withdrawal_rate", a.withdrawal_rate)
    voluntary = pol.series("returns.voluntary_rate", r.voluntary_rate)
    abscond = pol.series("returns.abscond_rate", r.abscond_rate)
    hubs = _hub_arrays(loaded, pol, nidx, dates)
    acc = sc.accommodation
    supported = pol.series("accommodation.supported_share", acc.supported_share)
    hotel = pol.series("accommodation.hotel", acc.hotel)
    large = pol.series("accommodation.large_site", acc.large_site)
    subsistence = schedule_daily(acc.subsistence_only, start, days)
    if np.any(hotel + large + subsistence > 1.0 + 1e-9):
        raise InputError(
            "accommodation.hotel + large_site + subsistence_only exceeds 1 on some day",
            field="accommodation",
            expected="shares of supported people summing to at most 1",
        )
    first_year = arrivals[: min(days, 365)].sum(axis=0)
    mix = (
        first_year / first_year.sum() if first_year.sum() > 0 else np.full(len(nats), 1 / len(nats))
    )
    n_classes, pclass = _priority(sc, nidx, dates)
    inad_held = removable | hubs["hub_eligible"][:, :, 1].any(axis=0)[None, :]
    hv, ha = hazard_per_day(voluntary), hazard_per_day(abscond)
    depart_p, depart_p_entry, voluntary_share = competing_exits(hv, ha)

    return AsylumParams(
        scenario=sc,
        start=start,
        days=days,
        dates=dates,
        sample=float(sc.agents_per_person),
        nationalities=nats,
        household=household,
        returns_agreement=returns,
        removable=removable,
        arrivals=arrivals,
        claim_share=pol.series("arrivals.claim_share", sc.arrivals.claim_share),
        inadmissible_share=_inadmissible(sc, nidx, dates),
        inad_held=inad_held,
        deterrence_on=pol.series("deterrence.enabled", float(sc.deterrence.enabled)) > 0.5,
        elasticity=pol.series("deterrence.elasticity", sc.deterrence.elasticity),
        deterrence_lag_days=sc.deterrence.lag_days,
        deterrence_window_days=sc.deterrence.window_days,
        caseworkers=pol.series("asylum.caseworkers", a.caseworkers),
        decisions_per_caseworker_day=pol.series("asylum.productivity", a.productivity)
        / DAYS_PER_MONTH,
        service=a.service,
        priority_class=pclass,
        n_classes=n_classes,
        grant_rate=_grant_rates(loaded, nidx, dates),
        paused=_paused(loaded, nidx, dates),
        withdrawal_hazard=hazard_per_day(withdrawal),
        withdrawal_p=prob_per_day(withdrawal),
        initial_backlog=float(a.initial_backlog),
        initial_mix=mix,
        initial_cases=float(a.initial_backlog) * mix / household,
        initial_refused=float(sc.returns.initial_refused) * mix,
        default_household=float(a.household_size),
        lodge_share=pol.series("asylum.appeals.lodge_share", ap.lodge_share),
        lodging_days=np.rint(pol.series("asylum.appeals.lodging_days", ap.lodging_days)).astype(
            np.int64
        ),
        judges=pol.series("asylum.appeals.judges", ap.judges),
        hearings_per_judge_day=pol.series(
            "asylum.appeals.hearings_per_judge_month", ap.hearings_per_judge_month
        )
        / DAYS_PER_MONTH,
        allow_rate=pol.series("asylum.appeals.allow_rate", ap.allow_rate),
        voluntary_hazard=hazard_per_day(voluntary),
        voluntary_p=prob_per_day(voluntary),
        abscond_hazard=hazard_per_day(abscond),
        abscond_p=prob_per_day(abscond),
        depart_p=depart_p,
        depart_p_entry=depart_p_entry,
        voluntary_share=voluntary_share,
        removal_capacity_day=pol.series("returns.removal_capacity", r.removal_capacity)
        / DAYS_PER_MONTH,
        detention_places=pol.series("returns.detention_places", r.detention_places),
        removal_days=np.rint(pol.series("returns.removal_days", r.removal_days)).astype(np.int64),
        exit_newest_first=r.removal_order == "newest_first",
        supported_share=supported,
        hotel_share=hotel,
        large_site_share=large,
        subsistence_share=subsistence,
        dispersal_share=np.clip(1.0 - hotel - large - subsistence, 0.0, 1.0),
        appellant_supported_share=supported
        if acc.appellant_supported_share is None
        else np.full(len(dates), float(acc.appellant_supported_share)),
        refused_supported_share=np.full(len(dates), float(acc.refused_supported_share)),
        limbo_supported_share=float(acc.limbo_supported_share),
        voluntary_assisted_share=float(r.voluntary_assisted_share),
        unit_costs=_unit_costs(loaded, pol, dates),
        **hubs,
    )


def summary(p: AsylumParams) -> dict[str, Any]:
    """A few headline numbers, for logs and ``meta``."""
    return {
        "days": p.days,
        "nationalities": len(p.nationalities),
        "hubs": list(p.hub_ids),
        "arrivals_people": float(p.arrivals.sum()),
        "caseworkers_day0": float(p.caseworkers[0]) if p.days else math.nan,
    }
