"""Which form the flow series take, chosen by how they would have forecast the past.

Reads: a forecast scenario's observed monthly flow series (``forecast.series``: Frontex
detections on three routes, small-boat arrivals, non-boat claims) through 2024 only.

Produces: :func:`select_flow_form` — for each candidate form of
:data:`corridor.forecast.series.FORMS` (the random-walk level; a level reverting to the
series' mean with a half-life of 48, 24, 12 or 6 months) and each rolling origin (31 December
2020, 2021, 2022, 2023), every series fitted on the months through the origin only (breaks and
outliers as in :mod:`corridor.forecast.series`), ``paths`` simulated futures, and the calendar
years 1, 2 and 3 after the origin that are observed (through 2024) scored:

* ``crps``: the continuous ranked probability score of the simulated annual total on the log
  scale, ``E|X − y| − ½·E|X − X'|`` (a proper score: it rewards a sharp band only where the
  band holds the outcome; on logs it is scale-free, so the series weigh alike);
* ``coverage80`` / ``coverage95``: the share of outcomes inside the 10–90% / 2.5–97.5% bands;
* ``mape``: the error of the median, per cent.

The rule (fixed before any score was seen): the form with the lowest mean CRPS over every
series, origin and horizon is used for every series (one choice for all five: four origins are
too few to choose per series). ``fitted/flow_model_selection.json`` stores the scores and the
choice (:func:`corridor.flagship.fit.fit_flows`), and :func:`corridor.forecast.fitted.
load_flow_form` reads the choice back for every fit the forecasts make.

Invariants: no datum after 2024 is read; a fit at an origin sees nothing after the origin; the
draws come from the named streams ``flows/<series>`` of :func:`replicate_seeds` of the
scenario's seed, so the scores are reproducible. The scored years (2021–2024) are the years the
rolling back-test scores too: the choice of form has seen them (one choice among five).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from corridor.analysis.ensemble import replicate_seeds
from corridor.forecast.config import load_flagship
from corridor.forecast.model import observed_monthly
from corridor.forecast.series import FORMS, fit_series, simulate_paths
from corridor.scenario.loader import resolve_scenario

__all__ = ["ORIGINS", "choose_form", "crps_samples", "select_flow_form"]

ORIGINS: tuple[int, ...] = (2020, 2021, 2022, 2023)
LAST_OBSERVED_YEAR = 2024
HORIZONS = (1, 2, 3)
RULE = (
    "the form with the lowest mean CRPS (log annual totals) over every series, origin and"
    " horizon; one form for every series"
)


def crps_samples(samples: np.ndarray[Any, Any], y: float) -> float:
    """The CRPS of the empirical distribution of ``samples`` at the outcome ``y``:
    ``mean|X − y| − ½·mean|X − X'|`` (the sorted-sample form of the second term)."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    i = np.arange(1, n + 1)
    spread = 2.0 * float(np.sum((2 * i - n - 1) * x)) / (n * n)
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def select_flow_form(
    pack: str | Path, *, origins: tuple[int, ...] = ORIGINS, paths: int = 400
) -> dict[str, Any]:
    """Score every candidate form at every rolling origin (see the module docstring)."""
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    observed = observed_monthly(folder, cfg)
    seeds = replicate_seeds(cfg.seed, paths)
    out: dict[str, Any] = {
        "origins": [f"{o}-12-31" for o in origins],
        "horizons_years": list(HORIZONS),
        "last_year_scored": LAST_OBSERVED_YEAR,
        "series": list(cfg.series),
        "paths": paths,
        "forms": {},
    }
    for form, half_life in FORMS.items():
        rows: list[dict[str, Any]] = []
        for origin in origins:
            last = min(origin + max(HORIZONS), LAST_OBSERVED_YEAR)
            if last <= origin:
                continue
            months = 12 * (last - origin)
            for name, spec in cfg.series.items():
                s = observed[name]
                fit = fit_series(name, s, spec.start, f"{origin}-12", months, form=form)
                sims = simulate_paths(fit, seeds, months)
                for h in range(1, last - origin + 1):
                    year = origin + h
                    labels = [f"{year}-{m:02d}" for m in range(1, 13)]
                    obs = float(s.reindex(labels).to_numpy(dtype=float).sum())
                    annual = sims[:, 12 * (h - 1) : 12 * h].sum(axis=1)
                    lo80, hi80, lo95, hi95, med = np.percentile(annual, [10, 90, 2.5, 97.5, 50])
                    rows.append(
                        {
                            "series": name,
                            "origin": origin,
                            "horizon": h,
                            "crps": crps_samples(np.log(annual), float(np.log(max(obs, 1.0)))),
                            "in80": bool(lo80 <= obs <= hi80),
                            "in95": bool(lo95 <= obs <= hi95),
                            "ape": abs(med - obs) / max(obs, 1.0),
                        }
                    )
        out["forms"][form] = _summary(rows, half_life)
    out["rule"] = RULE
    out["chosen"] = choose_form(out["forms"])
    return out


def _summary(rows: list[dict[str, Any]], half_life: int | None) -> dict[str, Any]:
    def agg(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "n": len(rs),
            "crps": float(np.mean([r["crps"] for r in rs])),
            "coverage80": float(np.mean([r["in80"] for r in rs])),
            "coverage95": float(np.mean([r["in95"] for r in rs])),
            "mape": float(100.0 * np.mean([r["ape"] for r in rs])),
        }

    by_h = {str(h): agg([r for r in rows if r["horizon"] == h]) for h in HORIZONS}
    series = sorted({r["series"] for r in rows})
    by_s = {s: agg([r for r in rows if r["series"] == s]) for s in series}
    return {
        "half_life_months": half_life,
        **agg(rows),
        "by_horizon": {k: v for k, v in by_h.items() if v["n"]},
        "by_series": by_s,
    }


def choose_form(forms: dict[str, dict[str, Any]]) -> str:
    """The rule: the lowest mean CRPS (ties: the first in :data:`FORMS` order)."""
    return min(forms, key=lambda k: float(forms[k]["crps"]))
