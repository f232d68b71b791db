"""A scenario read from its folder: the validated YAML model plus its validated CSV tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from corridor.scenario.schema import Scenario

# Columns of each table (after validation and type conversion), in order. Dates are
# ``datetime64[ns]`` (``month`` is the first day of the month); counts are float64 people.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "arrivals": ("month", "nationality", "people", "source"),
    "nationalities": ("nationality", "household_size", "returns_agreement", "source"),
    "grant_rates": ("nationality", "from_date", "grant_rate", "source"),
    "hosts": ("host", "date", "position", "source"),
    "costs": ("item", "from_date", "gbp", "unit", "source"),
    "deflators": ("financial_year", "deflator", "source"),
    "decision_pauses": ("nationality", "from_date", "to_date", "source"),
}
# Optional columns a table may have (after its TABLE_COLUMNS, in this order, when the file has
# them). An empty cell is missing (NaT for dates). ``returns_agreement_from``: the date from
# which the returns agreement applies (empty: the whole period). ``price_year``: the financial
# year (e.g. 2024-25) whose prices a cost row is in (empty: the scenario's ``costs.price_year``).
# ``deflators``: a GDP deflator index by financial year (HM Treasury's series), which brings
# costs of different price years to ``costs.price_year``; ``status`` says whether a value is
# the published one or an assumption. ``condition``: what a host's stated position asks
# for before a hub may open there (corridor.forecast.hub_process). ``decision_pauses``: days
# (``from_date`` to ``to_date``, both included) on which the initial decisions of a nationality
# are paused (corridor.asylum.rules.pauses); a forecast draws them after its cut-off.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "nationalities": ("returns_agreement_from",),
    "costs": ("price_year",),
    "deflators": ("status",),
    "hosts": ("condition",),
}
REQUIRED_TABLES = ("arrivals", "nationalities", "grant_rates")


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario and its tables; ``content_hash`` identifies the merged inputs exactly.

    ``tables`` maps a table name of :data:`TABLE_COLUMNS` to its DataFrame; optional tables that
    are absent map to an empty DataFrame with the right columns. A nationality of ``"*"`` in
    ``grant_rates`` applies to every nationality without its own rows. ``returns_agreement`` is
    a bool: whether the UK can remove people of that nationality to their country; the optional
    column ``returns_agreement_from`` (:data:`OPTIONAL_COLUMNS`, present only when the file has
    it) dates it: removable from that day on, always where empty.
    """

    scenario: Scenario
    tables: dict[str, pd.DataFrame]
    folder: Path
    content_hash: str

    @property
    def name(self) -> str:
        return self.scenario.name
