"""Third-country hub parameters as daily arrays: agreement, host position, capacity, payments.

Reads: the scenario's ``hubs`` (agreement steps, capacities, stay, outcome shares, payments,
eligibility), the ``hosts`` table (optional) and ``hubs.<id>.<field>`` policies. Produces the
``hub_*`` fields of :class:`~corridor.asylum.params.AsylumParams` (:func:`_hub_arrays`): status
and host position by day (indices into :data:`HUB_STATUSES`/:data:`HOST_POSITIONS`), whether a
hub operates and whether it is paying, its first operating day, eligibility by (hub,
nationality, refused | inadmissible), beds, seats per day, stay hazard and probability, outcome
shares (removed onward, left, stayed, returned to the UK), payments. Reports: :class:`InputError`
for too many hubs, duplicate ids or outcome shares not summing to 1.

Invariants: a hub operates on a day when its status is ``operating`` and its host has not
refused — or it is ``hypothetical``; it pays while ``agreed``, ``operating`` or ``suspended``
under the same host condition; ``hub_exit_p = 1 − exp(−hub_exit_hazard)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.params.constants import (
    DAYS_PER_WEEK,
    DAYS_PER_YEAR,
    HOST_POSITIONS,
    HUB_STATUSES,
    MAX_HUBS,
)
from corridor.asylum.params.rules import hub_exit_hazard
from corridor.asylum.params.schedules import _Policies
from corridor.asylum.params.tables import _nat_mask
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS
from corridor.scenario.schema import Hub

_PAYING = ("agreed", "operating", "suspended")

F64 = NDArray[np.float64]


def _hub_arrays(
    loaded: LoadedScenario, pol: _Policies, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> dict[str, Any]:
    hubs: list[Hub] = list(loaded.scenario.hubs)
    if len(hubs) > MAX_HUBS:
        raise InputError(f"{len(hubs)} hubs", field="hubs", expected=f"at most {MAX_HUBS}")
    ids = tuple(h.id for h in hubs)
    if len(set(ids)) != len(ids):
        raise InputError("two hubs share an id", field="hubs[].id", expected="unique ids")
    n_days, n_h, n_nat = len(dates), len(hubs), len(nidx)
    hosts = loaded.tables.get("hosts")
    host_rows = (
        {}
        if hosts is None or len(hosts) == 0
        else _host_rows(
            tuple(
                zip(
                    hosts["host"].tolist(),
                    hosts["date"].to_numpy(dtype="datetime64[ns]").view(np.int64).tolist(),
                    hosts["position"].tolist(),
                    strict=True,
                )
            )
        )
    )
    agreement = np.zeros((n_days, n_h), dtype=np.uint8)
    position = np.full((n_days, n_h), HOST_POSITIONS.index("unknown"), dtype=np.uint8)
    hypo = np.zeros((n_days, n_h), dtype=bool)
    elig = np.zeros((n_h, n_nat, 2), dtype=bool)
    fields: dict[str, F64] = {}
    numeric = [f for f in HUB_POLICY_FIELDS if f not in ("status", "hypothetical")]
    for f in numeric:
        fields[f] = np.zeros((n_days, n_h))
    start = dates[0].date()
    days_ns = dates.to_numpy(dtype="datetime64[ns]")
    for j, h in enumerate(hubs):
        steps = sorted(h.agreement, key=lambda s: s.date)
        st = np.zeros(n_days, dtype=np.uint8)  # "proposed" before the first step
        for s in steps:
            day = max((s.date - start).days, 0)
            if day < n_days:
                st[day:] = HUB_STATUSES.index(s.status)
        for day, value in pol.raw(f"hubs.{h.id}.status"):
            if day < n_days:
                st[day:] = HUB_STATUSES.index(str(value))
        agreement[:, j] = st
        hv = np.full(n_days, h.hypothetical)
        for day, value in pol.raw(f"hubs.{h.id}.hypothetical"):
            if day < n_days:
                hv[day:] = bool(value)
        hypo[:, j] = hv
        g = host_rows.get(h.host)
        if g is not None:
            when, positions = g
            k = np.searchsorted(when, days_ns, side="right") - 1
            codes = np.asarray([HOST_POSITIONS.index(p) for p in positions], np.uint8)
            position[:, j] = np.where(k >= 0, codes[np.maximum(k, 0)], position[:, j])
        nat_ok = _nat_mask(h.nationalities, nidx, f"hub {h.id!r}")
        elig[j, :, 0] = nat_ok & h.eligible_refused
        elig[j, :, 1] = nat_ok & h.eligible_inadmissible
        for f in numeric:
            fields[f][:, j] = pol.series(f"hubs.{h.id}.{f}", float(getattr(h, f)))
    parts = [fields["removed_onward"], fields["left"], fields["stayed"], fields["returned_uk"]]
    shares = np.stack(parts, axis=-1)
    tot = parts[0] + parts[1] + parts[2] + parts[3]  # in the order of shares.sum(axis=-1)
    if n_h and np.any(np.abs(tot - 1.0) > 1e-6):
        raise InputError(
            "hub removed_onward + left + stayed + returned_uk is not 1 on some day"
            " (check policies)",
            field="hubs",
            expected="shares summing to 1",
        )
    host_ok = (position != HOST_POSITIONS.index("refused")) | hypo
    operating = (agreement == HUB_STATUSES.index("operating")) & host_ok
    paying = np.isin(agreement, [HUB_STATUSES.index(s) for s in _PAYING]) & host_ok
    first = np.full(n_h, -1, dtype=np.int64)
    for j in range(n_h):
        on = np.flatnonzero(operating[:, j])
        if on.size:
            first[j] = on[0]
    exit_hazard = hub_exit_hazard(fields["stay_days"])
    return {
        "hub_ids": ids,
        "hub_hypothetical": hypo,
        "hub_agreement": agreement,
        "host_position": position,
        "hub_operating": operating,
        "hub_paying": paying,
        "hub_first_operating": first,
        "hub_eligible": elig,
        "hub_beds": fields["beds"],
        "hub_seats_day": fields["flights_per_week"] * fields["seats_per_flight"] / DAYS_PER_WEEK,
        "hub_stay_days": fields["stay_days"],
        "hub_exit_hazard": exit_hazard,
        "hub_exit_p": -np.expm1(-exit_hazard),
        "hub_shares": shares,
        "hub_reentry": fields["reentry"],
        "hub_reach_uk": fields["reentry_reach_uk"],
        "hub_reentry_days": fields["reentry_days"],
        "hub_fixed_day": fields["fixed_payment_gbp"] / DAYS_PER_YEAR,
        "hub_per_person": fields["payment_per_person_gbp"],
        "hub_night": fields["cost_per_night_gbp"],
        "hub_setup": np.asarray([h.setup_gbp for h in hubs], dtype=np.float64),
    }


@functools.lru_cache(maxsize=16)
def _host_rows(
    rows: tuple[tuple[Any, int, Any], ...],
) -> dict[str, tuple[NDArray[np.datetime64], tuple[str, ...]]]:
    """Each host's rows of the ``hosts`` table (host, date as ns, position), sorted by date
    (ties in table order): the dates and the positions (the same in every replicate of a
    forecast: parsed once per table)."""
    by_host: dict[str, list[tuple[int, str]]] = {}
    for host, day, pos in rows:
        if host is None or (isinstance(host, float) and np.isnan(host)):
            continue  # no host: not a group (as a group-by drops it)
        by_host.setdefault(str(host), []).append((day, str(pos)))
    out: dict[str, tuple[NDArray[np.datetime64], tuple[str, ...]]] = {}
    for host, g in by_host.items():
        g = sorted(g, key=lambda r: r[0])  # stable: equal dates keep their order
        when = np.asarray([d for d, _ in g], dtype=np.int64).view("datetime64[ns]")
        when.setflags(write=False)
        out[host] = (when, tuple(p for _, p in g))
    return out
