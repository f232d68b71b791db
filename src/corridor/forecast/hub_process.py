"""A return hub's life as a process, drawn per replicate, and the hosts' conditions.

Reads: the replicate's asylum scenario after the variant's levers (its hubs, their agreement
steps and ``hubs.<id>.*`` policies, the ``hosts`` table with each host's dated position and its
``condition``), the variant (:attr:`~corridor.scenario.forecast_schema.Variant.conditions_met`,
``host_payments``, ``hub_process`` overrides), the forecast's
:class:`~corridor.scenario.forecast_schema.HubProcess` priors, the cut-off and end, and the
replicate's seed. Produces: the scenario with each hub's life written in as dated policies and
hub fields (the engines stay deterministic), and the draws made (``hub.<id>.<what>``):

* **the host's condition** (:func:`condition_met`): a hub whose host has not agreed opens only in
  a variant that meets the host's stated condition (listed in ``conditions_met``) or that sets
  the hub hypothetical; otherwise the hub stays ``proposed`` (no transfers, no payments);
* **agreement or never**: with the drawn chance ``never`` the hub never opens inside the horizon
  (it stays ``agreed`` and the host is paid, as Rwanda was); otherwise it opens ``delay_months``
  after its planned day (``agreed`` in between);
* **build-up**: beds in use start at ``initial_beds_share`` of the hub's beds and grow linearly
  to all of them over ``ramp_months`` (monthly steps of ``hubs.<id>.beds``);
* **flights and stays**: the hub's flights a week × ``flights_factor`` and its mean stay ×
  ``stay_factor``, drawn per hub;
* **legal challenges**: each month the hub operates, a suspension starts with the monthly
  chance equivalent to ``suspension_per_year``; it lasts ``suspension_months`` (status
  ``suspended``: no transfers, fixed payments go on), then transfers resume;
* **outcomes**: shares removed onward / left / stayed / returned to the UK drawn from a
  Dirichlet around the hub's own shares (concentration ``outcome_concentration``), so they sum
  to 1;
* **the host's own size and costs**: the hub's beds (with its fixed payment and set-up, priced
  per bed) × ``size_factor``, its cost per night × ``night_cost_factor``, fixed payment ×
  ``payment_factor``, set-up × ``setup_factor`` (each 1 where no prior is given), drawn per
  hub around the hub's own row; ``by_hub`` gives a host its own priors (range), a variant's
  ``hub_process`` replaces both (:func:`hub_priors`, :func:`draw_terms`, :func:`hub_terms` for
  the report);
* **payments a condition asks for** (:func:`with_host_payments`): Montenegro's railway, the
  euros spread evenly over the build years at the cited rate, added to the hub's fixed payment.

Invariants: streams ``hub_process`` and ``hub_terms`` (counter: the hub's position in the
scenario) depend on the seed only, so replicate *r* of two variants draws the same life for the
same hub; nothing before the forecast's start changes; a hub without an ``operating`` step
after the cut-off is left as it is (apart from its condition); outcome shares sum to 1; a
``by_hub`` id that is not a hub of the scenario is an :class:`~corridor.errors.InputError`.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from corridor.engine.rng import generator
from corridor.errors import InputError
from corridor.scenario.forecast_schema import HUB_FACTORS, HubProcess, Variant
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.prior import Prior
from corridor.scenario.prior_values import inverse_cdf

__all__ = [
    "HubLife",
    "condition_met",
    "draw_life",
    "draw_terms",
    "host_position",
    "hub_priors",
    "hub_terms",
    "variant_hubs",
    "with_hub_process",
]

# Positions under which a hub opens only in a variant that meets the host's condition.
_NEEDS_CONDITION = ("conditional", "in_talks", "not_asked", "unknown")
_DAYS_PER_MONTH = 30.4375


@dataclasses.dataclass(frozen=True)
class HubLife:
    """One hub's drawn life: opening day (None: never inside the horizon), beds in use by
    month from opening, flights, stay, outcome shares, suspensions as (first, last) days."""

    opens: date | None
    beds: tuple[tuple[date, float], ...]
    flights_per_week: float
    stay_days: float
    shares: tuple[float, float, float, float]  # removed onward, left, stayed, returned to the UK
    suspensions: tuple[tuple[date, date], ...]

    def draws(self, hub: str) -> dict[str, float]:
        """The draws as ``hub.<id>.<what>`` numbers (replicate meta)."""
        days = sum((b - a).days + 1 for a, b in self.suspensions)
        return {
            f"hub.{hub}.opens": 0.0 if self.opens is None else 1.0,
            f"hub.{hub}.flights_per_week": self.flights_per_week,
            f"hub.{hub}.stay_days": self.stay_days,
            f"hub.{hub}.removed_onward": self.shares[0],
            f"hub.{hub}.left": self.shares[1],
            f"hub.{hub}.stayed": self.shares[2],
            f"hub.{hub}.returned_uk": self.shares[3],
            f"hub.{hub}.suspended_days": float(days),
        }


def host_position(hosts: pd.DataFrame | None, host: str, on: date) -> tuple[str, str]:
    """The host's latest stated position on or before ``on`` (the first one if all are later)
    and its condition; ``("", "")`` when the host is not in the table."""
    if hosts is None or len(hosts) == 0:
        return "", ""
    conditions = hosts["condition"] if "condition" in hosts.columns else [""] * len(hosts)
    rows = sorted(  # plain rows: a few per host, read for every hub of every replicate
        (
            (pd.Timestamp(d), k, str(p), c)
            for k, (h, d, p, c) in enumerate(
                zip(hosts["host"], hosts["date"], hosts["position"], conditions, strict=True)
            )
            if str(h) == host
        ),
        key=lambda r: (r[0], r[1]),
    )
    if not rows:
        return "", ""
    before = [r for r in rows if r[0] <= pd.Timestamp(on)]
    _, _, position, cond = (before or rows[:1])[-1]
    return position, "" if cond is None or pd.isna(cond) else str(cond)


def condition_met(position: str, host: str, variant: Variant, hypothetical: bool) -> bool:
    """Whether a hub may open: its host agreed (or is not in the table), the variant meets
    the host's condition, or the hub is hypothetical; never where the host refused unless
    hypothetical."""
    if hypothetical:
        return True
    if position == "refused":
        return False
    if position in _NEEDS_CONDITION:
        return host in variant.conditions_met
    return True


def _draw(prior: Prior, u: float) -> float:
    return float(inverse_cdf(prior, np.asarray([u]))[0])


def hub_priors(prior: HubProcess, hub: str, variant: Variant | None = None) -> dict[str, Prior]:
    """The priors that replace the shared ones for ``hub``: its host's own (``by_hub``), then
    the variant's ``hub_process``."""
    return {**prior.by_hub.get(hub, {}), **(variant.hub_process if variant else {})}


def _factor_prior(prior: HubProcess, overrides: dict[str, Prior], name: str) -> Prior | None:
    got: Prior | None = overrides.get(name) or getattr(prior, name)
    return got


def draw_terms(
    prior: HubProcess, overrides: dict[str, Prior], seed: int, counter: int
) -> dict[str, float]:
    """One hub's factors on its own size and costs (:data:`HUB_FACTORS`; 1 where no prior)."""
    u = generator(int(seed), "hub_terms", int(counter)).random(len(HUB_FACTORS))
    out = {}
    for k, name in enumerate(HUB_FACTORS):
        p = _factor_prior(prior, overrides, name)
        out[name] = 1.0 if p is None else max(_draw(p, float(u[k])), 0.0)
    return out


def _scaled(hub: Any, f: dict[str, float]) -> dict[str, float]:
    """The hub's beds and costs under factors ``f`` (the centre when every factor is 1)."""
    size = f["size_factor"]
    return {
        "beds": float(hub.beds) * size,
        "cost_per_night_gbp": float(hub.cost_per_night_gbp) * f["night_cost_factor"],
        "fixed_payment_gbp": float(hub.fixed_payment_gbp) * size * f["payment_factor"],
        "setup_gbp": float(hub.setup_gbp) * size * f["setup_factor"],
    }


def variant_hubs(loaded: LoadedScenario, variant: Variant) -> list[str]:
    """Ids of the hubs a variant names: in its levers (``hubs.<id>.*``) or added by it."""
    ids = {h.id for h in loaded.scenario.hubs}
    named = {k.split(".")[1] for k in variant.levers if k.startswith("hubs.") and k.count(".") >= 2}
    named |= {str(h.get("id")) for h in variant.add_hubs}
    named |= {p.hub for p in variant.host_payments}
    return [i for i in [h.id for h in loaded.scenario.hubs] if i in named] + sorted(named - ids)


def hub_terms(
    loaded: LoadedScenario, prior: HubProcess | None, variant: Variant | None = None
) -> dict[str, dict[str, Any]]:
    """Per hub: its host, capacity (beds, flights a week, seats), stay, outcome shares and
    costs as the scenario's row says, with an outer range of the per-replicate draws of its
    beds and costs (every factor at its 10% point, then at its 90% point), and where the
    ranges come from."""
    out: dict[str, dict[str, Any]] = {}
    for h in loaded.scenario.hubs:
        over = hub_priors(prior, h.id, variant) if prior is not None else {}
        centre = _scaled(h, dict.fromkeys(HUB_FACTORS, 1.0))
        row: dict[str, Any] = {
            "host": h.host,
            "hypothetical": bool(h.hypothetical),
            "flights_per_week": float(h.flights_per_week),
            "seats_per_flight": float(h.seats_per_flight),
            "stay_days": float(h.stay_days),
            "shares": {
                "removed_onward": h.removed_onward,
                "left": h.left,
                "stayed": h.stayed,
                "returned_uk": h.returned_uk,
            },
            "source": h.source,
            "ranges": {},
        }
        row.update(centre)
        for q in (0.1, 0.9):
            f = {}
            for name in HUB_FACTORS:
                p = _factor_prior(prior, over, name) if prior is not None else None
                f[name] = 1.0 if p is None else max(_draw(p, q), 0.0)
            for k, v in _scaled(h, f).items():
                row["ranges"].setdefault(k, []).append(v)
        row["ranges"] = {k: v for k, v in row["ranges"].items() if v[0] != v[1]}
        row["range_sources"] = {
            name: p.source
            for name in HUB_FACTORS
            if prior is not None and (p := _factor_prior(prior, over, name)) is not None
        }
        out[h.id] = row
    return out


def _add_months(d: date, months: float) -> date:
    return d + timedelta(days=round(months * _DAYS_PER_MONTH))


def draw_life(
    prior: HubProcess,
    overrides: dict[str, Prior],
    planned: date,
    end: date,
    beds: float,
    shares: tuple[float, float, float, float],
    flights_per_week: float,
    stay_days: float,
    seed: int,
    counter: int,
) -> HubLife:
    """One hub's life (see the module docstring) from its planned opening to ``end``."""

    def p(name: str) -> Prior:
        return overrides.get(name) or getattr(prior, name)

    g = generator(int(seed), "hub_process", int(counter))
    u = g.random(8)
    never = u[1] < _draw(p("never"), u[0])
    opens = None if never else _add_months(planned, _draw(p("delay_months"), u[2]))
    ramp = max(_draw(p("ramp_months"), u[3]), 0.0)
    first = min(max(_draw(p("initial_beds_share"), u[4]), 0.0), 1.0)
    flights = flights_per_week * max(_draw(p("flights_factor"), u[5]), 0.0)
    stay = max(stay_days * _draw(p("stay_factor"), u[6]), 1.0)
    alpha = np.maximum(np.asarray(shares, dtype=float) * prior.outcome_concentration, 1e-3)
    gam = g.gamma(alpha)
    drawn = gam / gam.sum() if gam.sum() > 0 else np.asarray(shares, dtype=float)
    steps: list[tuple[date, float]] = []
    suspensions: list[tuple[date, date]] = []
    if opens is not None and opens <= end:
        k = 0
        while True:
            day = _add_months(opens, k)
            if day > end:
                break
            share = 1.0 if ramp <= 0 else min(first + (1.0 - first) * k / ramp, 1.0)
            steps.append((day, beds * share))
            if share >= 1.0:
                break
            k += 1
        p_year = min(max(_draw(p("suspension_per_year"), u[7]), 0.0), 1.0)
        p_month = 1.0 - (1.0 - p_year) ** (1.0 / 12.0)
        m, n_months = 0, int((end - opens).days / _DAYS_PER_MONTH) + 1
        draws = g.random((n_months, 2))
        while m < n_months:
            if draws[m, 0] < p_month:
                length = max(_draw(p("suspension_months"), draws[m, 1]), 0.5)
                a = _add_months(opens, m)
                b = min(_add_months(a, length) - timedelta(days=1), end)
                suspensions.append((a, b))
                m += int(np.ceil(length)) + 1
            else:
                m += 1
    return HubLife(
        opens=opens if opens is not None and opens <= end else None,
        beds=tuple(steps),
        flights_per_week=flights,
        stay_days=stay,
        shares=(float(drawn[0]), float(drawn[1]), float(drawn[2]), float(drawn[3])),
        suspensions=tuple(suspensions),
    )


def _planned_opening(agreement: list[Any], after: date) -> date | None:
    ops = [s.date for s in agreement if s.status == "operating" and s.date > after]
    return min(ops) if ops else None


def _hypothetical(loaded: LoadedScenario, hub: Any) -> bool:
    value = bool(hub.hypothetical)
    for pol in sorted(loaded.scenario.policies, key=lambda q: q.date):
        v = pol.set.get(f"hubs.{hub.id}.hypothetical")
        if v is not None:
            value = bool(v)
    return value


def with_hub_process(
    loaded: LoadedScenario,
    variant: Variant,
    prior: HubProcess | None,
    cutoff: date,
    end: date,
    seed: int,
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with each hub's condition applied and its life drawn (module docstring)."""
    from corridor.scenario.schema import AgreementStep, Policy

    sc = loaded.scenario
    hosts = loaded.tables.get("hosts")
    hubs, added, draws = [], [], {}
    unknown = sorted(set(prior.by_hub) - {h.id for h in sc.hubs}) if prior else []
    if unknown:
        raise InputError(
            f"forecast.hub_process.by_hub: {', '.join(unknown)}",
            field="forecast.hub_process.by_hub",
            expected="ids of the scenario's hubs",
        )
    for j, h in enumerate(sc.hubs):
        planned = _planned_opening(list(h.agreement), cutoff)
        when = planned or (cutoff + timedelta(days=1))
        position, _ = host_position(hosts, h.host, when)
        met = condition_met(position, h.host, variant, _hypothetical(loaded, h))
        draws[f"hub.{h.id}.condition_met"] = 1.0 if met else 0.0
        if planned is None:
            hubs.append(h)
            continue
        if not met:  # the host's condition is not met: the hub stays proposed
            steps = [s for s in h.agreement if s.date <= cutoff] or [
                AgreementStep(date=h.agreement[0].date, status="proposed")
            ]
            hubs.append(h.model_copy(update={"agreement": steps}))
            continue
        if prior is None:
            hubs.append(h)
            continue
        over = hub_priors(prior, h.id, variant)
        terms = _scaled(h, draw_terms(prior, over, seed, j))
        draws.update({f"hub.{h.id}.{k}": v for k, v in terms.items()})
        life = draw_life(
            prior,
            over,
            planned,
            end,
            terms["beds"],
            (h.removed_onward, h.left, h.stayed, h.returned_uk),
            float(h.flights_per_week),
            float(h.stay_days),
            seed,
            j,
        )
        draws.update(life.draws(h.id))
        steps = [s for s in h.agreement if s.date < planned]
        steps.append(AgreementStep(date=planned, status="agreed"))
        status: list[tuple[date, str]] = []
        if life.opens is not None:
            status.append((life.opens, "operating"))
            for a, b in life.suspensions:
                status.append((a, "suspended"))
                if b < end:
                    status.append((b + timedelta(days=1), "operating"))
        hubs.append(
            h.model_copy(
                update={
                    "agreement": steps,
                    "flights_per_week": life.flights_per_week,
                    "stay_days": life.stay_days,
                    "removed_onward": life.shares[0],
                    "left": life.shares[1],
                    "returned_uk": life.shares[3],
                    "stayed": max(1.0 - life.shares[0] - life.shares[1] - life.shares[3], 0.0),
                    "beds": life.beds[0][1] if life.beds else terms["beds"],
                    "cost_per_night_gbp": terms["cost_per_night_gbp"],
                    "fixed_payment_gbp": terms["fixed_payment_gbp"],
                    "setup_gbp": terms["setup_gbp"],
                }
            )
        )
        for day, value in status:
            added.append(Policy(date=day, set={f"hubs.{h.id}.status": value}, note="hub process"))
        for day, beds in life.beds[1:]:
            added.append(Policy(date=day, set={f"hubs.{h.id}.beds": beds}, note="hub ramp"))
    sc = sc.model_copy(update={"hubs": hubs, "policies": [*sc.policies, *added]})
    loaded = dataclasses.replace(loaded, scenario=sc)
    return with_host_payments(loaded, variant), draws


def with_host_payments(loaded: LoadedScenario, variant: Variant) -> LoadedScenario:
    """``loaded`` with each of the variant's host payments added to its hub's fixed payment
    (GBP a year) over its dates: the euros × rate ÷ the years between the dates."""
    from corridor.scenario.schema import Policy

    if not variant.host_payments:
        return loaded
    sc = loaded.scenario
    base = {h.id: float(h.fixed_payment_gbp) for h in sc.hubs}
    added = []
    for pay in variant.host_payments:
        if pay.hub not in base:
            continue
        years = ((pay.to_date - pay.from_date).days + 1) / 365.0
        extra = pay.eur * pay.gbp_per_eur / max(years, 1e-9)
        path = f"hubs.{pay.hub}.fixed_payment_gbp"
        added.append(Policy(date=pay.from_date, set={path: base[pay.hub] + extra}, note="host"))
        after = pay.to_date + timedelta(days=1)
        added.append(Policy(date=after, set={path: base[pay.hub]}, note="host payment ends"))
    sc = sc.model_copy(update={"policies": [*sc.policies, *added]})
    return dataclasses.replace(loaded, scenario=sc)
