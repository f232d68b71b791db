"""Known answers of Flee's movement rules on tiny worlds (flee-model.md §1.5-§1.11, §7.1).

Every expected number is derived from the rules in the comment next to it. Camps are made
absorbing with ``camp_movechance=0`` so that the answers are exact rather than 99.9% likely.
"""

from __future__ import annotations

import numpy as np
import pytest

from corridor.engine.dtypes import AgentFlags
from corridor.flee_run import run_flee_case
from corridor.modules.flee import build_world
from corridor.scenario.flee_case import FleeCase
from flee_builders import ClosureRow, make_case, step_days

V = 360.0  # default max_move_speed (§1.0)


# ---------------------------------------------------------------------------------------------
# One agent, one link (§1.5 spawning, §1.9 travel)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("km", "arrival_day"),
    [
        # The agent is spawned on day 1 and leaves at once (conflict move chance 1). A link
        # entered on day 1 has been credited 360·k km at the end of day k; the agent arrives on
        # the first day with 360·k > km (strict '>'), i.e. day floor(km/360) + 1.
        (100, 1),  # 360 > 100
        (359, 1),  # 360 > 359
        (360, 2),  # 360 is not > 360; 720 > 360
        (361, 2),  # 720 > 361
        (700, 2),  # 720 > 700
        (720, 3),  # 720 is not > 720; 1080 > 720
        (1000, 3),  # 1080 > 1000
    ],
)
def test_one_agent_one_link_arrival_day(km: float, arrival_day: int) -> None:
    days = 6
    # B's observed series is 0 on day 0 and 1 from day 1 on: no day-0 agents in B and
    # Σ_c I(c,1) - I(c,0) = 1, so exactly one agent spawns on day 1, at A (the only populated
    # conflict zone) (§1.5).
    case = make_case(
        [("A", "H", "conflict_zone", 1000), ("B", "H", "camp", 0)],
        [("A", "B", km)],
        days=days,
        observed={"B": [(0, 0.0), (1, 1.0)]},
        camp_movechance=0.0,
    )
    world = build_world(case)
    assert world.spawns.tolist() == [0, 1, 0, 0, 0, 0]
    assert world.initial.tolist() == [0]
    res = run_flee_case(case, seed=3)
    # In B from the arrival day on, and it stays (camp move chance 0).
    expected = [0] * arrival_day + [1] * (days - arrival_day)
    assert res.wide()["B"].tolist() == expected
    # Before arriving, the agent is on the link with 360 km credited per day travelled.
    for st in step_days(case, seed=3):
        a = st.agents
        assert a.n == (0 if st.day == 0 else 1)
        if 1 <= st.day < arrival_day:
            assert a["link"][0] >= 0
            assert a["on_link"][0] == pytest.approx(V * st.day)
        elif st.day >= arrival_day:
            assert a["link"][0] == -1
            assert st.at("B") == 1


@pytest.mark.parametrize(
    ("attrs", "settings", "km", "arrival_day"),
    [
        # A link's own max_move_speed (200 km/day) overrides the default: 200 ≤ 250 < 400.
        ({"max_move_speed": "200"}, {}, 250, 2),
        # The settings' max_move_speed (100 km/day) applies to links without their own:
        # 100, 200 ≤ 250 < 300 → third day.
        ({}, {"max_move_speed": 100.0}, 250, 3),
        # walk_probability 1: always the walking speed (35 km/day): 35, 70 ≤ 100 < 105.
        ({"walk_probability": "1"}, {}, 100, 3),
        # walk_probability 1 with max_walk_speed 60: 60 ≤ 100 < 120.
        ({"walk_probability": "1.0"}, {"max_walk_speed": 60.0}, 100, 2),
    ],
)
def test_link_speed_and_walking(
    attrs: dict[str, str], settings: dict[str, float], km: float, arrival_day: int
) -> None:
    days = 5
    case = make_case(
        [("A", "H", "conflict_zone", 1000), ("B", "H", "camp", 0)],
        [("A", "B", km, attrs)],
        days=days,
        spawns=[0, 10, 0, 0, 0],
        camp_movechance=0.0,
        **settings,
    )
    res = run_flee_case(case, seed=1)
    # All ten agents spawned on day 1 travel alike (every probability is 0 or 1).
    assert res.wide()["B"].tolist() == [0] * arrival_day + [10] * (days - arrival_day)


# ---------------------------------------------------------------------------------------------
# Several links in one day (§1.9, §7.1 item 2)
# ---------------------------------------------------------------------------------------------
# A forced chain A → T1 → (T2 →) C. Towns move with chance 1 (default_movechance=1). The way
# back always has weight 0, so every choice is forced:
# * conflict_weight 0 gives A the score 0^1 = 0;
# * T1 is in a foreign country and foreign_weight 0 gives it the score 0;
# * T2 and C are in the home country (the first row's), score 1.
# From A the only neighbour T1 has weight 0: all weights are 0, so the choice is uniform over the
# open links, i.e. T1. From T1: A (0) or the next stop (>0). From T2: T1 (0) or C (>0).
CHAIN_SETTINGS = {
    "default_movechance": 1.0,
    "conflict_weight": 0.0,
    "foreign_weight": 0.0,
    "camp_movechance": 0.0,
}


def chain_case(lengths: tuple[float, ...], days: int = 4, n: int = 50) -> FleeCase:
    locs = [("A", "H", "conflict_zone", 1000), ("T1", "X", "town", 0)]
    stops = ["A", "T1"]
    if len(lengths) == 3:
        locs.append(("T2", "H", "town", 0))
        stops.append("T2")
    locs.append(("C", "H", "camp", 0))
    stops.append("C")
    routes = [(stops[i], stops[i + 1], km) for i, km in enumerate(lengths)]
    spawns = [0, n] + [0] * (days - 2)
    return make_case(locs, routes, days=days, spawns=spawns, **CHAIN_SETTINGS)


@pytest.mark.parametrize(
    ("lengths", "end_of_day1", "arrival_day"),
    [
        # Day 1: link 1 credited 360 > 100, moved 100 < 360 → hop; link 2 credited 360 > 200,
        # moved 300 < 360 → hop; link 3 credited 360 > 300, moved 600: in C on day 1 (600 km).
        ((100, 200, 300), "C", 1),
        # Same, but 360 ≤ 400 on the third link: on T2→C with 360 km at the end of day 1;
        # 720 > 400 on day 2.
        ((100, 200, 400), "on T2-C", 2),
        # 360 > 300 (moved 300 < 360) → hop; 360 > 300, moved 600 ≥ 360 → stop at T2. Day 2:
        # 360 > 300 → C.
        ((300, 300, 300), "T2", 2),
        # 359 < 360 twice: moved 359 < 360 after the first link, so the second link (credited
        # a full 360 > 359) is done too: 718 km on day 1.
        ((359, 359), "C", 1),
        # After 200 + 200 km moved = 400 ≥ 360, so the agent stops at T2 although C is only
        # 10 km further (the budget counts the km actually covered).
        ((200, 200, 10), "T2", 2),
        # 359 + 359 = 718 ≥ 360 → stop at T2; the 5 km link waits for day 2.
        ((359, 359, 5), "T2", 2),
    ],
)
def test_multi_link_travel_in_one_day(
    lengths: tuple[float, ...], end_of_day1: str, arrival_day: int
) -> None:
    n = 50
    case = chain_case(lengths, n=n)
    for st in step_days(case, seed=7):
        if st.day == 1:
            if end_of_day1.startswith("on "):
                assert st.heading_to("C") == n
                np.testing.assert_array_equal(st.agents["on_link"], np.float32(V))
            else:
                assert st.at(end_of_day1) == n
        # Nobody is in C before the arrival day, everybody from it on.
        assert st.at("C") == (n if st.day >= arrival_day else 0)
    # Same answer from the whole-run API.
    res = run_flee_case(case, seed=7)
    assert res.wide()["C"].tolist() == [0] * arrival_day + [n] * (4 - arrival_day)


def test_day_ends_once_the_km_covered_reach_v() -> None:
    # A line A - T1 - ... - T8 of 100-km links; forwarding hubs move with chance 1 and A (a
    # conflict zone) too, and every location has an open link, so nobody ever stays put. After
    # hops of 100, 200, 300 km the km covered are < 360 and the agent hops again; the 4th hop
    # (credited 360 > 100) brings them to 400 ≥ 360 and the day ends. So on day 1 every agent
    # makes exactly 4 hops of a random walk from A: it ends off the links, at an even position
    # (4 steps on a line), never beyond T4 (400 km, below the 2·360 bound of the rule).
    # Going straight ahead has probability 1 · 0.8 · 0.5 · 0.5 = 0.2 (from T1 the weights are
    # 0.25/110 back to the conflict zone and 1/110 ahead), so about 100 of 500 reach T4.
    n = 500
    hubs = [f"T{i}" for i in range(1, 9)]
    case = make_case(
        [("A", "H", "conflict_zone", 1000)] + [(h, "H", "forwarding_hub", 0) for h in hubs],
        [("A", "T1", 100)] + [(hubs[i], hubs[i + 1], 100) for i in range(7)],
        days=3,
        spawns=[0, n, 0],
    )
    for st in step_days(case, seed=11):
        if st.day == 0:
            continue
        a = st.agents
        pos = a["loc"]  # index = number of links from A
        assert np.all(a["link"] == -1)
        assert np.all(pos % 2 == 0)  # 4 hops a day on a line: even parity
        assert pos.max() <= 4 * st.day  # at most 4 links (400 km) a day
        if st.day == 1:
            straight = np.count_nonzero(pos == 4)
            assert abs(straight - 0.2 * n) < 5 * np.sqrt(n * 0.2 * 0.8)


# ---------------------------------------------------------------------------------------------
# Spawning (§1.5)
# ---------------------------------------------------------------------------------------------
def test_spawn_locations_follow_pop_times_intensity() -> None:
    # Isolated locations (no links) keep their spawns. Weights are pop × intensity over
    # conflict zones that are on: A 1000·1, D 3000·0.5 (its day-0 intensity; the change to
    # 1.0 on day 1 is ignored, §1.4), E has pop 0, T is a town and Z is a conflict zone whose
    # conflict_date > 0 makes it a town until conflicts.csv switches it on (never here).
    # So the 40000 spawns of day 1 are split 40% / 60% between A and D.
    n = 40_000
    case = make_case(
        [
            ("A", "H", "conflict_zone", 1000),
            ("D", "H", "conflict_zone", 3000),
            ("E", "H", "conflict_zone", 0),
            ("T", "H", "town", 5000),
            ("Z", "H", "conflict_zone", 9000, 5),
            ("B", "H", "camp", 0),
        ],
        [],
        days=2,
        conflicts={"A": 1.0, "D": [0.5, 1.0], "E": 1.0, "Z": 0.0},
        spawns=[0, n],
    )
    *_, st = step_days(case, seed=5)
    assert st.agents.n == n
    a, d = st.at("A"), st.at("D")
    assert a + d == n
    assert st.at("E") == st.at("T") == st.at("Z") == 0
    sd = np.sqrt(n * 0.4 * 0.6)  # binomial sd ≈ 98
    assert abs(a - 0.4 * n) < 5 * sd


# ---------------------------------------------------------------------------------------------
# Closures (§1.11)
# ---------------------------------------------------------------------------------------------
def closure_world(
    closures: list[ClosureRow],
    ab_km: float = 50.0,
    ac_km: float = 300.0,
    spawns: list[int] | None = None,
    days: int = 8,
) -> FleeCase:
    # A (home country H) links to camp B (country BL) and camp C (country CL).
    return make_case(
        [
            ("A", "H", "conflict_zone", 1000),
            ("B", "BL", "camp", 0),
            ("C", "CL", "camp", 0),
        ],
        [("A", "B", ab_km), ("A", "C", ac_km)],
        days=days,
        closures=closures,
        spawns=spawns or [0] + [100] * (days - 1),
        camp_movechance=0.0,
    )


@pytest.mark.parametrize(
    "closure",
    [
        ("country", "H", "BL", 0, -1),
        # Closures are two-way: naming the countries the other way round closes the same links.
        ("country", "BL", "H", 0, -1),
        # A location closure closes every link into and out of B.
        ("location", "B", "", 0, -1),
    ],
)
def test_closure_for_whole_run_diverts_everyone(closure: ClosureRow) -> None:
    days = 8
    # Control: without the closure B (50 km, weight 1/60) gets 310/370 ≈ 84% of the people.
    open_run = run_flee_case(closure_world([], days=days), seed=2).wide()
    assert open_run["B"].iloc[-1] > 0.7 * 700
    # Closed from day 0, end -1 (never reopens): A's only open link is to C, reached the same
    # day (300 < 360), so C holds every agent spawned so far: 100 a day from day 1.
    res = run_flee_case(closure_world([closure], days=days), seed=2).wide()
    assert res["B"].tolist() == [0] * days
    assert res["C"].tolist() == [100 * t for t in range(days)]


@pytest.mark.parametrize("end", [-1, 3])
def test_agents_on_a_closed_link_bounce_back(end: int) -> None:
    # 2000 people spawn on day 1 and choose B (1000 km, weight 1/1010) or C (20 km, 1/30).
    # The closure H–BL starts on day 2. Those on A→B have 360 km at the end of day 1, are
    # flagged STALE on day 2 (720 km) and "arrive" on day 3 (1080 > 1000): they are put back
    # at A with no further hop that day. With end=3 the link reopens on day 3 before moving,
    # but the people on the old link still bounce (§1.11: "including after a reopen").
    n = 2000
    days = 6
    case = closure_world(
        [("country", "H", "BL", 2, end)], ab_km=1000, ac_km=20, spawns=[0, n] + [0] * 4, days=days
    )
    on_ab = -1
    for st in step_days(case, seed=4):
        a = st.agents
        if st.day == 1:
            on_ab = st.heading_to("B")
            assert on_ab > 0
            assert st.at("C") == n - on_ab  # 20 km: the others arrive the same day
        if st.day == 2:
            stale = (a["flags"] & AgentFlags.STALE) != 0
            assert np.count_nonzero(stale) == on_ab
            assert np.all(a["link"][stale] >= 0)
        if st.day == 3:
            assert st.at("A") == on_ab  # bounced back to the start of the link
            assert st.heading_to("B") == 0
            assert not np.any(a["flags"] & AgentFlags.STALE)  # the flag is spent
        if st.day <= 3:
            assert st.at("B") == 0
        if st.day == 4 and end == -1:
            # A's only open link is to C (20 km): all bounced people reach C on day 4.
            assert st.at("C") == n


def test_closure_after_arrival_changes_nothing() -> None:
    # Control for the bounce test: the same run with the closure starting on day 4, after
    # the people on A→B arrived (day 3): B keeps them.
    n = 2000
    case = closure_world(
        [("country", "H", "BL", 4, -1)], ab_km=1000, ac_km=20, spawns=[0, n] + [0] * 4, days=6
    )
    on_ab = -1
    for st in step_days(case, seed=4):
        if st.day == 1:
            on_ab = st.heading_to("B")
        if st.day >= 3:
            assert st.at("B") == on_ab > 0


# ---------------------------------------------------------------------------------------------
# Capacity (§1.5 day-0 cut, §1.8 C(E), §1.9 full-camp block, §1.10)
# ---------------------------------------------------------------------------------------------
def test_capped_camp_stops_receiving_above_95_percent() -> None:
    # Camp B: capacity 300, 100 people on day 0, so its capacity becomes 300 - 100 = 200
    # (the day-0 cut, §1.5) while the 100 stay. C is uncapped (capacity 0). Both links are 5 km,
    # so every mover arrives the day it leaves and nobody is ever in transit overnight.
    days = 40
    spawn = 20
    case = make_case(
        [
            ("A", "H", "conflict_zone", 1000),
            ("B", "H", "camp", 300),
            ("C", "H", "camp", 0),
        ],
        [("A", "B", 5), ("A", "C", 5)],
        days=days,
        spawns=[0] + [spawn] * (days - 1),
        day0={"B": 100},
        camp_movechance=0.0,
    )
    world = build_world(case)
    b, c = world.names.index("B"), world.names.index("C")
    assert world.capacity0[b] == 200
    assert world.capacity0[c] == 0  # ≤ 0: no limit
    assert world.initial.tolist() == [100, 0]
    series = run_flee_case(case, seed=9).wide()["B"].to_numpy()
    assert series[0] == 100
    cap = 200
    for t in range(1, days):
        inflow = series[t] - series[t - 1]
        # Nobody leaves (camp move chance 0) and the day's movers are at most the day's
        # spawns (nobody waits at A before B is blocked).
        assert 0 <= inflow <= spawn
        if series[t - 1] > 0.95 * cap:
            # Start-of-day count above 95%: C(B) < 0.5, every step to B is blocked.
            assert inflow == 0
    # It got there (C(B) = 1 up to 180, then falls linearly to 0 at 200; the block starts
    # above 190) and overshot by at most one day's inflow.
    assert 0.95 * cap < series[-1] <= 0.95 * cap + spawn
    # Without the day-0 cut, B would only have been blocked above 0.95 · 300 = 285.
    assert series[-1] < 0.95 * 300


def test_capped_camp_in_transit_overshoot() -> None:
    # B (capacity 100) and C (uncapped) are 1000 km from A: three days on the link. People in
    # transit are not counted (§1.10), so B keeps receiving the people already on their way
    # after it is blocked. Exactly: once B's count exceeds 95 (day t*), nobody enters A→B any
    # more (blocked from day t*+1; at ≥ 100 its weight is also 0), and B ends with its day-t*
    # count plus everyone on A→B at the end of day t*.
    days = 20
    case = make_case(
        [
            ("A", "H", "conflict_zone", 1000),
            ("B", "H", "camp", 100),
            ("C", "H", "camp", 0),
        ],
        [("A", "B", 1000), ("A", "C", 1000)],
        days=days,
        spawns=[0] + [60] * (days - 1),
        camp_movechance=0.0,
    )
    t_star, b_star, x_star = -1, 0, 0
    heading = []
    final = 0
    for st in step_days(case, seed=21):
        b = st.at("B")
        heading.append(st.heading_to("B"))
        if t_star < 0 and b > 95:
            t_star, b_star, x_star = st.day, b, st.heading_to("B")
        final = b
    assert t_star > 0
    assert final == b_star + x_star
    # The in-transit people push B over its capacity.
    assert final > 100
    # After t*, the number heading to B only falls (arrivals, no departures towards B).
    assert all(x >= y for x, y in zip(heading[t_star:], heading[t_star + 1 :], strict=False))
    assert heading[-1] == 0
