"""Pauses in deciding a nationality after the cut-off: the prior from the published decisions and
the pauses drawn per replicate.

**The rule that finds a pause in the data** (:func:`find_pauses`, run by
``tools/decision_pauses.py`` on Home Office Asy_D02 and Asy_D03). A nationality is *large* in a
quarter when its initial decisions (grants + refusals, main applicants) averaged at least
:data:`LARGE_DECISIONS` a quarter over the four quarters before; it *had people waiting* when
at least that many main applicants awaited an initial decision at the end of the quarter
before (Asy_D03). A large nationality with people waiting is *at risk*; a pause *starts* in
a quarter at risk when its decisions fall below :data:`COLLAPSE_SHARE` of that four-quarter
mean, measured against the change of all nationalities' decisions over the same quarters (a
system-wide fall, such as 2020 Q2 or 2024 Q3, is not a pause of one nationality). It goes on
while the following quarters stay below the same share of the same baseline. Quarters from
:data:`FIRST_PERIOD` (the first with a published awaiting figure for the quarter before).

**The prior** (:func:`pause_prior`, from the rows up to the cut-off): the chance that a pause
starts in a nationality-year at risk, Beta(starts + ½, years at risk − starts + ½) (Jeffreys;
drawn once per replicate, so the band carries how few pauses there were), and the lengths of
the pauses found, in quarters.

**The pauses drawn** (:func:`future_pauses`, stream ``decision_pauses``): for each nationality
of the forecast's list and calendar year after the cut-off, a pause starts with the drawn
chance on a uniform day of the year and lasts one of the lengths found (uniformly) of
quarters, its days uniform within half a quarter either side (the data measure a pause only
to the quarter). A pause in force at the cut-off (the forecast's ``in_force``: the Home
Office's pause of Syrian decisions from 9 December 2024) goes on from the day after the cut-off
for a length drawn the same way from its own start (at least to the day after the cut-off).
They are written as the replicate's ``decision_pauses`` table, which both engines read
(:mod:`corridor.asylum.rules.pauses`).

Reads: the pack's ``observed/decision_pauses.csv`` (the rows :func:`find_pauses` found), the
forecast's ``decision_pauses`` settings, the cut-off, the end and the replicate's seed.
Produces: the scenario with the pauses and the draws (``decision_pauses.chance``,
``decision_pauses.count``, ``decision_pauses.days``). Invariants: nothing after the cut-off is
read (rows and pauses in force dated later are left out); replicate *r* of every variant draws
the same numbers (a fixed number of draws from one stream); without the settings (or with
``enabled: false``) the scenario is returned unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.engine.rng import generator
from corridor.scenario.forecast_schema import DecisionPauses
from corridor.scenario.loaded import LoadedScenario

COLLAPSE_SHARE = 0.25  # decisions below this share of the nationality's 4-quarter mean
LARGE_DECISIONS = 250.0  # a large nationality: at least this many decisions a quarter
FIRST_PERIOD = "2010 Q3"
DAYS_PER_QUARTER = 365.25 / 4
STATES = ("at_risk", "pause_start", "paused")


def _quarter_end(period: str) -> pd.Timestamp:
    year, q = period.split(" Q")
    return pd.Period(f"{year}Q{q}", freq="Q").end_time.normalize()


def find_pauses(decided: pd.DataFrame, awaiting: pd.DataFrame) -> pd.DataFrame:
    """The quarters at risk and in a pause (see the module docstring).

    ``decided``: initial decisions (grants + refusals, main applicants) by quarter (index
    ``"YYYY Qn"``, sorted, consecutive) and nationality (columns: every nationality, so that
    their sum is the national total); ``awaiting``: main applicants awaiting an initial
    decision at the end of each quarter (same index labels; nationalities without a column are
    never at risk). Returns rows ``period, nationality, decided, baseline, relative,
    awaiting_before, state`` (``state`` one of :data:`STATES`; ``relative`` = decisions ÷
    baseline ÷ the national ratio)."""
    periods = list(decided.index)
    total = decided.sum(axis=1).to_numpy(dtype=float)
    first = periods.index(FIRST_PERIOD) if FIRST_PERIOD in periods else 4
    rows: list[tuple[str, str, float, float, float, float, str]] = []
    for nat in decided.columns:
        if nat not in awaiting.columns:
            continue
        x = decided[nat].to_numpy(dtype=float)
        wait = awaiting[nat].reindex(periods).to_numpy(dtype=float)
        k = max(first, 4)
        while k < len(periods):
            base = float(x[k - 4 : k].mean())
            nb = float(total[k - 4 : k].mean())
            before = wait[k - 1]
            if base < LARGE_DECISIONS or not before >= base or nb <= 0 or total[k] <= 0:
                k += 1
                continue
            # decisions against the baseline, over all nationalities' against theirs
            rel = (x / base) / np.where(total > 0, total / nb, np.nan)
            state = "at_risk" if rel[k] >= COLLAPSE_SHARE else "pause_start"
            rows.append((periods[k], str(nat), x[k], base, float(rel[k]), before, state))
            k += 1
            while state != "at_risk" and k < len(periods) and rel[k] < COLLAPSE_SHARE:
                rows.append(
                    (periods[k], str(nat), x[k], base, float(rel[k]), wait[k - 1], "paused")
                )
                k += 1
    out = pd.DataFrame(
        rows,
        columns=[
            "period",
            "nationality",
            "decided",
            "baseline",
            "relative",
            "awaiting_before",
            "state",
        ],
    )
    return out.sort_values(["period", "nationality"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PausePrior:
    """What the published quarters up to a cut-off say about pauses."""

    starts: int  # pauses found
    years_at_risk: float  # nationality-years at risk (quarters at risk ÷ 4)
    lengths: tuple[int, ...]  # quarters, one per pause found

    @property
    def chance(self) -> float:
        """The mean of the Beta prior of the chance a pause starts in a nationality-year."""
        return (self.starts + 0.5) / (self.years_at_risk + 1.0)


def pause_prior(rows: pd.DataFrame, cutoff: pd.Timestamp) -> PausePrior:
    """:class:`PausePrior` from the rows of :func:`find_pauses` whose quarter ended by the
    cut-off (a pause that goes on past it counts the quarters before it)."""
    ends = rows["period"].map(_quarter_end)
    r = rows[ends <= cutoff].reset_index(drop=True)
    risk = int(r["state"].isin(("at_risk", "pause_start")).sum())
    lengths: list[int] = []
    for _, g in r.groupby("nationality", sort=True):
        n = 0
        for state in g.sort_values("period")["state"]:
            if state == "pause_start":
                if n:
                    lengths.append(n)
                n = 1
            elif state == "paused" and n:
                n += 1
            elif n:
                lengths.append(n)
                n = 0
        if n:
            lengths.append(n)
    return PausePrior(int((r["state"] == "pause_start").sum()), risk / 4.0, tuple(lengths))


@functools.lru_cache(maxsize=8)
def _prior(path: Path, cutoff: pd.Timestamp) -> PausePrior:
    """:func:`pause_prior` of the pack's rows, once per file and cut-off (not per replicate)."""
    return pause_prior(pd.read_csv(path), cutoff)


def _length_days(prior: PausePrior, pick: float, frac: float) -> float:
    q = prior.lengths[min(int(pick * len(prior.lengths)), len(prior.lengths) - 1)]
    return DAYS_PER_QUARTER * (q - 0.5 + frac)


def future_pauses(
    loaded: LoadedScenario,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    settings: DecisionPauses | None,
    pack: Path,
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with the pauses of the replicate after the cut-off in its ``decision_pauses``
    table (see the module docstring) and the draws."""
    if settings is None or not settings.enabled:
        return loaded, {}
    prior = _prior(pack / settings.file, cutoff)
    cut = cutoff.date()
    first = cut + timedelta(days=1)
    last = end.date()
    years = list(range(first.year, last.year + 1))
    nats = list(settings.nationalities)
    g = generator(int(seed), "decision_pauses")
    chance = float(g.beta(prior.starts + 0.5, prior.years_at_risk - prior.starts + 0.5))
    u = g.random((len(years), len(nats), 4))  # occurs, start, length pick, length within
    u_in = g.random((len(settings.in_force), 2))  # length pick, within
    rows: list[tuple[str, date, date, str]] = []
    if prior.lengths:
        for k, p in enumerate(settings.in_force):
            if p.from_date > cut:
                continue  # not known at the cut-off
            days = max(_length_days(prior, *u_in[k]), (first - p.from_date).days + 1.0)
            stop = min(p.from_date + timedelta(days=round(days) - 1), last)
            if stop >= first:
                rows.append((p.nationality, first, stop, f"in force at the cut-off: {p.source}"))
        for y, year in enumerate(years):
            lo = max(date(year, 1, 1), first)
            span = (date(year, 12, 31) - lo).days + 1
            for n, nat in enumerate(nats):
                occurs, at, pick, within = u[y, n]
                if occurs >= chance:
                    continue
                start = lo + timedelta(days=int(at * span))
                days = round(_length_days(prior, pick, within))
                stop = min(start + timedelta(days=days - 1), last)
                rows.append((nat, start, stop, "drawn per replicate (corridor.forecast.pauses)"))
    table = pd.DataFrame(rows, columns=["nationality", "from_date", "to_date", "source"])
    table["from_date"] = pd.to_datetime(table["from_date"])
    table["to_date"] = pd.to_datetime(table["to_date"])
    old = loaded.tables.get("decision_pauses")
    if old is not None and len(old):
        old = old[~(old["from_date"] > cutoff)]
        table = pd.concat([old, table], ignore_index=True)
    paused_days = float(sum((b - a).days + 1 for _, a, b, _ in rows))
    draws = {
        "decision_pauses.chance": chance,
        "decision_pauses.count": float(len(rows)),
        "decision_pauses.days": paused_days,
    }
    tables = {**loaded.tables, "decision_pauses": table}
    return dataclasses.replace(loaded, tables=tables), draws
