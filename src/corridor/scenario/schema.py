"""The native scenario format: ``scenario.yaml`` plus CSV tables, as frozen Pydantic models.

A scenario is a folder::

    scenario.yaml      name, period, seed, modules and their parameters, dated policies
    arrivals.csv       month, nationality, people          (observed or assumed arrivals)
    nationalities.csv  nationality, household_size, returns_agreement, ...
    grant_rates.csv    nationality, from_date, grant_rate  (initial decisions; piecewise constant)
    hubs.csv           optional: one row per hub (see :class:`Hub`; YAML may hold them instead)
    hosts.csv          host, date, position, source        (a host state's stated position;
                       [condition]: what it asks for before a hub opens)
    costs.csv          item, from_date, gbp, unit, source  (unit costs; piecewise constant)
    decision_pauses.csv  optional: nationality, from_date, to_date, source (initial decisions
                       of a nationality paused on those days, both included)

Every number carries a unit in its field name or description, and every rate is converted to
per-day exactly once, in the engines (see :mod:`corridor.engine.units`). Unknown keys are refused
(``extra="forbid"``). A scenario may ``extends: ../parent``: YAML mappings merge deeply and a CSV
table of the same name replaces the parent's.

These models are the contract that both engines (the agent-based modules in
:mod:`corridor.asylum` and the aggregate stock-flow model in :mod:`corridor.asylum.aggregate`)
read; they compute the same quantities from the same parameters.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from corridor.scenario.forecast_schema import Forecast, Variant
from corridor.scenario.network.models import Network
from corridor.scenario.prior import Prior as Prior
from corridor.scenario.types import MAX_DAYS, Date, Days, People, PerStaffMonth, Seed, Staff

# The base types live in corridor.scenario.types (shared with the network's models); they are
# re-exported here, where they have always been imported from.
from corridor.scenario.types import Frozen as Frozen
from corridor.scenario.types import NonNeg as NonNeg
from corridor.scenario.types import PerYear as PerYear
from corridor.scenario.types import Share as Share


class Step(Frozen):
    """One step of a piecewise-constant schedule: ``value`` applies from ``date`` on."""

    date: Date
    value: NonNeg


class StaffStep(Step):
    value: Staff


class PerStaffMonthStep(Step):
    value: PerStaffMonth


class PeopleStep(Step):
    value: People


Schedule = NonNeg | list[Step]
"""A number >= 0 (constant) or a list of dated steps (the first step's value applies before it)."""
StaffSchedule = Staff | list[StaffStep]
"""A :data:`Schedule` of full-time equivalents (at most ``MAX_STAFF``)."""
PerStaffMonthSchedule = PerStaffMonth | list[PerStaffMonthStep]
"""A :data:`Schedule` of cases a person a month."""
PeopleSchedule = People | list[PeopleStep]
"""A :data:`Schedule` of people (at most ``MAX_PEOPLE``)."""


class Period(Frozen):
    start: Date = Field(description="First simulated day.")
    end: Date = Field(description="Last simulated day (inclusive).")
    step_days: Literal[1] = Field(1, description="Time step in days (the engine steps daily).")

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Arrivals(Frozen):
    """People arriving (by small boat or otherwise) who may claim asylum."""

    table: str = Field("arrivals.csv", description="CSV with month, nationality, people.")
    claim_share: Share = Field(
        0.93, description="Share of arrivals who claim asylum (HO: 93% of small-boat arrivals)."
    )
    after_table: Literal["repeat_last_year", "zero", "hold_last_month"] = Field(
        "repeat_last_year",
        description="Arrivals after the table ends: same month a year earlier, none, or the last"
        " month held.",
    )
    scale: float = Field(
        1.0, ge=0.0, le=1000.0, description="Multiplier on all arrivals (a lever for variants)."
    )


class Deterrence(Frozen):
    """Arrivals respond to the perceived chance of removal or transfer (an assumption).

    ``arrivals × (1 − elasticity × p_removal)`` where p_removal is the share of that nationality's
    recent outcomes (decisions + exits over ``window_days``, seen ``lag_days`` late) that were
    removals or hub transfers. Evidence: Albanian arrivals fell >90% in 2023 after the December
    2022 returns agreement (confounded, see docs); Hatton (2009) attributes about a third of the
    2001-06 fall to policy; the HO impact assessment calls the effect uncertain.
    """

    enabled: bool = True
    elasticity: Share = Field(0.3, description="Fall in arrivals when p_removal = 1.")
    lag_days: Days = Field(90, description="Information lag, days.")
    window_days: Days = Field(180, ge=1, description="Window over which outcomes are counted.")


class PriorityClass(Frozen):
    name: str
    nationalities: list[str] = Field(description="Nationalities in this class (fast track).")
    from_date: Date | None = Field(None, description="Class in force from this date.")


class Appeals(Frozen):
    lodge_share: Share = Field(0.5, description="Share of refused people who appeal.")
    judges: StaffSchedule = Field(100.0, description="Tribunal capacity, judge FTE.")
    hearings_per_judge_month: PerStaffMonth = Field(
        10.0, description="Determinations per FTE a month."
    )
    allow_rate: Share = Field(0.45, description="Share of appeals allowed (→ grant).")
    lodging_days: Days = Field(14, description="Days from refusal to lodging.")


class Asylum(Frozen):
    """The initial-decision queue and appeals (a queueing network)."""

    caseworkers: StaffSchedule = Field(description="Decision-makers, FTE.")
    productivity: PerStaffMonthSchedule = Field(description="Decisions per caseworker per month.")
    service: Literal["exponential", "fixed"] = Field(
        "exponential", description="Distribution of the time a caseworker spends on a case."
    )
    discipline: Literal["fifo", "priority"] = "fifo"
    priority_classes: list[PriorityClass] = Field(default_factory=list)
    withdrawal_rate: PerYear = Field(0.05, description="Claims withdrawn while waiting (reneging).")
    initial_backlog: People = Field(0.0, description="People awaiting a decision on day 0.")
    household_size: float = Field(
        1.3, ge=1.0, le=100.0, description="People per case (main applicant plus dependants)."
    )
    appeals: Appeals = Field(default_factory=Appeals)


class Returns(Frozen):
    """What happens to people refused at the end of the process."""

    voluntary_rate: PerYear = Field(0.1, description="Voluntary departures of refused people.")
    initial_refused: People = Field(
        0.0,
        description="People refused (appeal rights exhausted) and still in the country on day"
        " 0: they start in the exit route, refused that day, in the initial backlog's mix.",
    )
    removal_order: Literal["oldest_first", "newest_first"] = Field(
        "oldest_first",
        description="Whom removal listing and hub transfers take first among the people who"
        " can be taken: those refused (or found inadmissible) longest ago, or most recently.",
    )
    abscond_rate: PerYear = Field(0.05, description="Refused people who lose contact.")
    removal_capacity: PeopleSchedule = Field(
        500.0, description="Enforced removals a month (people)."
    )
    detention_places: People = Field(2000.0, description="Places for people awaiting removal.")
    removal_days: Days = Field(30, description="Days from being listed to removal.")
    voluntary_assisted_share: Share = Field(
        0.5, description="Share of voluntary returns that are assisted (paid a package)."
    )


HubStatus = Literal["proposed", "agreed", "operating", "suspended", "ended"]
HostPosition = Literal["refused", "unknown", "not_asked", "in_talks", "conditional", "agreed"]


class AgreementStep(Frozen):
    date: Date
    status: HubStatus


class Hub(Frozen):
    """A centre in a third country that holds people until they leave or are removed onward."""

    id: str = Field(description="Identifier used in outputs, e.g. 'hub_kosovo'.")
    host: str = Field(description="Host country, as named in hosts.csv.")
    hypothetical: bool = Field(
        False, description="Operate even if the host refused (labelled hypothetical in outputs)."
    )
    agreement: list[AgreementStep] = Field(description="Status of the agreement over time.")
    beds: People = Field(description="Places in the hub.")
    eligible_refused: bool = Field(True, description="Refused claimants can be transferred.")
    eligible_inadmissible: bool = Field(False, description="Inadmissible arrivals can be.")
    nationalities: list[str] | None = Field(None, description="Eligible nationalities (None: all).")
    flights_per_week: NonNeg = 1.0
    seats_per_flight: People = 50.0
    stay_days: NonNeg = Field(180.0, description="Mean length of stay in the hub, days.")
    removed_onward: Share = Field(0.5, description="Share removed onward to the origin.")
    left: Share = Field(0.3, description="Share who leave the hub (elsewhere).")
    stayed: Share = Field(
        0.2, description="Share released in the host country, who stay there (not on the routes)."
    )
    returned_uk: Share = Field(
        0.0,
        description="Share brought back to the UK (e.g. a court does not uphold the detention"
        " or transfer, as Italian courts did for Gjader); they re-enter the UK exit route"
        " (corridor.asylum.rules.exits.returned_kind).",
    )
    reentry: Share = Field(
        0.0,
        description="Share of those who leave the hub who set off for the UK again (back on "
        "the routes reentry_days later; 0 for a hub off the routes).",
    )
    reentry_reach_uk: Share = Field(
        1.0, description="Share of those back on the routes who arrive in the UK again."
    )
    reentry_days: float = Field(
        30.0,
        ge=0.0,
        le=MAX_DAYS,
        description="Days from leaving the hub to being back on the routes (at least 1).",
    )
    fixed_payment_gbp: NonNeg = Field(0.0, description="Payment to the host a year, GBP.")
    payment_per_person_gbp: NonNeg = Field(0.0, description="Payment per person transferred.")
    cost_per_night_gbp: NonNeg = Field(0.0, description="Running cost per person-night, GBP.")
    setup_gbp: NonNeg = Field(0.0, description="One-off set-up cost, GBP.")
    source: str = Field("", description="Where the numbers come from.")

    @model_validator(mode="after")
    def _shares(self) -> Hub:
        total = self.removed_onward + self.left + self.stayed + self.returned_uk
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"removed_onward + left + stayed + returned_uk must be 1 (is {total:g})"
            )
        return self


class Inadmissibility(Frozen):
    """A third-country policy: arrivals declared inadmissible instead of entering the queue."""

    from_date: Date
    to_date: Date | None = None
    share: Share = Field(description="Share of claimants screened out as inadmissible.")
    nationalities: list[str] | None = None


class Accommodation(Frozen):
    """Where people supported while waiting live, as shares of the supported population."""

    supported_share: Share = Field(0.9, description="Share of waiting people who are supported.")
    hotel: Schedule = Field(0.3, description="Share of supported people in hotels.")
    large_site: Schedule = Field(0.02, description="Share in large sites.")
    subsistence_only: Schedule = Field(
        0.0, description="Share of supported people on cash support only (no accommodation)."
    )
    appellant_supported_share: Share | None = Field(
        None,
        description="Share of people awaiting an appeal who are supported (None: as"
        " supported_share).",
    )
    refused_supported_share: Share = Field(
        0.0, description="Share of refused people awaiting removal who keep support (Section 4)."
    )
    limbo_supported_share: Share = Field(
        1.0,
        description="Share of people in limbo (neither granted nor removable) priced with the"
        " support a refused person keeps (1: all; 0 only to reproduce a costing that ignores"
        " them).",
    )


class Costs(Frozen):
    """Unit costs in pounds of ``price_year``; the table ``costs.csv`` may hold dated values
    instead, each in its own price year (its ``price_year`` column), brought to ``price_year``
    with the scenario's ``deflators.csv``."""

    table: str | None = Field("costs.csv", description="Dated unit costs (item, from_date, gbp).")
    price_year: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}$",
        description="Financial year whose prices every cost is given in, e.g. '2024-25' (None:"
        " costs are used as given).",
    )
    hotel_night: NonNeg = Field(145.0, description="Hotel, per person-night.")
    dispersal_night: NonNeg = Field(17.0, description="Dispersal housing, per person-night.")
    large_site_night: NonNeg = Field(70.0, description="Large site, per person-night.")
    detention_night: NonNeg = Field(110.0, description="Immigration detention, per person-night.")
    decision: NonNeg = Field(2000.0, description="Per initial decision (main applicant).")
    appeal: NonNeg = Field(3000.0, description="Per appeal determined.")
    removal: NonNeg = Field(15000.0, description="Per enforced removal: escorts and flight.")
    hub_transfer: NonNeg = Field(22000.0, description="Per transfer to a hub: escorts, flight.")
    subsistence_night: NonNeg = Field(7.03, description="Cash support only, per person-night.")
    legal_aid_appeal: NonNeg = Field(1200.0, description="Legal aid per appeal determined.")
    voluntary_assisted_return: NonNeg = Field(
        2500.0, description="Per assisted voluntary return: package, flight, administration."
    )
    voluntary_return: NonNeg = Field(
        300.0, description="Per unassisted voluntary return: verification, administration."
    )
    limbo_other_year: NonNeg = Field(
        3500.0,
        description="Per person-year in limbo (neither granted nor removable), beyond the support"
        " a refused person keeps (priced at the accommodation mix): health, local authority and"
        " enforcement.",
    )
    france_payment_year: NonNeg = Field(
        0.0, description="UK payments to France for Channel prevention, per year."
    )


class Policy(Frozen):
    """A dated change: from ``date`` on, parameter ``set`` (dotted paths) take new values."""

    date: Date
    set: dict[str, float | bool | str]
    note: str = ""


class Outputs(Frozen):
    resolution: Literal["day", "month", "year"] = Field(
        "day",
        description="Rows of the run's tables: a day, a month or a year each (flows and costs"
        " summed over the period, stocks at its last day; corridor.asylum.resolution).",
    )
    by_nationality: bool = True


class Scenario(Frozen):
    """A whole scenario."""

    name: str
    description: str = ""
    extends: str | None = Field(None, description="Parent scenario folder (relative path).")
    period: Period
    seed: Seed = 0
    agents_per_person: float = Field(
        1.0, gt=0, le=1.0, description="Sampling: 1 agent per person (1.0) or fewer."
    )
    arrivals: Arrivals = Field(default_factory=Arrivals)
    asylum: Asylum
    returns: Returns = Field(default_factory=Returns)
    hubs: list[Hub] = Field(default_factory=list)
    inadmissibility: list[Inadmissibility] = Field(default_factory=list)
    deterrence: Deterrence = Field(default_factory=Deterrence)
    accommodation: Accommodation = Field(default_factory=Accommodation)
    costs: Costs = Field(default_factory=Costs)
    policies: list[Policy] = Field(default_factory=list)
    uncertain: dict[str, Prior] = Field(
        default_factory=dict,
        description="Uncertain parameters by dotted path (e.g. 'deterrence.elasticity').",
    )
    outputs: Outputs = Field(default_factory=Outputs)
    network: Network | None = Field(
        None,
        description="The route network (places, links, crossings, origins; see"
        " corridor.routes.schema): tables inline or named CSV files. None: no routes.",
    )
    forecast: Forecast | None = Field(
        None,
        description="Fitted flows and the forecast after a cut-off (corridor.forecast); read"
        " with the pack's fitted/ folder. Not inherited through extends.",
    )
    variants: list[Variant] = Field(
        default_factory=list,
        description="Named policy variants, each a recipe of levers (the first: status_quo).",
    )

    @model_validator(mode="after")
    def _variants(self) -> Scenario:
        if self.variants and self.forecast is None:
            raise ValueError("variants need a forecast: section")
        if self.forecast is not None:
            ids = [v.id for v in self.variants]
            if not ids or ids[0] != "status_quo":
                raise ValueError("a forecast needs variants, the first one 'status_quo'")
            if len(set(ids)) != len(ids):
                raise ValueError("variant ids must be unique")
        return self


# The stages every engine reports, as daily stocks ``n_<stage>`` (people at the end of the day)
# and flows ``new_<flow>`` (people that day). Both engines fill every one of these.
STOCKS: tuple[str, ...] = (
    "awaiting_decision",  # claimed, waiting for or in an initial decision
    "awaiting_appeal",  # refused, appeal lodged or pending
    "granted",  # cumulative stock of people granted protection
    "refused",  # appeal rights exhausted, awaiting return or removal
    "detained",  # held for removal
    "limbo",  # refused, not removable (no returns agreement) and not departed
    "in_hub",  # in a third-country hub
    "inadmissible",  # screened out, awaiting transfer or removal
    "departed",  # cumulative: left the UK (voluntary, removed, transferred, absconded excluded)
    "absconded",  # cumulative
)
FLOWS: tuple[str, ...] = (
    "arrivals",
    "claims",
    "withdrawals",
    "decisions",
    "grants",
    "refusals",
    "appeals_lodged",
    "appeals_determined",
    "appeals_allowed",
    "inadmissible",
    "voluntary_returns",
    "removals",
    "hub_transfers",
    "hub_removals",
    "hub_left",
    "absconds",
    "hub_reentered",  # left a hub and back on the routes to the UK (arrivals count who arrive)
    "hub_returned_uk",  # brought back to the UK from a hub: back on the exit route
)
