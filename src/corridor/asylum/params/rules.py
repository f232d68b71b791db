"""Rules shared by both engines, written once: hazards and clocks, deterrence, daily costs.

Reads: :class:`~corridor.asylum.params.AsylumParams` and the engines' running sums. Produces:
the hub-stay hazard (:func:`hub_exit_hazard`), the competing exit clocks as daily probabilities
(:func:`competing_exits`: the aggregate engine), the integrated hazard and the firing time of a
clock under a piecewise-constant daily hazard (:func:`cumulative_hazard`, :func:`event_time`: the
agent engine; :func:`corridor.asylum.agent.kernels_case.event_times` is its compiled twin), the
deterrence share and arrivals factor (:func:`p_removal`, :func:`deterrence_factor`), and pounds
by cost item each day (:func:`daily_costs`: every stage a person can be in, priced). Reports:
nothing.

Invariants: pure functions (no random draws, no state); an Exponential clock of hazard ``h``
fires within a day with probability ``1 − exp(−h)``, so the agent engine's clocks and the
aggregate engine's probabilities agree; ``p_removal`` uses only days already simulated
(``[day − lag − window, day − lag)``) and is in ``[0, 1]``; the factor is in ``[0, 1]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from corridor.asylum.params.arrays import AsylumParams
from corridor.asylum.params.constants import DAYS_PER_YEAR, FLOW_INDEX, STOCK_INDEX
from corridor.asylum.rules.deterrence import arrivals_factors, removal_shares

F64 = NDArray[np.float64]


MAX_HAZARD_PER_DAY = 1e6  # a stay of 0 days ends at once (the next day), without dividing by 0


def hub_exit_hazard(stay_days: F64) -> F64:
    """Hazard per day at which a hub stay of mean ``stay_days`` ends (capped for 0-day stays)."""
    out: F64 = np.minimum(1.0 / np.maximum(stay_days, 1.0 / MAX_HAZARD_PER_DAY), MAX_HAZARD_PER_DAY)
    return out


def competing_exits(hv: F64, ha: F64) -> tuple[F64, F64, F64]:
    """The exit clocks as daily probabilities: voluntary return (hazard ``hv`` per day) and
    absconding (``ha``) compete; returns ``(p, p_entry, voluntary_share)``.

    ``p = 1 − exp(−h)`` (``h = hv + ha``): someone waiting all day leaves; ``p_entry = 1 − (1 −
    exp(−h))/h``: someone entering at a uniform time of the day leaves before it ends;
    ``voluntary_share = hv / h`` (1 where ``h = 0``).
    """
    h = np.asarray(hv, dtype=np.float64) + np.asarray(ha, dtype=np.float64)
    p = -np.expm1(-h)
    safe = np.where(h > 0, h, 1.0)
    series = h / 2.0 - h * h / 6.0 + h**3 / 24.0
    p_entry = np.where(h < 1e-4, series, 1.0 - p / safe)
    share = np.where(h > 0, np.asarray(hv, dtype=np.float64) / safe, 1.0)
    return p, p_entry, share


def p_removal(num_cum: F64, den_cum: F64, day: int, lag: int, window: int) -> F64:
    """Share of recent outcomes that were removals or hub transfers, by nationality.

    ``num_cum[k]`` / ``den_cum[k]`` (shape ``(days + 1, nat)``) are the cumulative people in
    :data:`DETERRENCE_NUMERATOR` / :data:`DETERRENCE_DENOMINATOR` flows over days ``< k``. The
    share on day ``day`` uses days ``[day − lag − window, day − lag)`` (only days already
    simulated); 0 where no outcome was recorded. The rule:
    :func:`corridor.asylum.rules.deterrence.removal_share`.
    """
    out = np.empty(num_cum.shape[1])
    removal_shares(num_cum, den_cum, day, lag, window, out)
    return out


def deterrence_factor(p: AsylumParams, p_rem: F64, day: int) -> F64:
    """Arrivals multiplier ``max(0, 1 − elasticity × p_removal)`` (1 when deterrence is off);
    the rule: :func:`corridor.asylum.rules.deterrence.arrivals_factor`."""
    out = np.ones(p_rem.shape[0])
    if p.deterrence_on[day]:
        arrivals_factors(float(p.elasticity[day]), np.ascontiguousarray(p_rem, np.float64), out)
    return out


def daily_costs(
    p: AsylumParams,
    *,
    stocks: F64,
    flows: F64,
    hub_people: F64,
    decision_cases: F64,
    appeal_cases: F64,
    hub_transfers: F64,
) -> dict[str, F64]:
    """Pounds spent each day (in the prices of ``costs.price_year``), by item of
    :data:`COST_ITEMS`: every stage a person can be in is priced.

    Inputs, all nationalities together: ``stocks`` ``(days, len(STOCKS))`` people at the end of
    the day, ``flows`` ``(days, len(FLOWS))`` people that day, ``hub_people`` and
    ``hub_transfers`` ``(days, hubs)``, initial decisions and appeal determinations that day *in
    cases* (unit costs are per main applicant).

    Rules (unit costs ``uc``, per day of the day's value):

    * support: supported people = ``supported_share`` × awaiting a decision +
      ``appellant_supported_share`` × awaiting an appeal + ``refused_supported_share`` ×
      refused (awaiting removal); split hotel / large site / dispersal / subsistence only by the
      accommodation shares, one night each per day at ``hotel_night``, ``large_site_night``,
      ``dispersal_night``, ``subsistence_night``;
    * decisions (cases × ``decision``); appeals: the tribunal (cases × ``appeal``) and legal aid
      (cases × ``legal_aid_appeal``);
    * detention: detained people × ``detention_night``;
    * removals: enforced (people × ``removal``); voluntary returns, a share
      ``voluntary_assisted_share`` assisted (× ``voluntary_assisted_return``), the rest ×
      ``voluntary_return``;
    * hubs: transfers × ``hub_transfer``, nights, payments per person transferred, fixed
      payments per year spread evenly over every *paying* day, set-up on the first operating day;
    * limbo: people in ``limbo`` or ``inadmissible`` (neither granted nor removable, or
      undecided and not transferred) × (``limbo_supported_share`` × a supported person-night at
      the day's accommodation mix, what a refused person who keeps support costs, +
      ``limbo_other_year`` / 365: health, local authority, enforcement);
    * France: ``france_payment_year`` / 365 a day.
    """
    uc = p.unit_costs
    st = {s: stocks[:, i] for s, i in STOCK_INDEX.items()}
    fl = {f: flows[:, i] for f, i in FLOW_INDEX.items()}
    supported = (
        st["awaiting_decision"] * p.supported_share
        + st["awaiting_appeal"] * p.appellant_supported_share
        + st["refused"] * p.refused_supported_share
    )
    setup = np.zeros(p.days)
    for j in range(p.n_hubs):
        if p.hub_first_operating[j] >= 0:
            setup[p.hub_first_operating[j]] += p.hub_setup[j]
    assisted = fl["voluntary_returns"] * p.voluntary_assisted_share
    # a supported person-night at the day's accommodation mix: what a refused person who keeps
    # support costs, and the support part of a person-day in limbo
    support_night = (
        p.hotel_share * uc["hotel_night"]
        + p.large_site_share * uc["large_site_night"]
        + p.dispersal_share * uc["dispersal_night"]
        + p.subsistence_share * uc["subsistence_night"]
    )
    in_limbo = st["limbo"] + st["inadmissible"]
    return {
        "support_hotel": supported * p.hotel_share * uc["hotel_night"],
        "support_large_site": supported * p.large_site_share * uc["large_site_night"],
        "support_dispersal": supported * p.dispersal_share * uc["dispersal_night"],
        "support_subsistence": supported * p.subsistence_share * uc["subsistence_night"],
        "decisions": decision_cases * uc["decision"],
        "appeals_tribunal": appeal_cases * uc["appeal"],
        "appeals_legal_aid": appeal_cases * uc["legal_aid_appeal"],
        "detention": st["detained"] * uc["detention_night"],
        "removals_enforced": fl["removals"] * uc["removal"],
        "removals_voluntary_assisted": assisted * uc["voluntary_assisted_return"],
        "removals_voluntary": (fl["voluntary_returns"] - assisted) * uc["voluntary_return"],
        "hub_transfers": hub_transfers.sum(axis=1) * uc["hub_transfer"],
        "hub_nights": (hub_people * p.hub_night).sum(axis=1),
        "hub_per_person": (hub_transfers * p.hub_per_person).sum(axis=1),
        "hub_fixed": (p.hub_paying * p.hub_fixed_day).sum(axis=1),
        "hub_setup": setup,
        "limbo": in_limbo
        * (p.limbo_supported_share * support_night + uc["limbo_other_year"] / DAYS_PER_YEAR),
        "france_payments": uc["france_payment_year"] / DAYS_PER_YEAR,
    }


def cumulative_hazard(hazard_day: F64) -> F64:
    """``H[k] = Σ_{j<k} hazard[j]`` (length days + 1): the integrated hazard at the start of
    day k, for drawing event times of a piecewise-constant rate (:func:`event_time`)."""
    out = np.zeros(hazard_day.shape[0] + 1)
    np.cumsum(hazard_day, out=out[1:])
    return out


def event_time(h_cum: F64, hazard_day: F64, t0: F64, e: F64) -> F64:
    """Time at which a clock started at ``t0`` with Exp(1) threshold ``e`` fires, for the
    piecewise-constant daily hazard (``inf`` if not before the end of the period).

    Solves ``H(t) = H(t0) + e`` with ``H(t) = h_cum[d] + (t − d)·hazard[d]`` for ``t`` in day
    ``d``; exact for any schedule of rates, so the clock needs no daily draws.
    """
    days = hazard_day.shape[0]
    d0 = np.clip(np.floor(t0), 0, days - 1).astype(np.int64)
    start = np.maximum(t0, 0.0)
    target = h_cum[d0] + (start - d0) * hazard_day[d0] + e
    d = np.searchsorted(h_cum, target, side="right") - 1
    inside = d < days
    dd = np.minimum(d, days - 1)
    rate = hazard_day[dd]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = dd + (target - h_cum[dd]) / rate
    return np.where(inside & (rate > 0), np.maximum(t, start), np.inf)
