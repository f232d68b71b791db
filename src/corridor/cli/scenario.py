"""The ``corridor validate``, ``corridor schema`` and ``corridor levers`` commands.

Plain Typer command functions, registered in :mod:`corridor.cli` with ``app.command()(...)``.
They import what they need when they run, so that ``corridor --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["levers", "schema", "validate"]


def validate(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario folder (holding scenario.yaml), or the name of a shipped scenario.",
            show_default=False,
        ),
    ],
) -> None:
    """Check a scenario: its scenario.yaml, every parent it extends, and its CSV tables.

    Prints "OK: <name> (<n> tables)" when all is well.

    Otherwise lists every problem (file, line, field, what was expected) and exits with 2.
    """
    from rich.console import Console
    from rich.markup import escape

    from corridor.scenario.loader import check_scenario

    result = check_scenario(scenario)
    if result.errors:
        out = Console(stderr=True, soft_wrap=True, highlight=False)
        n = len(result.errors)
        out.print(
            f"[bold red]{n} problem{'s' if n != 1 else ''}[/] in scenario {escape(scenario)}:"
        )
        for err in result.errors:
            out.print(f"  [red]•[/] {escape(str(err))}")
        raise typer.Exit(code=2)
    assert result.loaded is not None
    n = len(result.table_files)
    Console(soft_wrap=True, highlight=False).print(
        f"[green]OK[/]: {escape(result.loaded.name)} ({n} table{'s' if n != 1 else ''})"
    )


def schema(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the JSON Schema to this file instead of printing it."),
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of scenario.yaml, for editors and other tools."""
    import json

    from corridor.scenario.loader import scenario_json_schema

    doc = scenario_json_schema()
    if out is None:
        typer.echo(json.dumps(doc, indent=2))
        return
    from corridor.atomic import write_json

    write_json(out, doc)
    typer.echo(f"wrote {out}", err=True)


def levers(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario folder (holding scenario.yaml), or the name of a shipped scenario.",
            show_default=False,
        ),
    ],
) -> None:
    """List the levers of a scenario (dotted paths a policy can set, with the scenario's value,
    bounds and source) and its named variants with the levers each sets.

    A lever is used as --set path=value (corridor run / ensemble), --policy NAME=path=value, or
    in a variant's levers: in scenario.yaml; on a scenario with a forecast it acts from the
    forecast's start (a value {from: DATE, value: V} names another date), never on the past.
    """
    from rich.console import Console
    from rich.table import Table

    from corridor.scenario.lever_catalog import lever_rows, variant_rows
    from corridor.scenario.loader import load_scenario

    loaded = load_scenario(scenario)
    console = Console(highlight=False, soft_wrap=False)
    table = Table(title=f"{loaded.name}: levers")
    for col in ("path", "value", "bounds", "what", "source"):
        table.add_column(col, overflow="fold")
    for row in lever_rows(loaded):
        table.add_row(*(row[c] for c in ("path", "value", "bounds", "what", "source")))
    console.print(table)
    variants = variant_rows(loaded)
    if variants:
        vt = Table(title=f"{loaded.name}: variants (corridor run {loaded.name} --variant ID)")
        for col in ("id", "label", "kind", "levers"):
            vt.add_column(col, overflow="fold")
        for row in variants:
            vt.add_row(*(row[c] for c in ("id", "label", "kind", "levers")))
        console.print(vt)
