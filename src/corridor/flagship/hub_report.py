"""The main job's report, hub section: hosts as they stated, and what hubs cost per outcome.

Reads: the job's :class:`~corridor.flagship.summaries.FlagshipRun` (its ``differences``, which
carry each hub variant's costs per outcome from :mod:`corridor.flagship.hubs`) and the
``variants.json`` info (hosts' dated positions with their conditions and sources; each
variant's kind, assumptions and the conditions it meets, and ``hub_terms``: each hub's host,
capacity, costs and outcome shares with their ranges). Produces: HTML — a table per host
(position, condition, source, what each variant assumes of it), a table of what each hub
variant assumes of its host's hub (beds, flights and seats, stay, outcomes, cost a night,
payment to the host, set-up, each with its range and source), the costs per outcome with
their 10-90% ranges beside the Home Office IA's and the NAO's figures
(:data:`~corridor.flagship.hubs.REFERENCES`), and the cost breakdown. Invariants: pure; every
figure shown is read from the run or cited.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from corridor.flagship.hubs import REFERENCES

if TYPE_CHECKING:
    from corridor.flagship.summaries import FlagshipRun

__all__ = ["hub_section"]

_OUTCOMES = (
    ("cost_per_transfer_gbp", "Cost per person transferred (hub costs ÷ transfers)", "£"),
    ("net_cost_per_transfer_gbp", "Net cost per person transferred (Δ total ÷ transfers)", "£"),
    ("cost_per_additional_removal_gbp", "Cost per additional removal (paired)", "£"),
    ("cost_per_person_deterred_gbp", "Cost per person deterred (paired)", "£"),
    ("breakeven_deterrence", "Break-even deterrence d* = 1 − S/G (IA: 37%)", "%"),
)
_PARTS = (
    ("cost_setup_gbp", "Set-up"),
    ("cost_nights_gbp", "Per bed-night"),
    ("cost_flights_gbp", "Flights and escorts"),
    ("cost_host_payments_gbp", "Payments to the host"),
    ("cost_legal_gbp", "Tribunal and legal aid (Δ)"),
)


def _fmt(x: float | None, unit: str) -> str:
    from corridor.flagship.summaries import fmt_number

    if x is None:
        return "–"
    if unit == "%":
        return f"{100 * x:.0f}%"
    return "£" + fmt_number(x, compact=True)


def _cell(q: dict[str, Any] | None, unit: str) -> str:
    if not q or q.get("p50") is None:
        return "<td>–</td>"
    n = f"; {q['replicates']} of {q['of']} replicates" if "of" in q else ""
    return (
        f"<td>{_fmt(q['p50'], unit)}<br><small>{_fmt(q['p10'], unit)} to "
        f"{_fmt(q['p90'], unit)}{n}</small></td>"
    )


def _hosts_html(info: dict[str, Any]) -> str:
    variants = info.get("variants", [])
    rows = []
    for host, steps in info.get("host_positions", {}).items():
        latest = steps[-1]
        key = host.split()[0].lower()
        assumed = [
            f"<b>{html.escape(v['id'])}</b>: "
            + ("HYPOTHETICAL — " if v.get("hypothetical") else "")
            + ("condition met; " if host in v.get("conditions_met", []) else "")
            + html.escape(v["assumes"][:220])
            + ("…" if len(v["assumes"]) > 220 else "")
            for v in variants
            if key in v["id"] or host in v.get("conditions_met", [])
        ]
        dated = "<br>".join(
            f"{html.escape(s['date'])}: {html.escape(s['position'])}" for s in steps
        )
        src = "<br>".join(html.escape(s["source"]) for s in steps)
        rows.append(
            f"<tr><th>{html.escape(host)}</th><td>{dated}</td>"
            f"<td>{html.escape(latest.get('condition', ''))}</td><td><small>{src}</small></td>"
            f"<td><small>{'<br>'.join(assumed) or '–'}</small></td></tr>"
        )
    return (
        "<table><tr><th>Host</th><th>Stated position (dated)</th><th>Condition</th>"
        "<th>Source</th><th>What the variants assume</th></tr>" + "".join(rows) + "</table>"
    )


def _money(x: float) -> str:
    from corridor.flagship.summaries import fmt_number

    return "£" + fmt_number(x, compact=True)


def _term(t: dict[str, Any], key: str, money: bool) -> str:
    show = _money if money else (lambda x: f"{x:,.0f}")
    rng = t.get("ranges", {}).get(key)
    extra = f"<br><small>{show(rng[0])} to {show(rng[1])}</small>" if rng else ""
    return f"<td>{show(float(t[key]))}{extra}</td>"


def _terms_html(info: dict[str, Any]) -> str:
    """What each hub variant assumes of its host's hub (``hub_terms`` of variants.json)."""
    rows = []
    for v in info.get("variants", []):
        for hid, t in v.get("hub_terms", {}).items():
            sh = t["shares"]
            label = ("HYPOTHETICAL — " if v.get("hypothetical") else "") + v.get("label", v["id"])
            srcs = "; ".join(f"{k}: {s}" for k, s in t.get("range_sources", {}).items())
            rows.append(
                f"<tr><th>{html.escape(label)}<br><code>{html.escape(v['id'])}</code></th>"
                f"<td>{html.escape(t['host'])}<br><code>{html.escape(hid)}</code></td>"
                + _term(t, "beds", False)
                + f"<td>{t['flights_per_week']:g} × {t['seats_per_flight']:g}</td>"
                f"<td>{t['stay_days']:g}</td>"
                f"<td>{sh['removed_onward']:.0%} / {sh['left']:.0%} / {sh['stayed']:.0%} /"
                f" {sh['returned_uk']:.0%}</td>"
                + _term(t, "cost_per_night_gbp", True)
                + _term(t, "fixed_payment_gbp", True)
                + _term(t, "setup_gbp", True)
                + f"<td><small>{html.escape(t.get('source', ''))}"
                f"{'<br>' + html.escape(srcs) if srcs else ''}</small></td></tr>"
            )
    if not rows:
        return ""
    return (
        "<p>What each hub variant assumes of its host's hub (the scenario's figures; below"
        " each, the outer range drawn per replicate, every factor at its 10% then its 90%"
        " point):</p><table><tr><th>Variant</th><th>Host (hub)</th><th>Beds</th>"
        "<th>Flights a week × seats</th><th>Mean stay (days)</th>"
        "<th>Removed onward / left / stayed / brought back to the UK</th>"
        "<th>Cost a night</th><th>Payment to the host a year</th><th>Set-up</th>"
        "<th>Source</th></tr>" + "".join(rows) + "</table>"
    )


def _costs_html(run: FlagshipRun, info: dict[str, Any]) -> str:
    labels = {v["id"]: v["label"] for v in info.get("variants", [])}
    hub_ids = [vid for vid, per in run.differences.items() if "cost_per_transfer_gbp" in per]
    if not hub_ids:
        return "<p>No variant in this run transfers anyone to a hub.</p>"
    head = "".join(f"<th>{html.escape(lbl)}</th>" for _k, lbl, _u in _OUTCOMES)
    parts_head = "".join(f"<th>{html.escape(lbl)}</th>" for _k, lbl in _PARTS)
    rows, parts = [], []
    for vid in hub_ids:
        per = run.differences[vid]
        name = f"<th>{html.escape(labels.get(vid, vid))}<br><code>{vid}</code></th>"
        rows.append(
            "<tr>" + name + "".join(_cell(per.get(k), u) for k, _l, u in _OUTCOMES) + "</tr>"
        )
        parts.append("<tr>" + name + "".join(_cell(per.get(k), "£") for k, _l in _PARTS) + "</tr>")
    refs = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td>"
        f"<td><small>{html.escape(c)}</small></td></tr>"
        for a, b, c in REFERENCES
    )
    return (
        "<p>Per hub variant, replicate by replicate against the status quo over the forecast"
        " years (pounds of the scenario's price year, undiscounted): median, 10–90% range and"
        " the replicates that gave a number (no transfers, no additional removal or nobody"
        " deterred: no ratio). The break-even deterrence is the IA's form with G the hub's cost"
        " per transfer and S the status quo's cost per asylum claim, from the job's runs"
        " (deterrence on as drawn; <code>corridor breakeven</code> reruns with it off).</p>"
        f"<table><tr><th>Variant</th>{head}</tr>{''.join(rows)}</table>"
        "<p>What analysts quote (data.md section 4):</p>"
        f"<table><tr><th>Figure</th><th>Value</th><th>Source</th></tr>{refs}</table>"
        "<p>Breakdown (totals over the forecast years; the railway is a payment to the host;"
        " court challenges to the scheme itself are not priced):</p>"
        f"<table><tr><th>Variant</th>{parts_head}</tr>{''.join(parts)}</table>"
    )


def hub_section(run: FlagshipRun, info: dict[str, Any]) -> str:
    """The report's hub section (module docstring)."""
    return (
        "<h2>Return hubs: hosts as they stated, and costs per outcome</h2>"
        "<p>A hub opens only where its host agreed, where the variant meets the host's stated"
        " condition, or where the variant is labelled hypothetical; a hub whose condition is not"
        " met carries no transfers. Where it opens, its life is drawn per replicate: whether it"
        " ever opens, how late, how fast its beds come into use, flights, stays, court"
        " suspensions and outcome shares (forecast.hub_process in scenario.yaml, each range"
        " cited or labelled an assumption).</p>"
        f"{_hosts_html(info)}{_terms_html(info)}{_costs_html(run, info)}"
    )
