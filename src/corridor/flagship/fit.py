"""Fit the flagship pack and store the fits in it (``fitted/``).

``fit_pack(pack)`` does, in order:

1. the asylum calibration with the project's calibration (:func:`corridor.analysis.calibrate.
   calibrate`, the ``corridor calibrate`` command's function) of the pack's ``uncertain:``
   parameters on ``observed/calibration_targets.csv`` through the back-test cut-off (2023):
   ``fitted/fitted.yaml`` (values, fit errors), ``fitted/fit.csv``, ``fitted/fit_*.png``;
2. the flow series fitted through each cut-off: ``fitted/series-<cutoff>.json``, in the form
   chosen by the rolling-origin score on data through 2024 (:mod:`corridor.flagship.
   flow_selection`: the scores of every candidate and the choice in
   ``fitted/flow_model_selection.json``),
   and the plot of the fits through 2023: ``fitted/flows_fit.png``;
   then the route preferences (small-boat arrivals per detection on each Frontex route), the
   interception and deterrence identification checks and the returns check
   (:mod:`corridor.flagship.routes_fit`): ``fitted/routes.json``, ``fitted/routes_fit.png``;
3. the route effects of Montenegro's railway (the agent-based network with and without it):
   ``fitted/route_effects.json`` and the flow maps ``fitted/flows_without_rail.png``,
   ``fitted/flows_with_rail.png``;
4. the fitted state on the day after the cut-off (people by stage and nationality, with the
   calibrated parameters and observed inputs): ``fitted/state-<day>.csv`` — the state the main
   job's replicates start their forecasts from.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.atomic import write_text
from corridor.forecast.config import load_flagship
from corridor.forecast.model import build_context, fit_all, observed_monthly
from corridor.forecast.state import fitted_state, state_file
from corridor.scenario.loader import resolve_scenario

__all__ = ["calibrate_through", "fit_flows", "fit_pack"]


def calibrate_through(
    folder: Path, fit_through: date | str, out_dir: Path, *, trials: int = 80, seed: int = 0
) -> Any:
    """The pack's asylum calibration (:func:`corridor.analysis.calibrate.calibrate` of its
    ``uncertain:`` parameters on ``observed/calibration_targets.csv``, aggregate engine,
    ``normal:cv=0.1``) scoring the observations through ``fit_through`` only; its files and
    study in ``out_dir``."""
    from corridor.analysis.calibrate import calibrate

    return calibrate(
        folder,
        [folder / "observed" / "calibration_targets.csv"],
        n_trials=trials,
        likelihood="normal:cv=0.1",
        engine="aggregate",
        seed=seed,
        fit_through=fit_through,
        out_dir=out_dir,
        study_path=out_dir / "study.db",
    )


def fit_pack(pack: str | Path, *, trials: int = 80, seed: int = 0) -> dict[str, Any]:
    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    out = folder / "fitted"
    out.mkdir(exist_ok=True)
    # 1. asylum calibration through the back-test cut-off (fit files kept) and through the
    #    main cut-off (fitted-2024.yaml)
    res = None
    for cut, name in ((cfg.backtest_cutoff, None), (cfg.cutoff, Path(cfg.fitted).name)):
        with tempfile.TemporaryDirectory() as tmp:
            res = calibrate_through(folder, cut, Path(tmp), trials=trials, seed=seed)
            for f in Path(tmp).iterdir():
                if f.name in ("study.db", "trials.csv"):
                    continue
                if name is None and f.suffix in (".csv", ".yaml"):
                    # paths relative to the pack: the stored files name no machine's folders
                    text = f.read_text(encoding="utf-8").replace(f"{folder}/", "")
                    write_text(out / f.name, text)
                elif name is None:
                    shutil.copyfile(f, out / f.name)
                elif f.name == "fitted.yaml":
                    shutil.copyfile(f, out / name)
    # 2. flow series through each cut-off (and the evidence their form was chosen on)
    fit_flows(folder)
    # 2b. route preferences, interception, deterrence identification, returns check
    from corridor.flagship.routes_fit import fit_routes

    fit_routes(folder)
    # 3. route effects of the railway
    effects = route_effects_json(folder, maps_dir=out)
    write_text(out / "route_effects.json", json.dumps(effects, indent=1))
    # 4. the fitted state the forecasts start from
    from corridor.forecast.fitted import load_series_fits

    ctx = build_context(folder, fits=load_series_fits(folder, cfg.cutoff.isoformat()))
    write_text(state_file(ctx), fitted_state(ctx).to_csv(index=False))
    return {"calibration": res.params if res is not None else None, "effects": effects}


def fit_flows(pack: str | Path) -> dict[str, Any]:
    """Step 2 of :func:`fit_pack`: the flow model's form chosen by its rolling-origin score
    (``fitted/flow_model_selection.json``) and the flow series fitted in that form through each
    cut-off (``fitted/series-<cutoff>.json``)."""
    from corridor.flagship.flow_selection import select_flow_form

    folder = resolve_scenario(pack)
    cfg = load_flagship(folder)
    out = folder / "fitted"
    selection = select_flow_form(folder)
    write_text(out / "flow_model_selection.json", json.dumps(selection, indent=1))
    observed = observed_monthly(folder, cfg)
    for cut in (cfg.backtest_cutoff, cfg.cutoff):
        end = pd.Timestamp(cfg.end) if cut == cfg.cutoff else pd.Timestamp("2025-12-31")
        fits = fit_all(observed, cfg, pd.Timestamp(cut), end, selection["chosen"])
        write_text(
            out / f"series-{cut.isoformat()}.json",
            json.dumps(
                {"cutoff": cut.isoformat(), "fits": {k: f.as_dict() for k, f in fits.items()}},
                indent=1,
            ),
        )
        if cut == cfg.backtest_cutoff:
            _plot_flow_fits(fits, observed, out / "flows_fit.png")
    return selection


def _plot_flow_fits(fits: dict[str, Any], observed: dict[str, pd.Series], path: Path) -> None:
    """Each flow series as observed, its one-step-ahead predictions, and the breaks found."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from corridor.atomic import write_with

    fig, axes = plt.subplots(len(fits), 1, figsize=(8, 2.2 * len(fits)), sharex=True)
    for ax, (name, fit) in zip(np.atleast_1d(axes), fits.items(), strict=True):
        months = pd.period_range(fit.start, fit.end, freq="M")
        t = months.to_timestamp()
        obs = observed[name].reindex([str(m) for m in months]).to_numpy(dtype=float)
        ax.plot(t, obs, "k-", lw=1, label="observed")
        ax.plot(t[13:], fit.one_step[13:], color="C0", lw=1, label="one step ahead")
        for b in fit.breaks:
            ax.axvline(
                pd.Period(b.month, "M").to_timestamp(),  # type: ignore[arg-type]
                color="C3" if b.kind == "level_shift" else "C1",
                ls="--",
                lw=0.8,
            )
        ax.set_yscale("log")
        ax.set_title(
            f"{name}: σ level {fit.sigma_level:.2f}, one-step MAPE {fit.in_sample_mape:.0f}%"
            f" (dashed: level shifts red, outliers orange)",
            fontsize=8,
        )
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Flow series fitted through {next(iter(fits.values())).end}", fontsize=10)

    def save(fh: Any) -> None:
        fig.savefig(fh, format="png", dpi=80, bbox_inches="tight")

    write_with(path, save, binary=True)
    plt.close(fig)


def route_effects_json(folder: Path, maps_dir: Path | None = None) -> dict[str, Any]:
    """The railway's route effects and the re-entry terms of people leaving each hub, resolved
    in expectation (:mod:`corridor.forecast.network`: the agents' rules as a Markov
    chain, exact, no Monte Carlo noise); the agent network's run of the same cases beside them
    (``agents``: a cross-check, and the route shares and days to the Channel, which only a run
    gives), and with ``maps_dir`` its two flow maps drawn there."""
    from corridor.flagship.network_effects import comparison_maps, rail_comparison, reentry_effects
    from corridor.forecast.corridor_network import HUB_PLACES
    from corridor.forecast.network import corridor_chains

    expected = corridor_chains(folder / "network").evaluate()
    without, with_rail = rail_comparison(folder / "network", days=730, seed=0)
    hubs = reentry_effects(folder / "network", days=730, seed=0)
    if maps_dir is not None:
        comparison_maps(without, with_rail, maps_dir)

    def d(e: Any, run: Any) -> dict[str, Any]:
        return {
            "wb_detections_per_person": e.wb_detections_per_person,
            "share_via_montenegro": e.share_via_montenegro,
            "share_via_serbia": e.share_via_serbia,
            "channel_arrivals_per_person": e.channel_arrivals_per_person,
            "mean_days_to_dover": e.mean_days_to_dover,
            "mean_days_to_channel": run.mean_days_to_channel,
            "route_shares": run.route_shares,
        }

    def agents(run: Any) -> dict[str, float]:
        return {
            "wb_detections_per_person": run.wb_detections_per_person,
            "share_via_montenegro": run.share_via_montenegro,
            "share_via_serbia": run.share_via_serbia,
            "channel_arrivals_per_person": run.channel_arrivals_per_person,
            "mean_days_to_dover": run.mean_days_to_dover,
            "set_off_share": run.people / max(run.people + run.stranded_at_origin, 1),
        }

    ew, er = expected.without, expected.with_rail
    note = (
        f"Route network (network/) on 1 January 2027, resolved in expectation"
        f" (corridor.routes.expected): share of travellers via Montenegro"
        f" {ew.share_via_montenegro:.1%} without the railway, {er.share_via_montenegro:.1%} with"
        f" it; Western Balkans detections per person {ew.wb_detections_per_person:.3f} ->"
        f" {er.wb_detections_per_person:.3f}; days to Dover {ew.mean_days_to_dover:.1f} ->"
        f" {er.mean_days_to_dover:.1f}. The agent network (730 days, seed 0) is stored beside"
        f" it under 'agents'."
    )
    # people leaving a hub, set off from its place (corridor.forecast.reentry uses these)
    reentry = {
        host: {
            "place": HUB_PLACES[host],
            "set_off_share": e.set_off_share,
            "wb_detections_per_person": e.wb_detections_per_person,
            "channel_arrivals_per_person": e.channel_arrivals_per_person,
            "mean_days_to_dover": e.mean_days_to_dover,
        }
        for host, e in expected.hubs.items()
    }
    return {
        "wb_detection_factor": expected.wb_detection_factor,
        "resolution": "expected (corridor.routes.expected)",
        "without": d(ew, without),
        "with_rail": d(er, with_rail),
        "reentry_from_hubs": reentry,
        "agents": {
            "without": agents(without),
            "with_rail": agents(with_rail),
            "reentry_from_hubs": {host: agents(run) for host, run in hubs.items()},
        },
        "note": note,
    }
