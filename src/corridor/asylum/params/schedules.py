"""Time grid and dated values: schedules, policies and unit conversions of rates.

Reads: a :data:`~corridor.scenario.schema.Schedule` (a number or dated steps), the scenario's
:class:`~corridor.scenario.schema.Policy` list, dated table rows. Produces: ``(days,)`` arrays
with day ``d`` (0 = period start) holding the value in force that day (:func:`schedule_daily`,
:class:`_Policies`), the index of the table row in force each day (:func:`_dated_index`), and
per-day hazards and probabilities of yearly rates (:func:`hazard_per_day`,
:func:`prob_per_day`). Reports: :class:`InputError` for an empty schedule or a policy that sets
an unknown path or an invalid value.

Invariants: schedules are piecewise constant and the first step also applies before its date; a
policy applies from its date (day 0 if earlier) to the end, later policies win; a yearly rate
``r`` is the hazard ``r / 365`` per day and the probability ``1 − exp(−r/365)`` within a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.params.constants import (
    DAYS_PER_YEAR,
    HUB_STATUSES,
)
from corridor.errors import InputError
from corridor.scenario.bounds import bound_problem
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS, POLICY_PATHS
from corridor.scenario.schema import Scenario, Step

_BOOL_PATHS = {"deterrence.enabled"}
_SHARE_PATHS = {
    "arrivals.claim_share",
    "deterrence.elasticity",
    "asylum.appeals.lodge_share",
    "asylum.appeals.allow_rate",
    "accommodation.supported_share",
    "accommodation.hotel",
    "accommodation.large_site",
}

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def hazard_per_day(rate_per_year: F64 | float) -> F64:
    """Hazard per day of a rate per year: ``r / 365``."""
    return np.asarray(rate_per_year, dtype=np.float64) / DAYS_PER_YEAR


def prob_per_day(rate_per_year: F64 | float) -> F64:
    """Probability that an Exponential clock of ``r`` per year fires within a day:
    ``1 − exp(−r/365)``."""
    return -np.expm1(-hazard_per_day(rate_per_year))


class _Policies:
    """Dated overrides: ``series(path, base)`` is the base schedule with every policy applied."""

    def __init__(self, sc: Scenario, start: date, days: int) -> None:
        self.start, self.days, self.sc = start, days, sc
        hub_ids = {h.id for h in sc.hubs}
        self.by_path: dict[str, list[tuple[int, Any]]] = {}
        for i, p in enumerate(sorted(sc.policies, key=lambda p: p.date)):
            for path, value in p.set.items():
                _check_policy_value(path, value, hub_ids, i)
                day = max((p.date - start).days, 0)
                self.by_path.setdefault(path, []).append((day, value))

    def series(self, path: str, base: float | Sequence[Step]) -> F64:
        out = schedule_daily(base, self.start, self.days)
        for day, value in self.by_path.get(path, []):
            if day < self.days:
                out[day:] = float(value)
        return out

    def raw(self, path: str) -> list[tuple[int, Any]]:
        return self.by_path.get(path, [])


def _check_policy_value(path: str, value: object, hub_ids: set[str], i: int) -> None:
    field = f"policies[{i}].set"
    parts = path.split(".")
    if parts[0] == "hubs":
        if len(parts) != 3 or parts[1] not in hub_ids or parts[2] not in HUB_POLICY_FIELDS:
            raise InputError(
                f"policy sets unknown hub parameter {path!r}",
                field=field,
                expected="hubs.<id>.<field> with an existing hub id and field one of "
                + ", ".join(HUB_POLICY_FIELDS),
            )
        if parts[2] == "status":
            if value not in HUB_STATUSES:
                raise InputError(
                    f"{path} = {value!r}", field=field, expected=" | ".join(HUB_STATUSES)
                )
            return
        if parts[2] == "hypothetical":
            if not isinstance(value, bool):
                raise InputError(f"{path} = {value!r}", field=field, expected="true or false")
            return
    elif path not in POLICY_PATHS:
        raise InputError(
            f"policy sets unknown parameter {path!r}",
            field=field,
            expected="one of " + ", ".join(POLICY_PATHS) + " or hubs.<id>.<field>",
        )
    elif path in _BOOL_PATHS:
        if not isinstance(value, bool):
            raise InputError(f"{path} = {value!r}", field=field, expected="true or false")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{path} = {value!r}", field=field, expected="a number >= 0")
    if path in _SHARE_PATHS and value > 1:
        raise InputError(f"{path} = {value!r}", field=field, expected="a share in [0, 1]")
    problem = bound_problem(path, value)  # a lever's policy is not validated by the schema
    if problem is not None:
        raise InputError(f"{path} = {value!r}: {problem}", field=field)


def schedule_daily(s: float | Sequence[Step], start: date, days: int) -> F64:
    """A number or dated steps as a ``(days,)`` array (the first step also applies before it)."""
    if isinstance(s, int | float):
        return np.full(days, float(s))
    steps: Sequence[Step] = sorted(s, key=lambda st: st.date)
    if not steps:
        raise InputError("empty schedule", expected="a number or at least one dated step")
    out = np.full(days, float(steps[0].value))
    for st in steps:
        day = max((st.date - start).days, 0)
        if day < days:
            out[day:] = float(st.value)
    return out


def _dated_index(when: pd.Series, dates: pd.DatetimeIndex) -> I64:
    """For each day, the index of the last row dated on or before it (-1 before the first);
    ``when`` must be sorted."""
    w = pd.to_datetime(when).to_numpy(dtype="datetime64[ns]")
    return np.searchsorted(w, dates.to_numpy(dtype="datetime64[ns]"), side="right") - 1
