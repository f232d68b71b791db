"""The expected-value resolution of the route network (corridor.routes.expected): a known
answer in closed form, agreement with the agents on the flagship's pack within their Monte
Carlo error, and how it moves with the crossing probabilities."""

from __future__ import annotations

import calendar
import math
from dataclasses import replace
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corridor.flagship.network_effects import effects_of
from corridor.forecast.corridor_network import (
    DEFAULT_PACK,
    HUB_PLACES,
    START,
    hub_network,
    links_into,
    load_corridor_network,
    wb_crossings,
)
from corridor.forecast.network import CorridorChains, ExpectedEffects, corridor_chains
from corridor.routes.expected import (
    CrossingRisks,
    Expected,
    build,
    capacity_use,
    evaluate,
)
from corridor.routes.module import spawn_plan
from corridor.routes.run import run_network
from corridor.routes.schema import Network, Origin

DAY = date(2024, 6, 1)


# ---------------------------------------------------------------------------------------------
# (i) a known answer
# ---------------------------------------------------------------------------------------------
# Three routes from O to D. R2 and R3 start with a crossing out of O (a pushback sends people
# back to O, where they choose again: a cycle); R1, ten days long, is the cheapest (the
# fallback) and not among the k = 2 options. Budgets: log-normal, median 3,500, sd 0.6: below
# 1,000 nobody can pay anything (stranded at O), 1,000-3,000 the fallback R1, 3,000-4,000 R2
# only, above 4,000 the logit between R2 and R3.
P2, PUSH2, DET2, MU2 = 0.3, 0.5, 0.2, 0.01
P3, PUSH3, DET3, MU3 = 0.4, 0.6, 0.1, 0.0
P1, MU1 = 0.5, 0.002
MEDIAN, SIGMA = 3500.0, 0.6


def _tiny() -> Network:
    places = [("O", "A", "origin"), ("E", "B", "transit"), ("F", "B", "transit")]
    places += [("G", "B", "coast"), ("D", "C", "destination")]
    road = {"mode": "road", "bidirectional": False}
    return Network.model_validate({
        "places": [{"place": n, "country": c, "lon": float(i), "lat": 45.0, "kind": k}
                   for i, (n, c, k) in enumerate(places)],
        "links": [
            {"from": "O", "to": "E", "km": 75, **road},  # half a day
            {"from": "E", "to": "D", "km": 150, **road},  # 1.5 days: arrive on day 1
            {"from": "O", "to": "F", "km": 75, **road},
            {"from": "F", "to": "D", "km": 225, **road},  # 2.0 days: at the end of day 1
            {"from": "O", "to": "G", "km": 1425, **road},  # 9.5 days: first attempt on day 9
            {"from": "G", "to": "D", "km": 50, "mode": "small_boat", "bidirectional": False},
        ],
        "crossings": [
            {"link": "O-E", "interception": P2, "pushback_share": PUSH2, "detain_share": DET2,
             "death_risk": MU2, "price_eur": 3000},
            {"link": "O-F", "interception": P3, "pushback_share": PUSH3, "detain_share": DET3,
             "death_risk": MU3, "price_eur": 4000},
            {"link": "G-D", "interception": P1, "death_risk": MU1, "price_eur": 1000},
        ],
        "origins": [{"origin": "O", "destination": "D", "people_per_month": 30,
                     "budget_eur_median": MEDIAN, "budget_sigma": SIGMA}],
        "choice": {"k": 2, "weight_price": 0.0, "weight_risk": 0.0},
        "speeds": {"road": 150, "small_boat": 60},
    })  # fmt: skip


def _closed_form() -> dict[str, Any]:
    """Per person who set off, by hand (see the comment above)."""
    c2, c3 = 0.5 + 1.0 + P2 / (1 - P2), 0.5 + 1.5 + P3 / (1 - P3)  # generalised costs
    w2, w3 = math.exp(-(c2 - min(c2, c3))), math.exp(-(c3 - min(c2, c3)))

    def visit(p: float, push: float, det: float, mu: float) -> dict[str, float]:
        q = 1 - p * (1 - push - det)  # an attempt ends the visit
        return {"cross": (1 - p) * (1 - mu) / q, "push": p * push / q, "dead": (1 - p) * mu / q,
                "det": p * det / q, "att": 1 / q, "fail": 1 / q - 1}  # fmt: skip

    v2, v3 = visit(P2, PUSH2, DET2, MU2), visit(P3, PUSH3, DET3, MU3)

    def logit(a2: float, a3: float) -> dict[str, Any]:
        a = ((a2, v2), (a3, v3))
        back = sum(x * v["push"] for x, v in a)
        n = 1 / (1 - back)  # decisions at O
        ok = sum(x * v["cross"] for x, v in a)
        # days: a pushback costs the failed attempts and a day; a success the failed attempts,
        # a day, and the day of arrival (1.5 and 2.0 days of travel: arrive on day 1)
        push_days = sum(x * v["push"] * (v["fail"] + 1) for x, v in a)
        ok_days = sum(x * v["cross"] * (v["fail"] + 2) for x, v in a)
        return {
            "arrived": n * ok,
            "dead": n * sum(x * v["dead"] for x, v in a),
            "detained": n * sum(x * v["det"] for x, v in a),
            "attempts": np.asarray([n * a2 * v2["att"], n * a3 * v3["att"], 0.0]),
            "day_sum": ok_days * n + push_days * ok * n * n,
        }

    q1 = 1 - P1
    fallback = {"arrived": 1 - MU1, "dead": MU1, "detained": 0.0,
                "attempts": np.asarray([0.0, 0.0, 1 / q1]),
                "day_sum": (1 - MU1) * (9 + P1 / q1 + 1)}  # fmt: skip
    nd = NormalDist(math.log(MEDIAN), SIGMA)
    cut = [nd.cdf(math.log(b)) for b in (1000.0, 3000.0, 4000.0)]
    mass = [cut[1] - cut[0], cut[2] - cut[1], 1 - cut[2]]
    parts = [fallback, logit(1.0, 0.0), logit(w2 / (w2 + w3), w3 / (w2 + w3))]
    set_off = 1 - cut[0]
    keys = ("arrived", "dead", "detained", "attempts", "day_sum")
    out: dict[str, Any] = {
        k: sum(m * p[k] for m, p in zip(mass, parts, strict=True)) / set_off for k in keys
    }
    out["days"] = out.pop("day_sum") / out["arrived"]
    out["set_off"] = set_off
    out["weights"] = (w2, w3)
    return out


def test_known_answer_in_closed_form() -> None:
    net = _tiny()
    s = build(net, "O", DAY)
    e = evaluate(s)
    want = _closed_form()
    g = s.graph
    # the budget classes are the steps of the rules: 1,000, 3,000 and 4,000
    np.testing.assert_array_equal(s.classes.lower, [0.0, 1000.0, 3000.0, 4000.0])
    assert e.budget_error == 0.0
    # the table's options and weights are the ones worked out by hand
    r = s.routes
    grp = g.names.index("O") * g.n_dest
    assert r.ptr[grp + 1] - r.ptr[grp] == 2
    assert sorted(r.weight[r.ptr[grp] : r.ptr[grp + 1]]) == pytest.approx(sorted(want["weights"]))
    assert r.fallback_price[grp] == 1000.0
    assert e.set_off == pytest.approx(want["set_off"], abs=1e-12)
    assert e.stranded_at_origin == pytest.approx(1 - want["set_off"], abs=1e-12)
    for key in ("arrived", "dead", "detained", "days"):
        got = {"days": e.days_to_destination}.get(key, getattr(e, key, None))
        assert got == pytest.approx(want[key], abs=1e-9), key
    order = [g.cross_key.index(k) for k in ("O-E", "O-F", "G-D")]
    np.testing.assert_allclose(e.attempts[order], want["attempts"], atol=1e-9)
    assert e.stuck == 0.0
    assert e.arrived + e.dead + e.detained + e.stuck == pytest.approx(1.0, abs=1e-12)
    # everyone who crosses O-E enters its link, then E-D
    into = [g.link_key.index(k) for k in ("O-E", "E-D")]
    np.testing.assert_allclose(e.entries[into], e.crossings[order[0]], atol=1e-12)
    # equal-probability classes straddle the steps; the bound covers what they change
    q = evaluate(build(net, "O", DAY, classes=16))
    assert q.budget_error > 0.0
    assert abs(q.arrived * q.set_off - e.arrived * e.set_off) <= q.budget_error


def test_events_add_up_and_the_state_gives_the_table_weights() -> None:
    net = _tiny()
    s = build(net, "O", DAY)
    e = evaluate(s)
    np.testing.assert_allclose(e.attempts, e.interceptions + e.deaths + e.crossings, atol=1e-12)
    turned = e.interceptions - e.pushbacks - e.detentions
    assert (turned >= -1e-12).all()
    assert e.dead == pytest.approx(e.deaths.sum())
    assert e.detained == pytest.approx(e.detentions.sum())
    same = evaluate(s, CrossingRisks.of(s.state))  # reweighted by exp(0): the same bits
    assert same.attempts.tobytes() == e.attempts.tobytes()
    assert same.days_to_destination == e.days_to_destination


# ---------------------------------------------------------------------------------------------
# (ii) agents against the expected resolution on the pack
# ---------------------------------------------------------------------------------------------
# Cohorts: COHORTS groups of PEOPLE set off on one day each, GAP days apart (journeys take 13 to
# 25 days; the last cohort gets TAIL more), so each cohort's events are told apart by date and
# the cohorts are independent replicates: the standard error of a ratio (per person who set
# off, or days per arrival) comes from the spread of the cohorts' own (ratio estimator).
PEOPLE, COHORTS, GAP, TAIL = 1000, 20, 40, 150
Z = 4.0  # agreement within 4 standard errors; 24 comparisons at a fixed seed


def _cohorts(net: Network, origin: str) -> Network:
    first = net.origins[0]
    rows = []
    for k in range(COHORTS):
        d = START + timedelta(days=k * GAP)
        days = calendar.monthrange(d.year, d.month)[1]
        base = {
            "origin": origin,
            "destination": first.destination,
            "budget_eur_median": first.budget_eur_median,
            "budget_sigma": first.budget_sigma,
        }
        rows += [
            Origin(**base, from_date=d, people_per_month=PEOPLE * days),
            Origin(**base, from_date=d + timedelta(days=1), people_per_month=0),
        ]
    return net.model_copy(update={"origins": rows})


def _agents(net: Network, origin: str) -> dict[str, tuple[float, float]]:
    """Per-person measures of a cohort run and their standard errors; also checks that the
    pooled ones are effects_of's and that the capacities did not bind."""
    days = COHORTS * GAP + TAIL
    res = run_network(_cohorts(net, origin), days, 1, START, keep_agents=True)
    g = res.graph

    def cohort(dates: pd.Series) -> Any:
        return np.minimum((dates - pd.Timestamp(START)).dt.days.to_numpy() // GAP, COHORTS - 1)

    def by(dates: pd.Series, values: Any) -> Any:
        return np.bincount(cohort(dates), weights=np.asarray(values, float), minlength=COHORTS)

    ev, fl, ar = res.events, res.link_flows, res.arrivals
    att = ev[
        (ev["kind"] == "attempt") & ev["crossing"].isin([g.cross_key[j] for j in wb_crossings(g)])
    ]
    key = pd.Series(g.link_key)

    def entries(country: str) -> Any:
        into = fl["link"].isin(key[links_into(g, country)]) & fl["from"].ne(fl["to"])
        frm = fl["from"].map(dict(zip(g.names, g.country.tolist(), strict=True)))
        into &= frm.ne(g.countries.index(country))
        return by(fl.loc[into, "date"], fl.loc[into, "people"])

    spawn = np.repeat(np.arange(days), spawn_plan(res.network, g, START, days).count.sum(axis=1))
    ag = res.agents
    assert ag is not None
    home = (ag["status"].to_numpy() == "stranded") & (ag["place"].to_numpy() == origin)
    k_of = np.minimum(spawn // GAP, COHORTS - 1)
    spawned = np.bincount(k_of, minlength=COHORTS).astype(float)
    set_off = np.bincount(k_of[~home], minlength=COHORTS).astype(float)
    done = ag["status"].to_numpy() == "arrived"
    arrived = np.bincount(k_of[done], minlength=COHORTS).astype(float)
    # days as effects_of counts them: arrival days (arrivals table, by date) less set-off days
    a_day = (ar["date"] - pd.Timestamp(START)).dt.days.to_numpy()
    day_sum = by(ar["date"], a_day * ar["people"].to_numpy())
    day_sum -= np.bincount(k_of[done], weights=spawn[done], minlength=COHORTS)

    def ratio(num: Any, den: Any) -> tuple[float, float]:
        r = num.sum() / den.sum()
        se = math.sqrt(((num - r * den) ** 2).sum() / (COHORTS * (COHORTS - 1))) / den.mean()
        return float(r), se

    out = {
        "set_off_share": ratio(set_off, spawned),
        "wb_detections_per_person": ratio(by(att["date"], att["count"]), set_off),
        "share_via_montenegro": ratio(entries("Montenegro"), set_off),
        "share_via_serbia": ratio(entries("Serbia"), set_off),
        "channel_arrivals_per_person": ratio(arrived, set_off),
        "mean_days_to_dover": ratio(day_sum, arrived),
    }
    # the pooled measures are the agent summary's (effects_of)
    summary = effects_of(res, origin=origin)
    for name in ("wb_detections_per_person", "share_via_serbia", "mean_days_to_dover"):
        assert out[name][0] == pytest.approx(getattr(summary, name), rel=1e-9), name
    # capacities did not bind: fewest spare attempts on the busiest day
    busy = ev[ev["kind"] == "attempt"].groupby(["crossing", "date"])["count"].sum()
    caps = {c.link: c.capacity_per_day for c in net.crossings if c.capacity_per_day is not None}
    for (crossing, _), n in busy.items():
        assert n < caps.get(crossing, math.inf)
    return out


@pytest.fixture(scope="module")
def chains() -> CorridorChains:
    return corridor_chains(DEFAULT_PACK)


CASES = ["without", "with_rail", "Albania", "Bosnia and Herzegovina"]


@pytest.mark.parametrize("case", CASES)
def test_agents_agree_with_the_expected_resolution(chains: CorridorChains, case: str) -> None:
    out = chains.evaluate()
    if case in ("without", "with_rail"):
        net = load_corridor_network(DEFAULT_PACK, montenegro_rail=case == "with_rail")
        origin = "Istanbul"
        net = net.model_copy(update={"origins": [o for o in net.origins if o.origin == origin]})
        exp: ExpectedEffects = getattr(out, case)
    else:
        origin = HUB_PLACES[case]
        net = hub_network(load_corridor_network(DEFAULT_PACK), origin)
        exp = out.hubs[case]
    agents = _agents(net, origin)
    # the day clock is the agents' (see corridor.routes.expected): no extra tolerance on days
    for name, (value, se) in agents.items():
        want = getattr(exp, name)
        if se == 0.0:  # no variation at all (nobody through Montenegro, everyone via Serbia)
            assert value == pytest.approx(want, abs=1e-9), name
        else:
            assert abs(value - want) <= Z * se, (name, value, want, se)


def test_other_origins_do_not_reach_the_western_balkans() -> None:
    """The agent summary divides every origin's detections and entries by one origin's people;
    the expected one counts that origin's own. They agree on the pack because Tripoli's people
    never reach the Western Balkans."""
    net = load_corridor_network(DEFAULT_PACK)
    e = evaluate(build(net, "Tripoli", START))
    assert e.attempts[wb_crossings(e.graph)].sum() == 0.0
    for country in ("Montenegro", "Serbia"):
        assert e.entries[links_into(e.graph, country)].sum() == 0.0
    assert 0.0 < capacity_use(net, START)["Calais-Dover"] < 0.5


# ---------------------------------------------------------------------------------------------
# (iii) changed probabilities
# ---------------------------------------------------------------------------------------------
def _scaled(base: CrossingRisks, where: list[int], factor: float) -> CrossingRisks:
    p = base.interception.copy()
    p[where] = np.minimum(p[where] * factor, 0.95)
    return replace(base, interception=p)


@pytest.mark.parametrize("reweight", [True, False])
def test_interception_moves_detections_the_expected_way(
    chains: CorridorChains, reweight: bool
) -> None:
    base = chains.risks()
    g = chains.without.graph
    wb = wb_crossings(g)
    channel = [g.cross_key.index("Calais-Dover")]
    factors = [0.5, 0.75, 1.0, 1.25, 1.5]

    def run(where: list[int], f: float) -> Expected:
        return evaluate(chains.without, _scaled(base, where, f), reweight=reweight)

    wb_runs = [run(wb, f) for f in factors]
    detections = [float(e.attempts[wb].sum()) for e in wb_runs]
    assert np.all(np.diff(detections) > 0), detections
    assert detections[2] == pytest.approx(chains.evaluate().without.wb_detections_per_person)
    ch_runs = [run(channel, f) for f in factors]
    attempts = [float(e.attempts[channel].sum()) for e in ch_runs]
    days = [e.days_to_destination for e in ch_runs]
    assert np.all(np.diff(attempts) > 0)
    assert np.all(np.diff(days) > 0)
    # a geometric number of Channel attempts for those who reach it: 1 / (1 - p)
    reach = ch_runs[2].crossings[channel[0]] + ch_runs[2].deaths[channel[0]]
    assert attempts[2] == pytest.approx(reach / (1 - base.interception[channel[0]]))
