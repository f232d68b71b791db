"""Re-entry: people who leave a hub are back on the routes, and some arrive again, in the run.

The rule (:mod:`corridor.asylum.rules.reentry`) is applied inside both engines' days: people
who leave hub *j* on day *d* are back on the routes on day ``d + reentry_days`` (a share
``reentry`` of them) and a share ``reentry_reach_uk`` of those arrive in the UK then, as
arrivals like any other. Checked here day by day, exactly for the aggregate engine and by
counting cases for the agent engine.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from asylum_builders import hub, make_loaded
from corridor.asylum.cohort.driver import run_aggregate
from corridor.asylum.rules.reentry import ARRIVES, BACK, GONE, reentry_day, reentry_outcome
from corridor.asylum.run import run_scenario
from corridor.scenario.loaded import LoadedScenario

DELAY = 20


def scenario(reentry: float, reach: float = 0.5) -> LoadedScenario:
    """One nationality refused at 80%, removable, a busy hub with short stays; most leave it."""
    return make_loaded(
        start=date(2024, 1, 1),
        days=240,
        arrivals_per_month=3000.0,
        grant_rate=0.2,
        asylum={"caseworkers": 100.0, "productivity": 20.0},
        returns={"removal_capacity": 0.0, "voluntary_rate": 0.0, "abscond_rate": 0.0},
        hubs=[
            hub(
                beds=2000.0,
                stay_days=15.0,
                removed_onward=0.2,
                left=0.7,
                stayed=0.1,
                reentry=reentry,
                reentry_reach_uk=reach,
                reentry_days=DELAY,
            )
        ],
    )


def daily(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame.groupby("date")[column].sum().to_numpy(dtype=float)


def test_aggregate_leavers_are_back_reentry_days_later_and_arrive() -> None:
    off = run_aggregate(scenario(0.0)).flows
    on = run_aggregate(scenario(0.9, reach=0.5)).flows
    left, back = daily(on, "new_hub_left"), daily(on, "new_hub_reentered")
    assert left.sum() > 1000
    np.testing.assert_allclose(back[DELAY:], 0.9 * left[:-DELAY], rtol=1e-12, atol=1e-9)
    assert (back[:DELAY] == 0).all()
    assert (daily(off, "new_hub_reentered") == 0).all()
    # the arrivals gain half of those back, the day they are back (deterrence is off)
    extra = daily(on, "new_arrivals") - daily(off, "new_arrivals")
    np.testing.assert_allclose(extra, 0.5 * back, rtol=1e-12, atol=1e-9)
    # ... and they claim: claims rise by the same people (claim share 1 in the builder's base)
    assert daily(on, "new_claims").sum() > daily(off, "new_claims").sum() + 0.4 * back.sum()


@pytest.mark.parametrize("seed", [1, 2])
def test_agent_leavers_are_back_reentry_days_later(seed: int) -> None:
    loaded = scenario(1.0, reach=1.0)
    res = run_scenario(loaded, seed=seed, engine="agents")
    left, back = daily(res.flows, "new_hub_left"), daily(res.flows, "new_hub_reentered")
    assert left.sum() > 1000
    # every leaver is back, DELAY days later, and (reach 1, no deterrence) arrives again
    np.testing.assert_array_equal(back[DELAY:], left[:-DELAY])
    base = run_scenario(scenario(0.0), seed=seed, engine="agents").flows
    extra = daily(res.flows, "new_arrivals") - daily(base, "new_arrivals")
    np.testing.assert_array_equal(extra, back)


def test_outcome_rule_shares_and_days() -> None:
    rng = np.random.default_rng(0)
    u = rng.random(200_000)
    out = reentry_outcome(u, np.full(u.size, 0.6), np.full(u.size, 0.25))
    shares = np.bincount(out, minlength=3) / u.size
    assert shares[ARRIVES] == pytest.approx(0.6 * 0.25, abs=0.005)
    assert shares[BACK] == pytest.approx(0.6 * 0.75, abs=0.005)
    assert shares[GONE] == pytest.approx(0.4, abs=0.005)
    assert reentry_day(10, 0.0) == 11  # never back the day they left
    assert reentry_day(10, 29.6) == 40


# ---------------------------------------------------------------------------------------------
# Where leavers go: the route network from the hub's place (corridor.forecast.reentry)
# ---------------------------------------------------------------------------------------------
def test_leavers_set_off_from_the_hub_on_the_route_network() -> None:
    """The terms come from the network's run of people setting off at each host's capital
    (fitted/route_effects.json), scaled to the route's calibrated reach; a host off the route
    sends nobody back; a pack without network figures falls back to the route's fitted rate."""
    import dataclasses
    import json

    from corridor.forecast.reentry import REENTRY_DAYS, ReentryTerms, reentry_terms
    from corridor.forecast.replicate import prepare_forecast
    from corridor.scenario.loader import resolve_scenario

    ctx = prepare_forecast(resolve_scenario("uk-balkans"))
    stored = json.loads((ctx.pack / "fitted" / "route_effects.json").read_text())
    ref, hubs = stored["without"], stored["reentry_from_hubs"]
    a_wb = ctx.route_preferences["wb_detections"]
    assert reentry_terms(ctx, "Rwanda") is None
    days = {}
    for host, net in hubs.items():
        terms = reentry_terms(ctx, host)
        assert terms is not None
        expected = (
            a_wb
            * ref["wb_detections_per_person"]
            * net["channel_arrivals_per_person"]
            / ref["channel_arrivals_per_person"]
        )
        assert terms.reach_uk == pytest.approx(expected, rel=1e-12)
        assert terms.reentry == pytest.approx(net["set_off_share"])
        assert terms.detections == pytest.approx(net["wb_detections_per_person"])
        days[host] = terms.days
        # nearer the Channel than Istanbul: sooner there, and at least the route's reach
        assert 0 < terms.days < ref["mean_days_to_channel"] + 5
        assert terms.reach_uk >= a_wb
    assert len(set(days.values())) == len(days)  # each host its own days on the way
    assert days["Serbia"] < days["Bosnia and Herzegovina"]  # Belgrade is on the main route

    bare = dataclasses.replace(ctx, reentry_routes={})
    assert reentry_terms(bare, "Kosovo") == ReentryTerms(1.0, a_wb, REENTRY_DAYS, 1.0)
