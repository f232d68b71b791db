"""Cross-references of a network: every place, link, crossing, condition and dotted path that
a row names must exist, ids must be unique, and a host condition may change only its host's
links.

Reads: a :class:`~corridor.scenario.network.models.Network` (built or merely constructed: only
its attributes are read) and the vocabulary of
:mod:`~corridor.scenario.network.vocabulary`. Produces: :func:`check_network`, every problem
as a :class:`Problem` (table, row index, field, message, expected). Invariants: never raises
for bad content; does not import the models (the models' validator calls this module): it
types the network by the attributes it reads (:class:`NetworkLike` and its rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from corridor.scenario.network.vocabulary import (
    CROSSING_ATTRIBUTES,
    MODES,
    Value,
    check_value,
    parse_path,
)

__all__ = ["NetworkLike", "Problem", "check_network"]


class _Place(Protocol):
    @property
    def place(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def kind(self) -> str: ...


class _Link(Protocol):
    @property
    def from_(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def condition(self) -> str | None: ...


class _Crossing(Protocol):
    @property
    def link(self) -> str: ...
    @property
    def from_date(self) -> date | None: ...


class _Origin(Protocol):
    @property
    def origin(self) -> str: ...
    @property
    def destination(self) -> str | None: ...
    @property
    def from_date(self) -> date | None: ...


class _Policy(Protocol):
    @property
    def set(self) -> Mapping[str, Value]: ...


class _HostCondition(_Policy, Protocol):
    @property
    def id(self) -> str: ...
    @property
    def host(self) -> str: ...


class NetworkLike(Protocol):
    """What :func:`check_network` reads of a
    :class:`~corridor.scenario.network.models.Network` (and of its rows)."""

    @property
    def places(self) -> Sequence[_Place]: ...
    @property
    def links(self) -> Sequence[_Link]: ...
    @property
    def crossings(self) -> Sequence[_Crossing]: ...
    @property
    def origins(self) -> Sequence[_Origin]: ...
    @property
    def policies(self) -> Sequence[_Policy]: ...
    @property
    def conditions(self) -> Sequence[_HostCondition]: ...


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


def _check_sets(
    sets: Mapping[str, Value],
    table: str,
    index: int,
    links: Mapping[str, _Link],
    crossing_links: set[str],
    countries: Mapping[str, str],
    host: str | None,
) -> list[Problem]:
    """Problems in the dotted paths of one policy or condition."""
    out: list[Problem] = []
    country_set = set(countries.values())

    def touches(link: _Link) -> bool:
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
        expected = check_value(t, value)
        if expected is not None:
            out.append(Problem(table, index, field, f"bad value {value!r}", expected))
    return out


def check_network(net: NetworkLike) -> list[Problem]:
    """Every cross-reference problem of a network (unknown places, duplicate ids, bad paths).

    Called by :class:`Network`'s validator;
    :func:`~corridor.scenario.network.load.load_network` calls it to locate problems in the CSV
    files.
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
    conditions: dict[str, _HostCondition] = {}
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
    links: dict[str, _Link] = {}
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
