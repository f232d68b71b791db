"""The asylum system after the cut-off, drawn per replicate: decision capacity, grant rates,
removal capacity, tribunal capacity and the allowed share of appeals.

Reads: the replicate's asylum scenario (its productivity, removal-capacity and judges schedules,
its ``asylum.appeals.allow_rate`` policies and ``grant_rates`` table, truncated at the cut-off
by :func:`~corridor.forecast.context.truncate_inputs`), the pack's published yearly returns,
appeals and initial grant rate (``observed/returns_annual.csv``, ``observed/
appeals_quarterly.csv``, ``observed/uk_quarterly.csv``: :func:`published_history`, the years
that end by the cut-off: :func:`whole_years`), the cut-off, the forecast's end and the
replicate's seed. Produces: the scenario with

* **decision capacity as a time series** (:func:`future_productivity`): decisions per caseworker
  carry on by the rule of :data:`PRODUCTIVITY_RULES` with the best out-of-sample score on the
  years up to the cut-off (:func:`rule_scores`: from the end of each past year, each rule's
  forecast of the next year's mean against what was published). Through 2024 the mean of the
  last four quarters wins (mean absolute log error 0.30, against 0.34 for the ramp from the last
  quarter and 0.38 for the last quarter alone: quarterly productivity has swung by half from one
  quarter to the next, 5.02 → 2.52 between 2023 Q4 and 2024 Q1; through 2023 the last quarter
  won, 0.29 against 0.32). Each calendar year then has its own factor (stream
  ``productivity``), with the spread of the rule's own out-of-sample log errors that many
  years ahead (:func:`rule_errors`, :func:`horizon_spreads`; through 2024: 0.36 one year
  ahead, 0.48 two, 0.57 three and after), so 2025, 2026 and 2027 differ within a replicate
  and across replicates;
* **grant rates by nationality that move** (:func:`future_grant_rates`): each nationality's
  rate starts at its last published quarter and, each calendar year, sits at
  ``logit⁻¹(logit(last) + c_y + t·z_{n,y})``: ``t·z_{n,y}`` its own move (stream
  ``grant_rates``), ``t`` the year-to-year spread of the annual rates by nationality (pooled,
  robust: the 2024 falls, Afghan 99% → 54%, Turkish 78% → 11% within the year, are what it is
  made of), and ``c_y`` the move all nationalities share (stream ``grant_rates_common``), with
  the spread of the published national initial grant rate's changes in logit that many years
  apart (through 2024: 0.65 one year ahead, 0.91 two, 1.16 three: 2018's 35% rose to 76% in
  2022 and fell to 47% in 2024). Pauses in deciding a nationality (the Syrian pause of
  December 2024 in force at the cut-off, and new ones at a chance a nationality-year derived
  from the published quarters) are drawn beside these (:mod:`corridor.forecast.pauses`,
  stream ``decision_pauses``): while one lasts, that nationality's cases are not decided
  (:mod:`corridor.asylum.rules.pauses`);
* **enforced removals a month** (:func:`future_returns`): the level in force at the cut-off
  (asylum-related enforced returns, Ret_05; 2024 derived) times a factor a year (stream
  ``removal_capacity``), with the spread of the changes in the log published yearly returns
  (2010 on) that many years apart (through 2024: 0.49 one year ahead, 0.88 two, 1.10 three);
* **tribunal capacity and allowed share** (:func:`future_appeals`): the judges (effective
  capacity, from published determinations) in force at the cut-off times a factor a year
  (stream ``appeal_capacity``), and the allowed share moved in logit (stream ``allow_rate``),
  each with the spread of its own published yearly changes that many years apart.

A variant's lever that already dates later steps of a schedule (or an allow-rate policy after
the cut-off) is kept and that part is not drawn.

How wide, and why. Every spread is an *empirical prediction interval*: the root mean square
of the errors that the same forecast rule ("no change", or the chosen productivity rule)
made on the published past at the same horizon (:func:`horizon_spreads`), never narrower
than the horizon before and held beyond the horizons the past can score (levels, not a walk
that widens without limit). The years of one replicate are linked as a walk
(:func:`path_draw`): a year that comes out high makes the next one likely high too. Until
December 2026 the spreads were robust year-to-year spreads (median absolute changes), which
left out the collapses and surges that the UK system has had: the rolling back-test's 80%
bands held 50% of the system's outcomes one year ahead; measured this way, 64%
(``backtest.json``).

Invariants: nothing after the cut-off is read; replicate *r* of every variant draws the same
numbers (common random numbers); the factors are drawn per calendar year of the forecast.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

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


MIN_ERRORS = 2  # out-of-sample errors a horizon needs before its own spread is used


def horizon_spreads(errors: dict[int, list[float]], n: int) -> np.ndarray[Any, Any]:
    """The spread at each forecast horizon ``1 … n`` (years ahead) from the past's out-of-sample
    errors at that horizon (``errors[h]``, logs or logits): their root mean square where the
    past holds at least :data:`MIN_ERRORS` of them, never less than the spread of the horizon
    before (what is unknown does not shrink with the horizon), and held beyond the last
    horizon the past can score (levels, not a walk that widens without limit). Empirical
    prediction intervals, as forecasters build them from their own past errors."""
    out = np.zeros(n)
    last = 0.0
    for h in range(1, n + 1):
        e = np.asarray(errors.get(h, []), dtype=float)
        if e.size >= MIN_ERRORS:
            last = max(last, float(np.sqrt(np.mean(e**2))))
        out[h - 1] = last
    return out


def change_errors(values: np.ndarray[Any, Any], max_h: int = 6) -> dict[int, list[float]]:
    """The out-of-sample errors of "no change" on a yearly series: ``x[i+h] − x[i]`` for every
    pair of years ``h`` apart (``values`` in year order, logs or logits)."""
    x = np.asarray(values, dtype=float)
    return {h: (x[h:] - x[:-h]).tolist() for h in range(1, min(max_h, x.size - 1) + 1)}


def path_draw(z: np.ndarray[Any, Any], spreads: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Deviations at horizons ``1 … len(z)`` with standard deviation ``spreads[h − 1]`` each,
    linked from year to year as a walk: ``spreads[h − 1] · (z_1 + … + z_h) / √h``, so a year
    that comes out high makes the next one likely high too (``z`` standard normal, one per
    year; extra axes of ``z`` after the first are independent paths)."""
    h = np.arange(1, z.shape[0] + 1, dtype=float).reshape((-1,) + (1,) * (z.ndim - 1))
    s = np.asarray(spreads, dtype=float)[: z.shape[0]].reshape(h.shape)
    return s * np.cumsum(z, axis=0) / np.sqrt(h)  # type: ignore[no-any-return]


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
    rule, spreads = _productivity_prior(tuple((s["date"], float(s["value"])) for s in past))
    years = _years(cutoff, end)
    z = generator(int(seed), "productivity").standard_normal(len(years))
    factor = dict(zip(years, np.exp(path_draw(z, _horizons(spreads, len(years)))), strict=True))
    months = pd.period_range(cutoff + pd.Timedelta(days=1), end, freq="M")
    levels = _levels(rule, values, len(months))
    steps = [
        {"date": date(y, m, 1), "value": level * factor[y]}
        for y, m, level in zip(months.year.tolist(), months.month.tolist(), levels, strict=True)
    ]
    data["asylum"]["productivity"] = [*past, *steps]
    draws = {f"asylum.productivity_factor.{y}": float(f) for y, f in factor.items()}
    draws["asylum.productivity_spread"] = float(spreads[0])
    draws["asylum.productivity_rule"] = float(PRODUCTIVITY_RULES.index(rule))
    return dataclasses.replace(loaded, scenario=Scenario.model_validate(data)), draws


@functools.lru_cache(maxsize=16)
def _productivity_prior(
    steps: tuple[tuple[date, float], ...],
) -> tuple[str, np.ndarray[Any, Any]]:
    """The rule with the best out-of-sample score and the spread of its own out-of-sample log
    errors at each horizon (:func:`horizon_spreads`), from the published steps up to the
    cut-off (the same for every replicate and variant: computed once per set of steps)."""
    past: list[dict[str, Any]] = [{"date": d, "value": v} for d, v in steps]
    scores = rule_scores(past)
    rule = min(scores, key=lambda r: scores[r])
    spreads = horizon_spreads(rule_errors(past, rule), MAX_HORIZON)
    spreads.setflags(write=False)  # shared by every replicate
    return rule, spreads


MAX_HORIZON = 12  # years ahead a spread is given for (held beyond: :func:`_horizons`)


def _horizons(spreads: np.ndarray[Any, Any], n: int) -> np.ndarray[Any, Any]:
    """The first ``n`` spreads, the last one held beyond :data:`MAX_HORIZON`."""
    if n <= spreads.size:
        return spreads[:n]
    return np.concatenate([spreads, np.full(n - spreads.size, spreads[-1])])


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
    scores = {}
    for r in PRODUCTIVITY_RULES:
        e = rule_errors(past, r).get(1, [])
        scores[r] = float(np.mean(np.abs(e))) if e else np.inf
    return scores


def rule_errors(past: list[dict[str, Any]], rule: str) -> dict[int, list[float]]:
    """The out-of-sample log errors of ``rule`` by horizon: from the end of every year with four
    quarters before it, the rule's mean level over the ``h``-th year ahead (months
    ``12(h−1) … 12h−1``) against that year's published mean, ``log(forecast / published)``."""
    years = _past_years(past)
    errors: dict[int, list[float]] = {}
    for i, y in enumerate(years[1:], start=1):
        before = [float(s["value"]) for s in past if s["date"].year < y]
        if len(before) < 4:
            continue
        for target in years[i:]:
            h = target - y + 1
            actual = float(np.mean([s["value"] for s in past if s["date"].year == target]))
            months = range(12 * (h - 1), 12 * h)
            forecast = float(np.mean([_level(rule, before, k) for k in months]))
            errors.setdefault(h, []).append(float(np.log(forecast / actual)))
    return errors


def _past_years(past: list[dict[str, Any]]) -> list[int]:
    """Whole years of quarterly steps (four of them)."""
    counts: dict[int, int] = {}
    for s in past:
        y = s["date"].year
        counts[y] = counts.get(y, 0) + 1
    return sorted(y for y, n in counts.items() if n >= 4)


def future_grant_rates(
    loaded: LoadedScenario,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    seed: int,
    national: pd.Series | None = None,
) -> tuple[LoadedScenario, dict[str, float]]:
    """``loaded`` with a grant-rate row per nationality and forecast year (see the module
    docstring) and the spreads drawn around (``grant_rate.spread``, and the shift all
    nationalities share, ``grant_rate.common_spread`` and ``grant_rate.common_shift.<year>``,
    measured on ``national``, the published initial grant rate by year; none without it)."""
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
    common = np.zeros(MAX_HORIZON)
    if national is not None:
        rates = whole_years(national, cutoff).to_numpy(dtype=float)
        common = _logit_spreads(tuple(rates.tolist()))
    years = _years(cutoff, end)
    z = generator(int(seed), "grant_rates").standard_normal((len(years), len(nats)))
    zc = generator(int(seed), "grant_rates_common").standard_normal(len(years))
    shift = path_draw(zc, _horizons(common, len(years)))
    drawn = expit(_logit(last)[None, :] + shift[:, None] + spread * z)
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
    out = {"grant_rate.spread": spread, "grant_rate.common_spread": float(common[0])}
    out.update(
        {f"grant_rate.common_shift.{y}": float(v) for y, v in zip(years, shift, strict=True)}
    )
    return dataclasses.replace(loaded, tables=tables), out


@functools.lru_cache(maxsize=16)
def _grant_prior(
    rows: tuple[tuple[str, pd.Timestamp, float], ...],
) -> tuple[list[str], np.ndarray[Any, Any], float]:
    """Nationalities, their last published rate and the spread of annual logit rates, from the
    published rows up to the cut-off (computed once per table, not per replicate)."""
    t = pd.DataFrame(list(rows), columns=["nationality", "from_date", "grant_rate"])
    rates = t.assign(year=t["from_date"].dt.year)
    annual = rates.groupby(["nationality", "year"])["grant_rate"].mean()
    logits = _logit(annual.to_numpy(dtype=float))
    spread = level_spread(pd.Series(logits, index=annual.index).groupby(level=0).diff())
    latest = t.sort_values("from_date", kind="stable").groupby("nationality").tail(1)
    nats = sorted(latest["nationality"].astype(str))
    last = latest.set_index("nationality").loc[nats, "grant_rate"].to_numpy(dtype=float)
    last.setflags(write=False)  # shared by every replicate
    return nats, last, spread


@functools.lru_cache(maxsize=64)
def _logit_spreads(rates: tuple[float, ...]) -> np.ndarray[Any, Any]:
    """The spreads by horizon of "no change" on the logit of yearly ``rates``."""
    out = horizon_spreads(change_errors(_logit(np.asarray(rates)), MAX_HORIZON), MAX_HORIZON)
    out.setflags(write=False)
    return out


def logit(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``log(p / (1 − p))``: the log odds (the forecast's draws move rates on this scale)."""
    return np.log(p / (1.0 - p))  # type: ignore[no-any-return]


def expit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The inverse of :func:`logit`."""
    return 1.0 / (1.0 + np.exp(-x))  # type: ignore[no-any-return]


def _logit(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """:func:`logit` of published rates, kept finite (rates of exactly 0 or 1 clipped)."""
    return logit(np.clip(p, _MIN_RATE, _MAX_RATE))


def _schedule_future(
    data: dict[str, Any], node: list[str], key: str, cutoff: pd.Timestamp
) -> tuple[list[dict[str, Any]], bool]:
    """The steps of schedule ``node.key`` up to the cut-off and whether a lever already says
    what comes after (later steps, or a dated policy on the path after the cut-off: both are
    kept and nothing is drawn)."""
    parent = data
    for k in node:
        parent = parent[k]
    sched = parent[key]
    if not isinstance(sched, list):
        sched = [{"date": date(1900, 1, 1), "value": float(sched)}]
    cut = cutoff.date()
    past = [s for s in sched if s["date"] <= cut]
    dotted = ".".join([*node, key])
    policy = any(dotted in q["set"] and q["date"] > cut for q in data.get("policies") or [])
    return past, len(past) < len(sched) or policy


def _annual_log_spreads(values: pd.Series) -> np.ndarray[Any, Any]:
    """:func:`horizon_spreads` of "no change" on the log of annual values (zeros dropped)."""
    v = values.to_numpy(dtype=float)
    return _log_spreads(tuple(v[v > 0].tolist()))


@functools.lru_cache(maxsize=64)
def _log_spreads(values: tuple[float, ...]) -> np.ndarray[Any, Any]:
    """The spreads by horizon of "no change" on the log of ``values`` (the same for every
    replicate: computed once per series)."""
    x = np.log(np.asarray(values, dtype=float))
    out = horizon_spreads(change_errors(x, MAX_HORIZON), MAX_HORIZON)
    out.setflags(write=False)
    return out


def _yearly_steps(
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    level: float,
    spreads: np.ndarray[Any, Any],
    seed: int,
    stream: str,
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    """A step on 1 January of each forecast year ``y`` at ``level·exp(d_y)``, ``d`` the
    :func:`path_draw` of ``spreads`` (stream ``stream``, one ``z`` per year), and the factors."""
    years = _years(cutoff, end)
    z = generator(int(seed), stream).standard_normal(len(years))
    d = path_draw(z, _horizons(spreads, len(years)))
    factor = dict(zip(years, np.exp(d).tolist(), strict=True))
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
    spreads = _annual_log_spreads(whole_years(annual, cutoff))
    steps, factor = _yearly_steps(
        cutoff, end, float(past[-1]["value"]), spreads, seed, "removal_capacity"
    )
    data["returns"]["removal_capacity"] = [*past, *steps]
    draws = {f"returns.removal_capacity_factor.{y}": f for y, f in factor.items()}
    draws["returns.removal_capacity_spread"] = float(spreads[0])
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
        spreads = _annual_log_spreads(_schedule_annual(past))
        steps, factor = _yearly_steps(
            cutoff, end, float(past[-1]["value"]), spreads, seed, "appeal_capacity"
        )
        data["asylum"]["appeals"]["judges"] = [*past, *steps]
        draws.update({f"asylum.appeals.capacity_factor.{y}": f for y, f in factor.items()})
        draws["asylum.appeals.capacity_spread"] = float(spreads[0])
    path = "asylum.appeals.allow_rate"
    cut = cutoff.date()
    policies = data.get("policies") or []
    dated = [(p["date"], float(p["set"][path])) for p in policies if path in p["set"]]
    if dated and not any(d > cut for d, _ in dated):
        by_year = pd.Series({d.year: v for d, v in sorted(dated) if d <= cut})
        if allow_history is not None:
            hist = whole_years(allow_history, cutoff)
            older = hist[hist.index < by_year.index.min()]
            by_year = pd.concat([older, by_year])
        logits = _logit(by_year.to_numpy(dtype=float))
        spreads = horizon_spreads(change_errors(logits, MAX_HORIZON), MAX_HORIZON)
        last = float(by_year.iloc[-1])
        years = _years(cutoff, end)
        z = generator(int(seed), "allow_rate").standard_normal(len(years))
        rates = expit(_logit(np.array([last]))[0] + path_draw(z, _horizons(spreads, len(years))))
        for y, r in zip(years, rates.tolist(), strict=True):
            policies.append(
                {"date": date(y, 1, 1), "set": {path: r}, "note": "drawn (forecast.system)"}
            )
            draws[f"{path}.{y}"] = r
        draws[f"{path}_spread"] = float(spreads[0])
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


class History(NamedTuple):
    """The published yearly series the system's spreads are measured on (None: not published
    in the pack)."""

    returns: pd.Series | None  # asylum-related enforced returns a month, by year
    allow: pd.Series | None  # allowed share of appeals determined, by year
    grant: pd.Series | None  # initial grant rate (grants ÷ grants and refusals), by whole year


def published_history(pack: Path) -> History:
    """The published yearly series the system's spreads are measured on, from the pack's
    ``observed/`` (tools/returns_and_appeals.py): asylum-related enforced returns a month by
    year (``returns_annual.csv``), the allowed share of appeals determined by year
    (``appeals_quarterly.csv``) and the initial grant rate by year with four published quarters
    (``uk_quarterly.csv``); None where the file is absent. The draws keep the years that end by
    the cut-off (:func:`whole_years`)."""
    returns = allow = grant = None
    r = pack / "observed" / "returns_annual.csv"
    if r.is_file():
        t = pd.read_csv(r)
        returns = pd.Series(t["enforced_asylum"].to_numpy(dtype=float) / 12.0, index=t["year"])
    a = pack / "observed" / "appeals_quarterly.csv"
    if a.is_file():
        t = pd.read_csv(a)
        g = t.assign(year=t["period"].str[:4].astype(int)).groupby("year")
        allow = g["determined_allowed"].sum() / g["appeals_determined"].sum()
    u = pack / "observed" / "uk_quarterly.csv"
    if u.is_file():
        t = pd.read_csv(u, dtype={"date": str})
        t = t[t["metric"].isin(["new_grants", "new_refusals"])]
        t = t.assign(year=t["date"].str[:4].astype(int))
        sums = t.pivot_table(index="year", columns="metric", values="value", aggfunc="sum")
        quarters = t.groupby(["year", "metric"])["value"].count().groupby(level=0).min()
        sums = sums.loc[quarters[quarters == 4].index]
        grant = sums["new_grants"] / (sums["new_grants"] + sums["new_refusals"])
    return History(returns, allow, grant)


def whole_years(annual: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    """The years of ``annual`` that end on or before the cut-off (a cut-off inside a year, e.g.
    30 June 2024, keeps the years through 2023: that year's total is not known yet)."""
    last = cutoff.year if (cutoff.month, cutoff.day) == (12, 31) else cutoff.year - 1
    return annual[annual.index <= last]
