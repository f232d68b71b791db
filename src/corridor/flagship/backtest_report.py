"""The back-test in the report: the rolling table, where the model loses, the cohorts.

Reads: a ``backtest.json`` as :func:`corridor.flagship.backtest.backtest` writes it (a dict).
Produces: HTML fragments (escaped text, no scripts). Every sentence about wins and losses is
computed from the numbers in the file, none is written in advance.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["backtest_html", "losses"]

LABELS = {
    "small_boat_arrivals": "Small-boat arrivals",
    "wb_detections": "Western Balkans detections",
    "asylum_claims": "Asylum claims",
    "initial_decisions": "Initial decisions",
    "initial_grant_rate": "Initial grant rate",
    "backlog_end": "People awaiting a decision (31 Dec)",
    "removals": "Enforced removals (asylum-related)",
    "granted_initial": "granted at first decision",
    "granted_latest": "granted by then (incl. appeals)",
    "removed_or_left": "removed or left",
    "unresolved": "awaiting a decision",
    "other": "other (refused or withdrawn, not known to have left)",
    "withdrawn": "of which withdrawn",
}


def _label(key: str) -> str:
    return html.escape(LABELS.get(key, key))


def losses(bt: dict[str, Any]) -> list[str]:
    """Plain sentences: where the rolling back-test misses its aims (empty if it meets them)."""
    rolling = bt.get("rolling") or {}
    out: list[str] = []
    for h, per_metric in (rolling.get("horizons") or {}).items():
        lose = [
            f"{LABELS.get(k, k)} ({v['mape']:.0f}% against {v['mape_no_change']:.0f}%)"
            for k, v in per_metric.items()
            if v["mape"] >= v["mape_no_change"]
        ]
        if lose:
            out.append(f"{h} year(s) ahead the model's error is no better than no change for: "
                       + "; ".join(lose) + ".")  # fmt: skip
        pooled = (rolling.get("pooled") or {}).get(h)
        if pooled and not 0.7 <= pooled["coverage80"] <= 0.9:
            side = "too narrow" if pooled["coverage80"] < 0.7 else "too wide"
            out.append(
                f"{h} year(s) ahead the 80% bands hold {100 * pooled['coverage80']:.0f}% of the"
                f" observed years (aim 70-90%): the bands are {side}."
            )
    aims = rolling.get("aims") or {}
    for h, a in (aims.get("by_horizon") or {}).items():
        if not a["beats_no_change_on_average"]:
            out.append(
                f"{h} year(s) ahead the mean error over the metrics ({a['mean_mape']:.0f}%) does"
                f" not beat no change ({a['mean_mape_no_change']:.0f}%)."
            )
    if aims and aims.get("metrics_beating_no_change_h1", 7) < 5:
        out.append(
            f"One year ahead the model beats no change on {aims['metrics_beating_no_change_h1']}"
            " of the 7 metrics (aim: at least 5)."
        )
    misses = (bt.get("cohorts") or {}).get("misses") or []
    if misses:
        out.append(
            f"Outcomes by year of claim: {len(misses)} of the 24 aimed shares (granted at first"
            " decision, granted by then, removed or left, awaiting a decision; 2018-2023) are"
            " more than 5 points from the published ones (table below)."
        )
    return out


def _rolling_table(rolling: dict[str, Any]) -> str:
    parts: list[str] = []
    for h, per_metric in rolling.get("horizons", {}).items():
        if not per_metric:
            continue
        rows = "".join(
            f"<tr><td>{_label(k)}</td><td>{v['n']}</td><td>{v['mape']:.1f}</td>"
            f"<td>{v['mape_no_change']:.1f}</td><td>{v['mape_seasonal_naive']:.1f}</td>"
            f"<td>{100 * v['coverage80']:.0f}%</td><td>{100 * v['coverage95']:.0f}%</td></tr>"
            for k, v in per_metric.items()
        )
        p = rolling.get("pooled", {}).get(h, {})
        rows += (
            f"<tr><th>All together</th><th>{p.get('n', '')}</th><th></th><th></th><th></th>"
            f"<th>{100 * p.get('coverage80', 0):.0f}%</th>"
            f"<th>{100 * p.get('coverage95', 0):.0f}%</th></tr>"
        )
        parts.append(
            f"<table><caption>{html.escape(h)} calendar year(s) after the origin</caption>"
            "<tr><th>Measure</th><th>Years scored</th><th>Model error %</th>"
            "<th>No-change error %</th><th>Last-year error %</th><th>Inside 80% band</th>"
            "<th>Inside 95% band</th></tr>" + rows + "</table>"
        )
    return "".join(parts)


def _cohorts_table(cohorts: dict[str, Any]) -> str:
    by_year = cohorts.get("by_claim_year") or {}
    if not by_year:
        return ""
    aimed = ("granted_initial", "granted_latest", "removed_or_left", "unresolved")
    keys: tuple[str, ...] = (*aimed, "other")
    keys += ("withdrawn",) * ("withdrawn" in next(iter(by_year.values())))
    head = "".join(f"<th>{_label(k)}: model / published</th>" for k in keys)
    rows = ""
    for year, row in by_year.items():
        cells = ""
        for k in keys:
            obs = row.get("observed", {}).get(k)
            ok = k not in aimed or row.get("within_5_points", {}).get(k, True)
            mark = "" if ok else " ✗"
            obs_txt = "–" if obs is None else f"{100 * obs:.0f}%"
            cells += f"<td>{100 * row[k]:.0f}% / {obs_txt}{mark}</td>"
        rows += f"<tr><td>{html.escape(year)}</td>{cells}</tr>"
    return (
        f"<p>Outcomes by year of claim as known on {html.escape(str(cohorts.get('on')))},"
        " shares of the claims (main applicants), from a run whose inputs stop on that day;"
        " ✗: one of the aimed shares more than 5 points from the Home Office's outcome"
        " analysis. Awaiting a decision: an initial decision (a claim refused and awaiting its"
        " appeal counts as refused, as there); withdrawn (a part of the rest): withdrawn while"
        " waiting (published: withdrawn or an administrative outcome).</p>"
        f"<table><tr><th>Claim year</th>{head}</tr>{rows}</table>"
    )


def _monthly_table(bt: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_label(name)}</td><td>{s['n']}</td><td>{s['mape_model']:.1f}</td>"
        f"<td>{s['mape_seasonal_naive']:.1f}</td><td>{100 * s['coverage_80']:.0f}%</td>"
        f"<td>{100 * s['coverage_95']:.0f}%</td></tr>"
        for name, s in (bt.get("series") or {}).items()
    )
    if not rows:
        return ""
    pooled = bt.get("pooled", {})
    return (
        f"<p>Month by month over {html.escape(str(bt.get('forecast_year')))} from the last"
        " origin:</p><table><tr><th>Measure</th><th>Points</th><th>Model error %</th>"
        "<th>Same month a year earlier, error %</th><th>Inside 80% band</th>"
        "<th>Inside 95% band</th></tr>" + rows + "</table>"
        f"<p>All together: {pooled.get('n')} points, {100 * pooled.get('coverage_80', 0):.0f}%"
        f" inside the 80% bands, {100 * pooled.get('coverage_95', 0):.0f}% inside the 95%"
        " bands.</p>"
    )


def backtest_html(bt: dict[str, Any]) -> str:
    """The back-test section's body."""
    rolling = bt.get("rolling") or {}
    sel = bt.get("flow_model_selection") or {}
    intro = (
        "<p>Rolling origins: at each of "
        + html.escape(", ".join(rolling.get("origins", [])))
        + " the model was refitted on the data up to that day only (asylum calibration, flow"
        " series, route preferences; every later input removed) and forecast the following"
        f" calendar years up to 2024 ({rolling.get('replicates')} replicates). Error: the mean"
        " absolute percentage error of the median forecast. No change: the last published"
        " quarter carried on (October–December × 4; the last quarter's grant rate; the stock on"
        " 31 December; removals, published by year, the last year). Last year: the origin's"
        " calendar year repeated.</p>"
    )
    if sel.get("chosen"):
        intro += (
            f"<p>Flow series' form: <code>{html.escape(str(sel['chosen']))}</code>, chosen by"
            " the lowest rolling-origin CRPS among a random walk and levels reverting to the"
            " series' mean with half-lives of 48, 24, 12 and 6 months (scored on 2021–2024, the"
            " years this table scores too).</p>"
        )
    lost = losses(bt)
    where = (
        "<p><b>Where the model loses.</b></p><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in lost)
        + "</ul>"
        if lost
        else "<p>The model meets every aim of the back-test.</p>"
    )
    return (
        intro
        + _rolling_table(rolling)
        + where
        + _cohorts_table(bt.get("cohorts") or {})
        + _monthly_table(bt)
    )
