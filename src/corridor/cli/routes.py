"""The ``corridor routes`` command: run a scenario's route network on its own.

A plain Typer command function, registered in :mod:`corridor.cli` with ``app.command()(...)``.
It imports what it needs when it runs, so that ``corridor --help`` stays fast. Mistakes in the
scenario or the options are printed as located messages with exit status 2, never a traceback.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corridor.cli.progress import MAX_SEED

if TYPE_CHECKING:
    from rich.console import Console

    from corridor.errors import CorridorError
    from corridor.routes.run import RoutesResult

__all__ = ["OUTPUT_FILES", "routes"]

OUTPUT_FILES = ("link_flows.csv", "events.csv", "arrivals.csv", "flows_map.png")
"""What ``corridor routes`` writes to its ``--out`` folder."""
_SHOWN = ("attempt", "interception", "death", "crossing")  # event kinds printed by crossing


def routes(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario folder (holding scenario.yaml) with a network: section, or the name "
            "of a shipped scenario (e.g. balkans-routes).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write results to (default: ./routes/<scenario name>).",
            show_default=False,
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Days to simulate (default: the scenario's period).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            max=MAX_SEED,
            help="Random seed (default: the scenario's seed).",
            show_default=False,
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a parameter: dotted.path=value (repeat for several), e.g. "
            "network.conditions.me_rail.met=true or "
            "network.crossings.Calais-Dover.interception=0.6.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a scenario's route network alone, from the first day of its period.

    Writes OUT/link_flows.csv (date, link, from, to, people entering the link that day),
    OUT/events.csv (date, crossing, kind, count), OUT/arrivals.csv (date, destination, origin,
    people) and OUT/flows_map.png (people a month on each link), each file atomically. Prints
    attempts, interceptions, deaths and crossings by crossing (events, as Frontex counts
    detections: one person intercepted twice is two interceptions) and arrivals by destination.
    """
    from rich.console import Console

    from corridor.errors import CorridorError

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        result, name = _run(scenario, days, seed, sets)
        folder = out if out is not None else Path("routes") / name
        _write(result, folder, name)
    except CorridorError as exc:
        _report(err, scenario, exc)
        raise typer.Exit(code=2) from None
    _print(Console(soft_wrap=True, highlight=False), result, name, folder)


def _run(
    scenario: str, days: int | None, seed: int | None, sets: list[str] | None
) -> tuple[RoutesResult, str]:
    from corridor.cli.progress import progress_bar
    from corridor.cli.runs import parse_sets
    from corridor.errors import InputError
    from corridor.routes.run import run_network
    from corridor.scenario.loader import load_scenario

    loaded = load_scenario(scenario, parse_sets(sets))
    sc = loaded.scenario
    if sc.network is None:
        raise InputError(
            f"scenario {sc.name!r} has no route network",
            file=loaded.folder / "scenario.yaml",
            field="network",
            expected="a network: section (places, links, crossings, origins), as in the "
            "shipped scenario balkans-routes",
        )
    n_days = days if days is not None else (sc.period.end - sc.period.start).days + 1
    with progress_bar("routes") as update:
        result = run_network(
            sc.network,
            n_days,
            sc.seed if seed is None else seed,
            sc.period.start,
            progress=update,
        )
    return result, sc.name


def _write(result: RoutesResult, folder: Path, name: str) -> None:
    from corridor.atomic import write_text
    from corridor.routes.maps import save_flow_map

    try:
        folder.mkdir(parents=True, exist_ok=True)
        frames = (result.link_flows, result.events, result.arrivals)
        for file, frame in zip(OUTPUT_FILES[:3], frames, strict=True):
            write_text(folder / file, frame.to_csv(index=False, date_format="%Y-%m-%d"))
        last = result.start + timedelta(days=result.days - 1)
        save_flow_map(
            result,
            folder / OUTPUT_FILES[3],
            title=f"{name}: people a month on each link, {result.start} to {last}",
        )
    except OSError as exc:
        from corridor.errors import InputError

        raise InputError(
            f"cannot write results: {exc.strerror or exc}",
            file=exc.filename or folder,
            field="--out",
            expected="a folder that can be written to",
        ) from None


def _report(console: Console, scenario: str, exc: CorridorError) -> None:
    from rich.markup import escape

    from corridor.errors import InputErrors

    problems = exc.errors if isinstance(exc, InputErrors) else [exc]
    n = len(problems)
    console.print(
        f"[bold red]{n} problem{'s' if n != 1 else ''}[/] in scenario {escape(scenario)}:"
    )
    for p in problems:
        console.print(f"  [red]•[/] {escape(str(p))}")


def _print(console: Console, result: RoutesResult, name: str, folder: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    last = result.start + timedelta(days=result.days - 1)
    counts = (
        result.events.pivot_table(
            index="crossing", columns="kind", values="count", aggfunc="sum", fill_value=0
        )
        .reindex(index=list(result.graph.cross_key), columns=list(_SHOWN), fill_value=0)
        .astype("int64")
    )
    table = Table(title=f"{escape(name)}: events by crossing, {result.start} to {last}")
    table.add_column("crossing", no_wrap=True)
    for kind in _SHOWN:
        table.add_column(kind + "s", justify="right")
    for key, row in counts.iterrows():
        table.add_row(escape(str(key)), *(f"{int(c):,}" for c in row))
    table.caption = (
        "Events, not people: someone intercepted twice is two interceptions."
        " Pushbacks and detentions (parts of interceptions) are in events.csv."
    )
    console.print(table)

    arrived = result.arrivals.groupby("destination")["people"].sum()
    dests = Table(title="Arrivals by destination")
    dests.add_column("destination")
    dests.add_column("people", justify="right")
    for dest in dict.fromkeys(result.graph.names[int(i)] for i in result.graph.dests):
        dests.add_row(escape(dest), f"{int(arrived.get(dest, 0)):,}")
    console.print(dests)
    m = result.metrics
    console.print(
        f"{m['agents']:,} people over {result.days} days · {m['routes']} routes · "
        f"loop {m['loop_seconds']:.2f} s · results in {escape(str(folder))}"
    )
