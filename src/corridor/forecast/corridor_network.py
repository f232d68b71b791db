"""The corridor's route network pack: where it is, what its places mean, and the networks the
forecast resolves.

Reads: a pack's ``network/`` folder (``network.yaml`` and the four tables it names; the flagship
ships one in ``data/scenarios/uk-balkans/network/``). Gives: :func:`load_corridor_network` (the
network, optionally with Montenegro's railway condition met), :func:`hub_network` (the same
network with one origin: people leaving a hub at a place), and what the summaries count:
:data:`WB_STATES` and :func:`wb_crossings` (attempts at crossings out of the Western Balkans
into the EU: Frontex's detections, data.md caveat 1), :func:`links_into` (entries into a
country), :data:`HUB_PLACES` (where a hub in each host sits on the network).

Invariants: nothing here runs the network (:mod:`corridor.routes.run` runs agents,
:mod:`corridor.routes.expected` resolves it in expectation); a faulty pack raises
:class:`~corridor.errors.InputError` naming the file and field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from corridor.errors import InputError
from corridor.routes.network import Graph
from corridor.routes.schema import Network, load_network

__all__ = [
    "DEFAULT_PACK",
    "HUB_PLACES",
    "ME_RAIL",
    "START",
    "WB_STATES",
    "hub_network",
    "links_into",
    "load_corridor_network",
    "wb_crossings",
]

DEFAULT_PACK = Path(__file__).resolve().parent.parent / "data/scenarios/uk-balkans/network"
"""The flagship's network pack shipped with the package."""

ME_RAIL = "me_rail"
"""Id of Montenegro's railway host condition in the pack's ``network.yaml``."""

WB_STATES: tuple[str, ...] = (
    "Albania",
    "Bosnia and Herzegovina",
    "Kosovo",
    "Montenegro",
    "North Macedonia",
    "Serbia",
)
"""The six Western Balkans states (country names as in the places table)."""

START = date(2027, 1, 1)
"""Default first day of a run: the railway condition's date in the pack."""


def load_corridor_network(pack_dir: Path, *, montenegro_rail: bool = False) -> Network:
    """The network of a pack: ``network.yaml`` (the content of a ``network:`` section, or a
    mapping with a single ``network`` key) and the CSV tables it names, read with
    :func:`~corridor.routes.schema.load_network`.

    ``montenegro_rail=True`` sets the host condition ``me_rail`` met (from its own date), so
    that the links naming it exist. Raises :class:`~corridor.errors.InputError` (or
    :class:`~corridor.errors.InputErrors`) naming the file, line and field at fault.
    """
    pack_dir = Path(pack_dir)
    path = pack_dir / "network.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", file=path) from exc
    if isinstance(raw, dict) and set(raw) == {"network"}:
        raw = raw["network"]
    if not isinstance(raw, dict):
        raise InputError(
            "the file must hold a mapping", file=path, expected="the keys of a network: section"
        )
    section: dict[str, Any] = dict(raw)
    if montenegro_rail:
        conditions = section.get("conditions") or []
        if not isinstance(conditions, list):
            raise InputError("conditions must be a list", file=path, field="conditions")
        met: list[Any] = []
        found = False
        for cond in conditions:
            if isinstance(cond, dict) and cond.get("id") == ME_RAIL:
                cond = {**cond, "met": True}
                found = True
            met.append(cond)
        if not found:
            raise InputError(
                f"no condition {ME_RAIL!r}",
                file=path,
                field="conditions",
                expected=f"a host condition with id {ME_RAIL}",
            )
        section["conditions"] = met
    return load_network(pack_dir, section)


HUB_PLACES: dict[str, str] = {
    "Albania": "Tirana",
    "Bosnia and Herzegovina": "Sarajevo",
    "Kosovo": "Pristina",
    "Montenegro": "Podgorica",
    "North Macedonia": "Skopje",
    "Serbia": "Belgrade",
}
"""Where a hub in each Western Balkans host sits on the network: the capital (an assumption:
no site has been named; the hubs compared, Gjader and Gjilan, are within a day's road travel of
them)."""


def hub_network(network: Network, place: str, people_per_month: float = 600.0) -> Network:
    """``network`` with one origin, ``place``, heading for the destination of its first
    origin with that origin's budget (people leaving a hub carry what people on the route
    carry: an assumption)."""
    from corridor.routes.schema import Origin

    if not network.origins or network.origins[0].destination is None:
        raise ValueError("the pack's network has no origin with a destination to copy")
    first = network.origins[0]
    origin = Origin(
        origin=place,
        destination=first.destination,
        people_per_month=people_per_month,
        budget_eur_median=first.budget_eur_median,
        budget_sigma=first.budget_sigma,
        source="people leaving a return hub (corridor.forecast.corridor_network)",
    )
    return network.model_copy(update={"origins": [origin]})


def wb_crossings(graph: Graph) -> list[int]:
    """The crossings whose attempts count as Western Balkans detections: from a state of
    :data:`WB_STATES` into a state outside them: Frontex counts entries into the EU, not
    exits from Greece into the region."""
    g = graph
    inside = np.isin(np.asarray(g.countries, dtype=object)[g.country], WB_STATES)
    link = g.cross_link
    return np.flatnonzero(inside[g.src[link]] & ~inside[g.dst[link]]).tolist()


def links_into(graph: Graph, country: str) -> NDArray[np.bool_]:
    """The directed links from a place outside ``country`` to a place in it (their entries
    are the entries into the country of
    :class:`corridor.flagship.network_effects.RouteEffects`)."""
    g = graph
    c = np.asarray(g.countries, dtype=object)[g.country] == country
    return np.asarray(c[g.dst] & ~c[g.src], np.bool_)
