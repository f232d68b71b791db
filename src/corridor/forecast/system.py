"""The asylum system after the cut-off, drawn per replicate: decision capacity, grant rates,
removal capacity, tribunal capacity and the allowed share of appeals.

Reads: the replicate's asylum scenario (its productivity, removal-capacity and judges schedules,
its ``asylum.appeals.allow_rate`` policies and ``grant_rates`` table, truncated at the cut-off
by :func:`~corridor.forecast.context.truncate_inputs`), the pack's published yearly returns and
appeals (``observed/returns_annual.csv``, ``observed/appeals_quarterly.csv``, cut at the
cut-off's year: :func:`published_history`), the cut-off, the forecast's end and the replicate's
seed. Produces: the scenario with

* **decision capacity as a time series** (:func:`future_productivity`): decisions per caseworker
  carry on by the rule of :data:`PRODUCTIVITY_RULES` with the best out-of-sample score on the
  years up to the cut-off (:func:`rule_scores`: from the end of each past year, each rule's
  forecast of the next year's mean against what was published). Through 2024 the mean of the
  last four quarters wins (mean absolute log error 0.30, against 0.34 for the ramp from the last
  quarter and 0.38 for the last quarter alone: quarterly productivity has swung by half from one
  quarter to the next, 5.02 → 2.52 between 2023 Q4 and 2024 Q1; through 2023 the last quarter
  won, 0.29 against 0.32). Each calendar year then has its
  own factor ``exp(s·z_y)`` (stream ``productivity``, one ``z`` per year), ``s`` the year-to-year
  spread of the published annual productivity (:func:`level_spread`), so 2025, 2026 and 2027
  differ within a replicate and across replicates;
* **grant rates by nationality that move** (:func:`future_grant_rates`): each nationality's
  rate starts at its last published quarter and, each calendar year, sits at
  ``logit⁻¹(logit(last) + t·z_{n,y})`` (stream ``grant_rates``), ``t`` the year-to-year spread
  of the annual rates by nationality (pooled, robust); the 2024 falls (Afghan 99% → 54%,
  Turkish 78% → 11% within the year) are what the spread is made of. Pauses in deciding a
  nationality (the Syrian pause of December 2024 in force at the cut-off, and new ones at a
  chance a nationality-year derived from the published quarters) are drawn beside these
  (:mod:`corridor.forecast.pauses`, stream ``decision_pauses``): while one lasts, that
  nationality's cases are not decided (:mod:`corridor.asylum.rules.pauses`);

* **enforced removals a month** (:func:`future_returns`): the level in force at the cut-off
  (asylum-related enforced returns, Ret_05; 2024 derived) times ``exp(s·z_y)`` per year (stream
  ``removal_capacity``), ``s`` the spread of the log published yearly returns (2010 on);
* **tribunal capacity and allowed share** (:func:`future_appeals`): the judges (effective
  capacity, from published determinations) in force at the cut-off times ``exp(s·z_y)`` (stream
  ``appeal_capacity``), and the allowed share at ``logit⁻¹(logit(last) + t·z_y)`` (stream
  ``allow_rate``), ``t`` the spread of the logits of the yearly allowed shares (2010 on).

A variant's lever that already dates later steps of a schedule (or an allow-rate policy after
the cut-off) is kept and that part is not drawn.

All draws are levels around the starting point, not random walks: the published annual
changes reverse more often than they persist (a grant-rate collapse is followed by a partial
recovery), so a band that widened without limit would overstate what is unknown.

Invariants: nothing after the cut-off is read; replicate *r* of every variant draws the same
numbers (common random numbers); the factors are drawn per calendar year of the forecast.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.engine.rng import generator
from corridor.scenario.loaded import LoadedScenario

RAMP_MONTHS = 12  # the "ramp" rule: months from the last quarter's rate to the year's mean
# How decisions per caseworker carry on after the cut-off: at the mean of the last four quarters,
# at the last quarter, or ramping from the last quarter to that mean; chosen by out-of-sample
# score on the past (:func:`rule_scores`), not by eye.
PRODUCTIVITY_RULES: tuple[str, ...] = ("mean_last_4", "last_quarter", "ramp")
_MIN_RATE, _MAX_RATE = 0.005, 0.995  # logits of rates of exactly 0 or 1 are not finite


def level_spread(values: pd.Series) -> float:
    """The spread of a level around its centre implied by year-to-year changes: for levels that
    vary independently around a centre, changes have √2 times their standard deviation; the
    robust estimate 1.4826·MAD of the changes is used (one collapse does not set the band)."""
    d = values.dropna().to_numpy(dtype=float)
    if d.size < 3:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    return float(1.4826 * mad / np.sqrt(2.0))


def _years(cutoff: pd.Timestamp, end: pd.Timestamp) -> list[int]:
    """The calendar years with a day after the cut-off (a cut-off inside a year, e.g. 30 June,
    leaves the rest of that year to the forecast)."""
    return list(range((cutoff + pd.Timedelta(days=1)).year, end.year + 1))


def future_productivity(
    loaded: LoadedScenario, cutoff: pd.Timestamp, end: pd.Timestamp, seed: int
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with monthly productivity steps after the cut-off (see the module docstring)
    and the draws made (``asylum.productivity_factor.<year>``, ``asylum.productivity_spread``)."""
    from corridor.scenario.schema import Scenario

    data = loaded.scenario.model_dump(mode="python")
    sched = data["asylum"]["productivity"]
    if not isinstance(sched, list):
        return loaded, {}
    cut = cutoff.date()
    past = [s for s in sched if s["date"] <= cut]
    if len(past) < 4:
        return loaded, {}
    values = [float(s["value"]) for s in past]
    rule, spread = _productivity_prior(tuple((s["date"], float(s["value"])) for s in past))
    years = _years(cutoff, end)
    z = generator(int(seed), "productivity").standard_normal(len(years))
    factor = dict(zip(years, np.exp(spread * z), strict=True))
    months = pd.period_range(cutoff + pd.Timedelta(days=1), end, freq="M")
    levels = _levels(rule, values, len(months))
    steps = [
        {"date": date(y, m, 1), "value": level * factor[y]}
        for y, m, level in zip(months.year.tolist(), months.month.tolist(), levels, strict=True)
    ]
    data["asylum"]["productivity"] = [*past, *steps]
    draws = {f"asylum.productivity_factor.{y}": float(f) for y, f in factor.items()}
    draws["asylum.productivity_spread"] = spread
    draws["asylum.productivity_rule"] = float(PRODUCTIVITY_RULES.index(rule))
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data)), draws


@functools.lru_cache(maxsize=16)
def _productivity_prior(steps: tuple[tuple[date, float], ...]) -> tuple[str, float]:
    """The rule with the best out-of-sample score and the spread of annual levels, from the
    published steps up to the cut-off (the same for every replicate and variant: computed once
    per set of steps)."""
    past: list[dict[str, Any]] = [{"date": d, "value": v} for d, v in steps]
    annual = pd.Series(
        {y: float(np.mean([v for d, v in steps if d.year == y])) for y in _past_years(past)}
    )
    spread = level_spread(pd.Series(np.log(annual.to_numpy(dtype=float))).diff())
    scores = rule_scores(past)
    return min(scores, key=lambda r: scores[r]), spread


def _level(rule: str, values: list[float], k: int) -> float:
    """Productivity ``k`` months after the last quarter of ``values`` under ``rule``."""
    last, mean4 = values[-1], float(np.mean(values[-4:]))
    if rule == "mean_last_4":
        return mean4
    if rule == "last_quarter":
        return last
    return last + (mean4 - last) * min((k + 1) / RAMP_MONTHS, 1.0)


def _levels(rule: str, values: list[float], n: int) -> list[float]:
    """:func:`_level` for ``k = 0 … n − 1`` (the same numbers, the mean taken once)."""
    last, mean4 = values[-1], float(np.mean(values[-4:]))
    if rule == "mean_last_4":
        return [mean4] * n
    if rule == "last_quarter":
        return [last] * n
    return [last + (mean4 - last) * min((k + 1) / RAMP_MONTHS, 1.0) for k in range(n)]


def rule_scores(past: list[dict[str, Any]]) -> dict[str, float]:
    """Each rule of :data:`PRODUCTIVITY_RULES` scored out of sample on the past: from the end of
    every whole year with four quarters before it, the rule's mean level over the next year
    against that year's published mean; the score is the mean absolute log error."""
    years = _past_years(past)
    errors: dict[str, list[float]] = {r: [] for r in PRODUCTIVITY_RULES}
    for y in years[1:]:
        before = [float(s["value"]) for s in past if s["date"].year < y]
        actual = float(np.mean([s["value"] for s in past if s["date"].year == y]))
        if len(before) < 4:
            continue
        for r in PRODUCTIVITY_RULES:
            forecast = float(np.mean([_level(r, before, k) for k in range(12)]))
            errors[r].append(abs(np.log(forecast / actual)))
    return {r: float(np.mean(e)) if e else np.inf for r, e in errors.items()}


def _past_years(past: list[dict[str, Any]]) -> list[int]:
    """Whole years of quarterly steps (four of them)."""
    counts: dict[int, int] = {}
    for s in past:
        y = s["date"].year
        counts[y] = counts.get(y, 0) + 1
    return sorted(y for y, n in counts.items() if n >= 4)


def future_grant_rates(
    loaded: LoadedScenario, cutoff: pd.Timestamp, end: pd.Timestamp, seed: int
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with a grant-rate row per nationality and forecast year (see the module
    docstring) and the spread drawn around (``grant_rate.spread``)."""
    t = loaded.tables.get("grant_rates")
    if t is None or t.empty:
        return loaded, {}
    t = t[t["from_date"] <= cutoff]
    rows_key = tuple(
        zip(
            t["nationality"].astype(str),
            pd.to_datetime(t["from_date"]),
            t["grant_rate"].astype(float),
            strict=True,
        )
    )
    nats, last, spread = _grant_prior(rows_key)
    years = _years(cutoff, end)
    z = generator(int(seed), "grant_rates").standard_normal((len(years), len(nats)))
    drawn = _expit(_logit(last)[None, :] + spread * z)
    rows = pd.DataFrame(
        {
            "nationality": np.tile(np.array(nats, dtype=object), len(years)),
            "from_date": np.repeat(
                [max(pd.Timestamp(date(y, 1, 1)), cutoff + pd.Timedelta(days=1)) for y in years],
                len(nats),
            ),
            "grant_rate": drawn.reshape(-1),
            "source": "drawn per replicate around the last published quarter"
            " (corridor.forecast.system)",
        }
    )
    tables = {**loaded.tables, "grant_rates": pd.concat([t, rows], ignore_index=True)}
    return dataclasses.replace(loaded, tables=tables), {"grant_rate.spread": spread}


@functools.lru_cache(maxsize=16)
def _grant_prior(
    rows: tuple[tuple[str, pd.Timestamp, float], ...],
) -> tuple[list[str], np.ndarray[Any, Any], float]:
    """Nationalities, their last published rate and the spread of annual logit rates, from the
    published rows up to the cut-off (computed once per table, not per replicate)."""
    t = pd.DataFrame(list(rows), columns=["nationality", "from_date", "grant_rate"])
    rates = t.assign(year=t["from_date"].dt.year)
    annual = rates.groupby(["nationality", "year"])["grant_rate"].mean()
    logit = _logit(annual.to_numpy(dtype=float))
    spread = level_spread(pd.Series(logit, index=annual.index).groupby(level=0).diff())
    latest = t.sort_values("from_date", kind="stable").groupby("nationality").tail(1)
    nats = sorted(latest["nationality"].astype(str))
    last = latest.set_index("nationality").loc[nats, "grant_rate"].to_numpy(dtype=float)
    last.setflags(write=False)  # shared by every replicate
    return nats, last, spread


def _logit(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    q = np.clip(p, _MIN_RATE, _MAX_RATE)
    return np.log(q / (1.0 - q))  # type: ignore[no-any-return]


def _expit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


def _schedule_future(
    data: dict[str, Any], node: list[str], key: str, cutoff: pd.Timestamp
) -> tuple[list[dict[str, Any]], bool]:
    """The steps of schedule ``node.key`` up to the cut-off and whether later steps exist (a
    variant's lever set them: they are kept and nothing is drawn)."""
    parent = data
    for k in node:
        parent = parent[k]
    sched = parent[key]
    if not isinstance(sched, list):
        sched = [{"date": date(1900, 1, 1), "value": float(sched)}]
    cut = cutoff.date()
    past = [s for s in sched if s["date"] <= cut]
    return past, len(past) < len(sched)


def _annual_log_spread(values: pd.Series) -> float:
    """:func:`level_spread` of the log of annual values (zeros dropped)."""
    v = values.to_numpy(dtype=float)
    return _log_spread(tuple(v[v > 0].tolist()))


@functools.lru_cache(maxsize=64)
def _log_spread(values: tuple[float, ...]) -> float:
    """:func:`level_spread` of the log of ``values`` (the same for every replicate: computed
    once per series)."""
    return level_spread(pd.Series(np.log(np.asarray(values, dtype=float))).diff())


def _yearly_steps(
    cutoff: pd.Timestamp, end: pd.Timestamp, level: float, spread: float, seed: int, stream: str
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    """A step on 1 January of each forecast year at ``level·exp(spread·z_y)`` (stream ``stream``,
    one ``z`` per year), and the factors."""
    years = _years(cutoff, end)
    z = generator(int(seed), stream).standard_normal(len(years))
    factor = dict(zip(years, np.exp(spread * z).tolist(), strict=True))
    steps = [{"date": date(y, 1, 1), "value": level * factor[y]} for y in years]
    return steps, factor


def future_returns(
    loaded: LoadedScenario,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    annual: pd.Series | None = None,
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with the enforced-removal capacity drawn per forecast year: the level in force
    at the cut-off times ``exp(s·z_y)`` (stream ``removal_capacity``), ``s`` the
    :func:`level_spread` of the log published asylum-related enforced returns a year up to the
    cut-off (``annual``, by year; by default the schedule's own yearly means). A variant whose
    lever dated later steps keeps them. Draws: ``returns.removal_capacity_factor.<year>``,
    ``returns.removal_capacity_spread``."""
    from corridor.scenario.schema import Scenario

    data = loaded.scenario.model_dump(mode="python")
    past, levered = _schedule_future(data, ["returns"], "removal_capacity", cutoff)
    if levered or not past:
        return loaded, {}
    if annual is None:
        annual = _schedule_annual(past)
    annual = annual[annual.index <= cutoff.year]
    spread = _annual_log_spread(annual)
    steps, factor = _yearly_steps(
        cutoff, end, float(past[-1]["value"]), spread, seed, "removal_capacity"
    )
    data["returns"]["removal_capacity"] = [*past, *steps]
    draws = {f"returns.removal_capacity_factor.{y}": f for y, f in factor.items()}
    draws["returns.removal_capacity_spread"] = spread
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data)), draws


def future_appeals(
    loaded: LoadedScenario,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    allow_history: pd.Series | None = None,
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with the tribunal's capacity and the allowed share drawn per forecast year:

    * capacity (``asylum.appeals.judges``): the level in force at the cut-off times
      ``exp(s·z_y)`` (stream ``appeal_capacity``), ``s`` the :func:`level_spread` of the log
      annual mean of the schedule's steps up to the cut-off (quarterly, from published
      determinations);
    * allowed share (``asylum.appeals.allow_rate``): a policy on 1 January of each forecast year
      at ``logit⁻¹(logit(last) + t·z_y)`` (stream ``allow_rate``), ``last`` the last dated value
      up to the cut-off and ``t`` the :func:`level_spread` of the logits of the yearly values
      (the scenario's dated values, and before them ``allow_history``, by year, if given).

    A variant's lever on either (later schedule steps, or an ``allow_rate`` policy after the
    cut-off) is kept and that part is not drawn. Draws: ``asylum.appeals.capacity_factor.<year>``,
    ``asylum.appeals.capacity_spread``, ``asylum.appeals.allow_rate.<year>``,
    ``asylum.appeals.allow_rate_spread``."""
    from corridor.scenario.schema import Scenario

    data = loaded.scenario.model_dump(mode="python")
    draws: dict[str, float] = {}
    past, levered = _schedule_future(data, ["asylum", "appeals"], "judges", cutoff)
    if past and not levered:
        spread = _annual_log_spread(_schedule_annual(past))
        steps, factor = _yearly_steps(
            cutoff, end, float(past[-1]["value"]), spread, seed, "appeal_capacity"
        )
        data["asylum"]["appeals"]["judges"] = [*past, *steps]
        draws.update({f"asylum.appeals.capacity_factor.{y}": f for y, f in factor.items()})
        draws["asylum.appeals.capacity_spread"] = spread
    path = "asylum.appeals.allow_rate"
    cut = cutoff.date()
    policies = data.get("policies") or []
    dated = [(p["date"], float(p["set"][path])) for p in policies if path in p["set"]]
    if dated and not any(d > cut for d, _ in dated):
        by_year = pd.Series({d.year: v for d, v in sorted(dated) if d <= cut})
        if allow_history is not None:
            hist = allow_history[allow_history.index <= cutoff.year]
            older = hist[hist.index < by_year.index.min()]
            by_year = pd.concat([older, by_year])
        spread = level_spread(pd.Series(_logit(by_year.to_numpy(dtype=float))).diff())
        last = float(by_year.iloc[-1])
        years = _years(cutoff, end)
        z = generator(int(seed), "allow_rate").standard_normal(len(years))
        rates = _expit(_logit(np.array([last]))[0] + spread * z)
        for y, r in zip(years, rates.tolist(), strict=True):
            policies.append(
                {"date": date(y, 1, 1), "set": {path: r}, "note": "drawn (forecast.system)"}
            )
            draws[f"{path}.{y}"] = r
        draws[f"{path}_spread"] = spread
        data["policies"] = policies
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data)), draws


def _schedule_annual(past: list[dict[str, Any]]) -> pd.Series:
    """The mean step value of each calendar year that has steps (carried-on years included: a
    year without a step of its own takes the last step before it)."""
    by: dict[int, list[float]] = {}
    for s in past:
        by.setdefault(s["date"].year, []).append(float(s["value"]))
    years = range(min(by), max(by) + 1)
    out: dict[int, float] = {}
    last = 0.0
    for y in years:
        if y in by:
            last = by[y][-1]
            out[y] = float(np.mean(by[y]))
        else:
            out[y] = last
    return pd.Series(out)


def published_history(pack: Path) -> tuple[pd.Series | None, pd.Series | None]:
    """The published yearly series the system's spreads are measured on, from the pack's
    ``observed/`` (tools/returns_and_appeals.py): asylum-related enforced returns a month by
    year (``returns_annual.csv``) and the allowed share of appeals determined by year
    (``appeals_quarterly.csv``); None where the file is absent. The draws cut them at the
    cut-off's year."""
    returns = allow = None
    r = pack / "observed" / "returns_annual.csv"
    if r.is_file():
        t = pd.read_csv(r)
        returns = pd.Series(t["enforced_asylum"].to_numpy(dtype=float) / 12.0, index=t["year"])
    a = pack / "observed" / "appeals_quarterly.csv"
    if a.is_file():
        t = pd.read_csv(a)
        g = t.assign(year=t["period"].str[:4].astype(int)).groupby("year")
        allow = g["determined_allowed"].sum() / g["appeals_determined"].sum()
    return returns, allow
