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

Layout (this is the scenario layer: it never imports the routes package, which runs networks
and re-exports this package as its ``schema`` module):

* :mod:`~corridor.scenario.network.vocabulary`: modes, kinds of place, crossing attributes,
  the dotted paths above (:func:`parse_path`);
* :mod:`~corridor.scenario.network.models`: the Pydantic models and :data:`TABLES`;
* :mod:`~corridor.scenario.network.checks`: the cross-references (:func:`check_network`);
* :mod:`~corridor.scenario.network.load`: reading a section and its CSV files
  (:func:`load_network`).
"""

from __future__ import annotations

from corridor.scenario.network.checks import Problem, check_network
from corridor.scenario.network.load import load_network, table_columns
from corridor.scenario.network.models import (
    TABLES,
    Crossing,
    HostCondition,
    Link,
    ModeSpeeds,
    Network,
    NetworkPolicy,
    Origin,
    Place,
    RouteChoice,
    Row,
)
from corridor.scenario.network.vocabulary import (
    CROSSING_ATTRIBUTES,
    MODES,
    PLACE_KINDS,
    Mode,
    PlaceKind,
    Target,
    Value,
    parse_path,
)

__all__ = [
    "CROSSING_ATTRIBUTES",
    "MODES",
    "PLACE_KINDS",
    "TABLES",
    "Crossing",
    "HostCondition",
    "Link",
    "Mode",
    "ModeSpeeds",
    "Network",
    "NetworkPolicy",
    "Origin",
    "Place",
    "PlaceKind",
    "Problem",
    "RouteChoice",
    "Row",
    "Target",
    "Value",
    "check_network",
    "load_network",
    "parse_path",
    "table_columns",
]
