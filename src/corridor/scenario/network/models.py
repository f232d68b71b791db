"""The network's models: the rows of its four tables (:class:`Place`, :class:`Link`,
:class:`Crossing`, :class:`Origin`), its parameters (:class:`ModeSpeeds`,
:class:`RouteChoice`, :class:`NetworkPolicy`, :class:`HostCondition`) and the whole
:class:`Network`, as frozen Pydantic models (``extra="forbid"``).

Reads: the base types of :mod:`corridor.scenario.types`, the vocabulary of
:mod:`~corridor.scenario.network.vocabulary` and Flee's settings. Produces: the models and
:data:`TABLES` (table name → row model). Invariants: a :class:`Network` is valid only if
:func:`~corridor.scenario.network.checks.check_network` finds no problem (its validator
runs it); the meaning of every row and field is in :mod:`corridor.scenario.network`, and the
models' docstrings and descriptions are the scenario's JSON Schema (``corridor schema``).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from corridor.scenario.flee_case import FleeSettings
from corridor.scenario.network.checks import check_network
from corridor.scenario.network.vocabulary import Mode, PlaceKind, Value
from corridor.scenario.types import Date, Frozen, NonNeg, People, Positive, Share

__all__ = [
    "TABLES",
    "Crossing",
    "HostCondition",
    "Link",
    "ModeSpeeds",
    "Network",
    "NetworkPolicy",
    "Origin",
    "Place",
    "RouteChoice",
    "Row",
]


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
    from_date: Date | None = Field(None, description="Exists from this date (inclusive).")
    to_date: Date | None = Field(None, description="Exists until this date (exclusive).")
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
    from_date: Date | None = Field(None, description="These values apply from this date.")
    interception: Share = Field(0.0, description="Chance that an attempt is intercepted.")
    pushback_share: Share = Field(
        0.0, description="Share of the intercepted pushed back to the previous place."
    )
    detain_share: Share = Field(0.0, description="Share of the intercepted detained.")
    capacity_per_day: People | None = Field(
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
    from_date: Date | None = Field(None, description="This row applies from this date.")
    people_per_month: People = Field(description="People leaving a month.")
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


class NetworkPolicy(Frozen):
    """A dated change: from ``date`` on, the dotted paths of ``set`` take new values."""

    date: Date
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
    date: Date
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


TABLES: dict[str, type[Row]] = {
    "places": Place,
    "links": Link,
    "crossings": Crossing,
    "origins": Origin,
}
"""The network's tables and the model of their rows."""
