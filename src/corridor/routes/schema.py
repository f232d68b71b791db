"""The network part of a scenario: places, links, crossings, origins, speeds, route choice and
dated changes, as frozen Pydantic models (``extra="forbid"``).

A network is four tables plus parameters. In ``scenario.yaml`` it is a ``network:`` section;
each table is either a list of rows written inline or the name of a CSV file in the scenario
folder (``places: places.csv``; a table left out is read from ``<table>.csv`` when that file
exists). :func:`load_network` reads such a section and its CSV files into a :class:`Network`,
reporting every problem with its file, line, column and what was expected.

Tables (CSV columns; ``source`` and any column named ``note...`` are allowed on every table):

``places``     place, country, lon, lat, kind            kind: origin|transit|coast|destination
``links``      from, to, km, mode, bidirectional, id, speed_kmday, from_date, to_date, condition
``crossings``  link, from_date, interception, pushback_share, detain_share, capacity_per_day,
               price_eur, death_risk
``origins``    origin, destination, from_date, people_per_month, budget_eur_median, budget_sigma

Meaning of the rows:

* A link joins two places; ``bidirectional`` links can be travelled both ways. A link exists from
  ``from_date`` (inclusive) to ``to_date`` (exclusive); a link that names a host ``condition``
  exists only in a variant where that condition is met, and only from the condition's date.
  Its speed is ``speed_kmday`` when given, else the speed of its ``mode``.
* A crossing makes a link a border crossing in its ``from → to`` direction (the reverse of a
  bidirectional link is not controlled). From its ``from_date`` on, people reaching the start
  of the link join its queue; each day, first come first served, they attempt it, at most
  ``capacity_per_day`` attempts a day (boats a day × people a boat; none: no limit). An
  attempt is intercepted with chance ``interception``; an intercepted person is detained
  (share ``detain_share``, out of the journey), pushed back to the previous place (the
  crossing's start, on the near side of the border), where they choose their route again
  (``pushback_share``), or turned back, to join the end of the queue and try again (the rest).
  A person who is not intercepted dies with chance ``death_risk``, else crosses and pays
  ``price_eur`` from their budget. Nobody attempts a crossing they cannot pay for. Several
  rows for one link are dated steps: each row's values apply from its ``from_date``.
* An origins row sends ``people_per_month`` from ``origin`` towards ``destination``, from its
  ``from_date`` until the next row of the same pair; each person carries a budget drawn from a
  log-normal distribution with median ``budget_eur_median`` and log-sd ``budget_sigma`` (0: all
  the same). A row without a destination spawns people displaced by conflict, who move by
  Flee's rules (:class:`~corridor.scenario.flee_case.FleeSettings`).

Dated changes (``policies``) and host conditions (``conditions``) set attributes by dotted path:

=========================================  ====================================================
``links.<id>.open``                        true/false: open or close a link
``links.<id>.mode``                        a mode (its speed follows unless speed_kmday is set)
``links.<id>.speed_kmday``                 km a day
``borders.<country A>.<country B>.open``   every link between the two countries, both ways
``crossings.<link id>.<attribute>``        interception, pushback_share, detain_share,
                                           capacity_per_day, price_eur, death_risk
``crossings.country:<country>.<attr>``     every crossing that starts in that country (a coast)
``speeds.<mode>``                          km a day for every link of that mode
=========================================  ====================================================

A host condition (e.g. Montenegro's railways) changes only the host's own links: its links and
its ``set`` paths must touch the host country.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from corridor.errors import InputError, InputErrors
from corridor.scenario.flee_case import FleeSettings
from corridor.scenario.schema import Frozen, NonNeg, Scenario, Share

__all__ = [
    "CROSSING_ATTRIBUTES",
    "MODES",
    "PLACE_KINDS",
    "TABLES",
    "Crossing",
    "HostCondition",
    "Link",
    "ModeSpeeds",
    "Network",
    "NetworkPolicy",
    "Origin",
    "Place",
    "Problem",
    "RouteChoice",
    "check_network",
    "load_network",
    "parse_path",
]

Mode = Literal["foot", "road", "rail", "sea", "small_boat", "air"]
MODES: tuple[str, ...] = get_args(Mode)
PlaceKind = Literal["origin", "transit", "coast", "destination"]
PLACE_KINDS: tuple[str, ...] = get_args(PlaceKind)
Positive = Annotated[float, Field(gt=0.0)]
CROSSING_ATTRIBUTES: tuple[str, ...] = (
    "interception",
    "pushback_share",
    "detain_share",
    "capacity_per_day",
    "price_eur",
    "death_risk",
)
_SHARE_ATTRIBUTES = ("interception", "pushback_share", "detain_share", "death_risk")


class Row(Frozen):
    """A table row: ``from`` may be written as the field's alias."""

    model_config = ConfigDict(populate_by_name=True)


class Place(Row):
    place: str = Field(min_length=1, description="Name, unique in the network.")
    country: str = Field(min_length=1, description="Country the place is in.")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude, degrees east (for maps).")
    lat: float = Field(ge=-90.0, le=90.0, description="Latitude, degrees north (for maps).")
    kind: PlaceKind = Field("transit", description="origin, transit, coast or destination.")
    source: str = ""


class Link(Row):
    from_: str = Field(alias="from", min_length=1, description="Place at the start.")
    to: str = Field(min_length=1, description="Place at the end.")
    km: Positive = Field(description="Length, km.")
    mode: Mode = Field("road", description="foot, road, rail, sea, small_boat or air.")
    bidirectional: bool = Field(True, description="Can be travelled both ways.")
    id: str | None = Field(
        None, min_length=1, description="Identifier (default 'from-to'); needed for parallels."
    )
    speed_kmday: Positive | None = Field(None, description="Speed, km a day (default: mode's).")
    from_date: date | None = Field(None, description="Exists from this date (inclusive).")
    to_date: date | None = Field(None, description="Exists until this date (exclusive).")
    condition: str | None = Field(
        None, description="A host condition's id: the link exists only where it is met."
    )
    source: str = ""

    @property
    def key(self) -> str:
        """The link's identifier."""
        return self.id if self.id is not None else f"{self.from_}-{self.to}"

    @model_validator(mode="after")
    def _dates(self) -> Link:
        if self.from_date and self.to_date and not self.from_date < self.to_date:
            raise ValueError("to_date must be after from_date")
        if "." in self.key:
            raise ValueError(f"link id {self.key!r} contains '.' (dotted paths use it)")
        return self


class Crossing(Row):
    link: str = Field(min_length=1, description="Id of the link this crossing controls.")
    from_date: date | None = Field(None, description="These values apply from this date.")
    interception: Share = Field(0.0, description="Chance that an attempt is intercepted.")
    pushback_share: Share = Field(
        0.0, description="Share of the intercepted pushed back to the previous place."
    )
    detain_share: Share = Field(0.0, description="Share of the intercepted detained.")
    capacity_per_day: NonNeg | None = Field(
        None, description="Attempts a day (boats x people a boat, rounded down); none: no limit."
    )
    price_eur: NonNeg = Field(0.0, description="Smuggler's price per person, EUR.")
    death_risk: Share = Field(0.0, description="Chance of dying in an attempt not intercepted.")
    source: str = ""

    @model_validator(mode="after")
    def _shares(self) -> Crossing:
        if self.pushback_share + self.detain_share > 1.0 + 1e-12:
            raise ValueError("pushback_share + detain_share must be at most 1")
        return self


class Origin(Row):
    origin: str = Field(min_length=1, description="Place where people start.")
    destination: str | None = Field(
        None, description="Place they head for; none: displaced by conflict (Flee's rules)."
    )
    from_date: date | None = Field(None, description="This row applies from this date.")
    people_per_month: NonNeg = Field(description="People leaving a month.")
    budget_eur_median: NonNeg = Field(0.0, description="Median budget per person, EUR.")
    budget_sigma: NonNeg = Field(0.0, description="Log-sd of the budget (0: all the median).")
    source: str = ""


class ModeSpeeds(Frozen):
    """Effective speeds, km a day, waits included (assumptions, to be calibrated on journey
    times): walking 5 km/h for 5 h; smuggled road travel with stops; trains; ferries; a
    Channel small boat covers its ~50 km in a day."""

    foot: Positive = 25.0
    road: Positive = 150.0
    rail: Positive = 400.0
    sea: Positive = 200.0
    small_boat: Positive = 60.0
    air: Positive = 2000.0

    def of(self, mode: str) -> float:
        return float(getattr(self, mode))


class RouteChoice(Frozen):
    """Choice among the ``k`` cheapest routes by generalised cost, multinomial logit.

    Cost of a route = Σ over its links of ``weight_time × days`` plus, on each crossing,
    ``weight_time × p/(1-p)`` (expected days lost to interceptions, p = interception),
    ``weight_price × price_eur`` and ``weight_risk × risk`` (risk = chance of death plus chance
    of ending in detention there). A person picks route i with probability
    ``exp(-θ c_i) / Σ_j exp(-θ c_j)`` over the routes they can pay for (θ = ``logit_scale``);
    someone who can pay for none of them takes the route of least price, if they can pay it.
    The weights are in days per unit: the defaults (assumptions) value EUR 250 like a day and a
    1% risk of death or detention like 2 days.
    """

    k: int = Field(3, ge=1, le=16, description="Routes considered (k cheapest, Yen).")
    logit_scale: Positive = Field(1.0, description="θ, per day of generalised cost.")
    weight_time: NonNeg = Field(1.0, description="Cost of a day of travel or waiting.")
    weight_price: NonNeg = Field(1.0 / 250.0, description="Cost of a euro, days.")
    weight_risk: NonNeg = Field(200.0, description="Cost of a chance 1 of death/detention.")
    rechoose_on_change: bool = Field(
        True,
        description="People en route choose again at their next place when the network"
        " changes (otherwise only when pushed back or their next link is closed).",
    )


Value = float | bool | str


class NetworkPolicy(Frozen):
    """A dated change: from ``date`` on, the dotted paths of ``set`` take new values."""

    date: date
    set: dict[str, Value]
    note: str = ""


class HostCondition(Frozen):
    """A condition a host state puts on a hub agreement (e.g. railways built).

    Where ``met`` (a variant), from ``date`` on the links that name this condition exist and
    the changes in ``set`` apply; they may touch only the host's links.
    """

    id: str = Field(min_length=1)
    host: str = Field(min_length=1, description="Host country, as in the places table.")
    hub: str | None = Field(None, description="The hub whose agreement carries the condition.")
    description: str = ""
    met: bool = Field(False, description="Whether this variant meets the condition.")
    date: date
    set: dict[str, Value] = Field(default_factory=dict)
    source: str = ""


class Network(Frozen):
    """Places, links, crossings and origins, with speeds, route choice and dated changes."""

    places: list[Place] = Field(min_length=1)
    links: list[Link] = Field(min_length=1)
    crossings: list[Crossing] = Field(default_factory=list)
    origins: list[Origin] = Field(default_factory=list)
    speeds: ModeSpeeds = Field(default_factory=ModeSpeeds)
    choice: RouteChoice = Field(default_factory=RouteChoice)
    flee: FleeSettings = Field(
        default_factory=FleeSettings, description="Rules for people without a destination."
    )
    policies: list[NetworkPolicy] = Field(default_factory=list)
    conditions: list[HostCondition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Network:
        problems = check_network(self)
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    def place_index(self) -> dict[str, int]:
        return {p.place: i for i, p in enumerate(self.places)}

    def link_index(self) -> dict[str, int]:
        return {lk.key: i for i, lk in enumerate(self.links)}


# ---------------------------------------------------------------------------------------------
# Cross-references
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """A problem in row ``index`` of ``table`` (or of a YAML list), at ``field``."""

    table: str
    index: int | None
    field: str | None
    message: str
    expected: str | None = None

    def __str__(self) -> str:
        where = self.table + (f"[{self.index}]" if self.index is not None else "")
        where += f".{self.field}" if self.field else ""
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{where}: {self.message}{tail}"


@dataclass(frozen=True)
class Target:
    """What a dotted path selects: ``kind`` is links, borders, crossings or speeds."""

    kind: str
    names: tuple[str, ...]
    attribute: str


def parse_path(path: str) -> Target:
    """Split a policy path (see the module docstring); raises ``ValueError`` when malformed."""
    parts = path.split(".")
    head = parts[0]
    shapes = {"links": 3, "borders": 4, "crossings": 3, "speeds": 2}
    if head not in shapes or len(parts) != shapes[head]:
        raise ValueError(
            f"unknown path {path!r}; expected links.<id>.<attr>, borders.<A>.<B>.open, "
            "crossings.<link>.<attr>, crossings.country:<C>.<attr> or speeds.<mode>"
        )
    return Target(head, tuple(parts[1:-1]), parts[-1])


def _check_value(target: Target, value: Value) -> str | None:
    """What is wrong with ``value`` for ``target`` (None when fine)."""
    attr = target.attribute
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if target.kind in ("links", "borders") and attr == "open":
        return None if isinstance(value, bool) else "true or false"
    if target.kind == "links" and attr == "mode":
        return None if value in MODES else "one of " + ", ".join(MODES)
    if target.kind == "links" and attr == "speed_kmday":
        return None if number and float(value) > 0 else "a speed > 0 km a day"
    if target.kind == "speeds":
        return None if number and float(value) > 0 else "a speed > 0 km a day"
    if target.kind == "crossings" and attr in _SHARE_ATTRIBUTES:
        return None if number and 0.0 <= float(value) <= 1.0 else "a share between 0 and 1"
    if target.kind == "crossings" and attr in ("capacity_per_day", "price_eur"):
        return None if number and float(value) >= 0.0 else "a number >= 0"
    return "a known attribute"


def _check_sets(
    sets: Mapping[str, Value],
    table: str,
    index: int,
    links: Mapping[str, Link],
    crossing_links: set[str],
    countries: Mapping[str, str],
    host: str | None,
) -> list[Problem]:
    """Problems in the dotted paths of one policy or condition."""
    out: list[Problem] = []
    country_set = set(countries.values())

    def touches(link: Link) -> bool:
        return host in (countries.get(link.from_), countries.get(link.to))

    for path, value in sets.items():
        field = f"set.{path}"
        try:
            t = parse_path(path)
        except ValueError as exc:
            out.append(Problem(table, index, field, str(exc)))
            continue
        allowed = {
            "links": ("open", "mode", "speed_kmday"),
            "borders": ("open",),
            "crossings": CROSSING_ATTRIBUTES,
            "speeds": MODES,
        }[t.kind]
        if t.kind == "speeds":
            if t.attribute not in MODES:
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"unknown mode {t.attribute!r}",
                        "one of " + ", ".join(MODES),
                    )
                )
                continue
            if host is not None:
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        "a host condition cannot change the speed of a mode everywhere",
                        "links.<id>.speed_kmday",
                    )
                )
                continue
        elif t.attribute not in allowed:
            out.append(
                Problem(
                    table,
                    index,
                    field,
                    f"unknown attribute {t.attribute!r}",
                    "one of " + ", ".join(allowed),
                )
            )
            continue
        name = t.names[0] if t.names else ""
        if t.kind == "links":
            if name not in links:
                out.append(Problem(table, index, field, f"no link {name!r}", "a link id"))
                continue
            if host is not None and not touches(links[name]):
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"link {name!r} is not in {host}",
                        f"a link with an end in the host country {host}",
                    )
                )
                continue
        elif t.kind == "borders":
            bad = [c for c in t.names if c not in country_set]
            if bad:
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"no country {bad[0]!r}",
                        "a country of the places table",
                    )
                )
                continue
            if host is not None and host not in t.names:
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"border {t.names} is not {host}'s",
                        f"a border of {host}",
                    )
                )
                continue
        elif t.kind == "crossings":
            if name.startswith("country:"):
                c = name[len("country:") :]
                if c not in country_set:
                    out.append(
                        Problem(
                            table,
                            index,
                            field,
                            f"no country {c!r}",
                            "a country of the places table",
                        )
                    )
                    continue
                if host is not None and c != host:
                    out.append(
                        Problem(
                            table,
                            index,
                            field,
                            f"crossings of {c} are not {host}'s",
                            f"crossings of {host}",
                        )
                    )
                    continue
            elif name not in crossing_links:
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"no crossing on link {name!r}",
                        "a link of the crossings table",
                    )
                )
                continue
            elif host is not None and not touches(links[name]):
                out.append(
                    Problem(
                        table,
                        index,
                        field,
                        f"link {name!r} is not in {host}",
                        f"a link with an end in the host country {host}",
                    )
                )
                continue
        expected = _check_value(t, value)
        if expected is not None:
            out.append(Problem(table, index, field, f"bad value {value!r}", expected))
    return out


def check_network(net: Network) -> list[Problem]:
    """Every cross-reference problem of a network (unknown places, duplicate ids, bad paths).

    Called by :class:`Network`'s validator; :func:`load_network` calls it to locate problems in
    the CSV files.
    """
    out: list[Problem] = []
    places: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for i, p in enumerate(net.places):
        if p.place in places:
            out.append(
                Problem("places", i, "place", f"place {p.place!r} appears twice", "each place once")
            )
        places[p.place] = p.country
        kinds[p.place] = p.kind
    conditions: dict[str, HostCondition] = {}
    for i, c in enumerate(net.conditions):
        if c.id in conditions:
            out.append(Problem("conditions", i, "id", f"condition {c.id!r} appears twice"))
        conditions[c.id] = c
        if c.host not in set(places.values()):
            out.append(
                Problem(
                    "conditions",
                    i,
                    "host",
                    f"no place in {c.host!r}",
                    "a country of the places table",
                )
            )
    links: dict[str, Link] = {}
    for i, lk in enumerate(net.links):
        for fld, name in (("from", lk.from_), ("to", lk.to)):
            if name not in places:
                out.append(
                    Problem(
                        "links", i, fld, f"unknown place {name!r}", "a place of the places table"
                    )
                )
        if lk.from_ == lk.to:
            out.append(Problem("links", i, "to", "a link must join two different places"))
        if lk.key in links:
            out.append(
                Problem(
                    "links",
                    i,
                    "id",
                    f"link id {lk.key!r} appears twice",
                    "a unique id (parallel links need an explicit id)",
                )
            )
        links[lk.key] = lk
        if lk.condition is not None:
            cond = conditions.get(lk.condition)
            if cond is None:
                out.append(
                    Problem(
                        "links",
                        i,
                        "condition",
                        f"no condition {lk.condition!r}",
                        "an id of the network's conditions",
                    )
                )
            elif cond.host not in (places.get(lk.from_), places.get(lk.to)):
                out.append(
                    Problem(
                        "links",
                        i,
                        "condition",
                        f"link {lk.key!r} is not in {cond.host}",
                        f"a link with an end in {cond.host}",
                    )
                )
    seen_cross: set[tuple[str, date | None]] = set()
    for i, cr in enumerate(net.crossings):
        if cr.link not in links:
            out.append(Problem("crossings", i, "link", f"no link {cr.link!r}", "a link id"))
        if (cr.link, cr.from_date) in seen_cross:
            out.append(
                Problem(
                    "crossings",
                    i,
                    "from_date",
                    f"two rows for link {cr.link!r} from {cr.from_date}",
                    "one row per link and from_date",
                )
            )
        seen_cross.add((cr.link, cr.from_date))
    seen_origin: set[tuple[str, str | None, date | None]] = set()
    for i, o in enumerate(net.origins):
        if o.origin not in places:
            out.append(
                Problem(
                    "origins",
                    i,
                    "origin",
                    f"unknown place {o.origin!r}",
                    "a place of the places table",
                )
            )
        if o.destination is not None:
            if o.destination not in places:
                out.append(
                    Problem(
                        "origins",
                        i,
                        "destination",
                        f"unknown place {o.destination!r}",
                        "a place of the places table",
                    )
                )
            elif kinds[o.destination] != "destination":
                out.append(
                    Problem(
                        "origins",
                        i,
                        "destination",
                        f"{o.destination!r} is a {kinds[o.destination]} place",
                        "a place of kind destination",
                    )
                )
            elif o.destination == o.origin:
                out.append(
                    Problem(
                        "origins", i, "destination", "origin and destination are the same place"
                    )
                )
        key = (o.origin, o.destination, o.from_date)
        if key in seen_origin:
            out.append(
                Problem(
                    "origins",
                    i,
                    "from_date",
                    "two rows for the same origin, destination and from_date",
                )
            )
        seen_origin.add(key)
    crossing_links = {c.link for c in net.crossings}
    for i, pol in enumerate(net.policies):
        out += _check_sets(pol.set, "policies", i, links, crossing_links, places, None)
    for i, cond in enumerate(net.conditions):
        out += _check_sets(cond.set, "conditions", i, links, crossing_links, places, cond.host)
    return out


# ---------------------------------------------------------------------------------------------
# Reading a network section and its CSV tables
# ---------------------------------------------------------------------------------------------
TABLES: dict[str, type[Row]] = {
    "places": Place,
    "links": Link,
    "crossings": Crossing,
    "origins": Origin,
}
"""The network's tables and the model of their rows."""

_REQUIRED = ("places", "links")


def _columns(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


@dataclass
class _Origin:
    """Where the rows of a table came from: a CSV file (with 1-based lines) or YAML."""

    file: Path | None
    lines: list[int]

    def locate(self, index: int | None) -> tuple[Path | None, int | None]:
        if self.file is None or index is None or index >= len(self.lines):
            return self.file, None
        return self.file, self.lines[index]


def _read_csv(name: str, path: Path) -> tuple[list[dict[str, str]], list[int], list[InputError]]:
    """Rows of a CSV table as dicts of non-empty cells, their lines, and header problems."""
    model = TABLES[name]
    allowed = _columns(model)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        return [], [], [InputError(f"cannot read table: {exc.strerror or exc}", file=path)]
    except UnicodeDecodeError:
        return [], [], [InputError("not valid UTF-8", file=path, expected="a UTF-8 CSV file")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        return [], [], [InputError(f"malformed CSV: {exc}", file=path, line=start)]
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        return (
            [],
            [],
            [
                InputError(
                    "the table is empty",
                    file=path,
                    line=1,
                    expected="a header row: " + ",".join(allowed),
                )
            ],
        )
    head_line, header = rows[0]
    header = [h.strip() for h in header]
    errors: list[InputError] = []
    for h in header:
        if h not in allowed and not h.lower().startswith("note"):
            errors.append(
                InputError(
                    f"unknown column {h!r}",
                    file=path,
                    line=head_line,
                    field=h or None,
                    expected="columns " + ", ".join(allowed),
                )
            )
    if len(set(header)) != len(header):
        errors.append(InputError("a column appears twice", file=path, line=head_line))
    if errors:
        return [], [], errors
    out: list[dict[str, str]] = []
    lines: list[int] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            errors.append(
                InputError(
                    f"row has {len(row)} cells but the header has {len(header)}",
                    file=path,
                    line=line,
                )
            )
            continue
        cells = {
            h: c.strip()
            for h, c in zip(header, row, strict=True)
            if c.strip() and not h.lower().startswith("note")
        }
        out.append(cells)
        lines.append(line)
    return out, lines, errors


def _row_errors(
    exc: ValidationError, file: Path | None, line: int | None, where: str
) -> list[InputError]:
    out = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in e["loc"]) or None
        msg = str(e["msg"])
        msg = msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg
        if file is None:
            loc = f"{where}.{loc}" if loc else where
        out.append(InputError(f"{msg} (got {e.get('input')!r})", file=file, line=line, field=loc))
    return out


def load_network(folder: str | Path, section: Mapping[str, Any] | None = None) -> Network:
    """Read a network: the ``network:`` section of a scenario (``section``) and its CSV tables
    in ``folder``.

    Raises :class:`~corridor.errors.InputError` (one problem) or
    :class:`~corridor.errors.InputErrors` (several), each naming the file, line and column.
    """
    folder = Path(folder)
    data: dict[str, Any] = dict(section or {})
    sources: dict[str, _Origin] = {}
    errors: list[InputError] = []
    for name, model in TABLES.items():
        value = data.get(name)
        if value is None and (folder / f"{name}.csv").is_file():
            value = f"{name}.csv"
        if value is None:
            if name in _REQUIRED:
                errors.append(
                    InputError(
                        f"no {name} table",
                        file=folder,
                        field=name,
                        expected=f"network.{name} rows or a file {name}.csv",
                    )
                )
            data[name] = []
            continue
        if isinstance(value, str):
            path = folder / value
            cells, lines, errs = _read_csv(name, path)
            errors += errs
            sources[name] = _Origin(path, lines)
        elif isinstance(value, list):
            cells, lines = value, []
            sources[name] = _Origin(None, [])
        else:
            errors.append(
                InputError(
                    f"network.{name} must be a list of rows or a CSV file",
                    field=f"network.{name}",
                    expected="a list or a file name",
                )
            )
            data[name] = []
            continue
        rows: list[Row] = []
        for i, raw in enumerate(cells):
            file, line = sources[name].locate(i)
            try:
                rows.append(model.model_validate(raw))
            except ValidationError as exc:
                errors += _row_errors(exc, file, line, f"network.{name}.{i}")
        data[name] = rows
    params: dict[str, Any] = {}
    for key, value in data.items():
        if key in TABLES:
            continue
        fld = Network.model_fields.get(key)
        if fld is None:
            errors.append(
                InputError(
                    f"unknown key {key!r}",
                    field=f"network.{key}",
                    expected="one of " + ", ".join(Network.model_fields),
                )
            )
            continue
        try:
            params[key] = TypeAdapter(cast(Any, fld.annotation)).validate_python(value)
        except ValidationError as exc:
            errors += _row_errors(exc, None, None, f"network.{key}")
    if errors:
        _raise(errors)
    problems = check_network(Network.model_construct(**{**data, **params}))
    for p in problems:
        src = sources.get(p.table)
        file, line = src.locate(p.index) if src else (None, None)
        if file is not None:
            field = p.field
        else:  # a row or parameter of the network: section, as a dotted path
            at = [p.table] + ([str(p.index)] if p.index is not None else [])
            field = ".".join(["network", *at] + ([p.field] if p.field else []))
        errors.append(InputError(p.message, file=file, line=line, field=field, expected=p.expected))
    if errors:
        _raise(errors)
    try:
        return Network.model_validate(data)
    except ValidationError as exc:
        _raise(_row_errors(exc, None, None, "network"))
    raise AssertionError("unreachable")  # pragma: no cover


def _raise(errors: Iterable[InputError]) -> None:
    errs = list(errors)
    if len(errs) == 1:
        raise errs[0]
    raise InputErrors(errs)


# A scenario's ``network`` field is a Network: complete Scenario now that Network exists
# (corridor.scenario.schema imports this module at its end, so either may be imported first).
Scenario.model_rebuild()
