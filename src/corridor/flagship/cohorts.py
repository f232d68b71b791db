"""Outcomes by year of claim as known on 30 June 2024, from a run whose inputs stop then.

Reads: a forecast scenario folder and its ``observed/cohort_outcomes.csv`` (the Home Office's
outcome analysis of asylum applications, Jun 2024 release, main applicants, all nationalities:
``tools/build_flagship_data.py`` from the research copy); calibrated values fitted on data
through 2023 (the back-test's last origin: they need nothing after 30 June 2024).

Produces: :func:`cohort_outcomes` — for each claim year 2018-2023, the shares of the claims
(main applicants: the agent engine's agents are cases, so cases are counted, not people):

* ``granted_initial``: granted at the initial decision;
* ``granted_latest``: granted by 30 June 2024, at the initial decision or on appeal;
* ``removed_or_left``: removed or departed (enforced removals, voluntary returns, hub exits);
* ``unresolved``: still awaiting an initial decision;
* ``other``: the rest (withdrawn, absconded, refused and not known to have left, awaiting an
  appeal, in limbo, detained, inadmissible, in a hub);
* ``withdrawn`` (a part of ``other``, to show where the rest goes): withdrawn while awaiting a
  decision; published: withdrawn or an administrative outcome.

``granted_latest + removed_or_left + unresolved + other = 1`` (a partition of the claims);
``granted_initial ≤ granted_latest``. The observed shares use the same partition of the
published counts (returns are among the refused or withdrawn there, as here). A claim refused
and awaiting its appeal counts as refused, as in the outcome analysis: its "final outcome" is the
latest one known, so only claims awaiting an initial decision are "not yet known" there (in the
June 2024 release the final and the initial "not yet known" counts agree for every claim year,
2018-2023: 513, 802, 762, 2,317, 1,464, 49,054 against 513, 804, 762, 2,318, 1,464, 49,054).
The aim (the issue's) is within 5 points on ``granted_initial``, ``granted_latest``,
``removed_or_left`` and ``unresolved``; ``misses`` lists those that are not.

How: the agent engine (one agent per case, ``agents_per_person`` sampling) runs the status quo
from 2018 to 30 June 2024 with every dated input cut on that day
(:func:`corridor.forecast.context.truncate_inputs`). The initial grants of a cohort come from a
second run with the same seed and appeals never allowed: the engine draws each case's chances
from streams keyed by the case, so the initial decisions (and their grants) are the same in
both runs and the second run's grants are exactly the first run's initial grants (the code
checks it: every case granted in the second run is granted in the first).

Invariants: no datum after 30 June 2024 enters the run; shares are in [0, 1].
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CLAIM_YEARS",
    "COHORT_DAY",
    "PARTS",
    "agent_scenario",
    "cohort_outcomes",
    "observed_cohorts",
]

COHORT_DAY = pd.Timestamp("2024-06-30")
CLAIM_YEARS: tuple[int, ...] = (2018, 2019, 2020, 2021, 2022, 2023)
PARTS: tuple[str, ...] = ("granted_latest", "removed_or_left", "unresolved", "other")
AIMED: tuple[str, ...] = ("granted_initial", "granted_latest", "removed_or_left", "unresolved")
SHOWN: tuple[str, ...] = ("granted_initial", *PARTS, "withdrawn")
TOLERANCE = 0.05  # the aim: within 5 points on each share


def observed_cohorts(folder: Path) -> dict[str, dict[str, float]]:
    """The published shares by claim year (``observed/cohort_outcomes.csv``)."""
    df = pd.read_csv(folder / "observed" / "cohort_outcomes.csv")
    out: dict[str, dict[str, float]] = {}
    for year, metric, v in zip(df["claim_year"], df["metric"], df["value"], strict=True):
        out.setdefault(str(year), {})[str(metric)] = float(v)
    return out


def _states() -> dict[str, list[int]]:
    from corridor.asylum import queue_kernels as qk

    return {
        "granted_latest": [qk.GRANTED],
        "removed_or_left": [qk.DEPARTED],
        "unresolved": [qk.WAITING_DECISION, qk.IN_DECISION],
        "other": [
            qk.WITHDRAWN, qk.ABSCONDED, qk.REFUSED, qk.WAITING_APPEAL, qk.IN_APPEAL, qk.LIMBO,
            qk.DETAINED, qk.INADMISSIBLE, qk.IN_HUB,
        ],
    }  # fmt: skip


def agent_scenario(ctx: Any, seed: int, end: pd.Timestamp, agents_per_person: float) -> Any:
    """The status quo's asylum scenario of replicate ``seed`` (its flows after the context's
    cut-off) for the agent engine, run to ``end`` with ``agents_per_person`` sampling."""
    from corridor.forecast.model import prepare_replicate

    loaded, _paths, _draws = prepare_replicate(ctx, ctx.config.variant("status_quo"), seed)
    sc = loaded.scenario.model_copy(
        update={
            "period": loaded.scenario.period.model_copy(update={"end": end.date()}),
            "agents_per_person": agents_per_person,
        }
    )
    return dataclasses.replace(loaded, scenario=sc)


ALLOW = "asylum.appeals.allow_rate"


def cohort_outcomes(
    folder: Path,
    calibrated: dict[str, float],
    seed: int,
    *,
    agents_per_person: float = 0.1,
) -> dict[str, Any]:
    """The model's shares by claim year on 30 June 2024 against the published ones."""
    from corridor.asylum import queue_kernels as qk
    from corridor.asylum.overrides import without_policies
    from corridor.asylum.run import apply_overrides, run_agents
    from corridor.forecast.replicate import prepare_forecast

    ctx = prepare_forecast(
        folder,
        COHORT_DAY.date(),
        pd.Timestamp("2024-12-31").date(),
        refit=True,
        calibrated=calibrated,
    )
    loaded = agent_scenario(ctx, seed, COHORT_DAY, agents_per_person)
    sc = loaded.scenario
    _res, state = run_agents(loaded, seed)
    no_appeal = apply_overrides(without_policies(loaded, ALLOW), {ALLOW: 0.0})
    _res0, state0 = run_agents(no_appeal, seed)
    ag, ag0 = state.agents, state0.agents
    st = np.asarray(ag["state"])
    n = len(st)
    granted_initial = np.asarray(ag0["state"])[:n] == qk.GRANTED
    if np.any(granted_initial & (st != qk.GRANTED)):
        raise RuntimeError(
            "a case granted at its initial decision is not granted in the run with appeals:"
            " the initial decisions differ between the two runs"
        )
    start = pd.Timestamp(sc.period.start)
    t_arr = np.asarray(ag["t_arrive"], dtype=float)
    claimed = st != qk.NOT_CLAIMED
    observed = observed_cohorts(folder)
    groups = _states()
    model: dict[str, dict[str, float]] = {}
    for year in CLAIM_YEARS:
        t0 = (pd.Timestamp(f"{year}-01-01") - start).days
        t1 = (pd.Timestamp(f"{year + 1}-01-01") - start).days
        cases = claimed & (t_arr >= t0) & (t_arr < t1)
        total = float(cases.sum())
        shares = {k: float((cases & np.isin(st, v)).sum()) / total for k, v in groups.items()}
        model[str(year)] = {
            "granted_initial": float((cases & granted_initial).sum()) / total,
            **shares,
            "withdrawn": float((cases & (st == qk.WITHDRAWN)).sum()) / total,
            "cases_sampled": total,
        }
    out: dict[str, Any] = {}
    misses: list[str] = []
    for label, m in model.items():
        o = observed.get(label, {})
        row: dict[str, Any] = {k: m[k] for k in SHOWN}
        row["cases_sampled"] = m["cases_sampled"]
        row["observed"] = {k: o[k] for k in SHOWN if k in o}
        row["difference_points"] = {k: 100.0 * (row[k] - o[k]) for k in SHOWN if k in o}
        row["within_5_points"] = {
            k: abs(d) <= 100 * TOLERANCE for k, d in row["difference_points"].items()
        }
        misses += [f"{label} {k}" for k in AIMED if not row["within_5_points"].get(k, True)]
        out[label] = row
    return {
        "on": str(COHORT_DAY.date()),
        "by_claim_year": out,
        "misses": misses,
        "engine": "agents",
        "agents_per_person": agents_per_person,
        "seed": seed,
        "calibrated": calibrated,
        "note": "shares of claims (main applicants = cases); granted_latest + removed_or_left +"
        " unresolved + other = 1; granted_initial is part of granted_latest, withdrawn part of"
        " other; unresolved: awaiting an initial decision (a refused claim awaiting its appeal"
        " counts as refused, as in the outcome analysis); misses: the aimed shares (granted"
        " initially and by the end, removed or left, unresolved) more than 5 points off."
        " Observed: Home Office outcome analysis, Jun 2024 release"
        " (observed/cohort_outcomes.csv)",
    }
