"""The ``corridor report`` command: one self-contained HTML report of stored runs.

A plain Typer command function, registered in :mod:`corridor.cli` with
``app.command()(report.report)``. It imports what it needs when it runs. Mistakes (a run
that is not in the store, a missing store) raise :class:`~corridor.errors.InputError`, which the
``corridor`` entry point prints as one message with exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["report"]


def report(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run ids, ensemble ids (all their replicates, one group per policy), "
            "ENSEMBLE:POLICY, or policy names (the latest ensemble holding them).",
            show_default=False,
        ),
    ],
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Results store folder (default: $CORRIDOR_RESULTS, else ./results).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="HTML file to write; figures go to <stem>_figures/ beside it."),
    ] = Path("report.html"),
    scenario: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario",
            help="Scenario folder of runs whose scenario is not shipped (repeat for several).",
            show_default=False,
        ),
    ] = None,
    observed: Annotated[
        Path | None,
        typer.Option(
            "--observed",
            help="Folder of observed UK series (research CSVs; default $CORRIDOR_RESEARCH or a "
            "shared/research folder above the working directory).",
            show_default=False,
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Report title.", show_default=False)
    ] = None,
) -> None:
    """Write one HTML report (fan charts, policy comparison, pipeline flow, costs, assumptions)
    that opens offline, plus its PNG figures."""
    from corridor.errors import InputError
    from corridor.report.html import build_report, figures_dir
    from corridor.results.store import Store, default_store_path

    root = results if results is not None else default_store_path()
    if not (root / "catalog.duckdb").is_file():
        raise InputError(
            f"no results store at {root}",
            field="--results",
            expected="a folder written by `corridor run` or `corridor ensemble`",
        )
    store = Store.open(root)
    path = build_report(
        runs, store, out, scenarios=scenario or None, observed_dir=observed, title=title
    )
    size = path.stat().st_size
    typer.echo(f"report written to {path} ({size / 1e6:.1f} MB); figures in {figures_dir(path)}")
