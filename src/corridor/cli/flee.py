"""The ``corridor flee`` command: a Flee-format case run with Flee's movement rules.

A plain Typer command function, registered in :mod:`corridor.cli` with ``app.command()(...)``.
It imports what it needs when it runs, so that ``corridor --help`` stays fast.

Its whole process is timed against Flee (``benchmarks/vs_flee.py``), so start-up counts: the
camp plot is laid out and its background drawn in a forked process while this one simulates,
Numba loads without SciPy's BLAS (:mod:`corridor.engine.numba_start`) and with no garbage
collection until the engine is loaded (:func:`corridor.cli.progress.start_up`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridor.cli.progress import MAX_SEED, console, progress_bar, start_up

__all__ = ["flee"]


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
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed.")] = 0,
) -> None:
    """Run a Flee-format case with Flee's movement rules and compare with observed counts.

    Writes OUT/camps.csv (day, date, camp, simulated, observed), OUT/metrics.json and
    OUT/camps.png.
    """
    from rich.table import Table

    from corridor.report.camps_plot import PlotInBackground

    # The plot process starts first: it imports matplotlib while this one loads the engine.
    with PlotInBackground(out / "camps.png") as plot, start_up() as started:
        from corridor.atomic import write_json, write_text
        from corridor.engine.numba_start import load_cpu_target
        from corridor.flee_run import resolve_case, run_flee

        input_dir, observed = resolve_case(input_dir, observed)
        plot.title = f"{input_dir.resolve().parent.name}: simulated vs observed"
        load_cpu_target()  # this process runs Flee's kernels alone: Numba starts without BLAS
        started()

        with progress_bar("simulating") as update:
            result = run_flee(
                input_dir,
                observed,
                settings=settings,
                days=days,
                seed=seed,
                progress=update,
                before_loop=plot.start,
            )
        plot.draw(result.columns)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "camps.csv", result.camps_csv())
        write_json(out / "metrics.json", result.metrics)

    c = result.columns
    last = (c["day"] == c["day"].max()).nonzero()[0] if len(c["day"]) else []
    table = Table(title=f"Camps on {c['date'][last[0]] if len(last) else '-'}")
    table.add_column("camp")
    table.add_column("simulated", justify="right")
    table.add_column("observed", justify="right")
    for i in last:
        obs = c["observed"][i]
        shown = "-" if obs != obs else f"{int(obs):,}"
        table.add_row(str(c["camp"][i]), f"{int(c['simulated'][i]):,}", shown)
    console.print(table)
    m = result.metrics
    console.print(
        f"ARD {m['ard']:.4f} over {m['days']} days · {m['agents_peak']:,} agents · "
        f"loop {m['seconds']:.2f} s · results in {out}"
    )
