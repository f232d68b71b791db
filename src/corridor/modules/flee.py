"""Flee's movement model as a module of the engine.

Set-up (:func:`build_world`) turns a :class:`~corridor.scenario.flee_case.FleeCase` into arrays
once: locations, directed links in CSR order, the conflict and closure schedule, the daily spawn
counts and the observed series. :class:`FleeMovement` then acts in the step loop:

* ``policies``: conflict zones switch on or off (§1.4), border and location closures (§1.11),
  ``capacity_per_day`` growth;
* ``spawn``: the day's new people at conflict zones, drawn as one multinomial over
  ``pop × intensity`` (§1.5);
* ``move``: decisions and travel (:mod:`corridor.modules.flee_kernels`);
* ``record``: people in each camp, next to the observed counts.

Section numbers refer to ``shared/research/flee-model.md``. Where that description and Flee's
reference outputs disagree the outputs win; such rules are marked "REFERENCE".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from corridor.engine import dtypes as dt
from corridor.engine.loop import Simulation
from corridor.engine.rng import generator, stream_key
from corridor.errors import CorridorError, InputError
from corridor.modules.flee_kernels import FULL_CAMP_FACTOR, move_day, move_day_np
from corridor.scenario.flee_case import FleeCase, FleeSettings, classify_location

log = logging.getLogger(__name__)

CONFLICT_EPS = 1e-6  # §1.4: a zone is "on" when its intensity exceeds this
AGENT_COLUMNS = {"loc": dt.LOC, "link": dt.LINK, "on_link": dt.DIST, "flags": dt.FLAGS}
AGENT_FILL = {"link": dt.NO_LINK}


@dataclass(frozen=True)
class FleeWorld:
    """Everything a Flee run needs, as arrays, fixed at set-up."""

    settings: FleeSettings
    start_date: date
    days: int
    names: tuple[str, ...]
    country: NDArray[np.int32]
    pop: NDArray[np.int64]
    foreign: NDArray[np.bool_]
    camp0: NDArray[np.bool_]
    idpcamp0: NDArray[np.bool_]
    conflict0: NDArray[np.float64]
    movechance0: NDArray[np.float64]
    capacity0: NDArray[np.float64]  # after the day-0 cut; <1 means no limit
    capacity_per_day: NDArray[np.float64]
    link_src: NDArray[np.int32]
    link_dst: NDArray[np.int32]
    link_len: NDArray[np.float64]
    link_speed: NDArray[np.float64]
    link_walkp: NDArray[np.float64]
    csr_ptr: NDArray[np.int64]
    csr_link: NDArray[np.int32]
    conflict_events: dict[int, list[tuple[int, float]]]  # day -> [(loc, intensity or -1 = off)]
    close_events: dict[int, list[tuple[str, NDArray[np.int32], int]]]  # day -> [(kind, links, loc)]
    open_events: dict[int, list[tuple[str, NDArray[np.int32], int]]]
    camps: NDArray[np.int32]  # output columns: camps in file order (§1.1 step 7)
    initial: NDArray[np.int64]  # people placed in each output camp on day 0
    spawns: NDArray[np.int64]  # new people on each day
    observed: NDArray[np.int64] | None  # I(c, t) for output camps, shape (days, camps)
    raw: NDArray[np.int64] | None  # raw UNHCR count (§3)

    @property
    def n_locations(self) -> int:
        return len(self.names)

    def total_agents(self) -> int:
        return int(self.initial.sum() + self.spawns.sum())

    def date_of(self, day: int) -> date:
        """The date Flee prints for day ``day``: start + day + 1 (§1.2 step 6)."""
        return self.start_date + timedelta(days=day + 1)


def build_world(case: FleeCase, days: int | None = None) -> FleeWorld:
    """Precompute the arrays of a Flee case (§1.1, §1.3-§1.5, §1.11)."""
    s = case.settings
    n_days = case.length if days is None else days
    if n_days < 0:
        raise InputError("days must be non-negative", field="days", expected="an integer >= 0")
    if n_days > case.conflicts.values.shape[0]:
        raise InputError(
            f"conflicts.csv has {case.conflicts.values.shape[0]} days but the run needs {n_days}",
            file=case.input_dir / "conflicts.csv",
            expected=f"at least {n_days} data rows",
        )
    locs = case.locations
    n = len(locs)
    if n == 0:
        raise InputError("no locations", file=case.input_dir / "locations.csv")
    index = case.location_index()
    countries = sorted({loc.country for loc in locs})
    cidx = {c: i for i, c in enumerate(countries)}
    home = locs[0].country  # §1.1 step 5: the home country is the first row's

    camp0 = np.zeros(n, bool)
    idp0 = np.zeros(n, bool)
    conflict0 = np.full(n, -1.0)
    move0 = np.zeros(n)
    pop = np.zeros(n, np.int64)
    cap = np.full(n, -1.0)
    cpd = np.zeros(n)
    for i, loc in enumerate(locs):
        kind = classify_location(loc.location_type, loc.conflict_date, s)
        if kind.marker:
            raise InputError(
                "marker locations are not supported by Corridor yet",
                file=case.input_dir / "locations.csv",
                line=loc.line,
                field="location_type",
                expected="conflict_zone, town, camp, idpcamp or forwarding_hub",
            )
        camp0[i], idp0[i], move0[i] = kind.camp, kind.idpcamp, kind.movechance
        if kind.conflict:
            conflict0[i] = float(loc.attributes.get("conflict_intensity") or 1.0)
        value = loc.pop_cap // s.hasten
        if "camp" in loc.location_type.lower():  # §1.1: pop/cap goes to capacity for camp types
            cap[i] = value
        else:
            pop[i] = value
        cpd[i] = _int_attr(loc.attributes.get("capacity_per_day"), 0)

    # Directed links in Flee's list order: each routes.csv row appends a->b to a and b->a to b.
    src: list[int] = []
    dst: list[int] = []
    length: list[float] = []
    speed: list[float] = []
    walkp: list[float] = []
    for r in case.routes:
        a, b = index[r.name1], index[r.name2]
        sp = float(r.attributes.get("max_move_speed") or s.max_move_speed)
        wp = float(r.attributes.get("walk_probability") or 0.0)
        pairs = [(a, b), (b, a)]
        if r.forced_redirection == 1:  # §2.2: Flee's if/if/else bug duplicates the pair
            pairs = pairs + pairs
        for x, y in pairs:
            src.append(x)
            dst.append(y)
            length.append(r.distance)
            speed.append(sp)
            walkp.append(wp)
    link_src = np.asarray(src, np.int32)
    link_dst = np.asarray(dst, np.int32)
    order = np.argsort(link_src, kind="stable")
    csr_ptr = np.zeros(n + 1, np.int64)
    np.add.at(csr_ptr, link_src.astype(np.int64) + 1, 1)
    csr_ptr = np.cumsum(csr_ptr)

    camps = np.flatnonzero(camp0).astype(np.int32)
    world_obs, raw, spawns, initial, day0pops = _observed_arrays(case, camps, n_days)
    # §1.5 REFERENCE: every capacity > 0 is cut by the day-0 observed count of that name.
    for i, loc in enumerate(locs):
        if cap[i] > 0:
            cap[i] -= day0pops.get(loc.name, 0)
    for k, c in enumerate(camps.tolist()):
        initial[k] += _int_attr(locs[c].attributes.get("initial_idps"), 0)

    conflict_events = _conflict_schedule(case, index, n_days)
    close_events, open_events = _closure_schedule(case, index, link_src, link_dst, n_days)
    return FleeWorld(
        settings=s,
        start_date=case.start_date,
        days=n_days,
        names=tuple(loc.name for loc in locs),
        country=np.asarray([cidx[loc.country] for loc in locs], np.int32),
        pop=pop,
        foreign=np.asarray([loc.country != home for loc in locs]),
        camp0=camp0,
        idpcamp0=idp0,
        conflict0=conflict0,
        movechance0=move0,
        capacity0=cap,
        capacity_per_day=cpd,
        link_src=link_src,
        link_dst=link_dst,
        link_len=np.asarray(length, np.float64),
        link_speed=np.asarray(speed, np.float64),
        link_walkp=np.asarray(walkp, np.float64),
        csr_ptr=csr_ptr,
        csr_link=order.astype(np.int32),
        conflict_events=conflict_events,
        close_events=close_events,
        open_events=open_events,
        camps=camps,
        initial=initial,
        spawns=spawns,
        observed=world_obs,
        raw=raw,
    )


def _int_attr(value: str | None, default: int) -> int:
    if value is None or str(value).strip() == "":
        return default
    try:
        return int(float(value))
    except ValueError as exc:
        raise InputError(f"not a number: {value!r}", expected="an integer") from exc


def _observed_arrays(
    case: FleeCase, camps: NDArray[np.int32], n_days: int
) -> tuple[
    NDArray[np.int64] | None,
    NDArray[np.int64] | None,
    NDArray[np.int64],
    NDArray[np.int64],
    dict[str, int],
]:
    """Observed I(c,t), raw(t), daily spawn counts and day-0 camp fills (§1.5, §3)."""
    s = case.settings
    spawns = np.zeros(n_days, np.int64)
    initial = np.zeros(len(camps), np.int64)
    obs = case.observed
    if obs is None:
        return None, None, spawns, initial, {}
    t = np.arange(max(n_days, 1), dtype=np.int64)
    layout = (
        np.stack([sr.interpolated_many(t) for sr in obs.camps])
        if obs.camps
        else np.zeros((0, len(t)), np.int64)
    )
    total0 = obs.total.interpolated(0)
    day0pops = {sr.name: int(layout[k, 0]) for k, sr in enumerate(obs.camps)}
    day0pops.setdefault(obs.total.name, total0)
    # Spawn counts: day-to-day differences summed over all layout camps, with Flee's debt rule.
    diff = np.diff(layout.sum(axis=0)) if layout.shape[0] else np.zeros(len(t) - 1, np.int64)
    debt = 0
    for day in range(1, n_days):
        new = int(diff[day - 1]) - debt
        if new < 0:
            debt, new = -new, 0
        else:
            debt = 0
        spawns[day] = new
    if n_days > 0 and not s.insert_day0:
        spawns[0] = total0 + int(layout[:, 0].sum())  # §7.2: "total" is included on day 0
    names = [case.locations[i].name for i in camps]
    rows = [obs.names().index(nm) for nm in names]
    cam = layout[rows, :n_days].T.copy() if rows else np.zeros((n_days, 0), np.int64)
    if s.insert_day0 and not s.empty_camps_on_day0:
        initial[:] = cam[0] if n_days > 0 else layout[rows, 0]
    raw = total0 + layout[:, :n_days].sum(axis=0)
    return cam.astype(np.int64), raw.astype(np.int64), spawns, initial, day0pops


def _conflict_schedule(
    case: FleeCase, index: dict[str, int], n_days: int
) -> dict[int, list[tuple[int, float]]]:
    """Conflict zones switching on/off by day (§1.4). Intensity changes while on are ignored."""
    events: dict[int, list[tuple[int, float]]] = {}
    vals = case.conflicts.values
    for j, name in enumerate(case.conflicts.names):
        if name not in index:
            log.warning("conflicts.csv names %r, which is not in locations.csv: skipped", name)
            continue
        i = index[name]
        for day in range(n_days):
            v = float(vals[day, j])
            before = float(vals[day - 1, j]) if day > 0 else 0.0
            if v > CONFLICT_EPS and (day == 0 or before < CONFLICT_EPS):
                events.setdefault(day, []).append((i, v))
            elif day > 0 and v < CONFLICT_EPS and before >= CONFLICT_EPS:
                events.setdefault(day, []).append((i, -1.0))
    return events


def _closure_schedule(
    case: FleeCase,
    index: dict[str, int],
    link_src: NDArray[np.int32],
    link_dst: NDArray[np.int32],
    n_days: int,
) -> tuple[
    dict[int, list[tuple[str, NDArray[np.int32], int]]],
    dict[int, list[tuple[str, NDArray[np.int32], int]]],
]:
    """Closure and re-opening events by day (§1.11). Close is applied before reopen."""
    closes: dict[int, list[tuple[str, NDArray[np.int32], int]]] = {}
    opens: dict[int, list[tuple[str, NDArray[np.int32], int]]] = {}
    country = np.asarray([loc.country for loc in case.locations])
    none = np.zeros(0, np.int32)
    for c in case.closures:
        kind = c.kind
        loc_i = -1
        if kind == "country":
            a = country[link_src] == c.name1
            b = country[link_dst] == c.name2
            a2 = country[link_src] == c.name2
            b2 = country[link_dst] == c.name1
            links = np.flatnonzero((a & b) | (a2 & b2)).astype(np.int32)
        elif kind == "location":
            i = index[c.name1]
            links = np.flatnonzero((link_src == i) | (link_dst == i)).astype(np.int32)
        elif kind in ("camp", "idpcamp"):
            links, loc_i = none, index[c.name1]
        else:
            # "link" closures never match in Flee (identity comparison of CSV strings, §1.11),
            # and remove_forced_redirection has no effect on movement: both are no-ops here.
            log.info("closure %s %s-%s has no effect in Flee's model", kind, c.name1, c.name2)
            continue
        if 0 <= c.start < n_days:
            closes.setdefault(c.start, []).append((kind, links, loc_i))
        if 0 <= c.end < n_days:
            opens.setdefault(c.end, []).append((kind, links, loc_i))
    return closes, opens


@dataclass
class FleeMovement:
    """Flee's rules as an engine module: state of the world plus daily steps.

    Adds agent columns ``loc`` (int32), ``link`` (int32, -1 off links), ``on_link`` (float32 km
    covered on the current link) and ``flags`` (uint8). Records ``camp_counts[day, camp]``.
    Invariant: every agent is at exactly one location or on exactly one link.
    """

    world: FleeWorld
    use_numba: bool = True
    name: str = "flee"
    phases: tuple[str, ...] = ("policies", "spawn", "move", "record")
    camp_counts: NDArray[np.int64] = field(init=False)
    agents_peak: int = field(init=False, default=0)

    def init(self, sim: Simulation) -> None:
        w = self.world
        s = w.settings
        for col, dtype in AGENT_COLUMNS.items():
            if col not in set(sim.agents.columns()):
                sim.agents.add_column(col, dtype, AGENT_FILL.get(col, 0))
        sim.agents.reserve(w.total_agents())
        self.camp = w.camp0.copy()
        self.idpcamp = w.idpcamp0.copy()
        self.conflict = w.conflict0.copy()
        self.movechance = w.movechance0.copy()
        self.capacity = w.capacity0.copy()
        self.link_open = np.ones(len(w.link_src), bool)
        self.counts = np.zeros(w.n_locations, np.int64)
        self.camp_counts = np.zeros((w.days, len(w.camps)), np.int64)
        self.keys = {k: stream_key(sim.seed, k) for k in ("move", "route", "walk")}
        self.moving = s.awareness_level != 0  # §7.2: awareness 0 never moves in Flee
        for k, c in enumerate(w.camps):
            if w.initial[k] > 0:
                sim.agents.add(int(w.initial[k]), return_ids=False, loc=c)
                self.counts[c] += w.initial[k]
        self.agents_peak = sim.agents.n
        if self.use_numba:
            # Load the compiled kernel now (set-up), not inside the first simulated day: a call
            # with no agents changes nothing.
            self._move(sim, 0, n=0)

    # -- policies --------------------------------------------------------------------------
    def _apply_policies(self, sim: Simulation, day: int) -> None:
        w, s = self.world, self.world.settings
        for i, v in w.conflict_events.get(day, []):
            if v > 0:  # add_conflict_zone: does not clear `camp`
                self.movechance[i] = s.conflict_movechance
                self.conflict[i] = v
            else:  # remove_conflict_zone: becomes a town, even a camp
                self.movechance[i] = s.default_movechance
                self.conflict[i] = -1.0
        closing = np.zeros(len(self.link_open), bool)
        for kind, links, li in w.close_events.get(day, []):
            if kind in ("camp", "idpcamp"):
                self.camp[li] = False
                self.idpcamp[li] = False
                self.movechance[li] = s.default_movechance
                self.conflict[li] = -1.0
            else:
                closing[links] = True
        if closing.any():
            self.link_open[closing] = False
            ag = sim.agents
            on = ag["link"]
            hit = (on >= 0) & closing[np.maximum(on, 0)]
            ag["flags"][hit] |= dt.AgentFlags.STALE  # they bounce back on arrival (§1.11)
        for kind, links, li in w.open_events.get(day, []):
            if kind in ("camp", "idpcamp"):
                self.camp[li] = True
                self.idpcamp[li] = kind == "idpcamp"
                self.movechance[li] = (
                    s.idpcamp_movechance if kind == "idpcamp" else (s.camp_movechance)
                )
            else:
                self.link_open[links] = True

    # -- spawn -----------------------------------------------------------------------------
    def _spawn(self, sim: Simulation, day: int) -> None:
        w = self.world
        k = int(w.spawns[day])
        if k == 0:
            return
        weights = np.where(self.conflict > 0, w.pop * self.conflict, 0.0)
        total = weights.sum()
        if total <= 0:
            raise CorridorError(
                f"day {day}: {k} people to spawn but no conflict zone with a population "
                "(Flee stops here too)"
            )
        counts = generator(sim.seed, "spawn", day).multinomial(k, weights / total)
        lo = sim.agents.n
        sim.agents.add(k, return_ids=False)
        loc = sim.agents["loc"]
        for zone in np.flatnonzero(counts):  # zone by zone: no per-agent temporary
            loc[lo : lo + counts[zone]] = zone
            lo += int(counts[zone])
        self.counts += counts
        self.agents_peak = max(self.agents_peak, sim.agents.n)

    # -- move ------------------------------------------------------------------------------
    def location_weights(self, day: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Per-link route weights and the full-camp block for today (§1.6, §1.8, §1.10)."""
        w, s = self.world, self.world.settings
        score = np.ones(w.n_locations)
        score[w.foreign] *= s.foreign_weight
        score[self.camp | self.idpcamp] *= s.camp_weight
        hot = self.conflict > 0
        score[hot] *= s.conflict_weight ** self.conflict[hot]
        cap = (self.capacity + w.capacity_per_day * (day + 1)) * s.capacity_scaling
        n = self.counts.astype(np.float64)
        cmult = np.ones(w.n_locations)
        limited = cap >= 1
        buf = s.capacity_buffer * cap
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = 1.0 - (n - buf) / (cap - buf)
        cmult = np.where(limited & (n > buf), np.clip(frac, 0.0, 1.0), cmult)
        cmult = np.where(limited & (n >= cap), 0.0, cmult)
        blocked = self.camp & (cmult < FULL_CAMP_FACTOR)
        dst = w.link_dst
        lw = (
            (s.weight_softening + score[dst])
            / (s.softening + w.link_len) ** s.distance_power
            * cmult[dst]
        ) ** s.weight_power
        lw = np.where(self.link_open, lw, 0.0)
        return lw, blocked

    def _move(self, sim: Simulation, day: int, n: int | None = None) -> None:
        """Today's decisions and travel for agents ``0..n-1`` (default: all)."""
        if not self.moving:
            return
        w = self.world
        lw, blocked = self.location_weights(day)
        wsum = np.zeros(w.n_locations)
        np.add.at(wsum, w.link_src, lw)
        nopen = np.bincount(w.link_src[self.link_open], minlength=w.n_locations).astype(np.int64)
        ag = sim.agents
        kernel = move_day if self.use_numba else move_day_np
        delta = kernel(
            ag.n if n is None else n,
            ag.raw("loc"),
            ag.raw("link"),
            ag.raw("on_link"),
            ag.raw("flags"),
            day,
            self.keys["move"],
            self.keys["route"],
            self.keys["walk"],
            self.movechance,
            blocked,
            w.csr_ptr,
            w.csr_link,
            w.link_src,
            w.link_dst,
            w.link_len,
            w.link_speed,
            w.link_walkp,
            lw,
            self.link_open,
            wsum,
            nopen,
            float(w.settings.max_walk_speed),
            _chunks(ag.n),
        )
        self.counts += delta.sum(axis=0)

    def step(self, sim: Simulation, day: int, phase: str) -> None:
        if phase == "policies":
            self._apply_policies(sim, day)
        elif phase == "spawn":
            self._spawn(sim, day)
        elif phase == "move":
            self._move(sim, day)
        elif phase == "record":
            self.camp_counts[day] = self.counts[self.world.camps]


def _chunks(n: int) -> int:
    """Fixed work split (independent of the thread count, so results are too)."""
    return int(min(256, max(1, n // 4096)))
