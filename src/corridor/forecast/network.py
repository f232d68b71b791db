"""Route effects of the network without agents: the per-person summary of
:func:`~corridor.flagship.network_effects.effects_of`, from the expected-value resolution of
the network (:mod:`corridor.routes.expected`), fast enough for every replicate.

Reads: the flagship's network pack (:data:`~corridor.forecast.corridor_network.DEFAULT_PACK`),
its state on a date (default the railway condition's date, as the agent runs start) and, per
replicate, crossing probabilities (:class:`~corridor.routes.expected.CrossingRisks`, arrays by
crossing in the pack's order, the same with and without the railway).

Gives: :class:`ExpectedEffects` (the fields of
:class:`~corridor.flagship.network_effects.RouteEffects` the flagship uses, and the set-off
share) for (a) the pack without the railway, (b) with Montenegro's railway, (c) people leaving
a hub at each place of :data:`~corridor.forecast.corridor_network.HUB_PLACES` (the network of
:func:`~corridor.forecast.corridor_network.hub_network`, as
:func:`~corridor.flagship.network_effects.reentry_effects` builds it). :func:`corridor_chains`
builds the eight chains once (milliseconds); :meth:`CorridorChains.evaluate` resolves all of
them for one set of probabilities (a few milliseconds).

Same definitions as :class:`~corridor.flagship.network_effects.RouteEffects`: Western Balkans
detections are attempts (every attempt, repeats too) at crossings from a Western Balkans state
into a state outside them (:func:`~corridor.forecast.corridor_network.wb_crossings`); the share
via a country counts entries of links into it (:func:`~corridor.forecast.corridor_network.
links_into`), per person who set off; days to Dover are the mean of the people who arrive.
Differences, by design: (1) expected values, not one run's draws; (2) every journey runs to its
end, where a run of so many days cuts off the people who set off late; (3) only the origin's
own people are counted (the agent summary divides every origin's detections and entries by the
origin's people; in the pack only Istanbul's people reach the Western Balkans, so the two
agree: Tripoli's expected Western Balkans attempts and entries are 0, checked in the tests);
(4) capacities are assumed not to bind (:func:`~corridor.routes.expected.capacity_use`).

Per replicate (step 0 of :mod:`corridor.forecast.model`): :func:`draw_risks` draws the
crossing probabilities of a scenario's ``forecast.network_risks`` (stream ``network_risks``: each
crossing's odds of interception, and of a pushback rather than a turn-back, times a factor of
its own), and :func:`terms_of` turns the chains' resolution under them into what the forecast
uses (:class:`NetworkTerms`): the railway's factor on Western Balkans detections, the shares of
people through Montenegro and Serbia, and the re-entry terms of people leaving each hub.
Replicate *r* of every variant draws the same probabilities (common random numbers).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from corridor.engine.rng import generator
from corridor.forecast.corridor_network import (
    DEFAULT_PACK,
    HUB_PLACES,
    START,
    hub_network,
    links_into,
    load_corridor_network,
    wb_crossings,
)
from corridor.forecast.system import expit, logit
from corridor.routes.expected import CrossingRisks, Expected, Structure, build, evaluate
from corridor.routes.network import Graph
from corridor.scenario.forecast_schema import NetworkRisks
from corridor.scenario.prior_values import inverse_cdf

__all__ = [
    "CorridorChains",
    "CorridorEffects",
    "ExpectedEffects",
    "NetworkTerms",
    "corridor_chains",
    "draw_risks",
    "expected_rail_comparison",
    "expected_reentry_effects",
    "replicate_terms",
    "summarise",
    "terms_of",
]


@dataclass(frozen=True)
class ExpectedEffects:
    """One origin's people, per person who set off (see the module docstring)."""

    wb_detections_per_person: float
    share_via_montenegro: float
    share_via_serbia: float
    channel_arrivals_per_person: float
    mean_days_to_dover: float
    set_off_share: float
    origin: str
    expected: Expected | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Lens:
    """Where the summary looks in a graph: the detection crossings, the links into
    Montenegro and into Serbia."""

    wb: NDArray[np.int64]
    montenegro: NDArray[np.bool_]
    serbia: NDArray[np.bool_]

    @classmethod
    def of(cls, graph: Graph) -> _Lens:
        return cls(
            np.asarray(wb_crossings(graph), np.int64),
            links_into(graph, "Montenegro"),
            links_into(graph, "Serbia"),
        )


def summarise(e: Expected, lens: _Lens | None = None) -> ExpectedEffects:
    """The summary of an expected resolution whose destination is Dover's place."""
    g = e.graph
    lens = _Lens.of(g) if lens is None else lens
    return ExpectedEffects(
        wb_detections_per_person=float(e.attempts[lens.wb].sum()),
        share_via_montenegro=float(e.entries[lens.montenegro].sum()),
        share_via_serbia=float(e.entries[lens.serbia].sum()),
        channel_arrivals_per_person=e.arrived,
        mean_days_to_dover=e.days_to_destination,
        set_off_share=e.set_off,
        origin=g.names[e.structure.origin],
        expected=e,
    )


@dataclass(frozen=True)
class CorridorEffects:
    """(a), (b) and (c) for one set of crossing probabilities."""

    without: ExpectedEffects
    with_rail: ExpectedEffects
    hubs: dict[str, ExpectedEffects]  # by host, as HUB_PLACES

    @property
    def wb_detection_factor(self) -> float:
        """As :func:`~corridor.flagship.network_effects.wb_detection_factor`."""
        base = self.without.wb_detections_per_person
        return self.with_rail.wb_detections_per_person / base if base > 0.0 else math.nan


@dataclass(frozen=True, eq=False)  # hashed by identity: built once per process, memo key
class CorridorChains:
    """The chains of (a), (b) and (c), built once (:func:`corridor_chains`)."""

    without: Structure
    with_rail: Structure
    hubs: dict[str, Structure]
    lens: _Lens

    @property
    def cross_key(self) -> tuple[str, ...]:
        """The crossings, in the order of the probability arrays."""
        return self.without.graph.cross_key

    def risks(self) -> CrossingRisks:
        """The pack's own probabilities on the chains' date."""
        return CrossingRisks.of(self.without.state)

    def evaluate(
        self, risks: CrossingRisks | None = None, *, reweight: bool = True
    ) -> CorridorEffects:
        """All chains under ``risks`` (default: the pack's; see
        :func:`~corridor.routes.expected.evaluate` for ``reweight``)."""

        def one(s: Structure) -> ExpectedEffects:
            return summarise(evaluate(s, risks, reweight=reweight), self.lens)

        return CorridorEffects(
            one(self.without), one(self.with_rail), {h: one(s) for h, s in self.hubs.items()}
        )


def corridor_chains(
    pack_dir: Path = DEFAULT_PACK, *, when: date = START, origin: str = "Istanbul"
) -> CorridorChains:
    """Build the chains of ``origin`` without and with the railway, and of each hub, on the
    pack's state on ``when``."""
    without = load_corridor_network(pack_dir)
    with_rail = load_corridor_network(pack_dir, montenegro_rail=True)
    a = build(without, origin, when)
    b = build(with_rail, origin, when)
    if a.graph.cross_key != b.graph.cross_key:  # pragma: no cover - a pack's own tables
        raise ValueError("the crossings differ with the railway: one risks array cannot serve")
    hubs = {
        host: build(hub_network(without, place), place, when, graph=a.graph, state=a.state)
        for host, place in HUB_PLACES.items()
    }
    return CorridorChains(a, b, hubs, _Lens.of(a.graph))


def expected_rail_comparison(
    pack_dir: Path = DEFAULT_PACK, *, when: date = START
) -> tuple[ExpectedEffects, ExpectedEffects]:
    """(a) and (b): Istanbul's people without and with the railway, expected."""
    out = corridor_chains(pack_dir, when=when).evaluate()
    return out.without, out.with_rail


def expected_reentry_effects(
    pack_dir: Path = DEFAULT_PACK, *, when: date = START
) -> dict[str, ExpectedEffects]:
    """(c): people leaving a hub at each place of ``HUB_PLACES``, expected."""
    return corridor_chains(pack_dir, when=when).evaluate().hubs


@dataclass(frozen=True)
class NetworkTerms:
    """What the forecast takes from the network (:class:`~corridor.forecast.context.Context`'s
    fields of the same names): the railway's factor on Western Balkans detections; per person on
    the routes from Istanbul without and with the railway, ``{"without"|"with_rail":
    {"wb_detections_per_person", "share_via_montenegro", "share_via_serbia"}}``; per person
    leaving a hub, by host, ``{"set_off_share", "wb_detections_per_person",
    "channel_arrivals_per_person", "mean_days_to_dover"}``, with Istanbul's people beside them
    (``"reference"``)."""

    rail_wb_factor: float
    route_shares: dict[str, dict[str, float]]
    reentry_routes: dict[str, dict[str, float]]


def terms_of(effects: CorridorEffects) -> NetworkTerms:
    """The forecast's terms from one resolution of the chains."""
    keys = ("wb_detections_per_person", "share_via_montenegro", "share_via_serbia")
    shares = {
        run: {k: float(getattr(e, k)) for k in keys}
        for run, e in (("without", effects.without), ("with_rail", effects.with_rail))
    }
    hub_keys = (
        "set_off_share",
        "wb_detections_per_person",
        "channel_arrivals_per_person",
        "mean_days_to_dover",
    )
    hubs = {h: {k: float(getattr(e, k)) for k in hub_keys} for h, e in effects.hubs.items()}
    ref = effects.without
    hubs["reference"] = {
        "set_off_share": 1.0,
        "wb_detections_per_person": ref.wb_detections_per_person,
        "channel_arrivals_per_person": ref.channel_arrivals_per_person,
        "mean_days_to_dover": math.nan,
    }
    return NetworkTerms(effects.wb_detection_factor, shares, hubs)


def _scale_odds(
    p: NDArray[np.float64], factor: NDArray[np.float64], on: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``p`` with its odds times ``factor`` where ``on`` and ``0 < p < 1`` (a certainty or an
    impossibility stays one)."""
    inner = on & (p > 0.0) & (p < 1.0)
    safe = np.where(inner, p, 0.5)
    return np.where(inner, expit(logit(safe) + np.log(factor)), p)


def draw_risks(
    chains: CorridorChains, prior: NetworkRisks, seed: int
) -> tuple[CrossingRisks, dict[str, float]]:
    """One replicate's crossing probabilities (see the module docstring) and what was drawn
    (``network.interception_odds`` and ``network.pushback_odds``: the geometric mean factor
    over the crossings drawn)."""
    base = chains.risks()
    keys = chains.cross_key
    u = generator(int(seed), "network_risks").random((2, len(keys)))
    f_int = inverse_cdf(prior.interception_odds, u[0])
    f_push = inverse_cdf(prior.pushback_odds, u[1])
    on = np.asarray([k not in prior.fixed for k in keys], np.bool_)
    interception = _scale_odds(np.asarray(base.interception, np.float64), f_int, on)
    detain = np.asarray(base.detain, np.float64)
    rest = np.clip(1.0 - detain, 0.0, 1.0)
    share = np.where(
        rest > 0.0, np.asarray(base.pushback, np.float64) / np.where(rest > 0, rest, 1.0), 0.0
    )
    pushback = _scale_odds(np.clip(share, 0.0, 1.0), f_push, on) * rest
    risks = CrossingRisks(interception, pushback, detain, np.asarray(base.death, np.float64))
    n = max(int(on.sum()), 1)
    drawn = {
        "network.interception_odds": float(np.exp(np.log(f_int[on]).sum() / n)),
        "network.pushback_odds": float(np.exp(np.log(f_push[on]).sum() / n)),
    }
    return risks, drawn


@functools.lru_cache(maxsize=8)
def replicate_terms(
    chains: CorridorChains, prior: NetworkRisks, seed: int
) -> tuple[NetworkTerms, tuple[tuple[str, float], ...]]:
    """A replicate's terms: its crossing probabilities drawn (:func:`draw_risks`), the chains
    resolved under them (:func:`terms_of`), and what was drawn (with
    ``network.rail_wb_factor``). Memoised: the variants of one replicate run side by side on a
    worker (the ensemble is replicate-major) and share their seed, so the network is resolved
    once for them (the terms are read, never changed)."""
    risks, drawn = draw_risks(chains, prior, seed)
    terms = terms_of(chains.evaluate(risks))
    drawn["network.rail_wb_factor"] = terms.rail_wb_factor
    return terms, tuple(drawn.items())
