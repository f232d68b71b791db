"""In-memory form of a Flee case (inputs, settings and observed data).

This module holds only plain, immutable data and the few pure rules that several readers and
models share. Reading and checking the files lives in :mod:`corridor.scenario.flee_reader`;
turning a case into engine arrays lives in :mod:`corridor.modules.flee`.

The rules follow Flee's serial engine as written down in ``shared/research/flee-model.md``
(sections 1.3 and 2); each rule cites its section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field


class FleeSettings(BaseModel):
    """Flee's model settings (the keys of ``simsetting.yml``), immutable.

    Defaults are the values that Flee's published runs use (flee-model.md §1.0): Flee's own
    ``simsetting.yml`` plus the code defaults of ``SimulationSettings.ReadFromYML`` for keys the
    file leaves out. Distances are km, speeds km/day, chances per day.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_move_speed: float = Field(360.0, gt=0, description="Travel speed on a link, km/day.")
    max_walk_speed: float = Field(35.0, gt=0, description="Walking speed, km/day.")
    foreign_weight: float = Field(1.0, ge=0, description="Score factor of foreign locations.")
    camp_weight: float = Field(1.0, ge=0, description="Score factor of camps.")
    conflict_weight: float = Field(
        0.25, ge=0, description="Score factor of conflict zones (raised to the intensity)."
    )
    conflict_movechance: float = Field(
        1.0, ge=0, le=1, description="Daily move chance in conflict zones."
    )
    camp_movechance: float = Field(0.001, ge=0, le=1, description="Daily move chance in camps.")
    default_movechance: float = Field(0.3, ge=0, le=1, description="Daily move chance in towns.")
    idpcamp_movechance: float = Field(
        0.1, ge=0, le=1, description="Daily move chance in IDP camps."
    )
    awareness_level: int = Field(
        1,
        ge=-1,
        description="Route length in hops (1: neighbours only; -1 acts as 1; 0 never moves).",
    )
    capacity_scaling: float = Field(1.0, gt=0, description="Multiplier on camp capacities.")
    capacity_buffer: float = Field(
        0.9, gt=0, le=1, description="Share of capacity above which a camp's attraction falls."
    )
    softening: float = Field(10.0, ge=0, description="Distance softening, km.")
    weight_softening: float = Field(0.0, ge=0, description="Score softening.")
    weight_power: float = Field(1.0, description="Power applied to route weights.")
    distance_power: float = Field(1.0, description="Power applied to route distances.")
    pruning_threshold: float = Field(1.0, ge=1.0, description="Route pruning threshold (1 = off).")
    avoid_short_stints: bool = Field(False, description="Force moves out of towns (unsupported).")
    start_on_foot: bool = Field(False, description="Walk the first link (unsupported).")
    take_from_population: bool = Field(False, description="Spawned people leave the population.")
    insert_day0: bool = Field(True, description="Pre-fill camps with the day-0 observed counts.")
    empty_camps_on_day0: bool = Field(False, description="Start with empty camps.")
    conflict_zone_spawning_only: bool = Field(True, description="Spawn only in conflict zones.")
    sum_from_camps: bool = Field(True, description="Spawn counts come from the camp series.")
    hasten: int = Field(1, ge=1, description="Population scale-down factor (not a speed).")


@dataclass(frozen=True, slots=True)
class FleeLocation:
    """One row of ``locations.csv`` (flee-model.md §2.1)."""

    name: str
    region: str
    country: str
    x: float
    y: float
    location_type: str
    conflict_date: int | None
    pop_cap: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class FleeRoute:
    """One row of ``routes.csv`` (§2.2); it makes a link in each direction."""

    name1: str
    name2: str
    distance: float
    forced_redirection: int = 0
    attributes: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class FleeClosure:
    """One row of ``closures.csv`` (§2.3, semantics §1.11). ``end`` of -1 means never."""

    kind: str
    name1: str
    name2: str
    start: int
    end: int
    line: int = 0


@dataclass(frozen=True)
class ConflictTable:
    """``conflicts.csv`` (§2.4): ``values[t, j]`` is the intensity of ``names[j]`` on day t."""

    names: tuple[str, ...]
    values: NDArray[np.float64]


@dataclass(frozen=True)
class ObservedSeries:
    """One observed count series, as Flee's DataTable holds it (§2.7).

    ``days`` are offsets from the simulation start date (may be negative), ``values`` are
    counts divided by ``hasten``, after registration corrections (§2.6) and file merges.
    """

    name: str
    days: NDArray[np.int64]
    values: NDArray[np.float64]

    def interpolated(self, day: int) -> int:
        """Flee's ``get_interpolated_data``: int() of the piecewise-linear interpolation."""
        return int(self.interpolated_many(np.asarray([day]))[0])

    def interpolated_many(self, days: NDArray[np.int64]) -> NDArray[np.int64]:
        """Vectorised :meth:`interpolated`, with Flee's exact arithmetic (§2.7).

        ``v0`` if day <= d0; ``v_last`` after the last row; otherwise rows i-1 and i where i is
        the first row with day < d_i (so among equal dates the last one is the left bracket),
        and ``v_{i-1} + (day - d_{i-1}) / (d_i - d_{i-1}) * (v_i - v_{i-1})``. Truncated toward
        zero, as Python's ``int``.
        """
        d = np.asarray(days, dtype=np.int64).reshape(-1)
        n = len(self.days)
        if n == 0:
            return np.zeros(len(d), dtype=np.int64)
        xp = np.asarray(self.days, dtype=np.int64)
        fp = np.asarray(self.values, dtype=np.float64)
        right = np.searchsorted(xp, d, side="right")
        out = np.full(len(d), fp[-1], dtype=np.float64)
        mid = (d > xp[0]) & (right < n)
        i = right[mid]
        frac = (d[mid] - xp[i - 1]).astype(np.float64) / (xp[i] - xp[i - 1]).astype(np.float64)
        out[mid] = fp[i - 1] + frac * (fp[i] - fp[i - 1])
        out[d <= xp[0]] = fp[0]
        return np.trunc(out).astype(np.int64)


@dataclass(frozen=True)
class ObservedData:
    """``data_layout.csv`` and its series. ``total`` is the layout's first row (§2.7)."""

    directory: Path
    total: ObservedSeries
    camps: tuple[ObservedSeries, ...]

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.camps)

    def series(self, name: str) -> ObservedSeries:
        for s in self.camps:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class FleeCase:
    """A whole Flee case: inputs, settings and (optionally) observed data."""

    input_dir: Path
    start_date: date
    length: int
    locations: tuple[FleeLocation, ...]
    routes: tuple[FleeRoute, ...]
    closures: tuple[FleeClosure, ...]
    conflicts: ConflictTable
    observed: ObservedData | None
    settings: FleeSettings

    def location_index(self) -> dict[str, int]:
        return {loc.name: i for i, loc in enumerate(self.locations)}


@dataclass(frozen=True, slots=True)
class LocationKind:
    """Flags of a location type string (§1.3)."""

    camp: bool
    idpcamp: bool
    conflict: bool
    forward: bool
    marker: bool
    town: bool
    movechance: float


def classify_location(
    location_type: str, conflict_date: int | None, s: FleeSettings
) -> LocationKind:
    """Flags and initial move chance of a location, following Flee's substring rules (§1.3).

    * "camp" (and "idp") → camp; "conflict" → conflict zone, unless its conflict_date > 0, in
      which case it starts as a town (§2.1, §1.4); "forward" → forwarding hub (move chance 1);
      "marker" → marker (1); "default"/"town" → town (default move chance); anything else keeps
      move chance 1.0, as Flee's addLocation does.
    * Any non-camp location with a move chance below 0.005 becomes a camp (§1.3).
    """
    t = location_type.strip().lower()
    if "conflict" in t and conflict_date is not None and conflict_date > 0:
        t = "town"
    camp = idp = conflict = forward = marker = town = False
    movechance = 1.0
    if "camp" in t:
        camp = True
        idp = "idp" in t
        movechance = s.idpcamp_movechance if idp else s.camp_movechance
    elif "conflict" in t:
        conflict = True
        movechance = s.conflict_movechance
    elif "forward" in t:
        forward = True
        movechance = 1.0
    elif "marker" in t:
        marker = True
        movechance = 1.0
    elif "flood_zone" in t:
        movechance = s.default_movechance
    elif "default" in t or "town" in t:
        town = True
        movechance = s.default_movechance
    if not camp and "flood_zone" not in t and movechance < 0.005:
        camp = True
    return LocationKind(camp, idp, conflict, forward, marker, town, movechance)


def is_camp_type(location_type: str, conflict_date: int | None, s: FleeSettings) -> bool:
    """True when Flee would list this location among the camps (output columns)."""
    return classify_location(location_type, conflict_date, s).camp


# The value Flee's code uses for conflict_weight when a settings file leaves the key out.
CODE_DEFAULT_CONFLICT_WEIGHT = 1.0 / math.sqrt(10.0)
