"""The ``corridor breakeven`` command: the break-even deterrence share of a relocation policy.

A plain Typer command function, registered in :mod:`corridor.cli` with ``app.command()(...)``.
It imports what it needs when it runs, so that ``corridor --help`` stays fast. Corridor's own
errors (an unknown scenario, a bad table, a policy that relocates nobody) are printed as one
message and exit with status 2, never as a traceback.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from corridor.cli.progress import MAX_SEED

if TYPE_CHECKING:
    from corridor.asylum.breakeven import BreakEven
    from corridor.flagship.breakeven import VariantBreakEven

__all__ = ["EngineChoice", "breakeven"]


class EngineChoice(StrEnum):
    """Which engine prices the two runs."""

    aggregate = "aggregate"
    agents = "agents"


_ORDER_HINT = (
    "SCENARIO is the baseline (no relocation) and --policy the variant with the relocation"
    " policy, e.g. `corridor breakeven ia-2023-baseline --policy ia-2023`"
)


def breakeven(
    scenario: Annotated[
        str,
        typer.Argument(
            help="The baseline: a scenario folder or the name of a shipped scenario.",
            show_default=False,
        ),
    ],
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="The policy (relocation to a third country): a scenario folder or name, or,"
            " when SCENARIO has a forecast (uk-balkans), one of its variant ids (hub_kosovo).",
            show_default=False,
        ),
    ],
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates",
            min=1,
            help="A forecast's variant: replicates (default the forecast's, 20).",
        ),
    ] = None,
    engine: Annotated[
        EngineChoice, typer.Option("--engine", help="Engine that prices both runs.")
    ] = EngineChoice.aggregate,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", min=0, max=MAX_SEED, help="Seed of the agent runs (default: the scenario's)."
        ),
    ] = None,
    agents_per_person: Annotated[
        float | None,
        typer.Option(
            "--agents-per-person",
            min=0.0,
            max=1.0,
            help="Sample the agent runs (e.g. 0.1: one agent per 10 cases).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Share of arrivals that must be deterred for a relocation policy to pay for itself.

    The Home Office unit (Illegal Migration Bill impact assessment, June 2023): with G the
    policy's third-country cost per person relocated and S the baseline's cost per arrival
    (what a deterred arrival would have cost), the policy breaks even when a share
    d* = 1 − S/G of arrivals is deterred. Both scenarios run with deterrence off. On a scenario
    with a forecast, --policy may name a variant: d* over its replicates against the status quo
    (same flows), as p10 / p50 / p90.
    """
    from corridor.errors import CorridorError

    try:
        variant = _variant_breakeven(scenario, policy, engine, replicates)
        if variant is not None:
            _print_variant(variant, engine, as_json)
            return
        result = _compute(scenario, policy, engine, seed, agents_per_person)
    except CorridorError as exc:
        _fail(str(exc))
    if as_json:
        import json

        typer.echo(json.dumps(_as_dict(result, engine), allow_nan=True))
        return
    _print_table(result, engine)


def _fail(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True, highlight=False).print(
        f"[bold red]error:[/] {escape(message)}"
    )
    raise typer.Exit(code=2)


def _compute(
    base_ref: str,
    policy_ref: str,
    engine: EngineChoice,
    seed: int | None,
    agents_per_person: float | None,
) -> BreakEven:
    from corridor.asylum.breakeven import breakeven as breakeven_of_scenarios
    from corridor.errors import InputError
    from corridor.scenario.loader import load_scenario

    overrides: dict[str, object] = {}
    if agents_per_person is not None:
        if agents_per_person <= 0:
            raise InputError(
                f"--agents-per-person {agents_per_person}",
                field="--agents-per-person",
                expected="a share in (0, 1]",
            )
        overrides["agents_per_person"] = agents_per_person
    base = load_scenario(base_ref, overrides)
    pol = load_scenario(policy_ref, overrides)
    try:
        return breakeven_of_scenarios(base, pol, engine=engine.value, seed=seed)
    except InputError as exc:
        if exc.field == "hubs":  # the policy relocates nobody: perhaps the order is swapped
            raise InputError(exc.message, field=exc.field, expected=_ORDER_HINT) from exc
        raise


def _variant_breakeven(
    base_ref: str, policy_ref: str, engine: EngineChoice, replicates: int | None
) -> VariantBreakEven | None:
    """The variant's break-even when ``base_ref`` has a forecast and ``policy_ref`` is not a
    scenario folder or shipped name; None otherwise."""
    from pathlib import Path

    from corridor.errors import InputError
    from corridor.forecast.config import has_forecast
    from corridor.scenario.loader import resolve_scenario

    base = resolve_scenario(base_ref)
    if not has_forecast(base):
        return None
    try:
        resolve_scenario(policy_ref)
        return None  # a scenario of its own
    except InputError:
        pass
    from corridor.flagship.breakeven import variant_breakeven

    return variant_breakeven(Path(base), policy_ref, replicates=replicates, engine=engine.value)


def _print_variant(result: VariantBreakEven, engine: EngineChoice, as_json: bool) -> None:
    fields = {
        "share": "break-even share d*",
        "gross_cost_per_relocated_gbp": "G: cost per person relocated",
        "saving_per_deterred_gbp": "S: saving per person deterred",
        "net_cost_per_relocated_gbp": "G − S: net cost per person relocated",
        "policy_relocated": "people relocated",
    }
    if as_json:
        import json
        from dataclasses import asdict

        doc = {
            "engine": engine.value,
            "variant": result.variant,
            "replicates": len(result.replicates),
            **{f: result.quantiles(f) for f in fields},
            "by_replicate": [asdict(r) for r in result.replicates],
        }
        typer.echo(json.dumps(doc, allow_nan=True))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def show(field: str, x: float) -> str:
        if not math.isfinite(x):
            return str(x)
        if field == "share":
            return f"{x:.1%}"
        return f"{x:,.0f}" if field == "policy_relocated" else f"£{x:,.0f}"

    table = Table(
        title=f"Break-even deterrence: {escape(result.variant)} against the status quo, "
        f"{len(result.replicates)} replicates ({engine.value} engine, deterrence off)"
    )
    for col in ("quantity", "p50", "p10", "p90"):
        table.add_column(col, justify="left" if col == "quantity" else "right")
    for field, label in fields.items():
        q = result.quantiles(field)
        table.add_row(label, *(show(field, q[k]) for k in ("p50", "p10", "p90")))
    Console(highlight=False).print(table)


def _as_dict(result: BreakEven, engine: EngineChoice) -> dict[str, Any]:
    from dataclasses import asdict

    return {"engine": engine.value, **asdict(result)}


def _print_table(result: BreakEven, engine: EngineChoice) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def gbp(x: float) -> str:
        return f"£{x:,.0f}" if math.isfinite(x) else str(x)

    share = result.share
    table = Table(
        title=f"Break-even deterrence: {escape(result.policy_name)} against "
        f"{escape(result.base_name)} ({engine.value} engine, deterrence off)"
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("how", style="dim")
    table.add_row(
        "[bold]break-even share d*[/]",
        f"[bold]{share:.1%}[/]" if math.isfinite(share) else str(share),
        "1 − S/G: share of arrivals to deter for costs to equal savings",
    )
    table.add_row(
        "G: cost per person relocated",
        gbp(result.gross_cost_per_relocated_gbp),
        "policy third-country costs ÷ people relocated",
    )
    table.add_row(
        "S: saving per person deterred",
        gbp(result.saving_per_deterred_gbp),
        "baseline costs ÷ baseline arrivals",
    )
    table.add_row(
        "G − S: net cost per person relocated", gbp(result.net_cost_per_relocated_gbp), ""
    )
    table.add_row("policy third-country costs", gbp(result.policy_third_country_gbp), "")
    table.add_row("people relocated", f"{result.policy_relocated:,.0f}", "policy run")
    table.add_row("baseline costs", gbp(result.base_total_gbp), "")
    table.add_row("baseline arrivals", f"{result.base_arrivals:,.0f}", "people")
    console = Console(highlight=False)
    console.print(table)
    if math.isfinite(share) and share <= 0:
        console.print("d* ≤ 0: the policy saves money with no deterrence at all.")
