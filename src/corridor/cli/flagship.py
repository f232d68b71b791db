"""``corridor backtest``, ``corridor refit`` and the flagship main job behind ``corridor run``
(scenarios with a ``forecast:``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from corridor.cli.progress import quiet_optuna

if TYPE_CHECKING:
    from corridor.results.store import Store

ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario name or folder (with a forecast: section).")
]


def _signed(x: float | None) -> str:
    from corridor.flagship.summaries import fmt_number

    if x is None:
        return "–"
    text = fmt_number(x, compact=True)
    return text if x <= 0 or text == "0" else f"+{text}"


def run_main_job(
    folder: Path,
    out: Path | None,
    replicates: int | None,
    workers: int | None,
    variants: list[str] | None,
    store: Store | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    levers: dict[str, Any] | None = None,
    seed: int | None = None,
) -> None:
    """Run every policy variant of a flagship pack and print the comparison."""
    from rich.console import Console
    from rich.table import Table

    from corridor.cli.progress import progress_bar
    from corridor.flagship.job import run_flagship
    from corridor.flagship.summaries import TABLE_METRICS, fmt_number

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:  # a log file or pipe: do not squeeze the table into 80 columns
        console = Console(highlight=False, soft_wrap=True, width=max(console.width, 140))
    dest = out or Path("corridor-out") / folder.name
    with progress_bar("replicates", min_seconds=0.0) as progress:
        run = run_flagship(
            folder, dest, replicates=replicates, workers=workers, variants=variants,
            progress=progress, store=store, engine=engine, scheduler=scheduler, levers=levers,
            seed=seed,
        )  # fmt: skip
    years = sorted(int(y) for y in next(iter(run.summary.values())))
    table = Table(
        title=f"{folder.name}: {years[0]}-{years[-1]}, median over {run.replicates} replicates"
        " (10-90%)",
    )
    table.add_column("variant", no_wrap=True)
    short = {
        "small_boat_arrivals": "arrivals", "backlog_end": "awaiting", "initial_decisions":
        "decisions", "removals": "removals", "hub_transfers": "to hubs", "in_hub_end": "in hubs",
        "limbo_end": "limbo", "deaths": "deaths", "enforced_removals": "enforced",
        "cost_limbo_gbp": "limbo £", "cost_gbp": "cost £", "cost_pv_gbp": "PV £",
        "cost_per_additional_removal": "£/extra removal",
    }  # fmt: skip
    cols = [*TABLE_METRICS, ("cost_per_additional_removal", "", "Cost per additional removal £")]
    for m, _h, _label in cols:
        table.add_column(short[m], justify="right")
    for vid, row in run.table.iterrows():
        table.add_row(str(vid), *[fmt_number(row[m], compact=True) for m, _h, _l in cols])
    console.print(table)
    console.print(
        "totals over the years (stocks at the end); 10-90% ranges in summary.json and the report"
    )
    if run.differences:
        diff = Table(
            title=f"change against status_quo, {years[0]}-{years[-1]}, paired replicates: median",
        )
        diff.add_column("variant", no_wrap=True)
        shown = [m for m, _h, _l in TABLE_METRICS if m not in ("in_hub_end", "hub_transfers")]
        for m in shown:
            diff.add_column(short[m], justify="right")
        for vid, per in run.differences.items():
            diff.add_row(
                vid,
                *[_signed(per[m]["p50"]) for m in shown],
            )
        console.print(diff)
        console.print(
            "10-90% ranges and the share of replicates below the status quo:"
            f" {dest / 'differences.json'} and the report"
        )
    console.print(
        f"wall time {run.seconds:.1f} s ({run.replicates} replicates x {len(run.table)} variants,"
        f" {run.workers} worker(s))"
    )
    console.print(f"summary: {dest / 'summary.json'}")
    console.print(f"report:  {dest / 'report.html'}")
    root = store.root if store is not None else "the results store"
    console.print(
        f"ensemble {run.ensemble_id}: every replicate stored in {root} (tables stocks, flows,"
        f" costs, routes, metrics; `corridor runs --ensemble {run.ensemble_id}`); summary run"
        f" {run.run_id} (tables flagship_yearly, flagship_summary, flagship_differences)"
    )


def backtest(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: corridor-out/<scenario>-backtest)."),
    ] = None,
    replicates: Annotated[
        int, typer.Option("--replicates", min=10, help="Status-quo replicates for the bands.")
    ] = 100,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes (default: CPUs, at most 8)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address (e.g. tcp://host:8786)."),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Results store for the replicates (default: $CORRIDOR_RESULTS, else ./results).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run past the soft limits of the resource estimate.")
    ] = False,
) -> None:
    """Back-test the forecast on the past (writes OUT/backtest.json).

    Rolling origins end-2020, -2021, -2022 and -2023: at each, the asylum calibration, the flow
    series and the route preferences are refitted on data through the origin only and the
    status quo forecasts the next 1-3 calendar years (through 2024), scored against no-change
    and seasonal-naive forecasts; outcomes by year of claim on 30 June 2024; the January-March
    2023 claims on 30 Sep 2025. The replicates run through the same entry and pool as
    `corridor run` and are stored in the results store."""
    from rich.console import Console
    from rich.table import Table

    from corridor.flagship.backtest import backtest as run_backtest
    from corridor.scenario.loader import resolve_scenario

    quiet_optuna()
    folder = resolve_scenario(scenario)
    dest = out or Path("corridor-out") / f"{folder.name}-backtest"
    import os

    w = workers if workers is not None else min(os.cpu_count() or 1, 8)
    from corridor.analysis.budget import forced
    from corridor.results.store import Store

    with forced(force):  # the estimate is made by the ensemble inside
        res = run_backtest(
            folder,
            dest,
            replicates=replicates,
            workers=w,
            store=Store.open(results),
            scheduler=scheduler,
        )
    console = Console(highlight=False, soft_wrap=True)
    rolling = res["rolling"]
    for h, per_metric in rolling["horizons"].items():
        table = Table(title=f"rolling origins {', '.join(rolling['origins'])}: {h} year(s) ahead")
        for c in ("metric", "n", "MAPE model %", "no change %", "seasonal naive %", "in 80%",
                  "in 95%"):  # fmt: skip
            table.add_column(c, justify="right")
        for name, s in per_metric.items():
            table.add_row(
                name, str(s["n"]), f"{s['mape']:.1f}", f"{s['mape_no_change']:.1f}",
                f"{s['mape_seasonal_naive']:.1f}", f"{100 * s['coverage80']:.0f}%",
                f"{100 * s['coverage95']:.0f}%",
            )  # fmt: skip
        p = rolling["pooled"][h]
        table.add_row("pooled", str(p["n"]), "", "", "", f"{100 * p['coverage80']:.0f}%",
                      f"{100 * p['coverage95']:.0f}%")  # fmt: skip
        console.print(table)
    aims = rolling["aims"]
    for h, a in aims["by_horizon"].items():
        lose = ", ".join(a["metrics_losing_to_no_change"]) or "none"
        console.print(
            f"{h} year(s) ahead: mean MAPE {a['mean_mape']:.1f}% against no change"
            f" {a['mean_mape_no_change']:.1f}%; loses to no change on: {lose}"
        )
    misses = res["cohorts"]["misses"]
    console.print(
        f"outcomes by year of claim on {res['cohorts']['on']}: {len(misses)} of the 24 aimed"
        f" shares more than 5 points off{': ' + ', '.join(misses) if misses else ''}"
    )
    c = res["cohort_2023q1"]
    shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in c["shares"].items() if v is not None)
    console.print(f"claims of Jan-Mar 2023 on {c['on']}: {shares}")
    console.print(f"written: {dest / 'backtest.json'}")


def refit(
    scenario: ScenarioArg,
    pack_dir: Annotated[
        Path | None,
        typer.Option(
            "--pack-dir",
            help="Copy the pack here first and refit the copy (the shipped pack stays as it is).",
        ),
    ] = None,
    trials: Annotated[
        int, typer.Option("--trials", min=10, help="Calibration trials per cut-off.")
    ] = 80,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes for the back-test."),
    ] = None,
) -> None:
    """Refit a forecast scenario and rewrite its fitted/ folder: the asylum calibration, the flow
    series, the route preferences and checks, the railway's route effects, the fitted state,
    and the back-test."""
    import os
    import shutil

    from rich.console import Console

    from corridor.errors import InputError
    from corridor.flagship.backtest import backtest as run_backtest
    from corridor.flagship.fit import fit_pack
    from corridor.scenario.loader import resolve_scenario

    folder = resolve_scenario(scenario)
    from corridor.forecast.config import has_forecast

    if not has_forecast(folder):
        raise InputError(
            "this scenario has no forecast to refit",
            file=folder / "scenario.yaml",
            expected="a scenario with a forecast: section (e.g. uk-balkans)",
        )
    if pack_dir is not None:
        if pack_dir.exists() and any(pack_dir.iterdir()):
            raise InputError("exists and is not empty; name a new folder", file=pack_dir)
        shutil.copytree(folder, pack_dir, dirs_exist_ok=True)
        folder = pack_dir
    elif not os.access(folder / "fitted", os.W_OK):
        raise InputError(
            "the pack's fitted/ folder is not writable; refit a copy with --pack-dir DIR",
            file=folder / "fitted",
        )
    quiet_optuna()
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"refitting {folder} ({trials} calibration trials per cut-off)")
    res = fit_pack(folder, trials=trials)
    w = workers if workers is not None else min(os.cpu_count() or 1, 8)
    bt = run_backtest(folder, folder / "fitted", workers=w, trials=trials)
    values = ", ".join(f"{k} = {v:.4g}" for k, v in (res.get("calibration") or {}).items())
    console.print(f"calibrated (through the main cut-off): {values or 'nothing to fit'}")
    pooled = bt["rolling"]["pooled"]
    cover = ", ".join(f"{h}y {100 * p['coverage80']:.0f}%" for h, p in pooled.items())
    console.print(f"rolling back-test: pooled share inside the 80% bands {cover}")
    console.print(f"written: {folder / 'fitted'}")
