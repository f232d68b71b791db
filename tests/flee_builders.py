"""Helpers that build Flee cases in memory (no files) and run them day by day.

``make_case`` turns Python lists into an immutable :class:`~corridor.scenario.flee_case.FleeCase`;
``step_days`` runs a case one day at a time and yields the simulation after each day, so that a
test can look at every agent; ``random_case`` is a Hypothesis strategy for random worlds.

Spawning follows Flee's data-driven rule (flee-model.md §1.5): the number of people spawned on
day t > 0 is the day-to-day difference of the observed series summed over the layout. The
simplest way to spawn exactly ``k_t`` people on day t is a layout series that is not a location
(a "phantom", allowed by §7.1 item 10) whose value on day t is ``k_1 + ... + k_t``; that is what
``spawns=`` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from corridor.engine.agents import AgentTable
from corridor.engine.loop import PHASES, Simulation
from corridor.modules.flee import FleeMovement, FleeWorld, build_world
from corridor.scenario.flee_case import (
    ConflictTable,
    FleeCase,
    FleeClosure,
    FleeLocation,
    FleeRoute,
    FleeSettings,
    ObservedData,
    ObservedSeries,
)

START = date(2020, 1, 1)
PHANTOM = "_spawned"  # layout name of the spawn-driving series (not a location)

# (name, country, location_type, pop_cap[, conflict_date[, attributes]])
LocationRow = tuple[Any, ...]
# (name1, name2, km[, attributes])
RouteRow = tuple[Any, ...]
# (kind, name1, name2, start, end)
ClosureRow = tuple[str, str, str, int, int]


def series(name: str, points: Sequence[tuple[int, float]]) -> ObservedSeries:
    """An observed series from (day offset, count) points."""
    days = np.asarray([p[0] for p in points], np.int64)
    values = np.asarray([p[1] for p in points], np.float64)
    return ObservedSeries(name, days, values)


def cumulative_points(spawns: Sequence[int]) -> list[tuple[int, float]]:
    """Points of a series whose daily differences are ``spawns`` (``spawns[0]`` must be 0)."""
    if spawns and spawns[0] != 0:
        raise ValueError("with insert_day0 (the default) nothing spawns on day 0")
    cum = np.cumsum(np.asarray(spawns, np.int64)) if spawns else np.zeros(1, np.int64)
    return [(t, float(c)) for t, c in enumerate(cum)]


def make_case(
    locations: Sequence[LocationRow],
    routes: Sequence[RouteRow],
    *,
    days: int,
    closures: Sequence[ClosureRow] = (),
    conflicts: Mapping[str, Sequence[float] | float] | None = None,
    spawns: Sequence[int] | None = None,
    day0: Mapping[str, int] | None = None,
    observed: Mapping[str, Sequence[tuple[int, float]]] | None = None,
    total: Sequence[tuple[int, float]] = ((0, 0.0),),
    **settings: Any,
) -> FleeCase:
    """A :class:`FleeCase` from Python lists.

    * ``locations``: ``(name, country, type, pop_cap[, conflict_date[, attributes]])``;
      ``conflict_date`` defaults to 0 for conflict types (a conflict zone from day 0).
    * ``routes``: ``(name1, name2, km[, attributes])``, attributes such as
      ``{"max_move_speed": "200", "walk_probability": "0.5"}``.
    * ``closures``: ``(kind, name1, name2, start, end)``.
    * ``conflicts``: name -> intensity per day (or one value for every day). Default: every
      location whose type contains "conflict" and whose date is 0 is at intensity 1 every day.
    * ``spawns``: people spawned per day (index = day), through a phantom layout series.
    * ``day0``: observed count of a camp on day 0 (flat series): these people are in the camp
      on day 0 and the camp's capacity is cut by the same amount (§1.5).
    * ``observed``: further layout series, name -> (day, value) points.
    * Every camp gets a series (flat ``day0`` value, or 0) unless ``observed`` names it.
    * ``settings``: :class:`FleeSettings` fields to override.
    """
    locs = []
    for i, row in enumerate(locations):
        name, country, ltype, popcap = row[:4]
        cdate = row[4] if len(row) > 4 else (0 if "conflict" in ltype else None)
        attrs = dict(row[5]) if len(row) > 5 else {}
        locs.append(
            FleeLocation(name, "r", country, 0.0, 0.0, ltype, cdate, int(popcap), attrs, i + 2)
        )
    rts = tuple(
        FleeRoute(r[0], r[1], float(r[2]), 0, dict(r[3]) if len(r) > 3 else {}, i + 2)
        for i, r in enumerate(routes)
    )
    cls = tuple(FleeClosure(k, a, b, s, e, i + 2) for i, (k, a, b, s, e) in enumerate(closures))
    if conflicts is None:
        conflicts = {
            loc.name: 1.0
            for loc in locs
            if "conflict" in loc.location_type and not loc.conflict_date
        }
    names = tuple(conflicts)
    values = np.zeros((max(days, 1), len(names)))
    for j, nm in enumerate(names):
        v = conflicts[nm]
        values[:, j] = np.asarray(v, np.float64)[: max(days, 1)] if np.ndim(v) else float(v)
    s = FleeSettings(**settings)
    obs_map: dict[str, Sequence[tuple[int, float]]] = {}
    if spawns is not None:
        obs_map[PHANTOM] = cumulative_points(spawns)
    obs_map.update(observed or {})
    obs: ObservedData | None = None
    if obs_map or day0:
        from corridor.scenario.flee_case import classify_location

        for loc in locs:
            if classify_location(loc.location_type, loc.conflict_date, s).camp:
                obs_map.setdefault(loc.name, [(0, float((day0 or {}).get(loc.name, 0)))])
        obs = ObservedData(
            Path("<memory>"),
            series("total", total),
            tuple(series(nm, pts) for nm, pts in obs_map.items()),
        )
    return FleeCase(
        input_dir=Path("<memory>"),
        start_date=START,
        length=days,
        locations=tuple(locs),
        routes=rts,
        closures=cls,
        conflicts=ConflictTable(names, values),
        observed=obs,
        settings=s,
    )


@dataclass
class Day:
    """The state after one simulated day."""

    day: int
    sim: Simulation
    module: FleeMovement

    @property
    def world(self) -> FleeWorld:
        return self.module.world

    @property
    def agents(self) -> AgentTable:
        return self.sim.agents

    def at(self, name: str) -> int:
        """People at location ``name`` (off links), from the agent table."""
        i = self.world.names.index(name)
        a = self.agents
        return int(np.count_nonzero((a["loc"] == i) & (a["link"] < 0)))

    def heading_to(self, name: str) -> int:
        """People on a link whose end is ``name``."""
        i = self.world.names.index(name)
        lk = self.agents["link"]
        on = lk >= 0
        return int(np.count_nonzero(self.world.link_dst[lk[on]] == i))


def step_days(
    case: FleeCase, *, seed: int = 0, use_numba: bool = True, days: int | None = None
) -> Iterator[Day]:
    """Run ``case`` one day at a time, in the loop's phase order; yield the state after each day.

    This drives the module through its public ``step`` in :data:`PHASES` order, as
    :meth:`Simulation.run` does, so that a test can inspect every agent between days.
    """
    world = build_world(case, days)
    module = FleeMovement(world, use_numba=use_numba)
    sim = Simulation([module], days=world.days, seed=seed, agents=AgentTable({}, capacity=1))
    sim.init()
    for day in range(world.days):
        for phase in PHASES:
            if phase in module.phases:
                module.step(sim, day, phase)
        yield Day(day, sim, module)


# ---------------------------------------------------------------------------------------------
# Random worlds
# ---------------------------------------------------------------------------------------------
@st.composite
def random_case(draw: st.DrawFn, max_days: int = 30) -> FleeCase:
    """A random connected Flee world (10-40 locations, links 5-500 km, every feature on).

    Hypothesis draws the sizes and a seed; the seed draws the rest (types, populations,
    capacities, link lengths and attributes, closures, conflict switches, spawns).
    """
    n = draw(st.integers(10, 40), label="locations")
    days = draw(st.integers(5, max_days), label="days")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    countries = [f"K{k}" for k in range(int(rng.integers(1, 4)))]
    kinds = ["conflict_zone", "town", "camp", "forwarding_hub", "idpcamp", "town"]
    locs: list[LocationRow] = []
    conflicts: dict[str, Sequence[float] | float] = {}
    for i in range(n):
        name = f"L{i}"
        country = countries[int(rng.integers(len(countries)))]
        kind = "conflict_zone" if i == 0 else kinds[int(rng.integers(len(kinds)))]
        if "camp" in kind:
            cap = 0 if rng.random() < 0.4 else int(rng.integers(5, 400))
            locs.append((name, country, kind, cap))
        elif kind == "conflict_zone":
            pop = int(rng.integers(1_000, 100_000))
            on_day = 0 if i == 0 or rng.random() < 0.5 else int(rng.integers(1, days + 1))
            locs.append((name, country, kind, pop, on_day))
            v = np.zeros(days)
            v[on_day:] = rng.choice([0.5, 1.0])
            if i != 0 and rng.random() < 0.3:  # switches off again (§1.4 removal)
                v[int(rng.integers(on_day, days + 1)) :] = 0.0
            conflicts[name] = v
        else:
            locs.append((name, country, kind, int(rng.integers(0, 50_000))))
    # A random spanning tree plus extra edges: connected, mean degree about 3.
    order = rng.permutation(n)
    edges = {(int(order[k]), int(order[rng.integers(k)])) for k in range(1, n)}
    for _ in range(int(rng.integers(0, n))):
        a, b = (int(x) for x in rng.integers(n, size=2))
        if a != b:
            edges.add((a, b))
    routes: list[RouteRow] = []
    for a, b in sorted(edges):
        attrs: dict[str, str] = {}
        if rng.random() < 0.3:
            attrs["max_move_speed"] = str(int(rng.integers(20, 600)))
        if rng.random() < 0.3:
            attrs["walk_probability"] = f"{rng.random():.3f}"
        km = float(np.round(rng.uniform(5, 500), int(rng.integers(0, 3))))
        routes.append((f"L{a}", f"L{b}", km, attrs))
    camps = [r[0] for r in locs if r[2] == "camp"]
    closures: list[ClosureRow] = []
    for _ in range(int(rng.integers(0, 4))):
        start = int(rng.integers(0, days))
        end = -1 if rng.random() < 0.3 else int(rng.integers(start, days + 2))
        kind = str(rng.choice(["country", "location", "camp"]))
        if kind == "country":
            a, b = (str(c) for c in rng.choice(countries, size=2))
            closures.append(("country", a, b, start, end))
        elif kind == "camp" and camps:
            closures.append(("camp", str(rng.choice(camps)), "", start, end))
        else:
            closures.append(("location", f"L{int(rng.integers(1, n))}", "", start, end))
    spawns = [0] + [int(x) for x in rng.integers(0, 150, size=days - 1)]
    day0 = {r[0]: int(rng.integers(0, 40)) for r in locs if "camp" in r[2] and rng.random() < 0.5}
    settings: dict[str, Any] = {}
    if rng.random() < 0.5:
        settings["max_move_speed"] = float(rng.integers(50, 500))
    if rng.random() < 0.5:
        settings["camp_movechance"] = float(rng.choice([0.0, 0.001, 0.2]))
    return make_case(
        locs,
        routes,
        days=days,
        closures=closures,
        conflicts=conflicts,
        spawns=spawns,
        day0=day0,
        **settings,
    )
