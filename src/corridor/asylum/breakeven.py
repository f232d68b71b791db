"""Break-even deterrence: the share of arrivals a relocation policy must deter to pay for itself.

The Home Office unit (Illegal Migration Bill economic impact assessment, June 2023): with

* ``G`` — the policy's gross cost per person relocated (third-country costs ÷ people transferred
  to hubs, :func:`~corridor.asylum.costs.cost_per_person_relocated`), and
* ``S`` — the cost avoided per person deterred: the baseline's cost per arrival over the horizon
  (all costs ÷ arrivals, :func:`~corridor.asylum.costs.cost_per_arrival`),

a policy that relocates every arrival costs ``(1 − d)·G`` per would-be arrival when a share
``d`` is deterred, against ``S`` without it; it breaks even at ``(1 − d*)·G = S``, so
``d* = 1 − S/G``. ``d* ≤ 0`` means the policy saves money with no deterrence at all.

Both ``G`` and ``S`` come from the engines' own cost accounting: each scenario is run with the
aggregate engine (or the agent engine) and deterrence switched off (so neither the base's
arrivals nor the policy's relocations already contain a behavioural response), not typed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from corridor.asylum.costs import (
    cost_per_arrival,
    cost_per_person_relocated,
    third_country_cost,
)
from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import run_scenario
from corridor.errors import InputError
from corridor.scenario.loaded import LoadedScenario

__all__ = ["BreakEven", "breakeven", "breakeven_of"]

_NO_DETERRENCE = {"deterrence.enabled": False}


@dataclass(frozen=True)
class BreakEven:
    """The break-even deterrence share and its inputs (nominal pounds; people)."""

    share: float
    """d* = 1 − S/G: share of arrivals that must be deterred for costs to equal savings."""
    gross_cost_per_relocated_gbp: float
    """G: the policy's third-country costs per person transferred to a hub."""
    saving_per_deterred_gbp: float
    """S: the baseline's total costs per arrival over its horizon."""
    net_cost_per_relocated_gbp: float
    """G − S: the extra cost of relocating one person rather than keeping them (no deterrence)."""
    base_name: str
    policy_name: str
    base_total_gbp: float
    base_arrivals: float
    policy_third_country_gbp: float
    policy_relocated: float


def _check_no_deterrence_policy(loaded: LoadedScenario) -> None:
    for policy in loaded.scenario.policies:
        if policy.set.get("deterrence.enabled") is True:
            raise InputError(
                f"scenario {loaded.name!r}: a policy of {policy.date} switches deterrence on;"
                " the break-even share needs both runs without deterrence",
                field="policies",
                expected="no policy setting deterrence.enabled to true",
            )


def breakeven(
    loaded_base: LoadedScenario,
    loaded_policy: LoadedScenario,
    *,
    engine: Literal["aggregate", "agents"] = "aggregate",
    seed: int | None = None,
) -> BreakEven:
    """Break-even deterrence share of ``loaded_policy`` against ``loaded_base``.

    Runs both with ``engine`` (the agent engine with ``seed``) and deterrence off. Raises
    :class:`InputError` if the policy relocates nobody or the base has no arrivals (``G`` or
    ``S`` undefined).
    """
    for loaded in (loaded_base, loaded_policy):
        _check_no_deterrence_policy(loaded)
    base = run_scenario(loaded_base, seed=seed, engine=engine, overrides=_NO_DETERRENCE)
    pol = run_scenario(loaded_policy, seed=seed, engine=engine, overrides=_NO_DETERRENCE)
    return breakeven_of(base, pol, loaded_base.name, loaded_policy.name)


def breakeven_of(
    base: ScenarioResult, pol: ScenarioResult, base_name: str, policy_name: str
) -> BreakEven:
    """Break-even deterrence share from a baseline run and a policy run (deterrence off)."""
    s = cost_per_arrival(base.costs, base.flows)
    g = cost_per_person_relocated(pol.costs, pol.flows)
    if math.isnan(s):
        raise InputError(f"scenario {base_name!r} has no arrivals", field="arrivals")
    if math.isnan(g):
        raise InputError(
            f"scenario {policy_name!r} relocates nobody (no hub transfers)",
            field="hubs",
            expected="an operating hub that takes people",
        )
    return BreakEven(
        share=1.0 - s / g if g > 0 else -math.inf,
        gross_cost_per_relocated_gbp=g,
        saving_per_deterred_gbp=s,
        net_cost_per_relocated_gbp=g - s,
        base_name=base_name,
        policy_name=policy_name,
        base_total_gbp=float(base.costs["gbp"].sum()),
        base_arrivals=float(base.flows["new_arrivals"].sum()),
        policy_third_country_gbp=third_country_cost(pol.costs),
        policy_relocated=float(pol.flows["new_hub_transfers"].sum()),
    )
