"""The ``corridor calibrate`` and ``corridor sensitivity`` commands.

Plain Typer command functions, registered in :mod:`corridor.cli` with ``app.command()(...)``.
They import what they need when they run, so that ``corridor --help`` stays fast. Mistakes raise
:class:`~corridor.errors.InputError`, which the ``corridor`` entry point prints as one message
with exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from corridor.cli.progress import MAX_SEED, quiet_optuna

__all__ = ["calibrate", "sensitivity"]

ScenarioArg = Annotated[
    str,
    typer.Argument(
        help="Scenario folder (holding scenario.yaml), or the name of a shipped scenario.",
        show_default=False,
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A dotted parameter path with a prior under uncertain: (repeat for several; "
        "default: all of them).",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="aggregate (expected values, fast) or agents (stochastic).")
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        help="Local worker processes (1: this process); with --scheduler, calibrate's trials "
        "per batch.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (e.g. tcp://host:8786): runs go to its workers.",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", min=0, max=MAX_SEED, help="Seed (default: the scenario's).")
]
ENGINES = ("aggregate", "agents")


def _engine(engine: str) -> str:
    from corridor.errors import InputError

    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}", field="--engine", expected="aggregate | agents"
        )
    return engine


def _num(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, int):
        return f"{x:,}"
    ax = abs(float(x))
    if ax != 0 and (ax >= 1e6 or ax < 1e-3):
        return f"{float(x):.{digits}g}"
    return f"{float(x):,.{digits}g}" if ax < 1000 else f"{float(x):,.1f}"


def calibrate(
    scenario: ScenarioArg,
    observed: Annotated[
        list[Path],
        typer.Option(
            "--observed",
            help="CSV of observed series: date, metric, value[, resolution, source] "
            "(repeat for several files).",
            show_default=False,
        ),
    ],
    param: ParamOpt = None,
    trials: Annotated[
        int,
        typer.Option(
            "--trials", min=1, help="Completed trials the study should hold (a rerun resumes)."
        ),
    ] = 100,
    likelihood: Annotated[
        str,
        typer.Option(
            "--likelihood",
            help="poisson, negbin or normal; options after a colon, e.g. negbin:dispersion=20, "
            "normal:cv=0.1, normal:sd=50 (default: nuisance parameters fitted).",
        ),
    ] = "poisson",
    engine: EngineOpt = "aggregate",
    workers: WorkersOpt = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder (default: calibration/<scenario>).", show_default=False
        ),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study",
            help="SQLite file of the Optuna study (default: OUT/study.db).",
            show_default=False,
        ),
    ] = None,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates",
            min=1,
            help="Agent-engine runs averaged per trial (default 4; aggregate: always 1).",
            show_default=False,
        ),
    ] = None,
    fit_through: Annotated[
        str | None,
        typer.Option(
            "--fit-through",
            help="Fit only observations up to this date (YYYY-MM-DD, YYYY-MM or YYYY); later "
            "ones are held out.",
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Fit the scenario's uncertain parameters to observed series (an Optuna study, resumable).

    Writes OUT/fitted.yaml (fitted values as overrides, fit errors), OUT/trials.csv, OUT/fit.csv
    and OUT/fit_<metric>.png; prints the fitted values and the fit error per metric.
    """
    from rich.console import Console
    from rich.table import Table

    from corridor.analysis.calibrate import calibrate as run_calibration
    from corridor.cli.progress import progress_bar

    quiet_optuna()
    with progress_bar("trials", min_seconds=0.0) as update:
        result = run_calibration(
            scenario,
            observed,
            params=param or None,
            n_trials=trials,
            likelihood=likelihood,
            engine=_engine(engine),
            workers=workers,
            study_path=study,
            seed=seed,
            replicates_per_trial=replicates,
            fit_through=fit_through,
            out_dir=out,
            progress=update,
            scheduler=scheduler,
        )
    console = Console(highlight=False, soft_wrap=True)
    fitted = Table(title=f"{result.scenario}: fitted parameters (best of {result.n_trials} trials)")
    fitted.add_column("parameter", no_wrap=True)
    fitted.add_column("fitted", justify="right")
    for path, value in result.params.items():
        fitted.add_row(path, _num(value, 5))
    console.print(fitted)
    width = max(map(len, result.metrics), default=6)
    errors = Table(title=f"fit error ({result.likelihood} likelihood, {result.engine} engine)")
    errors.add_column("metric", no_wrap=True, min_width=width)
    for col in ("points", "log-lik", "RMSE", "MAPE %"):
        errors.add_column(col, justify="right", no_wrap=True)
    for metric, m in result.metrics.items():
        loglik = m.get("log_likelihood")
        errors.add_row(
            metric,
            _num(m.get("points")),
            "-" if loglik is None else f"{float(loglik):,.1f}",
            _num(m.get("rmse")),
            _num(m.get("mape_pct"), 3),
        )
    console.print(errors)
    if any("holdout_points" in m for m in result.metrics.values()):
        held = Table(title=f"held out (after {fit_through})")
        held.add_column("metric", no_wrap=True, min_width=width)
        for col in ("points", "RMSE", "MAPE %"):
            held.add_column(col, justify="right", no_wrap=True)
        for metric, m in result.metrics.items():
            held.add_row(
                metric,
                _num(m.get("holdout_points", 0)),
                _num(m.get("holdout_rmse")),
                _num(m.get("holdout_mape_pct"), 3),
            )
        console.print(held)
    console.print(
        f"log posterior {result.log_posterior:.6g} (log-likelihood {result.log_likelihood:.6g}, "
        f"log prior {result.log_prior:.4g}) · trial {result.best_trial} · "
        f"{result.new_trials} new trial(s) in {result.wall_seconds:.1f} s · "
        f"study {result.study_name} in {result.storage} · results in {result.out_dir}"
    )


def sensitivity(
    scenario: ScenarioArg,
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            help="Output: a column of the run's totals, e.g. n_awaiting_decision, new_arrivals, "
            "cost_total.",
            show_default=False,
        ),
    ],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Period of the output: a year (2025), month (2025-06) or day; flows are summed "
            "over it, stocks taken at its end (default: the whole run).",
            show_default=False,
        ),
    ] = None,
    n: Annotated[
        int,
        typer.Option("-n", "--n", min=2, help="Base samples, a power of 2 (runs: n × (d + 2))."),
    ] = 64,
    param: ParamOpt = None,
    engine: EngineOpt = "aggregate",
    workers: WorkersOpt = 1,
    replicates: Annotated[
        int,
        typer.Option("--replicates", min=1, help="Agent-engine runs averaged per sample point."),
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output folder (default: sensitivity/<scenario>).", show_default=False
        ),
    ] = None,
    seed: SeedOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Sobol' sensitivity indices (S1, ST) of one output over the scenario's priors.

    Writes OUT/sobol.csv, OUT/sobol.png and OUT/samples.csv; prints the S1/ST table.
    """
    from rich.console import Console
    from rich.table import Table

    from corridor.analysis.sensitivity import sensitivity as run_sensitivity
    from corridor.cli.progress import progress_bar
    from corridor.scenario.loader import load_scenario

    dest = out
    if dest is None:
        dest = Path("sensitivity") / load_scenario(scenario).name
    with progress_bar("runs", min_seconds=0.0) as update:
        result = run_sensitivity(
            scenario,
            metric,
            at=at,
            params=param or None,
            n=n,
            engine=_engine(engine),
            workers=workers,
            seed=seed,
            replicates=replicates,
            out_dir=dest,
            progress=update,
            scheduler=scheduler,
        )
    a, b = result.period
    table = Table(title=f"{result.scenario}: Sobol' indices of {result.metric} ({a}..{b})")
    table.add_column("parameter", no_wrap=True)
    for col in ("S1", "± 95%", "ST", "± 95%"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("prior")
    for p, row in result.table.iterrows():
        table.add_row(
            str(p),
            f"{row['S1']:.3f}",
            f"{row['S1_conf']:.3f}",
            f"{row['ST']:.3f}",
            f"{row['ST_conf']:.3f}",
            str(row.get("prior", "")),
        )
    console = Console(highlight=False, soft_wrap=True)
    console.print(table)
    console.print(
        f"{result.runs:,} runs ({result.engine} engine, n={result.n}) in "
        f"{result.wall_seconds:.1f} s · results in {dest}"
    )
