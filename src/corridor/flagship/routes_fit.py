"""The flagship's route calibration: route preferences, interception, and what the public
series cannot identify (``fitted/routes.json``, ``fitted/routes_fit.png``).

**Route preferences** — how many people reach the UK by small boat per person detected on each
of the EU's south-eastern routes. Monthly small-boat arrivals are fitted, on the log scale, to
the three Frontex routes' detections a month earlier (``LAG_MONTHS``: the route network puts the
Western Balkans about three weeks from the Channel coast) plus a base of arrivals that none of
the three routes explains (people who reached France some other way)::

    log A_t = log( a_WB·WB_{t−1} + a_EM·EM_{t−1} + a_CM·CM_{t−1} + b ) + e_t,   e_t ~ N(0, s²)

``a_r ≥ 0`` are the route preferences (small-boat arrivals per detection on route ``r``, net
of French prevention as it was), fitted by least squares on the log scale
(:func:`scipy.optimize.least_squares`, the coefficients on the log scale so they stay positive)
through the cut-off, from January 2019 (the first year with small boats every month). Each
coefficient's 95% interval is its *profile likelihood* interval (the values whose refit raises
the deviance ``n·log(RSS/n)`` by at most 3.84); a coefficient whose interval reaches 0 is not
identified by the data.

How the flagship uses them: the EU return hubs variant sends a share of the people it deters
from route ``r`` to the Channel at the rate ``a_r``; Montenegro's railway changes small-boat
arrivals by ``a_WB`` times the change it makes to Western Balkans detections. The small-boat
*forecast* itself stays the fitted series of :mod:`corridor.forecast.series`: the routes explain
little of the Channel's month-to-month variation (the fit error is stored and shown), and a
forecast built on them would inherit their errors.

**Interception.** French prevention ``p`` (the share of attempts stopped) is published or
derivable per year (``scenario.yaml`` ``forecast.channel.prevention``,
``observed/channel_annual.csv``).
In the Channel model (:class:`corridor.forecast.config.Channel`), per person reaching the coast
the expected crossings are ``(1 − p)/(1 − p(1 − g))`` and the expected prevented attempts
``p/(1 − p(1 − g))``: prevented ÷ crossed = ``p/(1 − p)`` whatever the give-up share ``g``. So the
published counts pin ``p`` (it *is* the fitted value) and say nothing about ``g``, which stays a
prior; :func:`interception` shows both numerically.

**Deterrence elasticity.** The engines' deterrence multiplies arrivals by
``1 − elasticity × p_removal``; :func:`deterrence_identification` gives the range of
``p_removal`` over the fitted years and the largest swing in arrivals any elasticity in the
prior could make, beside the year-to-year swings of the series: far smaller, so the elasticity
stays a prior (Hatton 2009; the Home Office impact assessment calls it uncertain).

**Returns** are checked, not fitted: the calibrated asylum model's removals and voluntary
enforced and voluntary returns beside the published asylum-related ones (:func:`returns_check`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LAG_MONTHS",
    "ROUTES",
    "ChannelFit",
    "deterrence_identification",
    "fit_channel",
    "fit_routes",
    "interception",
    "load_route_preferences",
    "returns_check",
]

# the fit itself lives with the forecast that uses it
from corridor.forecast.channel import LAG_MONTHS, ROUTES, ChannelFit, design, fit_channel
from corridor.forecast.fitted import load_route_preferences


def interception(
    prevention: Mapping[int, float], give_up: tuple[float, ...] = (0.05, 0.2, 0.4)
) -> dict[str, Any]:
    """The prevention share by year and the Channel model's prevented-per-crossing ratio at
    several give-up shares (identical: the data cannot tell them apart)."""
    out: dict[str, Any] = {"prevention_share": {str(k): v for k, v in prevention.items()}}
    ratios: dict[str, dict[str, float]] = {}
    for y, p in prevention.items():
        per = {}
        for g in give_up:
            crossed = (1 - p) / (1 - p * (1 - g))
            prevented = p / (1 - p * (1 - g))
            per[f"give_up={g}"] = prevented / crossed
        ratios[str(y)] = per
    out["prevented_per_crossing"] = ratios
    out["identified"] = {"prevention_share": True, "give_up": False}
    out["note"] = (
        "prevented / crossed = p / (1 - p) at every give-up share: the published counts fix the"
        " prevention share (the pack uses them as they are) and leave the give-up share to its"
        " prior"
    )
    return out


def _history(ctx: Any, through: pd.Timestamp) -> Any:
    """The calibrated asylum model run over the observed history (aggregate engine)."""
    from corridor.asylum.run import run_scenario

    sc = ctx.loaded.scenario
    sc = sc.model_copy(update={"period": sc.period.model_copy(update={"end": through.date()})})
    return run_scenario(dataclasses.replace(ctx.loaded, scenario=sc), engine="aggregate")


def deterrence_identification(
    ctx: Any, observed: Mapping[str, pd.Series], elasticity_max: float, first_year: int = 2019
) -> dict[str, Any]:
    """How much any elasticity in the prior could move arrivals over the fitted years, beside
    how much they moved: the share removed among the year's outcomes (the engines'
    ``p_removal``, here by calendar year) and the swing ``elasticity_max × (max − min)``."""
    res = _history(ctx, ctx.cutoff)
    t = res.totals("year")
    t = t[t.index.year >= first_year]
    num = t["new_removals"] + t["new_hub_transfers"]
    den = (
        t["new_decisions"] + t["new_voluntary_returns"] + t["new_removals"]
        + t["new_hub_transfers"] + t["new_absconds"]
    )  # fmt: skip
    p = (num / den.where(den > 0)).fillna(0.0)
    sb = observed["small_boat_arrivals"]
    yearly = sb.groupby(sb.index.str[:4]).sum()
    yearly = yearly[(yearly.index >= str(first_year)) & (yearly.index <= str(ctx.cutoff.year))]
    swings = np.abs(np.diff(np.log(yearly.to_numpy(dtype=np.float64))))
    max_effect = float(elasticity_max * (p.max() - p.min()))
    return {
        "p_removal_by_year": {str(k.year): float(v) for k, v in p.items()},
        "largest_arrivals_change_from_deterrence": max_effect,
        "median_year_to_year_change_small_boats": float(np.median(np.expm1(swings))),
        "identified": False,
        "note": (
            f"over {first_year}-{ctx.cutoff.year} the removal share moved between"
            f" {p.min():.1%} and {p.max():.1%}: even an elasticity of {elasticity_max:g} would"
            f" move arrivals by at most {max_effect:.1%}, against a median year-to-year change"
            f" of {np.median(np.expm1(swings)):.0%} in small-boat arrivals; the elasticity"
            " stays its prior"
        ),
    }


def returns_check(ctx: Any) -> dict[str, Any]:
    """The calibrated model's enforced removals and voluntary returns of people who claimed
    asylum, each year through the cut-off from 2018, beside the published asylum-related ones
    (``observed/returns_annual.csv``: Home Office Ret_05, 2024 derived; a check, not a fit
    target: the removal capacity is an input, voluntary returns follow the assumed rate)."""
    res = _history(ctx, ctx.cutoff)
    t = res.totals("year")
    published = pd.read_csv(Path(ctx.pack) / "observed" / "returns_annual.csv").set_index("year")
    out: dict[str, Any] = {}
    for year in range(2018, ctx.cutoff.year + 1):
        rows = t[t.index.year == year]
        if rows.empty or year not in published.index:
            continue
        pub = published.loc[year]
        entry: dict[str, Any] = {"source": str(pub["source"]), "note": str(pub["note"])}
        for kind, model_col, pub_col in (
            ("enforced", "new_removals", "enforced_asylum"),
            ("voluntary", "new_voluntary_returns", "voluntary_asylum"),
        ):
            model = float(rows[model_col].iloc[0])
            value = float(published[pub_col].loc[year])
            entry[kind] = {
                "model": model,
                "published": value,
                "difference_pct": 100 * (model - value) / value if value else None,
            }
        out[str(year)] = entry
    return out


def fit_routes(pack: str | Path) -> dict[str, Any]:
    """Fit and check everything above through each cut-off of the pack; write
    ``fitted/routes.json`` and ``fitted/routes_fit.png``."""
    from corridor.atomic import write_text
    from corridor.forecast.config import load_flagship
    from corridor.forecast.fitted import load_series_fits
    from corridor.forecast.model import build_context, observed_monthly
    from corridor.scenario.loader import resolve_scenario

    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    observed = observed_monthly(folder, cfg)
    prevention = {d.date.year: float(d.value) for d in cfg.channel.prevention}
    out: dict[str, Any] = {"lag_months": LAG_MONTHS, "by_cutoff": {}}
    for cut in (cfg.backtest_cutoff, cfg.cutoff):
        stamp = pd.Timestamp(cut)
        fit = fit_channel(observed, stamp.strftime("%Y-%m"))
        ctx = build_context(
            folder, cutoff=cut, end=cfg.end, fits=load_series_fits(folder, cut.isoformat())
        )
        elasticity_max = float(_prior_upper(cfg.deterrence_elasticity))
        out["by_cutoff"][cut.isoformat()] = {
            "route_preferences": fit.as_dict(),
            "interception": interception({y: p for y, p in prevention.items() if y <= cut.year}),
            "deterrence": deterrence_identification(ctx, observed, elasticity_max),
            "returns": returns_check(ctx),
        }
    dest = folder / "fitted"
    write_text(dest / "routes.json", json.dumps(out, indent=1, allow_nan=False))
    _plot(out, observed, dest)
    return out


def _prior_upper(prior: Any) -> float:
    from corridor.scenario.prior_values import inverse_cdf

    return float(inverse_cdf(prior, np.array([1.0]))[0])


def _plot(out: dict[str, Any], observed: Mapping[str, pd.Series], dest: Path) -> None:
    """The fit through the first cut-off (2023), carried on with the observed route flows over
    the months after it (not fitted), against the observed small-boat arrivals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from corridor.atomic import write_with

    labels = {
        "wb_detections": "via Western Balkans",
        "em_detections": "via Eastern Mediterranean",
        "cm_detections": "via Central Mediterranean",
        "base": "base (none of the three)",
    }
    first, last = min(out["by_cutoff"]), max(out["by_cutoff"])
    f = out["by_cutoff"][first]["route_preferences"]
    end = out["by_cutoff"][last]["route_preferences"]["through"]
    months, x, y = design(observed, f["start"], end)
    coef = np.array([*(f["per_detection"][r] for r in ROUTES), f["base"]])
    t = pd.PeriodIndex(months, freq="M").to_timestamp()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.stackplot(
        t, *[x[:, j] * coef[j] for j in range(len(coef))], labels=list(labels.values()), alpha=0.5
    )
    ax.plot(t, y, "k-", lw=1.2, label="observed small-boat arrivals")
    after = t > pd.Period(f["through"], "M").to_timestamp()
    if after.any():
        ax.axvspan(  # matplotlib's date units take timestamps; its stubs say float
            t[after][0],  # type: ignore[arg-type]
            t[-1],  # type: ignore[arg-type]
            color="0.85",
            alpha=0.5,
            label="after the fit (not fitted)",
        )
    ax.set_title(
        f"Route preferences fitted {f['start']} to {f['through']} (monthly MAPE {f['mape']:.0f}%)",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper left")

    def save(fh: Any) -> None:
        fig.savefig(fh, format="png", dpi=90, bbox_inches="tight")

    write_with(dest / "routes_fit.png", save, binary=True)
    plt.close(fig)
