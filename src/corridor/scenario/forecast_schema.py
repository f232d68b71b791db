"""The schema of a scenario's forecast (``forecast:``) and its policy variants (``variants:``).

Reads: the ``forecast:`` and ``variants:`` sections of ``scenario.yaml``. Produces: immutable,
validated models (frozen, unknown keys refused) that :mod:`corridor.forecast` runs. Every number
carries its source in the YAML (a ``source`` field or a comment).

Invariants: the five flow series are named; ``backtest_cutoff < cutoff < end``; variant ids are
lower-case words (the scenario checks that they are unique and start with ``status_quo``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from corridor.scenario.prior import Prior
from corridor.scenario.types import MAX_QUANTITY, Date, Frozen, Seed

__all__ = [
    "HUB_FACTORS",
    "HUB_PRIORS",
    "SERIES",
    "Channel",
    "DatedValue",
    "DecisionPauses",
    "EuReturnHubs",
    "Forecast",
    "HostPayment",
    "HubProcess",
    "NetworkRisks",
    "PauseInForce",
    "SeriesSpec",
    "Variant",
]

SERIES = (
    "wb_detections",
    "em_detections",
    "cm_detections",
    "small_boat_arrivals",
    "other_route_claims",
)


class DatedValue(Frozen):
    date: Date
    value: float = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    source: str = ""


class SeriesSpec(Frozen):
    file: str = Field(description="CSV (date YYYY-MM, metric, value, ...) in the pack.")
    start: str = Field(description="First month fitted, YYYY-MM.")
    source: str = ""


class Channel(Frozen):
    """The Channel crossing from the French coast (prevention with retries, deaths).

    Of the people who try in a month a share ``p`` is prevented (French prevention); of those a
    share ``give_up`` does not try again. With retries, the share of a month's new arrivals at
    the coast who eventually cross is ``F(p) = (1 − p) / ((1 − p) + p·give_up)``, so a variant
    that moves prevention from ``p0`` to ``p1`` multiplies small-boat arrivals by
    ``F(p1) / F(p0)`` (the fitted series already carries ``p0``).
    """

    prevention: list[DatedValue] = Field(min_length=1)
    give_up: Prior = Field(description="Share of the prevented who do not try again.")
    death_risk: float = Field(ge=0.0, lt=1.0, description="Deaths per person who crosses.")
    death_risk_source: str = ""


class EuReturnHubs(Frozen):
    """EU return hubs (the Return Regulation's Article 17) for the EU-bound routes.

    From ``from_date`` the chance that a person refused in the EU is returned rises by
    ``return_rate_add`` (from the EU's ~20%); EU-bound flows (Western Balkans, Eastern and
    Central Mediterranean) fall by ``elasticity × return_rate_add`` (the same deterrence form as
    the UK engine's) and a share ``displacement`` of the people deterred turn to the Channel,
    reaching the UK at each route's fitted rate (:mod:`corridor.flagship.routes_fit`).
    """

    from_date: Date
    return_rate_add: float = Field(ge=0.0, le=1.0)
    displacement: Prior
    source: str = ""


# Factors on a hub's own numbers, drawn per replicate (None: 1); the centre is the hub's row.
HUB_FACTORS: tuple[str, ...] = (
    "size_factor",
    "night_cost_factor",
    "payment_factor",
    "setup_factor",
)


class HubProcess(Frozen):
    """A return hub's life after its planned opening, drawn per replicate
    (:mod:`corridor.forecast.hub_process`): whether it ever opens, how late, how fast its beds
    come into use, flights, stays, court suspensions, its outcome shares and factors on its own
    size and costs. Each field is a prior whose ``source`` cites ../shared/research or says
    "assumption" with its range; ``by_hub`` gives a host its own priors (its own centre and
    range) in place of the shared ones."""

    never: Prior = Field(description="Chance the hub never opens inside the horizon (0-1).")
    delay_months: Prior = Field(description="Months from the planned opening to opening.")
    ramp_months: Prior = Field(description="Months from opening until every bed is in use.")
    initial_beds_share: Prior = Field(description="Share of the beds in use when it opens.")
    flights_factor: Prior = Field(description="Transfer flights a week × the hub's own number.")
    stay_factor: Prior = Field(description="Mean stay in the hub × the hub's own stay_days.")
    suspension_per_year: Prior = Field(
        description="Chance a year that a court suspends transfers (while operating)."
    )
    suspension_months: Prior = Field(description="Length of a suspension, months.")
    outcome_concentration: float = Field(
        20.0,
        gt=0.0,
        le=1e6,
        description="Dirichlet concentration of the outcome shares around the hub's own shares"
        " (larger: closer to them).",
    )
    size_factor: Prior | None = Field(
        None,
        description="The hub's beds × this, and with them its fixed payment and set-up (both"
        " priced per bed); None: 1.",
    )
    night_cost_factor: Prior | None = Field(None, description="Cost per night × this; None: 1.")
    payment_factor: Prior | None = Field(
        None, description="Fixed payment to the host a year × this; None: 1."
    )
    setup_factor: Prior | None = Field(None, description="Set-up cost × this; None: 1.")
    by_hub: dict[str, dict[str, Prior]] = Field(
        default_factory=dict,
        description="Per hub id: priors replacing the shared ones for that hub alone (its host's"
        " own range); a variant's hub_process replaces both.",
    )
    source: str = ""

    @model_validator(mode="after")
    def _names(self) -> HubProcess:
        for hub, priors in self.by_hub.items():
            unknown = sorted(set(priors) - set(HUB_PRIORS))
            if unknown:
                raise ValueError(f"by_hub.{hub}: not a hub_process prior: {', '.join(unknown)}")
        return self


# The priors of HubProcess that a host (``by_hub``) or a variant (``hub_process``) may replace.
HUB_PRIORS: tuple[str, ...] = (
    "never",
    "delay_months",
    "ramp_months",
    "initial_beds_share",
    "flights_factor",
    "stay_factor",
    "suspension_per_year",
    "suspension_months",
    *HUB_FACTORS,
)


class PauseInForce(Frozen):
    """A pause in deciding a nationality that began on or before the cut-off and is still in
    force at it (its length is drawn as the others')."""

    nationality: str
    from_date: Date
    source: str = Field(description="Where it is on record (or 'assumption' and why).")


class DecisionPauses(Frozen):
    """Pauses in deciding a nationality after the cut-off (:mod:`corridor.forecast.pauses`):
    the prior is derived from the published quarters in ``file`` (tools/decision_pauses.py),
    drawn per replicate for each of ``nationalities``, plus the pauses ``in_force``."""

    enabled: bool = True
    file: str = Field(
        "observed/decision_pauses.csv", description="Quarters at risk and in a pause, found."
    )
    nationalities: list[str] = Field(description="Nationalities a pause may be drawn for.")
    in_force: list[PauseInForce] = Field(default_factory=list)
    source: str = ""


class HostPayment(Frozen):
    """A payment to a host state that its condition asks for (Montenegro's railway), spread
    evenly over ``from_date``..``to_date`` and added to the hub's fixed payment."""

    hub: str
    eur: float = Field(ge=0.0, le=MAX_QUANTITY, description="Whole amount, euros.")
    from_date: Date
    to_date: Date
    gbp_per_eur: float = Field(gt=0.0, le=10.0, description="Exchange rate used (cite it).")
    source: str = ""


class NetworkRisks(Frozen):
    """The route network's crossing probabilities, drawn per replicate
    (:mod:`corridor.forecast.network`, stream ``network_risks``): at each crossing not named in
    ``fixed``, the odds of interception, and the odds that an intercepted person who is not
    detained is pushed back rather than turned back, are multiplied by a factor of their own
    drawn from these priors (most of the network's figures are assumptions)."""

    interception_odds: Prior = Field(description="Factor on a crossing's odds of interception.")
    pushback_odds: Prior = Field(description="Factor on the odds of a pushback (vs turned back).")
    fixed: tuple[str, ...] = Field(
        (), description="Crossings (their link, e.g. Calais-Dover) kept as the tables say."
    )


class Variant(Frozen):
    """A named policy variant: a recipe of levers.

    ``levers`` are dotted paths into the scenario, each set from the forecast's start (or from
    the date it gives): ``{path: value}``, ``{path: {"from": date, "value": value}}`` or
    ``{path: [dated steps]}`` (see :func:`corridor.forecast.levers.apply_levers`); the fields
    below them are the levers on the flows and the structure they add (hubs, rules)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    kind: Literal["baseline", "hub", "hub_refused", "hypothetical", "system", "combination"]
    hypothetical: bool = False
    assumes: str = Field(description="What it assumes, in plain words (shown in the report).")
    sources: list[str] = Field(default_factory=list)
    levers: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted paths of the scenario set from the forecast's start (or a date).",
    )
    prevention_add: float = Field(0.0, ge=0.0, le=0.9)
    prevention_from: Date | None = None
    montenegro_rail: bool = False
    rail_from: Date | None = None
    eu_return_hubs: bool = False
    inadmissibility: list[dict[str, Any]] = Field(
        default_factory=list, description="Inadmissibility rules added (schema Inadmissibility)."
    )
    add_hubs: list[dict[str, Any]] = Field(
        default_factory=list, description="Hubs added to the scenario's (schema Hub)."
    )
    why_no_effect: str = Field(
        "", description="For a hub its host refused: why the variant equals the status quo."
    )
    conditions_met: list[str] = Field(
        default_factory=list,
        description="Hosts whose stated condition this variant meets (hosts.csv condition): a"
        " hub in a host that has not agreed opens only where its host is listed here or the hub"
        " is hypothetical.",
    )
    host_payments: list[HostPayment] = Field(
        default_factory=list, description="Payments to hosts that their conditions ask for."
    )
    hub_process: dict[str, Prior] = Field(
        default_factory=dict,
        description="Priors of the forecast's hub_process replaced for this variant's hubs.",
    )

    @model_validator(mode="after")
    def _hub_priors(self) -> Variant:
        unknown = sorted(set(self.hub_process) - set(HUB_PRIORS))
        if unknown:
            raise ValueError(f"hub_process: not a hub_process prior: {', '.join(unknown)}")
        return self


class Forecast(Frozen):
    """The forecast of a scenario (``forecast:``): fitted flows through a cut-off, the Channel,
    the future small-boat mix, assumption priors drawn per replicate, and where the fitted
    parameters are (``fitted/``)."""

    cutoff: Date = Field(description="Observed data used through this date (main job).")
    backtest_cutoff: Date = Field(description="Cut-off of the back-test (fits through it).")
    end: Date = Field(description="Last day simulated by the main job.")
    replicates: int = Field(20, ge=1, le=100_000)  # more: name them on the command line
    seed: Seed = 0
    engine: Literal["aggregate", "agents"] = Field(
        "aggregate", description="The engine every command runs unless --engine names another."
    )
    series: dict[str, SeriesSpec]
    nationality_mix_quarters: int = Field(
        4,
        ge=1,
        le=400,
        description="Future small-boat mix: the mean of the last N quarters' shares.",
    )
    boat_nationalities_exclude: list[str] = Field(
        default_factory=list, description="Pseudo-nationalities that are not small-boat arrivals."
    )
    channel: Channel
    eu_return_hubs: EuReturnHubs
    deterrence_elasticity: Prior
    deterrence_from: Date
    hub_process: HubProcess | None = Field(
        None, description="A hub's life drawn per replicate (None: hubs as the scenario says)."
    )
    decision_pauses: DecisionPauses | None = Field(
        None, description="Pauses in deciding a nationality drawn per replicate (None: none)."
    )
    network_risks: NetworkRisks | None = Field(
        None,
        description="The route network's crossing probabilities drawn per replicate"
        " (None: as its tables say).",
    )
    fitted: str = Field(
        "fitted/fitted-2024.yaml", description="Asylum parameters calibrated through the cut-off."
    )
    fitted_backtest: str = Field(
        "fitted/fitted.yaml", description="Calibrated through the back-test cut-off (2023)."
    )

    @model_validator(mode="after")
    def _check(self) -> Forecast:
        missing = [s for s in SERIES if s not in self.series]
        if missing:
            raise ValueError(f"series missing: {', '.join(missing)}")
        if not self.backtest_cutoff < self.cutoff < self.end:
            raise ValueError("need backtest_cutoff < cutoff < end")
        return self
