"""Small in-memory scenarios for the asylum tests (no files, no loader).

``make_loaded(**kw)`` returns a :class:`LoadedScenario` whose tables are built from keyword
arguments; scenario sections are given as dicts and merged over a minimal base. Deterrence is
off unless asked for (tests compare policies under common random numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.scenario.loaded import TABLE_COLUMNS, LoadedScenario
from corridor.scenario.schema import Scenario

PerNat = float | Mapping[str, float]


def _per_nat(value: Any, nats: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {n: value[n] for n in nats}
    return dict.fromkeys(nats, value)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def make_loaded(
    *,
    start: date = date(2024, 1, 1),
    days: int = 365,
    nationalities: tuple[str, ...] = ("A",),
    arrivals_per_month: PerNat = 100.0,
    arrivals_per_day: float | None = None,
    household: PerNat = 1.0,
    returns_agreement: bool | Mapping[str, bool] = True,
    grant_rate: PerNat = 0.5,
    hosts: list[tuple[str, date, str]] | None = None,
    costs: list[tuple[str, date, float]] | None = None,
    **sections: Any,
) -> LoadedScenario:
    """A scenario of ``days`` days from ``start`` with constant monthly arrivals (or, with
    ``arrivals_per_day``, a constant daily rate for every nationality: a Poisson process).

    ``sections`` are scenario keys (``asylum={...}``, ``returns={...}``, ``hubs=[...]``, ...)
    merged over the base; ``name``/``seed``/``policies`` may be given too.
    """
    end = start + timedelta(days=days - 1)
    base: dict[str, Any] = {
        "name": "test",
        "period": {"start": start, "end": end},
        "asylum": {"caseworkers": 100.0, "productivity": 10.0},
        "deterrence": {"enabled": False},
        "costs": {"table": None},
    }
    data = _merge(base, sections)
    scenario = Scenario.model_validate(data)

    months = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS")
    arr = _per_nat(arrivals_per_month, nationalities)
    per_month = {
        m: (1.0 if arrivals_per_day is None else arrivals_per_day * m.days_in_month) for m in months
    }
    if arrivals_per_day is not None:
        arr = dict.fromkeys(nationalities, 1.0)
    arrivals = pd.DataFrame(
        [(m, n, float(arr[n]) * per_month[m], "test") for m in months for n in nationalities],
        columns=list(TABLE_COLUMNS["arrivals"]),
    )
    hh = _per_nat(household, nationalities)
    ret = _per_nat(returns_agreement, nationalities)
    nat_table = pd.DataFrame(
        [(n, float(hh[n]), bool(ret[n]), "test") for n in nationalities],
        columns=list(TABLE_COLUMNS["nationalities"]),
    )
    gr = _per_nat(grant_rate, nationalities)
    grants = pd.DataFrame(
        [(n, pd.Timestamp(start), float(gr[n]), "test") for n in nationalities],
        columns=list(TABLE_COLUMNS["grant_rates"]),
    )
    host_table = pd.DataFrame(
        [(h, pd.Timestamp(d), pos, "test") for h, d, pos in (hosts or [])],
        columns=list(TABLE_COLUMNS["hosts"]),
    )
    cost_table = pd.DataFrame(
        [(item, pd.Timestamp(d), gbp, "gbp", "test") for item, d, gbp in (costs or [])],
        columns=list(TABLE_COLUMNS["costs"]),
    )
    tables = {
        "arrivals": arrivals,
        "nationalities": nat_table,
        "grant_rates": grants,
        "hosts": host_table,
        "costs": cost_table,
    }
    return LoadedScenario(scenario=scenario, tables=tables, folder=Path("."), content_hash="test")


def hub(hub_id: str = "hub_a", host: str = "Hostland", **kw: Any) -> dict[str, Any]:
    """A hub entry (dict) operating from 2024-01-01 unless ``agreement`` is given."""
    base: dict[str, Any] = {
        "id": hub_id,
        "host": host,
        "agreement": [{"date": date(2024, 1, 1), "status": "operating"}],
        "beds": 1000.0,
        "flights_per_week": 7.0,
        "seats_per_flight": 50.0,
        "stay_days": 60.0,
    }
    base.update(kw)
    return base
