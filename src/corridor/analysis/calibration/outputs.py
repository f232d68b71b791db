"""Calibration results: the result object, fit errors, the trials table and the files written.

Reads: the best trial's fitted series (observations with their simulated values, as built by
:func:`corridor.analysis.calibrate.calibrate`), the study's trials, and the best parameters'
daily totals.

Produces: :class:`CalibrationResult`; :func:`fit_metrics`, per metric ``points``,
``log_likelihood``, ``rmse``, ``mape_pct`` (and the ``holdout_*`` errors over observations
after ``fit_through``); :func:`trials_frame`, one row per trial; :func:`write_outputs`, in the
result's ``out_dir``: ``fitted.yaml`` (the fitted values as an override block keyed by the
``uncertain:`` paths, and the fit errors), ``trials.csv``, ``fit.csv`` (observed vs fitted, point
by point) and ``fit_<metric>.png``.

Invariants: files are written atomically (:func:`corridor.atomic.write_text`);
``fitted.yaml`` holds plain YAML (numbers as Python numbers, NaN as null) and names the study's
storage relative to ``out_dir`` when inside it; the plotted simulated series covers only the
periods the run covers. Nothing here runs the model or changes the study.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.analysis.calibration.objective import Score
from corridor.analysis.calibration.observed import (
    metric_is_stock,
    period_end,
    period_values,
    run_covers,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["CalibrationResult", "fit_metrics", "trials_frame", "with_files", "write_outputs"]


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` found and wrote.

    ``params``: the best trial's values by dotted path. ``metrics``: per metric ``points``,
    ``log_likelihood``, ``rmse``, ``mape_pct`` over the fitted observations (and
    ``holdout_points``, ``holdout_rmse``, ``holdout_mape_pct`` over those after
    ``fit_through``). ``fit``: one row per observation with the fitted simulated value.
    """

    scenario: str
    study_name: str
    storage: str
    params: dict[str, float | int]
    log_posterior: float
    log_likelihood: float
    log_prior: float
    metrics: dict[str, dict[str, float | int | None]]
    nuisance: dict[str, dict[str, float]]
    best_trial: int
    n_trials: int  # completed trials in the study
    new_trials: int  # completed by this call
    likelihood: str
    engine: str
    fit: pd.DataFrame
    out_dir: Path
    files: tuple[Path, ...] = field(default_factory=tuple)
    wall_seconds: float = 0.0


def with_files(
    result: CalibrationResult, files: tuple[Path, ...], secs: float
) -> CalibrationResult:
    """``result`` with the files written and the total wall time."""
    return replace(result, files=files, wall_seconds=secs)


def _errors(
    obs: np.ndarray[Any, Any], sim: np.ndarray[Any, Any]
) -> tuple[float | None, float | None]:
    if obs.size == 0:
        return None, None
    rmse = float(np.sqrt(np.mean((sim - obs) ** 2)))
    nz = obs != 0
    mape = float(np.mean(np.abs(sim[nz] - obs[nz]) / np.abs(obs[nz])) * 100) if nz.any() else None
    return rmse, mape


def fit_metrics(fit: pd.DataFrame, score: Score) -> dict[str, dict[str, float | int | None]]:
    """Fit errors per metric over the fitted and the held-out observations of ``fit``."""
    out: dict[str, dict[str, float | int | None]] = {}
    for metric, rows in fit.groupby("metric", sort=True):
        m = str(metric)
        inn = rows[rows["fit"]]
        held = rows[~rows["fit"]]
        rmse, mape = _errors(inn["observed"].to_numpy(float), inn["simulated"].to_numpy(float))
        entry: dict[str, float | int | None] = {
            "points": len(inn),
            "log_likelihood": score.by_metric.get(m),
            "rmse": rmse,
            "mape_pct": mape,
        }
        if len(held):
            h_rmse, h_mape = _errors(
                held["observed"].to_numpy(float), held["simulated"].to_numpy(float)
            )
            entry.update(
                {"holdout_points": len(held), "holdout_rmse": h_rmse, "holdout_mape_pct": h_mape}
            )
        out[m] = entry
    return out


def trials_frame(study: optuna.Study, paths: Sequence[str]) -> pd.DataFrame:
    """One row per trial: state, scores, the searched values (``paths``), time and error."""
    rows: list[dict[str, Any]] = []
    for t in study.get_trials(deepcopy=False):
        score = t.user_attrs.get("score") or {}
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name,
            "log_posterior": t.value,
            "log_likelihood": score.get("log_likelihood"),
            "log_prior": score.get("log_prior"),
        }
        for p in paths:
            row[p] = t.params.get(p)
        for metric, v in sorted((score.get("by_metric") or {}).items()):
            row[f"loglik_{metric}"] = v
        row["seconds"] = t.duration.total_seconds() if t.duration is not None else None
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def _plain(x: Any) -> Any:
    """Numbers as plain Python (YAML-safe), NaN as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _shown_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def write_outputs(
    result: CalibrationResult,
    trials: pd.DataFrame,
    daily: pd.DataFrame,
    fit_through: pd.Timestamp | None,
) -> tuple[Path, ...]:
    """Write ``fitted.yaml``, ``trials.csv``, ``fit.csv`` and ``fit_<metric>.png`` into the
    result's ``out_dir``; return their paths in that order."""
    import yaml

    from corridor.analysis.fit_plot import plot_fit
    from corridor.atomic import write_text

    out = result.out_dir
    files: list[Path] = []
    doc = {
        "scenario": result.scenario,
        "study": result.study_name,
        "storage": _shown_path(Path(result.storage), out),
        "likelihood": result.likelihood,
        "engine": result.engine,
        "fit_through": None if fit_through is None else str(fit_through.date()),
        "trials": result.n_trials,
        "best_trial": result.best_trial,
        "log_posterior": result.log_posterior,
        "log_likelihood": result.log_likelihood,
        "log_prior": result.log_prior,
        "overrides": dict(result.params),
        "metrics": result.metrics,
        "nuisance": result.nuisance,
    }
    head = (
        f"# Calibration of scenario {result.scenario!r}: the best of {result.n_trials} trials.\n"
        "# `overrides` maps each fitted uncertain: path to its value (use as run overrides or\n"
        "# `--set path=value`); `metrics` are fit errors per observed metric (MAPE in percent).\n"
    )
    write_text(out / "fitted.yaml", head + yaml.safe_dump(_plain(doc), sort_keys=False))
    files.append(out / "fitted.yaml")
    write_text(out / "trials.csv", trials.to_csv(index=False))
    files.append(out / "trials.csv")
    fit = result.fit.copy()
    fit["start"] = pd.to_datetime(fit["start"]).dt.date
    fit["end"] = pd.to_datetime(fit["end"]).dt.date
    write_text(out / "fit.csv", fit.to_csv(index=False))
    files.append(out / "fit.csv")
    run_start, run_end = pd.DatetimeIndex(daily.index).min(), pd.DatetimeIndex(daily.index).max()
    for metric, rows in result.fit.groupby("metric", sort=True):
        m = str(metric)
        stock = metric_is_stock(m)
        sims: list[pd.DataFrame] = []
        for res in sorted(rows["resolution"].unique()):
            series = period_values(daily[m], str(res), stock)
            starts = pd.DatetimeIndex(series.index)
            ends = pd.Series([period_end(s, str(res)) for s in starts])
            ok = run_covers(
                pd.Series(starts), ends, pd.Series([stock] * len(starts)), run_start, run_end
            ).to_numpy(bool)
            sims.append(
                pd.DataFrame(
                    {"date": starts[ok], "value": series.to_numpy(float)[ok], "resolution": res}
                )
            )
        observed = pd.DataFrame(
            {
                "date": pd.to_datetime(rows["start"]),
                "value": rows["observed"].to_numpy(float),
                "fit": rows["fit"].to_numpy(bool),
                "resolution": rows["resolution"],
            }
        )
        dest = out / f"fit_{m}.png"
        mape = result.metrics[m].get("mape_pct")
        plot_fit(
            observed,
            pd.concat(sims, ignore_index=True),
            dest,
            title=f"{result.scenario}: {m}, observed vs fitted"
            + (f" (MAPE {mape:.1f}%)" if isinstance(mape, float) else ""),
            ylabel=m,
            fit_through=fit_through,
        )
        files.append(dest)
    return tuple(files)
