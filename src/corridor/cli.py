"""The ``corridor`` command (Typer + Rich).

Commands import what they need when they run, so that ``corridor --help`` and short runs start
fast. User mistakes are reported as one clear message (file, line, field, what was expected) and
exit status 2, never as a traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="corridor",
    help="Simulate migration corridors, asylum systems and third-country return hubs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from corridor import __version__

        console.print(f"corridor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Corridor: simulate migration corridors, asylum systems and third-country return hubs.

    Outputs are aggregate (counts, rates, costs for whole populations); Corridor holds no
    personal data.
    """


def main() -> None:
    """Entry point that turns Corridor's own errors into messages."""
    from corridor.errors import CorridorError

    try:
        app()
    except CorridorError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


@contextmanager
def progress_bar(label: str, min_seconds: float = 1.0) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that shows a Rich bar once a run has lasted ``min_seconds``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    t0 = time.perf_counter()
    state: dict[str, Any] = {"bar": None, "task": None}

    def update(done: int, total: int) -> None:
        if state["bar"] is None:
            if time.perf_counter() - t0 < min_seconds or done >= total:
                return
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done)

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].stop()


@app.command()
def flee(
    input_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder with Flee's input CSV files, a case folder holding input/ and "
            "observed/, or the name of a shipped case ('synthetic')."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write results to.")],
    observed: Annotated[
        Path | None, typer.Option("--observed", help="Folder with data_layout.csv and counts.")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option("--settings", help="Flee settings YAML (simsetting.yml).")
    ] = None,
    days: Annotated[int | None, typer.Option("--days", min=0, help="Days to simulate.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Run a Flee-format case with Flee's movement rules and compare with observed counts.

    Writes OUT/camps.csv (day, date, camp, simulated, observed), OUT/metrics.json and
    OUT/camps.png.
    """
    from rich.table import Table

    from corridor.report.camps_plot import PlotInBackground

    # The plot process starts first: it imports matplotlib while this one loads the engine.
    with PlotInBackground(out / "camps.png") as plot:
        from corridor.flee_run import resolve_case, run_flee
        from corridor.results.atomic import write_json, write_text

        input_dir, observed = resolve_case(input_dir, observed)

        with progress_bar("simulating") as update:
            result = run_flee(
                input_dir, observed, settings=settings, days=days, seed=seed, progress=update
            )
        plot.draw(result.camps, f"{input_dir.resolve().parent.name}: simulated vs observed")
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "camps.csv", result.camps.to_csv(index=False))
        write_json(out / "metrics.json", result.metrics)

    last = result.camps[result.camps["day"] == result.camps["day"].max()]
    table = Table(title=f"Camps on {last['date'].iloc[0] if len(last) else '-'}")
    table.add_column("camp")
    table.add_column("simulated", justify="right")
    table.add_column("observed", justify="right")
    for row in last.itertuples():
        obs = "-" if row.observed != row.observed else f"{int(row.observed):,}"
        table.add_row(str(row.camp), f"{int(row.simulated):,}", obs)
    console.print(table)
    m = result.metrics
    console.print(
        f"ARD {m['ard']:.4f} over {m['days']} days · {m['agents_peak']:,} agents · "
        f"loop {m['seconds']:.2f} s · results in {out}"
    )


def _register() -> None:
    """Commands that live in their own modules.

    Each module imports only Typer at import time; a command imports what it needs when it runs.
    """
    from corridor import (
        cli_analysis,
        cli_asylum,
        cli_flagship,
        cli_report,
        cli_routes,
        cli_runs,
        cli_scenario,
        cli_web,
    )

    for command in (
        cli_runs.run,
        cli_flagship.backtest,
        cli_flagship.refit,
        cli_runs.ensemble,
        cli_runs.runs,
        cli_runs.query,
        cli_runs.export,
        cli_runs.compare,
        cli_scenario.validate,
        cli_scenario.schema,
        cli_asylum.breakeven,
        cli_routes.routes,
        cli_analysis.calibrate,
        cli_analysis.sensitivity,
        cli_report.report,
        cli_web.serve,
    ):
        app.command()(command)


_register()


if __name__ == "__main__":  # pragma: no cover
    main()
