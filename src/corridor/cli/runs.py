"""The ``corridor run``, ``ensemble``, ``runs``, ``query``, ``export`` and ``compare`` commands.

Plain Typer command functions, registered in :mod:`corridor.cli` with ``app.command()(...)``.
They import what they need when they run, so that ``corridor --help`` stays fast. Every command
takes ``--results DIR``: the results store (default ``$CORRIDOR_RESULTS`` or ``./results``; see
:mod:`corridor.results.store`). Mistakes raise :class:`~corridor.errors.InputError`, which the
``corridor`` entry point prints as one message with exit status 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from corridor.cli.progress import MAX_SEED

if TYPE_CHECKING:
    import pandas as pd

    from corridor.results.store import Store

__all__ = [
    "compare",
    "ensemble",
    "export",
    "parse_policy",
    "parse_sets",
    "query",
    "run",
    "runs",
]

ResultsOpt = Annotated[
    Path | None,
    typer.Option(
        "--results",
        help="Results store folder (default: $CORRIDOR_RESULTS, else ./results).",
        show_default=False,
    ),
]
ScenarioArg = Annotated[
    str,
    typer.Argument(
        help="Scenario folder (holding scenario.yaml), or the name of a shipped scenario.",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a parameter: dotted.path=value (repeat for several), e.g. "
        "asylum.caseworkers=2500 or hubs.hub_kosovo.beds=0.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="agents (stochastic) or aggregate (expected values); default: the scenario's "
        "(aggregate for scenarios with a forecast, else agents).",
        show_default=False,
    ),
]
VariantOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        help="Scenarios with a forecast: run these policy variants (repeat the flag, or give a "
        "comma-separated list; default all). `corridor levers SCENARIO` lists them.",
        show_default=False,
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Run even when the estimate of memory, disk or time is past the soft limits (80% of "
        "the memory or free disk, a day); never past what the machine has.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (e.g. tcp://host:8786)."),
]
ENGINES = ("agents", "aggregate")
SUMMARY_METRICS = ("new_arrivals", "n_awaiting_decision", "new_hub_transfers", "cost_total")


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------
def _value(text: str, where: str) -> Any:
    """A value written on the command line: YAML scalars (2500, 0.3, true, 2024-07-01, text)."""
    import yaml

    from corridor.errors import InputError

    if text.strip() == "":
        raise InputError(f"no value in {where!r}", field=where, expected="path=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):  # YAML 1.1 reads 1e16 (no dot) as text: it is a number
        try:
            return float(value) if math.isfinite(float(value)) else value
        except ValueError:
            return value
    return value


def _pair(item: str, option: str) -> tuple[str, Any]:
    from corridor.errors import InputError

    path, sep, value = item.partition("=")
    if not sep or not path.strip():
        raise InputError(
            f"{option} {item!r} is not path=value",
            field=option,
            expected="dotted.path=value, e.g. asylum.caseworkers=2500",
        )
    return path.strip(), _value(value, item)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` → ``{"a.b": 1, "c": "x"}``; a number outside its parameter's
    bounds is refused here, before anything runs."""
    from corridor.scenario.bounds import check_bounds

    sets = dict(_pair(item, "--set") for item in items or [])
    check_bounds(sets, "--set")
    return sets


def parse_policy(text: str) -> tuple[str, dict[str, Any]]:
    """``"NAME=path=value,path=value"`` → ``(NAME, {path: value, ...})``; ``"NAME="`` → no
    overrides."""
    from corridor.errors import InputError

    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise InputError(
            f"--policy {text!r} has no name",
            field="--policy",
            expected="NAME=path=value,path=value (or NAME= for no change)",
        )
    from corridor.scenario.bounds import check_bounds

    items = [p for p in rest.split(",") if p.strip()]
    sets = dict(_pair(item, "--policy") for item in items)
    check_bounds(sets, "--policy")
    return name.strip(), sets


def split_variants(items: list[str] | None) -> list[str] | None:
    """``--variant a --variant b,c`` → ``["a", "b", "c"]`` (None when none given)."""
    out = [v.strip() for item in items or [] for v in item.split(",") if v.strip()]
    return out or None


def _engine(engine: str | None, folder: Path | None = None) -> str:
    """The engine asked for, or the scenario's default (its forecast's, else agents)."""
    from corridor.errors import InputError

    if engine is None:
        from corridor.analysis.ensemble import forecast_settings

        forecast = forecast_settings(folder) if folder is not None else None
        return str(forecast.engine) if forecast is not None else "agents"
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}", field="--engine", expected="agents | aggregate"
        )
    return engine


def _store(results: Path | None) -> Store:
    from corridor.results.store import Store

    return Store.open(results)


def _cell(v: Any, kind: str) -> str:
    """A table cell: integers plain, other numbers rounded for reading, missing as '-'."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and bool(pd.isna(v))):
        return "-"
    if kind in "iu":
        return str(int(v))
    if kind != "f":
        return str(v)
    x = float(v)
    if abs(x) >= 1e9:
        return f"{x / 1e9:,.2f}bn"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f}m"
    if abs(x) >= 1e4:
        return f"{x / 1e3:,.1f}k"
    if abs(x) >= 100 or x == int(x):
        return f"{x:,.0f}" if abs(x) >= 0.5 else "0"  # never "-0"
    return f"{x:,.3g}"


def _print_frame(frame: pd.DataFrame, title: str | None = None, max_rows: int = 50) -> None:
    from rich.console import Console
    from rich.table import Table

    kinds = [frame[c].dtype.kind for c in frame.columns]
    table = Table(title=title)
    for k, (col, kind) in enumerate(zip(frame.columns, kinds, strict=True)):
        table.add_column(str(col), justify="right" if kind in "iuf" else "left", no_wrap=k == 0)
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    import sys

    # Tables are wide: when the output is not a terminal (a file, a pipe, CI), do not squeeze them.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    out.print(table)
    if len(frame) > max_rows:
        out.print(f"({len(frame) - max_rows:,} more rows)")


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def run(
    scenario: ScenarioArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the run's tables as CSV to this folder."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, max=MAX_SEED, help="Random seed (default: the scenario's)."),
    ] = None,
    engine: EngineOpt = None,
    set_: SetOpt = None,
    results: ResultsOpt = None,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates", min=1, help="Scenarios with a forecast: replicates per variant."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Scenarios with a forecast: worker processes (default: CPUs)."
        ),
    ] = None,
    variant: VariantOpt = None,
    single: Annotated[
        bool,
        typer.Option(
            "--single", help="Scenarios with a forecast: one plain run of the scenario as written."
        ),
    ] = False,
    scheduler: SchedulerOpt = None,
    force: ForceOpt = False,
) -> None:
    """Run a scenario: its forecast's variants x replicates (uk-balkans), or one run; stored.

    A scenario with a forecast (uk-balkans) runs its main job instead: the ensemble of every
    policy variant (or those of --variant) x replicates from the fitted state, each replicate
    stored, then a comparison table, OUT/summary.json, OUT/differences.json and OUT/report.html.
    --set gives levers that every variant applies from the forecast's start (``--single``: one
    plain run of the scenario as written).
    """
    from rich.console import Console

    from corridor.analysis.budget import forced
    from corridor.analysis.ensemble import check_budget, run_one
    from corridor.forecast.config import has_forecast
    from corridor.results.tables import to_result
    from corridor.scenario.loader import load_scenario, resolve_scenario

    overrides = parse_sets(set_)
    folder = resolve_scenario(scenario)
    engine = _engine(engine, folder)
    if has_forecast(folder) and not single:
        from corridor.analysis.budget import forced
        from corridor.cli.flagship import run_main_job

        with forced(force):
            run_main_job(
                folder,
                out,
                replicates,
                workers,
                split_variants(variant),
                _store(results),
                engine=engine,
                scheduler=scheduler,
                levers=overrides,
                seed=seed,
            )
        return
    loaded = load_scenario(folder)
    run_seed = loaded.scenario.seed if seed is None else seed
    store = _store(results)
    with forced(force):
        check_budget(str(folder), 1, 1, 1, engine, store)
    tables = run_one(str(folder), run_seed, overrides, engine)
    run_id = store.write_run(
        tables,
        {
            "scenario": loaded.name,
            "scenario_hash": loaded.content_hash,
            "overrides": overrides,
            "seed": run_seed,
            "engine": engine,
        },
    )
    yearly = to_result(tables).totals("year")
    cols = {
        "new_arrivals": "arrived",
        "new_claims": "claims",
        "new_decisions": "decided",
        "new_grants": "granted",
        "new_removals": "removed",
        "new_hub_transfers": "to hub",
        "n_awaiting_decision": "waiting",
        "n_limbo": "limbo",
        "n_in_hub": "in hub",
        "cost_total": "cost £",
    }
    frame = yearly[[c for c in cols if c in yearly.columns]].rename(columns=cols)
    frame.insert(0, "year", [str(d.year) for d in frame.index])
    _print_frame(frame.reset_index(drop=True), title=f"{loaded.name}: yearly totals")
    console = Console(highlight=False, soft_wrap=True)
    if out is not None:
        store.export(run_id, "csv", out)
        console.print(f"tables written to {out}")
    console.print(f"run {run_id} ({engine}, seed {run_seed}) stored in {store.root}")


def ensemble(
    scenario: ScenarioArg,
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Replicates per policy.")],
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Local worker processes (1: this process).")
    ] = 1,
    scheduler: SchedulerOpt = None,
    variant: VariantOpt = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help="A policy variant: NAME=path=value,path=value (repeat; NAME= for none). "
            "Policies share each replicate's seed and prior draw.",
            show_default=False,
        ),
    ] = None,
    engine: EngineOpt = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, max=MAX_SEED, help="Base seed (default: the scenario's)."),
    ] = None,
    sample: Annotated[
        str, typer.Option("--sample", help="Prior sampling: lhs, sobol or none.")
    ] = "lhs",
    set_: SetOpt = None,
    results: ResultsOpt = None,
    force: ForceOpt = False,
) -> None:
    """Run N replicates (per policy or variant) and store them; rerunning resumes what is
    missing. For a scenario with a forecast, --variant names its policy variants and --policy
    adds levers (from the forecast's start) to the status quo, or to a variant of that name;
    the replicates are those of `corridor run` (same seeds, engine and tables).

    Prints replicates per minute and p10/p50/p90 of a few metrics across replicates.
    """
    from rich.console import Console

    from corridor.analysis.budget import forced
    from corridor.analysis.ensemble import BASELINE, forecast_settings, run_ensemble
    from corridor.analysis.summaries import replicate_table
    from corridor.cli.progress import progress_bar
    from corridor.errors import InputError
    from corridor.scenario.loader import resolve_scenario

    folder = resolve_scenario(scenario)
    engine = _engine(engine, folder)
    base = parse_sets(set_)
    policies: dict[str, dict[str, Any]] = {}
    variants = split_variants(variant)
    if variants:
        forecast = forecast_settings(folder)
        if forecast is None:
            raise InputError(
                "--variant needs a scenario with a forecast (policy variants)",
                field="--variant",
                expected="--policy NAME=path=value for this scenario",
            )
        for vid in variants:
            forecast.variant(vid)  # unknown ids: a clear error before any work
            policies[vid] = dict(base)
    for text in policy or []:
        name, over = parse_policy(text)
        if name in policies:
            raise InputError(f"policy {name!r} given twice", field="--policy")
        policies[name] = {**base, **over}
    if not policies:
        policies = {BASELINE: base}
    store = _store(results)
    with forced(force), progress_bar("replicates", min_seconds=0.0) as update:
        result = run_ensemble(
            scenario,
            n,
            base_seed=seed,
            workers=workers,
            scheduler=scheduler,
            policies=policies,
            engine=engine,
            store=store,
            progress=update,
            sample=sample,
        )
    console = Console(highlight=False, soft_wrap=True)
    new = len(result.new_run_ids)
    rate = f"{result.runs_per_minute:.1f} replicates/min" if new else "nothing new to run"
    console.print(
        f"ensemble {result.ensemble_id}: {new} new, {result.skipped} already stored, "
        f"{result.wall_seconds:.1f} s, {rate}"
    )
    table = replicate_table(store, SUMMARY_METRICS, ensemble_id=result.ensemble_id)
    _print_frame(table, title=f"{result.plan.scenario}: across replicates (whole period)")


def runs(
    results: ResultsOpt = None,
    ensemble_id: Annotated[
        str | None, typer.Option("--ensemble", help="Only the runs of this ensemble.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent runs shown.")] = 50,
) -> None:
    """List the stored runs (most recent last)."""
    store = _store(results)
    frame = store.runs({"ensemble_id": ensemble_id} if ensemble_id else None)
    cols = [
        "run_id",
        "scenario",
        "policy",
        "replicate",
        "seed",
        "engine",
        "finished_at",
        "wall_seconds",
    ]
    shown = frame[cols].tail(limit).copy()
    shown["finished_at"] = shown["finished_at"].astype(str).str.slice(0, 16)
    _print_frame(
        shown.reset_index(drop=True), title=f"{len(frame)} runs in {store.root}", max_rows=limit
    )


def query(
    sql: Annotated[
        str,
        typer.Argument(
            help="One read-only SQL statement over the views runs, stocks, flows, costs, events.",
            show_default=False,
        ),
    ],
    results: ResultsOpt = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Rows shown.")] = 50,
) -> None:
    """Query the results store with SQL, e.g. "SELECT policy, count(*) FROM runs GROUP BY 1"."""
    store = _store(results)
    frame = store.query(sql)
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    _print_frame(frame, max_rows=max_rows)


def export(
    run_id: Annotated[
        str, typer.Argument(help="Run id (see `corridor runs`).", show_default=False)
    ],
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write to (default ./RUN_ID).")
    ] = None,
    results: ResultsOpt = None,
) -> None:
    """Export one run's tables (and meta.json)."""
    store = _store(results)
    files = store.export(run_id, fmt, out)
    for f in files:
        typer.echo(str(f))


def compare(
    policy_a: Annotated[str, typer.Argument(help="Reference policy.", show_default=False)],
    policy_b: Annotated[str, typer.Argument(help="Policy compared with it.", show_default=False)],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            help="n_<stage>, new_<flow>, cum_<flow>, cost_total, cost_<item>, queue_decision, ...",
        ),
    ] = "cost_total",
    ensemble_id: Annotated[
        str | None,
        typer.Option("--ensemble", help="Ensemble id (default: the latest with both policies)."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Compare on this date (default: whole period / at the end)."),
    ] = None,
    results: ResultsOpt = None,
) -> None:
    """Compare two policies of an ensemble replicate by replicate (B minus A): p10/p50/p90 of
    each policy and of the paired differences. Reads every stored kind (daily or monthly tables;
    a main job's ensemble, whose policies are its variant ids; ``--ensemble`` may name the main
    job's summary run)."""
    from rich.console import Console

    from corridor.analysis.summaries import compare as paired_compare

    store = _store(results)
    c = paired_compare(store, policy_a, policy_b, metric, ensemble_id=ensemble_id, at=at)
    when = f" at {at}" if at else ""
    _print_frame(
        c.table(),
        title=f"{metric}{when}: {policy_b} minus {policy_a}, paired by replicate "
        f"(ensemble {c.ensemble_id}, {c.n} replicates)",
    )
    Console(highlight=False, soft_wrap=True).print(
        f"paired-difference sd / replicate spread = {c.ratio:.3f} (about 1.4 for unpaired "
        "runs; well below 1 where the shared seeds cancel the replicate noise)"
    )
