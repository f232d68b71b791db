# ruff: noqa: E501  (the HTML template has long lines)
"""The flagship's HTML report: one offline file (figures embedded), written atomically.

Sections: what was run (and how long it took); first, the first two forecast years variant by
variant beside the last observed year as published, with what every 10–90% range covers
(:mod:`corridor.flagship.report_years`); the comparison table (median and 10–90% range over
replicates); charts by year for the main metrics, one panel per variant of ``summary.json``
against the status quo (:mod:`corridor.flagship.report_charts`, also written as
``DIR/figures/<metric>.png``); every variant explained in plain words with its sources (refused hubs say why they equal the status quo; hypothetical variants are
labelled); the Western Balkans states' stated positions; the back-test and calibration stored in
the pack; the model card's limits.
"""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any

from corridor.atomic import write_text
from corridor.flagship.report_years import PLAIN_NAMES

if TYPE_CHECKING:
    from corridor.analysis.pool import Pool
    from corridor.flagship.summaries import FlagshipRun
    from corridor.forecast.model import Context

__all__ = ["write_report"]


def _table_html(run: FlagshipRun, info: dict[str, Any]) -> str:
    from corridor.flagship.summaries import TABLE_METRICS, fmt_number

    labels = {v["id"]: v["label"] for v in info["variants"]}
    cols = [
        *TABLE_METRICS,
        ("cost_per_additional_removal", "", "Cost per additional removal, £ (paired)"),
    ]
    head = "".join(f"<th>{html.escape(PLAIN_NAMES.get(m, lbl))}</th>" for m, _h, lbl in cols)
    rows = []
    for vid, row in run.table.iterrows():
        cells = []
        for m, _h, _l in cols:
            cells.append(
                f"<td>{fmt_number(row[m])}<br><small>{fmt_number(row[f'{m}_p10'])}–"
                f"{fmt_number(row[f'{m}_p90'])}</small></td>"
            )
        rows.append(
            f"<tr><th>{html.escape(labels.get(str(vid), str(vid)))}<br><code>{vid}</code></th>"
            + "".join(cells)
            + "</tr>"
        )
    return f"<table><tr><th>Variant</th>{head}</tr>{''.join(rows)}</table>"


def _costs_note(ctx: Context) -> str:
    """One paragraph: what the costs cover, their price year, the discounting and the cost per
    additional removal."""
    year = ctx.loaded.scenario.costs.price_year
    prices = f"GBP in {year} prices" if year else "GBP as given (no price year set)"
    return (
        f"Costs are {html.escape(prices)} to the UK, every stage a person can be in priced:"
        " asylum support by type (hotels and other contingency, dispersal, cash only) for"
        " claimants, appellants and the refused who keep support; decisions; appeals (tribunal"
        " and legal aid); detention; removals by type (enforced, assisted voluntary, voluntary);"
        " hubs; limbo (support, health, local authority and enforcement for people who can be"
        " neither granted nor removed); and UK payments to France. Unit costs of other years"
        " are brought to that year with HM Treasury's GDP deflators. The present value"
        " discounts each year at the Green Book rate (3.5%) to the first forecast year. The cost"
        " per additional removal is a variant's extra cost over its extra enforced removals and"
        " transfers to hubs against the status quo, replicate by replicate (no value where a"
        " variant removes no more people)."
    )


def _differences_html(run: FlagshipRun, info: dict[str, Any]) -> str:
    from corridor.flagship.summaries import TABLE_METRICS, fmt_number

    if not run.differences:
        return ""
    labels = {v["id"]: v["label"] for v in info["variants"]}
    head = "".join(
        f"<th>{html.escape(PLAIN_NAMES.get(m, lbl))}</th>" for m, _h, lbl in TABLE_METRICS
    )
    rows = []
    for vid, per in run.differences.items():
        cells = []
        for m, _h, _l in TABLE_METRICS:
            q = per[m]
            sign = "+" if (q["p50"] or 0) > 0 else ""
            lower = q["share_lower"]
            cells.append(
                f"<td>{sign}{fmt_number(q['p50'])}<br><small>{fmt_number(q['p10'])} to"
                f" {fmt_number(q['p90'])}"
                + (f"; lower in {100 * lower:.0f}%" if lower is not None else "")
                + "</small></td>"
            )
        rows.append(
            f"<tr><th>{html.escape(labels.get(vid, vid))}<br><code>{vid}</code></th>"
            + "".join(cells)
            + "</tr>"
        )
    return (
        "<h2>Change against the status quo</h2><p>Each variant minus the status quo,"
        " replicate by replicate (both saw the same flows and assumption draws), over the"
        " forecast years: median, 10th to 90th percentile, and the share of replicates in which"
        " the variant is lower. These paired differences are much narrower than the ranges of"
        " the levels above, which mostly reflect how uncertain the flows are: compare policies"
        " on these.</p>"
        f"<table><tr><th>Variant</th>{head}</tr>{''.join(rows)}</table>"
    )


def _variants_html(info: dict[str, Any]) -> str:
    parts = []
    for v in info["variants"]:
        tag = ' <span class="hyp">HYPOTHETICAL</span>' if v["hypothetical"] else ""
        why = (
            f"<p class='why'><b>No hub opens:</b> {html.escape(v['why_no_effect'])}. The results"
            " therefore equal the status quo.</p>"
            if v["why_no_effect"]
            else ""
        )
        hubs = ", ".join(sorted(v["hubs_operating"])) or "none"
        src = "; ".join(html.escape(s) for s in v["sources"])
        parts.append(
            f"<h3>{html.escape(v['label'])} <code>{v['id']}</code>{tag}</h3>"
            f"<p>{html.escape(v['assumes'])}</p>{why}"
            f"<p><small>Hubs operating in the run: {html.escape(hubs)}. Sources: {src}</small></p>"
        )
    return "".join(parts)


def _bound(x: float | None) -> str:
    return "no upper bound" if x is None else f"{x:.3f}"


def _drawn_html(q: list[float] | None) -> str:
    """One sentence on the factor's range over replicates (each draws the network's crossing
    probabilities)."""
    if not q:
        return ""
    return (
        "Most of those probabilities are assumptions, so every replicate draws its own (each"
        " crossing's odds of interception and of a pushback halved to doubled) and resolves the"
        f" network again: the factor's median over replicates is {q[1]:.3f}, its 10–90% range"
        f" {q[0]:.3f}–{q[2]:.3f}."
    )


def _rail_html(ctx: Context) -> str:
    """The route network without and with the railway: measures, main routes, flow maps."""
    path = ctx.pack / "fitted" / "route_effects.json"
    if not path.is_file():
        return ""
    eff = json.loads(path.read_text(encoding="utf-8"))
    a, b = eff["without"], eff["with_rail"]
    measures = (
        ("share_via_montenegro", "people through Montenegro", "{:.0%}"),
        ("share_via_serbia", "people through Serbia", "{:.0%}"),
        ("wb_detections_per_person", "Western Balkans detections per person", "{:.3f}"),
        ("mean_days_to_channel", "days to the Channel coast", "{:.1f}"),
        ("channel_arrivals_per_person", "reach the Channel, per person", "{:.3f}"),
    )
    rows = "".join(
        f"<tr><td>{label}</td><td>{fmt.format(a[k])}</td><td>{fmt.format(b[k])}</td></tr>"
        for k, label, fmt in measures
    )

    def top(shares: dict[str, float]) -> str:
        best = sorted(shares.items(), key=lambda kv: -kv[1])[:5]
        return "".join(f"<li>{html.escape(r)}: {v:.0%}</li>" for r, v in best)

    maps = ""
    for name, title in (
        ("flows_without_rail.png", "without the railway"),
        ("flows_with_rail.png", "with the railway"),
    ):
        img = ctx.pack / "fitted" / name
        if img.is_file():
            data = base64.b64encode(img.read_bytes()).decode("ascii")
            maps += (
                f"<figure><img alt='flow map {title}' style='max-width:560px'"
                f" src='data:image/png;base64,{data}'><figcaption>People a month per link,"
                f" {title}</figcaption></figure>"
            )
    return (
        "<table><tr><th>Route network, from 2027, 730 days</th><th>without the railway</th>"
        f"<th>with it</th></tr>{rows}</table>"
        f"<p>Main routes without the railway:</p><ol>{top(a['route_shares'])}</ol>"
        f"<p>With it:</p><ol>{top(b['route_shares'])}</ol>{maps}"
    )


def _routes_html(ctx: Context) -> str:
    """What the route calibration fitted and what the data cannot identify (routes.json)."""
    path = ctx.pack / "fitted" / "routes.json"
    entry = (
        json.loads(path.read_text(encoding="utf-8"))
        .get("by_cutoff", {})
        .get(str(ctx.cutoff.date()))
        if path.is_file()
        else None
    )
    if entry is None:
        return "<p>No route calibration stored for this cut-off (fitted/routes.json).</p>"
    rp = entry["route_preferences"]
    names = {
        "wb_detections": "Western Balkans",
        "em_detections": "Eastern Mediterranean",
        "cm_detections": "Central Mediterranean",
    }
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{rp['per_detection'][k]:.3f}</td>"
        f"<td>{_bound(rp['interval_95'][k][0])}–{_bound(rp['interval_95'][k][1])}</td></tr>"
        for k, label in names.items()
    )
    ret = "; ".join(
        f"{y}: enforced {v['enforced']['model']:,.0f} vs {v['enforced']['published']:,.0f}"
        f" published, voluntary {v['voluntary']['model']:,.0f} vs"
        f" {v['voluntary']['published']:,.0f}"
        for y, v in sorted(entry["returns"].items())
        if int(y) >= 2022
    )
    return (
        f"<p>Route preferences: small-boat arrivals per Frontex detection on each route a month"
        f" earlier, fitted {rp['start']}–{rp['through']} (monthly MAPE {rp['mape']:.0f}%: the"
        " routes explain little of the Channel's month-to-month swings, so the small-boat"
        " forecast is its own fitted series; these rates carry the EU return hubs' displacement"
        " and the railway's route change to the Channel).</p>"
        "<table><tr><th>Route</th><th>arrivals per detection</th><th>95% interval"
        f" (profile likelihood)</th></tr>{rows}</table>"
        f"<p>Interception: {html.escape(entry['interception']['note'])}.</p>"
        f"<p>Deterrence: {html.escape(entry['deterrence']['note'])}.</p>"
        "<p>Returns of people who claimed asylum (a check, not fitted: the removal capacity is"
        " the published enforced returns; voluntary returns follow an assumed rate and run"
        f" low): {ret} (Home Office Ret_05; 2024 derived).</p>"
    )


def _backtest_html(ctx: Context) -> str:
    from corridor.flagship.backtest_report import backtest_html

    path = ctx.pack / "fitted" / "backtest.json"
    if not path.is_file():
        return "<p>No back-test stored in the pack (run <code>corridor backtest</code>).</p>"
    return backtest_html(json.loads(path.read_text(encoding="utf-8")))


def _breaks(s: dict[str, Any]) -> str:
    found = s.get("breaks") or []
    if not found:
        return "none"
    words = {"level_shift": "level shift", "outlier": "outlier"}
    return "; ".join(
        f"{html.escape(b['month'])} {words.get(b['kind'], b['kind'])} {b['size']:+.2f}"
        for b in found
    )


def write_report(
    run: FlagshipRun, ctx: Context, info: dict[str, Any], pool: Pool | None = None
) -> None:
    """The main job's ``report.html`` and ``figures/`` (charts drawn on ``pool`` when given)."""
    from corridor.flagship.hub_report import hub_section
    from corridor.flagship.report_charts import chart_metrics, charts_html, write_pngs
    from corridor.flagship.report_years import BAND_NOTE, observed_year, year_tables_html

    labels = {v["id"]: v["label"] for v in info["variants"]}
    seen = ctx.cutoff.year
    observed = observed_year(ctx.pack, seen)
    lead_years = tuple(
        y for y in (seen + 1, seen + 2) if any(str(y) in p for p in run.summary.values())
    )
    lead = (
        f"<h2>{' and '.join(map(str, lead_years))}, variant by variant, beside {seen} as"
        f" published</h2>{year_tables_html(run.summary, labels, lead_years, observed, seen)}"
        if lead_years
        else ""
    )
    charts = chart_metrics(
        run.summary, labels, observed, seen, workers=int(info["workers"]), pool=pool
    )
    write_pngs(charts, run.out_dir / "figures")
    figs = charts_html(charts, BAND_NOTE)
    fitted = (
        ", ".join(f"{PLAIN_NAMES.get(k, k)} = {v:.4g}" for k, v in info["fitted"].items())
        or "none stored"
    )
    series = "".join(
        f"<tr><td>{html.escape(PLAIN_NAMES.get(k, k))}</td><td>{s['start']}–{s['end']}</td><td>{s['sigma_level']:.3f}</td>"
        f"<td>{s['sigma_irregular']:.3f}</td><td>{s['in_sample_mape']:.1f}</td>"
        f"<td>{_breaks(s)}</td></tr>"
        for k, s in info["series"].items()
    )
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Corridor — {html.escape(info["scenario"])}: policy variants {ctx.cutoff.year + 1}–{ctx.end.year}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}}
table{{border-collapse:collapse;font-size:12px;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}
th{{background:#f3f3f3;text-align:left}}figure{{display:inline-block;margin:4px}}.hyp{{background:#b00;color:#fff;padding:1px 4px;font-size:11px}}
.why{{background:#fff4e5;padding:4px}}small{{color:#555}}tr.obs{{background:#eef4fb}}table.years small{{white-space:nowrap}}ol.notes{{font-size:12px;color:#555}}</style></head><body>
<h1>UK – Western Balkans – Channel: return hubs and other policies, {ctx.cutoff.year + 1}–{ctx.end.year}</h1>
<p>Scenario <code>{html.escape(info["scenario"])}</code> (content hash <code>{info["content_hash"][:12]}</code>),
data through {info["cutoff"]}, {info["replicates"]} replicates per variant (seed {info["seed"]}, common random
numbers across variants), {info["workers"]} worker(s), {run.seconds:.1f} s. Aggregate outputs for whole
populations only; nothing here describes or predicts any individual. Read the
model card (<code>docs/model-card.md</code> in the Corridor repository) for what the model is for,
its validation and its limits.</p>
{lead}
<h2>Comparison, {ctx.cutoff.year + 1}–{ctx.end.year}</h2>
<p>Totals over the years (stocks at the end), median over replicates with the 10–90% range beneath
(ranges as in the tables above: flows, assumptions and system parameters drawn per replicate, not the
randomness of individual cases within the system).
{_costs_note(ctx)}</p>
{_table_html(run, info)}
{_differences_html(run, info)}
<h2>By year, every variant against the status quo</h2>{figs}
<h2>The variants: what each assumes</h2>{_variants_html(info)}
{hub_section(run, info)}
<h2>Montenegro's railway and the routes</h2>
<p>Western Balkans detections are multiplied by {info["rail_wb_detection_factor"]:.3f} once the railway runs,
at the network tables' own crossing probabilities (the route network resolved in expectation with and without it).
{_drawn_html(info.get("rail_wb_detection_factor_drawn"))} {html.escape(info["rail_note"])}</p>
{_rail_html(ctx)}
<h2>Calibration and back-test</h2>
<p>Calibrated asylum parameters (fit through {ctx.cutoff.year}): {html.escape(fitted)}.</p>
<table><tr><th>Flow series</th><th>Fitted months</th><th>σ level</th><th>σ irregular</th><th>one-step MAPE %</th><th>breaks and outliers found (log size)</th></tr>{series}</table>
<p><small>Breaks: months whose standardised smoothed disturbance exceeds 3 (Harvey &amp; Koopman 1992),
taken out of the everyday noise; future level shifts are drawn at each series' own historical
frequency and size. The form of the level (random walk or mean-reverting) was chosen by its rolling-origin
score on 2021–2024 (fitted/flow_model_selection.json).</small></p>
<h3>Routes, interception and deterrence: what the data identify</h3>
{_routes_html(ctx)}
<h3>Back-test</h3>
{_backtest_html(ctx)}
</body></html>"""
    write_text(run.out_dir / "report.html", doc)
