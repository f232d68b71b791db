"""Base types shared by every scenario model (the scenario's and its network's).

Reads: nothing (no corridor imports). Produces: :class:`Frozen`, the base of every model of a
scenario (immutable, unknown keys refused, defaults validated, no NaN or infinity), and the
constrained numbers :data:`Share` (0 to 1), :data:`NonNeg` (>= 0), :data:`Positive` (> 0),
:data:`PerYear` (a hazard rate per year, >= 0), :data:`People` (a number of people or places),
:data:`Staff` (full-time equivalents), :data:`PerStaffMonth` (cases a person handles a month),
:data:`Days`, :data:`Date` and :data:`Seed`. Invariant: this module stays at the bottom of the
scenario layer, so that the scenario schema and the network schema can both build on it without
importing each other.

Bounds: every number is finite and has an upper bound, generous enough for any real system
and small enough that what the engines derive from it (agents allocated per person, daily
tables over the period, sums over 300 years of days) stays representable: in memory, in
float64 without loss of whole units, and in DuckDB's INT64 once rounded. They are:

* :data:`MAX_PEOPLE` = 1e8 people (or beds, places, arrivals a month): above the world's
  forcibly displaced (about 1.2e8 in 2024 in all, spread over many systems) for one system;
  at one agent a person and ~100 bytes an agent it is ~10 GB, which the run's resource
  estimate (:mod:`corridor.analysis.budget`) weighs before a run starts;
* :data:`MAX_STAFF` = 1e6 full-time equivalents (the whole UK civil service is ~5e5);
* :data:`MAX_PER_STAFF_MONTH` = 1e4 cases a person a month (~500 a working day; real
  productivities are 5-20);
* :data:`MAX_QUANTITY` = 1e12 for any other non-negative number (money in GBP or EUR, km,
  weights): 1e12 a day over :data:`MAX_DAYS` days sums to ~1.1e17, below INT64's 9.2e18 and
  exact to the unit in float64 (2**53 ~ 9e15 per value);
* :data:`MAX_PER_YEAR` = 1e4 per year (a hazard of ~27 a day: everything happens at once);
* dates from :data:`DATE_MIN` (1900-01-01) to :data:`DATE_MAX` (2200-12-31), so
  :data:`MAX_DAYS` (the longest period) is 110,000 days, inside pandas' nanosecond timestamps
  (1677-2262);
* seeds: 0 to 2**64 - 1 (numpy's SeedSequence takes them; :data:`MAX_SEED`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "MAX_DAYS",
    "MAX_PEOPLE",
    "MAX_PER_STAFF_MONTH",
    "MAX_PER_YEAR",
    "MAX_QUANTITY",
    "MAX_SEED",
    "MAX_STAFF",
    "Date",
    "Days",
    "Frozen",
    "NonNeg",
    "People",
    "PerStaffMonth",
    "PerYear",
    "Positive",
    "Seed",
    "Share",
    "Staff",
]

MAX_PEOPLE = 1e8
MAX_STAFF = 1e6
MAX_PER_STAFF_MONTH = 1e4
MAX_QUANTITY = 1e12
MAX_PER_YEAR = 1e4
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2200, 12, 31)
MAX_DAYS = 110_000  # > (DATE_MAX - DATE_MIN).days + 1 = 109,937
MAX_SEED = 2**64 - 1

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0, le=MAX_QUANTITY)]
PerYear = Annotated[float, Field(ge=0.0, le=MAX_PER_YEAR, description="hazard rate per year")]
Positive = Annotated[float, Field(gt=0.0, le=MAX_QUANTITY)]
People = Annotated[float, Field(ge=0.0, le=MAX_PEOPLE)]
Staff = Annotated[float, Field(ge=0.0, le=MAX_STAFF)]
PerStaffMonth = Annotated[float, Field(ge=0.0, le=MAX_PER_STAFF_MONTH)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
Date = Annotated[date, Field(ge=DATE_MIN, le=DATE_MAX)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class Frozen(BaseModel):
    # allow_inf_nan=False: a NaN slips through every bound check, and no quantity is infinite.
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )
