"""Per-nationality tables of a scenario as daily arrays: nationalities, arrivals, rates, costs.

Reads: the loaded tables ``nationalities``, ``arrivals``, ``grant_rates``, ``costs`` (optional)
and the scenario's ``inadmissibility``, ``asylum.priority_classes`` and ``costs``. Produces:
nationality names, mean household sizes and the ``(days, nat)`` removable mask
(:func:`_nationalities`); expected arriving people per day (:func:`_daily_arrivals`: a month's
people spread evenly over its days, months after the table by ``arrivals.after_table``); grant
rates (:func:`_grant_rates`, ``"*"`` the default row); the days a nationality's initial
decisions are paused (:func:`_paused`, ``decision_pauses``, optional); inadmissibility shares
(:func:`_inadmissible`); decision-queue priority classes (:func:`_priority`); unit costs by day
(:func:`_unit_costs`, in pounds of ``costs.price_year``: rows of other price years brought
to it by the scenario's GDP deflators, :func:`price_factors`). Reports: :class:`InputError`
for inconsistent tables (a price year without a deflator); warnings for names not in
``nationalities.csv``.

Invariants: every array is ``(days, nat)`` (or ``(nat,)``) in the order of
``nationalities.csv``; a dated row applies from its date until the next one; later
inadmissibility entries and earlier-listed priority classes win; nothing here applies
deterrence (it depends on a run's own outcomes).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.asylum.params.constants import MAX_NATIONALITIES
from corridor.asylum.params.schedules import _dated_index, _Policies
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.policy_paths import UNIT_COST_ITEMS
from corridor.scenario.schema import Scenario

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def _nationalities(
    loaded: LoadedScenario, default_hh: float, dates: pd.DatetimeIndex
) -> tuple[tuple[str, ...], F64, B, B]:
    t = loaded.tables["nationalities"]
    if len(t) == 0:
        raise InputError("nationalities.csv has no rows", file="nationalities.csv")
    names = tuple(str(n) for n in t["nationality"])
    if len(set(names)) != len(names):
        raise InputError("a nationality is listed twice", file="nationalities.csv")
    if len(names) > MAX_NATIONALITIES:
        raise InputError(
            f"{len(names)} nationalities", file="nationalities.csv", expected="at most 255"
        )
    hh = pd.to_numeric(t["household_size"], errors="coerce").to_numpy(dtype=np.float64)
    hh = np.where(np.isfinite(hh), hh, default_hh)
    if np.any(hh < 1.0):
        raise InputError("household_size below 1", file="nationalities.csv", field="household_size")
    agreement = t["returns_agreement"].to_numpy().astype(bool)
    removable = np.broadcast_to(agreement, (len(dates), len(names))).copy()
    if "returns_agreement_from" in t.columns:
        since = pd.to_datetime(t["returns_agreement_from"]).to_numpy(dtype="datetime64[ns]")
        dated = ~np.isnat(since)
        if np.any(dated & ~agreement):
            bad = [n for n, d, a in zip(names, dated, agreement, strict=True) if d and not a]
            raise InputError(
                f"returns_agreement_from is set for nationalities without a returns agreement: "
                f"{bad}",
                file="nationalities.csv",
                field="returns_agreement_from",
                expected="empty where returns_agreement is false",
            )
        day = dates.to_numpy(dtype="datetime64[ns]")[:, None]
        removable &= ~dated[None, :] | (day >= since[None, :])
    ever: B = np.asarray(removable.any(axis=0), dtype=bool)
    return names, np.asarray(hh, dtype=np.float64), ever, removable


def _daily_arrivals(
    loaded: LoadedScenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> F64:
    t = loaded.tables["arrivals"]
    sc = loaded.scenario
    n_nat = len(nidx)
    out = np.zeros((len(dates), n_nat))
    if len(t) == 0:
        return out
    # -1: not a known nationality
    nat_code = np.fromiter(
        (nidx.get(str(n), -1) for n in t["nationality"].tolist()), dtype=np.int64, count=len(t)
    )
    unknown = sorted({str(n) for n in t["nationality"][nat_code < 0].unique()})
    if unknown:
        raise InputError(
            f"arrivals name nationalities missing from nationalities.csv: {unknown}",
            file=sc.arrivals.table,
            field="nationality",
        )
    # months as datetime64[M] and their positions by arithmetic from the grid's first month
    # (every month from the table's or the period's first to its or the period's last): no
    # per-row or per-day Python loop, no date range of months
    tm = _ns(t["month"]).astype("datetime64[M]")
    day_months = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    first, last = tm.min(), tm.max()
    m0 = min(first, day_months[0])
    n_grid = int((max(last, day_months[-1]) - m0).astype(np.int64)) + 1
    table = np.zeros((n_grid, n_nat))
    np.add.at(table, ((tm - m0).astype(np.int64), nat_code), t["people"].to_numpy(np.float64))
    k_last = int((last - m0).astype(np.int64))
    rule = sc.arrivals.after_table
    for k in range(k_last + 1, n_grid):
        if rule == "zero":
            table[k] = 0.0
        elif rule == "hold_last_month":
            table[k] = table[k_last]
        else:  # repeat_last_year
            table[k] = table[k - 12] if k - 12 >= 0 else 0.0
    rows = (day_months - m0).astype(np.int64)
    days_in_month = (day_months + 1).astype("datetime64[D]") - day_months.astype("datetime64[D]")
    out = table[rows] / days_in_month.astype(np.float64)[:, None]
    return np.asarray(out, dtype=np.float64)


def _ns(column: pd.Series) -> NDArray[np.datetime64]:
    """A table's date column as ``datetime64[ns]`` values (parsed when it is not dates yet)."""
    if not pd.api.types.is_datetime64_dtype(column.dtype):
        column = pd.to_datetime(column)
    return column.to_numpy(dtype="datetime64[ns]")


def _grant_rates(loaded: LoadedScenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex) -> F64:
    t = loaded.tables["grant_rates"]
    out = np.full((len(dates), len(nidx)), np.nan)
    # rows by date (a stable sort: equal dates keep their order; NaT last), grouped by name
    when = _ns(t["from_date"])
    order = np.argsort(when, kind="stable")
    when = when[order]
    rates = t["grant_rate"].to_numpy(dtype=np.float64)[order]
    names = t["nationality"].tolist()
    groups: dict[str, list[int]] = {}
    for pos, row in enumerate(order.tolist()):
        name = names[row]
        if not isinstance(name, str) and pd.isna(name):
            continue  # no name: not a group (as a group-by drops it)
        groups.setdefault(str(name), []).append(pos)
    unknown = sorted(set(groups) - set(nidx) - {"*"})
    if unknown:
        log.warning("grant_rates.csv names nationalities not in nationalities.csv: %s", unknown)
    days = dates.to_numpy(dtype="datetime64[ns]")
    for name, i in nidx.items():
        g = groups.get(name, groups.get("*"))
        if g is None:
            raise InputError(
                f"no grant rate for nationality {name!r}",
                file="grant_rates.csv",
                expected="rows for it or a '*' default row",
            )
        k = np.searchsorted(when[g], days, side="right") - 1
        out[:, i] = rates[g][np.maximum(k, 0)]
    if np.any((out < 0) | (out > 1)):
        raise InputError("grant_rate outside [0, 1]", file="grant_rates.csv", field="grant_rate")
    return out


def _paused(loaded: LoadedScenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex) -> B:
    """``(days, nat)``: the days of each ``decision_pauses`` row (``from_date`` to ``to_date``,
    both included) for its nationality; all False without the table."""
    out = np.zeros((len(dates), len(nidx)), dtype=bool)
    t = loaded.tables.get("decision_pauses")
    if t is None or t.empty:
        return out
    for name, lo, hi in zip(t["nationality"], t["from_date"], t["to_date"], strict=True):
        if hi < lo:
            raise InputError(
                f"pause of {name!r} ends before it starts",
                file="decision_pauses.csv",
                field="to_date",
                expected="a date on or after from_date",
            )
        i = nidx.get(str(name))
        if i is None:
            log.warning("decision_pauses.csv names nationality %r, not in nationalities.csv", name)
            continue
        out[(dates >= lo) & (dates <= hi), i] = True
    return out


def _nat_mask(names: Sequence[str] | None, nidx: Mapping[str, int], what: str) -> B:
    mask = np.zeros(len(nidx), dtype=bool)
    if names is None:
        mask[:] = True
        return mask
    for n in names:
        if n in nidx:
            mask[nidx[n]] = True
        else:
            log.warning("%s names nationality %r, which is not in nationalities.csv", what, n)
    return mask


def _inadmissible(sc: Scenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex) -> F64:
    out = np.zeros((len(dates), len(nidx)))
    d = dates.date
    for k, pol in enumerate(sc.inadmissibility):
        on = d >= pol.from_date
        if pol.to_date is not None:
            on &= d <= pol.to_date  # inclusive
        mask = _nat_mask(pol.nationalities, nidx, f"inadmissibility[{k}]")
        out[np.ix_(on, mask)] = pol.share  # later entries override earlier ones
    return out


def _priority(
    sc: Scenario, nidx: Mapping[str, int], dates: pd.DatetimeIndex
) -> tuple[int, NDArray[np.uint8]]:
    a = sc.asylum
    if a.discipline == "fifo" or not a.priority_classes:
        return 1, np.zeros((len(dates), len(nidx)), dtype=np.uint8)
    k_low = len(a.priority_classes)  # everyone else: the last class
    out = np.full((len(dates), len(nidx)), k_low, dtype=np.uint8)
    d = dates.date
    for k in range(len(a.priority_classes) - 1, -1, -1):  # first listed class wins
        pc = a.priority_classes[k]
        on = np.ones(len(dates), bool) if pc.from_date is None else d >= pc.from_date
        mask = _nat_mask(pc.nationalities, nidx, f"priority class {pc.name!r}")
        out[np.ix_(on, mask)] = k
    return k_low + 1, out


def price_factors(
    deflators: pd.DataFrame, from_years: Sequence[str | None], to_year: str | None
) -> F64:
    """Multipliers that bring pounds of each of ``from_years`` to ``to_year`` prices:
    ``deflator[to_year] / deflator[from_year]`` (the GDP deflator index of ``deflators``,
    columns ``financial_year`` and ``deflator``). 1 where a row has no price year or the
    scenario none; an :class:`InputError` when a year has no deflator."""
    out = np.ones(len(from_years))
    if to_year is None:
        return out
    index = dict(zip(deflators["financial_year"].astype(str), deflators["deflator"], strict=True))
    for i, year in enumerate(from_years):
        if year is None or (isinstance(year, float) and np.isnan(year)) or year == to_year:
            continue
        missing = [y for y in (year, to_year) if y not in index]
        if missing:
            raise InputError(
                f"no GDP deflator for financial year(s) {missing}",
                file="deflators.csv",
                field="financial_year",
                expected="a row for every price year used in costs.csv and costs.price_year",
            )
        out[i] = float(index[to_year]) / float(index[str(year)])
    return out


def _unit_costs(loaded: LoadedScenario, pol: _Policies, dates: pd.DatetimeIndex) -> dict[str, F64]:
    """Unit costs by day in pounds of ``costs.price_year``: the scenario's values (already in
    that year's prices), overridden from their dates by ``costs.csv`` rows (each brought from its
    ``price_year`` by :func:`price_factors`), then by policies (in the price year's pounds)."""
    c = loaded.scenario.costs
    t = loaded.tables.get("costs")
    deflators = loaded.tables.get("deflators")
    rows: tuple[tuple[Any, ...], ...] = ()
    if t is not None and len(t):
        years = t["price_year"] if "price_year" in t.columns else [None] * len(t)
        rows = tuple(
            zip(
                t["item"].astype(str),
                pd.to_datetime(t["from_date"]),
                t["gbp"].astype(float),
                [None if pd.isna(y) else str(y) for y in years],
                strict=True,
            )
        )
    index: tuple[tuple[str, float], ...] = ()
    if deflators is not None and len(deflators):
        index = tuple(
            zip(
                deflators["financial_year"].astype(str),
                deflators["deflator"].astype(float),
                strict=True,
            )
        )
    scenario_values = tuple(float(getattr(c, item)) for item in UNIT_COST_ITEMS)
    base = _table_costs(rows, index, c.price_year, scenario_values, dates[0], len(dates))
    out: dict[str, F64] = {}
    for item in UNIT_COST_ITEMS:
        values = base[item]
        for day, value in pol.raw(f"costs.{item}"):
            if day < len(dates):
                values = values.copy() if not values.flags.writeable else values
                values[day:] = float(value)
        out[item] = values
    return out


@functools.lru_cache(maxsize=32)
def _table_costs(
    rows: tuple[tuple[Any, ...], ...],
    index: tuple[tuple[str, float], ...],
    price_year: str | None,
    scenario_values: tuple[float, ...],
    start: pd.Timestamp,
    days: int,
) -> dict[str, F64]:
    """The unit costs of the scenario and its ``costs.csv`` rows by day, before policies
    (the same for every replicate of a forecast: computed once per table; read-only arrays)."""
    dates = pd.date_range(start, periods=days, freq="D")
    by_item: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_item.setdefault(r[0], []).append(r)
    unknown = sorted(set(by_item) - set(UNIT_COST_ITEMS))
    if unknown:
        log.warning("costs.csv items not used by the asylum model: %s", unknown)
    deflators = pd.DataFrame(list(index), columns=["financial_year", "deflator"])
    out: dict[str, F64] = {}
    for item, default in zip(UNIT_COST_ITEMS, scenario_values, strict=True):
        base = np.full(days, default)
        if item in by_item:
            g = sorted(by_item[item], key=lambda r: r[1])  # stable: equal dates keep their order
            gbp = np.asarray([r[2] for r in g], dtype=np.float64) * price_factors(
                deflators, [r[3] for r in g], price_year
            )
            k = _dated_index(pd.Series([r[1] for r in g]), dates)
            base = np.where(k >= 0, gbp[np.maximum(k, 0)], base)
        base.setflags(write=False)
        out[item] = base
    return out
