"""Routes: known answers (geometric attempts, capacity, prices, closures), conservation of
people, kernels against their NumPy twins, reproducibility, scenario tables, maps."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corridor.engine.agents import AgentTable
from corridor.engine.loop import Simulation
from corridor.errors import InputError, InputErrors
from corridor.routes import kernels as K
from corridor.routes.maps import flow_map, link_month_flows, save_flow_map
from corridor.routes.module import RoutesModule
from corridor.routes.run import RoutesResult, demo_network, run_network
from corridor.routes.schema import Network, load_network

START = date(2024, 6, 1)  # June has 30 days: people_per_month = 30 x people a day
RICH = 1e9


def make(
    places: list[tuple[str, str, str]],
    links: list[dict[str, Any]],
    crossings: list[dict[str, Any]] = (),  # type: ignore[assignment]
    origins: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **params: Any,
) -> Network:
    rows = [
        {"place": n, "country": c, "lon": float(i), "lat": 45.0, "kind": k}
        for i, (n, c, k) in enumerate(places)
    ]
    return Network.model_validate({
        "places": rows,
        "links": list(links),
        "crossings": list(crossings),
        "origins": list(origins),
        **params,
    })  # fmt: skip


def pulse(origin: str, dest: str, per_day: int, days: int, **kw: Any) -> list[dict[str, Any]]:
    """``per_day`` people a day for ``days`` days from START, then none."""
    base = {"origin": origin, "destination": dest, "budget_eur_median": RICH, **kw}
    return [
        {**base, "people_per_month": 30 * per_day},
        {**base, "people_per_month": 0, "from_date": START + timedelta(days=days)},
    ]


def channel(p: float, **cross: Any) -> Network:
    """Origin → coast (10 km) → destination across one crossing."""
    return make(
        [("O", "FR", "origin"), ("C", "FR", "coast"), ("D", "UK", "destination")],
        [
            {"from": "O", "to": "C", "km": 10},
            {"from": "C", "to": "D", "km": 50, "mode": "small_boat", "bidirectional": False},
        ],
        [{"link": "C-D", "interception": p, **cross}],
        pulse("O", "D", 100, 20),
    )


def total(result: RoutesResult, crossing: str, kind: str) -> int:
    e = result.events
    return int(e.loc[(e["crossing"] == crossing) & (e["kind"] == kind), "count"].sum())


# ---------------------------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------------------------
def test_attempts_are_geometric() -> None:
    """Intercepted and turned back in place, everyone retries daily: attempts per person are
    geometric with mean 1/(1-p) (sd √p/(1-p)); all 2,000 eventually cross."""
    p = 0.4
    r = run_network(channel(p), days=120, seed=3, start=START)
    n = 2000
    attempts = total(r, "C-D", "attempt")
    assert total(r, "C-D", "crossing") == n
    assert total(r, "C-D", "interception") == attempts - n
    assert int(r.arrivals["people"].sum()) == n
    mean, se = attempts / n, math.sqrt(p) / (1 - p) / math.sqrt(n)
    assert abs(mean - 1 / (1 - p)) < 4 * se


def test_capacity_is_never_exceeded() -> None:
    cap = 7
    r = run_network(channel(0.3, capacity_per_day=cap), days=60, seed=1, start=START)
    e = r.events[r.events["crossing"] == "C-D"]
    per_day = e.pivot_table(index="date", columns="kind", values="count", aggfunc="sum")
    assert per_day["attempt"].max() == cap  # the queue is long: every slot is used
    assert (per_day["crossing"] <= cap).all()
    assert (per_day["attempt"] <= cap).all()


def test_people_who_cannot_pay_do_not_cross() -> None:
    places = [
        ("P", "TR", "origin"),
        ("R", "TR", "origin"),
        ("M", "TR", "origin"),
        ("C", "FR", "coast"),
        ("D", "UK", "destination"),
    ]
    links = [{"from": x, "to": "C", "km": 10} for x in "PRM"] + [
        {"from": "C", "to": "D", "km": 50, "mode": "small_boat", "bidirectional": False}
    ]
    origins = (
        pulse("P", "D", 20, 10, budget_eur_median=500.0)
        + pulse("R", "D", 20, 10, budget_eur_median=5000.0)
        + pulse("M", "D", 50, 10, budget_eur_median=1000.0, budget_sigma=1.0)
    )
    net = make(places, links, [{"link": "C-D", "price_eur": 1000.0}], origins)
    r = run_network(net, days=30, seed=2, start=START, keep_agents=True)
    a = r.agents
    assert a is not None
    by = r.arrivals.groupby("origin")["people"].sum()
    assert "P" not in by.index
    assert by["R"] == 200
    assert (a.loc[a["origin"] == "P", "status"] == "stranded").all()
    mixed = a[a["origin"] == "M"]
    assert 0 < (mixed["status"] == "arrived").sum() < len(mixed)
    # arrived people paid 1,000 from what they had; the stranded had less than 1,000
    assert (mixed.loc[mixed["status"] == "arrived", "budget_eur"] >= 0).all()
    assert (mixed.loc[mixed["status"] == "stranded", "budget_eur"] < 1000).all()
    assert total(r, "C-D", "attempt") == int(by.sum())


def test_closed_border_sends_everyone_on_the_next_cheapest_route() -> None:
    """Via A is cheaper than via B (logit scale 50: nobody takes B while A is open); from day
    10 the A-D border is closed: nobody enters A-D again and everyone goes via B."""
    net = make(
        [
            ("O", "X", "origin"),
            ("A", "X", "transit"),
            ("B", "Y", "transit"),
            ("D", "Z", "destination"),
        ],
        [
            {"from": "O", "to": "A", "km": 100},
            {"from": "A", "to": "D", "km": 100},
            {"from": "O", "to": "B", "km": 150},
            {"from": "B", "to": "D", "km": 150},
        ],
        origins=pulse("O", "D", 50, 20),
        choice={"logit_scale": 50.0},
        policies=[{"date": START + timedelta(days=10), "set": {"borders.X.Z.open": False}}],
    )
    r = run_network(net, days=40, seed=4, start=START)
    f = r.link_flows
    day = (f["date"] - pd.Timestamp(START)).dt.days
    before, after = f[day < 10], f[day >= 10]
    assert before.loc[before["link"] == "O-B", "people"].sum() == 0
    assert before.loc[before["link"] == "O-A", "people"].sum() == 500
    assert after.loc[after["link"] == "A-D", "people"].sum() == 0
    assert after.loc[(after["link"] == "O-A") & (after["from"] == "O"), "people"].sum() == 0
    # everyone crosses once: the 500 who left before the closure by A (those on the link when
    # it closed finish it), the 500 after by B
    assert f.loc[f["link"] == "A-D", "people"].sum() == 500
    assert f.loc[(f["link"] == "B-D") & (f["from"] == "B"), "people"].sum() == 500
    assert int(r.arrivals["people"].sum()) == 1000


@pytest.mark.parametrize("rechoose", [True, False])
def test_people_caught_by_a_closure_ahead_turn_round(rechoose: bool) -> None:
    """O-A takes two days; the A-D border closes on day 10 under people on O-A. Whether they
    choose again at once (at A, their next place) or only on finding the link closed (also at
    A), they go back by O and B, and everyone arrives."""
    net = make(
        [
            ("O", "X", "origin"),
            ("A", "X", "transit"),
            ("B", "Y", "transit"),
            ("D", "Z", "destination"),
        ],
        [
            {"from": "O", "to": "A", "km": 300},
            {"from": "A", "to": "D", "km": 100},
            {"from": "O", "to": "B", "km": 300},
            {"from": "B", "to": "D", "km": 300},
        ],
        origins=pulse("O", "D", 50, 20),
        choice={"logit_scale": 50.0, "rechoose_on_change": rechoose},
        policies=[{"date": START + timedelta(days=10), "set": {"borders.X.Z.open": False}}],
    )
    r = run_network(net, days=40, seed=4, start=START)
    f = r.link_flows
    back = f[(f["link"] == "O-A") & (f["from"] == "A")]
    assert back["people"].sum() == 100  # those who left O on days 8 and 9
    assert int(r.arrivals["people"].sum()) == 1000
    assert r.stocks["stranded"].max() == 0


def test_detention_pushback_and_death_shares() -> None:
    """Outcome shares of interceptions and the death rate of attempts not intercepted."""
    r = run_network(
        channel(0.5, detain_share=0.3, pushback_share=0.4, death_risk=0.05),
        days=80,
        seed=5,
        start=START,
    )
    i = total(r, "C-D", "interception")
    assert abs(total(r, "C-D", "detention") / i - 0.3) < 4 * math.sqrt(0.21 / i)
    assert abs(total(r, "C-D", "pushback") / i - 0.4) < 4 * math.sqrt(0.24 / i)
    free = total(r, "C-D", "attempt") - i
    assert abs(total(r, "C-D", "death") / free - 0.05) < 4 * math.sqrt(0.0475 / free)
    last = r.stocks.iloc[-1]
    assert last["arrived"] == total(r, "C-D", "crossing")
    assert last["dead"] == total(r, "C-D", "death")
    assert last["detained"] == total(r, "C-D", "detention")


# ---------------------------------------------------------------------------------------------
# Conservation, twins, reproducibility
# ---------------------------------------------------------------------------------------------
def busy_network() -> Network:
    """The demo network with a binding Channel capacity, detentions, displaced people and
    dated changes (a border closure, a crackdown)."""
    data = demo_network().model_dump(by_alias=True)
    for c in data["crossings"]:
        if c["link"] == "Calais-Dover":
            c.update(capacity_per_day=60, detain_share=0.1, pushback_share=0.2)
    data["origins"].append({"origin": "Istanbul", "people_per_month": 600})
    data["policies"] = [
        {"date": START + timedelta(days=15), "set": {"borders.Serbia.Hungary.open": False}},
        {
            "date": START + timedelta(days=25),
            "set": {
                "crossings.country:France.price_eur": 3000.0,
                "crossings.Calais-Dover.capacity_per_day": 30.0,
            },
        },
        {
            "date": START + timedelta(days=35),
            "set": {"links.Belgrade-Szeged.open": True, "borders.Serbia.Hungary.open": True},
        },
    ]
    return Network.model_validate(data)


def test_people_are_conserved() -> None:
    r = run_network(busy_network(), days=45, seed=7, start=START)
    stock_cols = ["en_route", "stranded", "arrived", "dead", "detained", "displaced"]
    spawned = r.stocks[stock_cols].sum(axis=1).to_numpy()
    assert np.all(np.diff(spawned) >= 0)
    assert spawned[-1] == r.metrics["agents"]
    # 600 a month: 30 June days at 20 a day, then 15 of July's 31 days (running total floored)
    assert r.stocks["displaced"].iloc[-1] == 600 + math.floor(600 * 15 / 31)
    assert r.metrics["network_versions"] == 4


def test_numba_equals_numpy_and_same_seed_same_results() -> None:
    net = busy_network()
    a = run_network(net, days=45, seed=11, start=START, keep_agents=True)
    b = run_network(net, days=45, seed=11, start=START, keep_agents=True, use_numba=False)
    c = run_network(net, days=45, seed=11, start=START, keep_agents=True)
    d = run_network(net, days=45, seed=12, start=START, keep_agents=True)
    for name in ("link_flows", "events", "arrivals", "stocks", "agents", "routes"):
        assert getattr(a, name).equals(getattr(b, name)), name
        assert getattr(a, name).equals(getattr(c, name)), name
    assert not a.link_flows.equals(d.link_flows)


@pytest.mark.parametrize(
    "kinds", [("1", "7"), pytest.param(("parallel",), marks=pytest.mark.slow, id="parallel")]
)
def test_move_kernel_versions_agree_on_one_day(
    kinds: tuple[str, ...], request: pytest.FixtureRequest
) -> None:
    """Serial with 1 or 7 chunks, the parallel build and the twin: identical arrays. The
    parallel build compiles for half a minute: it runs with ``pytest -m slow`` only."""
    if "parallel" in kinds and "slow" not in (request.config.option.markexpr or ""):
        pytest.skip("the parallel build runs with -m slow")
    module = RoutesModule(busy_network(), START, 30)
    sim = Simulation([module], days=30, seed=3, agents=AgentTable({}, capacity=1))
    sim.run()
    ag = sim.agents
    # a person is in a crossing's queue exactly when their WAIT bit is set
    waiting = np.flatnonzero(ag["status"] & K.WAIT)
    np.testing.assert_array_equal(np.sort(module.queue), waiting)
    cols = ("loc", "link", "on_link", "dest", "origin", "path", "path_pos", "budget", "status")
    snap = {k: ag.raw(k).copy() for k in cols}
    g, st, r = module.graph, module.state, module.routes
    world = (
        30, module.keys["route"], module.keys["flee_move"], module.keys["flee_route"],
        g.dst, g.km, st.speed, st.link_open, module.link_usable, g.link_cross, st.cross_active,
        module.paths.ptr, module.paths.links, g.dest_slot, r.ptr, r.path, r.weight, r.price,
        r.fallback_path, r.fallback_price,
        module.movechance, g.csr_ptr, g.csr_link, module.flee_w, module.flee_wsum,
        module.flee_nopen, g.n_dest,
    )  # fmt: skip

    def one(kind: str) -> tuple[dict[str, np.ndarray], K.MoveOut]:
        cols_ = {k: v.copy() for k, v in snap.items()}
        args = (ag.n, *(cols_[k] for k in cols), *world)
        if kind == "numpy":
            out = K.move_day_np(*args)
        elif kind == "parallel":
            wait_buf = np.empty(ag.n, np.int64)
            e, arr, s, nw = K.move_day_parallel(*args, wait_buf, 5)
            size = (ag.n + 4) // 5
            w = np.concatenate([wait_buf[c * size : c * size + nw[c]] for c in range(5)])
            out = K.MoveOut(e.sum(0), arr.sum(0), s.sum(0), w)
        else:
            out = K.move_day(*args, n_chunks=int(kind))
        return cols_, out

    ref_cols, ref = one("numpy")
    assert ref.waiting.size > 0
    assert ref.entries.sum() > 0
    for kind in kinds:
        got_cols, got = one(kind)
        for k in cols:
            np.testing.assert_array_equal(got_cols[k], ref_cols[k], err_msg=f"{kind} {k}")
        for name in ("entries", "arrivals", "stocks", "waiting"):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    # the cross kernel and its twin, on the queues and the joiners of that day
    assert module.queue.size > 0
    outs = []
    for kernel in (K.cross_day, K.cross_day_np):
        c = {k: v.copy() for k, v in ref_cols.items()}
        res = kernel(
            module.queue, module.qptr, ref.waiting, c["link"], c["on_link"], c["path"],
            c["path_pos"], c["budget"], c["status"], 30, module.keys["intercept"],
            module.keys["outcome"], module.keys["death"], module.paths.ptr, module.paths.links,
            g.link_cross, st.interception, st.pushback, st.detain, st.capacity, st.price,
            st.death,
        )  # fmt: skip
        outs.append((c, res))
    (c1, r1), (c2, r2) = outs
    assert r1[0].sum() > 0
    for x, y in zip(r1, r2, strict=True):
        np.testing.assert_array_equal(x, y)
    for k in cols:
        np.testing.assert_array_equal(c1[k], c2[k])


# ---------------------------------------------------------------------------------------------
# Scenario tables and maps
# ---------------------------------------------------------------------------------------------
def write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.csv").write_text(text.strip() + "\n", encoding="utf-8")


def test_load_network_from_csv_tables(tmp_path: Path) -> None:
    write(
        tmp_path,
        "places",
        """
place,country,lon,lat,kind,note
O,TR,28.9,41.0,origin,a comment
C,FR,1.86,50.95,coast,
D,UK,1.31,51.13,destination,
""",
    )
    write(
        tmp_path,
        "links",
        """
from,to,km,mode,bidirectional,id
O,C,2500,road,true,
C,D,50,small_boat,no,channel
""",
    )
    write(
        tmp_path,
        "crossings",
        """
link,from_date,interception,capacity_per_day,price_eur,death_risk,source
channel,,0.45,1000,2000,0.002,data.md §6
channel,2025-01-01,0.6,800,2500,0.002,assumed crackdown
""",
    )
    write(
        tmp_path,
        "origins",
        """
origin,destination,from_date,people_per_month,budget_eur_median,budget_sigma
O,D,,3000,6000,0.5
O,,2024-07-01,100,,
""",
    )
    net = load_network(tmp_path, {"choice": {"k": 2}})
    assert [lk.key for lk in net.links] == ["O-C", "channel"]
    assert net.links[1].bidirectional is False
    assert net.crossings[1].from_date == date(2025, 1, 1)
    assert net.origins[1].destination is None
    assert net.choice.k == 2


def test_load_network_reports_file_line_and_column(tmp_path: Path) -> None:
    write(
        tmp_path,
        "places",
        """
place,country,lon,lat,kind
O,TR,28.9,41.0,origin
D,UK,1.31,91.0,destination
""",
    )
    write(
        tmp_path,
        "links",
        """
from,to,km,mode
O,D,100,boat
O,X,100,road
""",
    )
    with pytest.raises(InputErrors) as info:
        load_network(tmp_path)
    errors = info.value.errors
    found = {(Path(e.file or "").name, e.line, e.field) for e in errors}
    assert ("places.csv", 3, "lat") in found
    assert ("links.csv", 2, "mode") in found
    # references are checked once every row parses
    write(tmp_path, "places", "place,country,lon,lat,kind\nO,TR,28.9,41.0,origin\n")
    write(tmp_path, "links", "from,to,km,mode\nO,X,100,road\n")
    with pytest.raises(InputError) as one:
        load_network(tmp_path)
    assert (Path(one.value.file or "").name, one.value.line, one.value.field) == (
        "links.csv",
        2,
        "to",
    )


def test_policy_paths_and_host_conditions_are_checked() -> None:
    places = [("A", "ME", "transit"), ("B", "RS", "transit"), ("C", "HU", "transit")]
    links = [{"from": "A", "to": "B", "km": 100}, {"from": "B", "to": "C", "km": 100}]
    with pytest.raises(ValueError, match="no link 'A-C'"):
        make(places, links, policies=[{"date": START, "set": {"links.A-C.open": False}}])
    with pytest.raises(ValueError, match="true or false"):
        make(places, links, policies=[{"date": START, "set": {"borders.ME.RS.open": 1.0}}])
    cond = {"id": "rail", "host": "ME", "date": START, "met": True}
    with pytest.raises(ValueError, match="is not in ME"):
        make(places, links, conditions=[{**cond, "set": {"links.B-C.speed_kmday": 400.0}}])
    ok = make(places, links, conditions=[{**cond, "set": {"links.A-B.speed_kmday": 400.0}}])
    assert ok.conditions[0].met


def test_flow_map(tmp_path: Path) -> None:
    r = run_network(demo_network(), days=30, seed=1, start=START)
    flows = link_month_flows(r)
    assert flows["people_per_month"].max() > 0
    fig = flow_map(r, title="demo")
    ax = fig.axes[0]
    widths = ax.collections[0].get_linewidths()
    assert len(widths) == len(flows)
    assert np.argmax(widths) == int(np.argmax(flows["people_per_month"].to_numpy()))
    save_flow_map(r, tmp_path / "flows.png")
    assert (tmp_path / "flows.png").stat().st_size > 10_000
