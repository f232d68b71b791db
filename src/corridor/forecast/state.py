"""The state a forecast starts from: people by nationality and stage on the day after the cut-off.

Reads: a :class:`~corridor.forecast.model.Context` and ``fitted/state-<day>.csv`` in its pack.
Produces: :func:`fitted_state` (the replayed history's last day) and :func:`check_fitted_state`,
which replays the fitted history with the configuration the forecast runs and refuses a pack whose
inputs no longer give the stored state (``corridor refit`` rebuilds it).

Invariants: the replay uses the aggregate engine and the context's calibrated scenario as it is.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from corridor.errors import InputError
from corridor.forecast.model import Context

__all__ = ["check_fitted_state", "fitted_state", "state_file"]


def fitted_state(ctx: Context) -> pd.DataFrame:
    """People by nationality and stage at the end of the cut-off day (fitted parameters,
    observed inputs): the state the forecasts start from."""
    from corridor.asylum.run import run_scenario

    sc = ctx.loaded.scenario
    sc = sc.model_copy(update={"period": sc.period.model_copy(update={"end": ctx.cutoff.date()})})
    res = run_scenario(dataclasses.replace(ctx.loaded, scenario=sc), engine="aggregate")
    last = res.stocks[res.stocks["date"] == res.stocks["date"].max()]
    cols = [c for c in last.columns if c.startswith("n_")]
    frame: pd.DataFrame = last[["nationality", *cols]].round(1).reset_index(drop=True)
    return frame


def state_file(ctx: Context) -> Path:
    day = (ctx.cutoff + pd.Timedelta(days=1)).date().isoformat()
    return ctx.pack / "fitted" / f"state-{day}.csv"


def check_fitted_state(ctx: Context) -> float:
    """Replay the fitted history and compare its state on the day after the cut-off with the
    one stored in the pack; return the largest difference (people). A pack edited without
    refitting fails here instead of forecasting from a state nobody fitted."""
    path = state_file(ctx)
    if not path.is_file():
        raise InputError("no fitted state stored; run corridor refit <pack>", file=path)
    stored = pd.read_csv(path).set_index("nationality").sort_index()
    now = fitted_state(ctx).set_index("nationality").sort_index()
    if list(stored.index) != list(now.index) or list(stored.columns) != list(now.columns):
        raise InputError(
            "the stored fitted state does not match the pack's nationalities or"
            " stages; refit with corridor refit <pack>",
            file=path,
        )
    diff = float((stored - now).abs().to_numpy().max())
    if diff > 1.0:
        raise InputError(
            f"the pack's inputs no longer give the stored fitted state (differs by {diff:,.0f}"
            " people); refit with corridor refit <pack>",
            file=path,
        )
    return diff
