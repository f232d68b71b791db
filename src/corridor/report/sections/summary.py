"""Section "What the scenario assumes": each scenario and each policy in plain words.

Contract: reads the loaded scenarios (:class:`~corridor.report.scenario_info.ScenarioInfo`),
the groups' overrides and each group's first run's meta (``result`` of ``meta.json``); for hubs
it rebuilds the asylum parameters (:func:`corridor.asylum.params.build_params`) to say on which
days each hub operates, falling back on the run's meta when that fails. Produces HTML lists:
one item per assumption (period, arrivals, caseworkers, appeals, returns, deterrence,
inadmissibility, dated policies, uncertain parameters, sampling), then, per policy, only the
items its overrides change and why each hub does or does not operate. A second scenario lists
only what differs from the first; a scenario that was not found gets its problem as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.errors import InputError
from corridor.report.markup import assignments, day, esc, linkify, source_html, ul

if TYPE_CHECKING:
    from corridor.report.run_groups import RunGroup
    from corridor.report.scenario_info import ScenarioInfo

__all__ = ["summary_section"]

log = logging.getLogger("corridor.report.html")  # the report's one logger, as before the split


def _schedule_words(value: Any, unit: str, fmt: str = "{:,.0f}") -> str:
    """A schedule (a number or dated steps) in words."""
    if not isinstance(value, list):
        return f"{fmt.format(float(value))} {unit}"
    steps = sorted(value, key=lambda s: s.date)
    if len(steps) == 1:
        return f"{fmt.format(steps[0].value)} {unit} (from {steps[0].date})"
    vals = [s.value for s in steps]
    return (
        f"{fmt.format(steps[0].value)} {unit} from {steps[0].date} to "
        f"{fmt.format(steps[-1].value)} {unit} from {steps[-1].date} "
        f"({len(steps)} dated steps, between {fmt.format(min(vals))} and {fmt.format(max(vals))})"
    )


def _host_row_words(row: pd.Series) -> str:
    src = str(row.get("source") or "")
    cite = f", {source_html(src)}" if src else ""
    position = esc(str(row["position"]).replace("_", " "))
    return f"{esc(row['host'])} {position} ({day(row['date'])}{cite})"


def _hub_sentences(info: ScenarioInfo, group: RunGroup, meta: Mapping[str, Any]) -> list[str]:
    """Why each hub does or does not operate, in words (HTML)."""
    assert info.loaded is not None
    from corridor.asylum.params import HOST_POSITIONS, HUB_STATUSES, build_params
    from corridor.asylum.run import apply_overrides

    sc = info.loaded.scenario
    hosts = info.loaded.tables.get("hosts", pd.DataFrame())
    end = pd.Timestamp(sc.period.end)
    p: Any = None
    try:
        loaded = apply_overrides(info.loaded, group.overrides) if group.overrides else info.loaded
        p = build_params(loaded)
    except Exception as exc:  # the run's own meta still says what happened
        log.warning("hub arrays unavailable (%s); using the run's meta", exc)
    out: list[str] = []
    hub_meta = meta.get("hubs", {}) if isinstance(meta.get("hubs"), dict) else {}
    for j, hub in enumerate(sc.hubs):
        rows = hosts[(hosts["host"] == hub.host) & (pd.to_datetime(hosts["date"]) <= end)]
        rows = rows.sort_values("date", kind="stable") if len(rows) else rows
        refusals = rows[rows["position"] == "refused"] if len(rows) else rows
        name = f"<strong>{esc(hub.id)}</strong> ({esc(hub.host)})"
        hm = hub_meta.get(hub.id, {}) if isinstance(hub_meta, dict) else {}
        steps = [f"{st.status} {st.date}" for st in hub.agreement]
        steps += [
            f"{q.set[f'hubs.{hub.id}.status']} {q.date} (policy)"
            for q in sc.policies
            if f"hubs.{hub.id}.status" in q.set
        ]
        history = ", ".join(steps) or "no agreement"
        if p is not None and j < len(p.hub_ids) and p.hub_ids[j] == hub.id:
            op = np.asarray(p.hub_operating[:, j], dtype=bool)
            status = np.asarray(p.hub_agreement[:, j])
            hypo = np.asarray(p.hub_hypothetical[:, j], dtype=bool)
            refused_day = np.asarray(p.host_position[:, j]) == HOST_POSITIONS.index("refused")
            dates = p.dates
            op_days = int(op.sum())
            first = str(dates[int(np.argmax(op))].date()) if op_days else None
            last = str(dates[len(op) - 1 - int(np.argmax(op[::-1]))].date()) if op_days else None
            reaches = bool((status == HUB_STATUSES.index("operating")).any())
            hyp_refused = bool((op & hypo & refused_day).any())
        else:
            op_days = int(hm.get("operating_days", 0) or 0)
            first, last = hm.get("first_operating"), None
            reaches = any(s.status == "operating" for s in hub.agreement)
            hyp_refused = bool(hub.hypothetical and len(refusals))
        if op_days:
            until = f" to {last}" if last and last != str(end.date()) else ""
            text = f"{name} operates from {first}{until} ({op_days:,} days)"
            if hyp_refused and len(refusals):
                text += (
                    f". <strong>HYPOTHETICAL</strong>: it runs although "
                    f"{_host_row_words(refusals.iloc[-1])}"
                )
            elif len(rows):
                text += f"; the host's stated position: {_host_row_words(rows.iloc[-1])}"
            else:
                text += "; the host has no stated position in hosts.csv"
            out.append(text + ".")
            continue
        reasons: list[str] = []
        if len(refusals) and not hub.hypothetical:
            reasons.append(f"{_host_row_words(refusals.iloc[-1])}, so no hub operates there")
        if not reaches:
            reasons.append(f"its agreement never reaches 'operating' in the period ({history})")
        if not reasons:
            reasons.append("it does not operate within the period")
        out.append(f"{name} does not operate: " + "; and ".join(reasons) + ".")
    return out


def _arrivals_words(info: ScenarioInfo) -> str:
    assert info.loaded is not None
    sc = info.loaded.scenario
    table = info.loaded.tables.get("arrivals", pd.DataFrame())
    rule = {
        "repeat_last_year": "repeat the same month a year earlier",
        "zero": "are zero",
        "hold_last_month": "stay at the last month's level",
    }[sc.arrivals.after_table]
    if table.empty:
        return "The arrivals table is empty."
    months = pd.to_datetime(table["month"])
    first, last = months.min(), months.max()
    total = float(table["people"].sum())
    nats = table["nationality"].nunique()
    words = (
        f"Arrivals come from the table for {first:%b %Y}–{last:%b %Y} "
        f"({total:,.0f} people, {nats} nationalities); "
    )
    end_table = last + pd.offsets.MonthEnd(0)
    if pd.Timestamp(sc.period.end) > end_table:
        words += f"after {last:%b %Y} (the end of the data) arrivals {rule}"
    else:
        words += "the period ends within the data, so no arrivals are assumed beyond it"
    words += f". A share of {sc.arrivals.claim_share:.0%} of arrivals claim asylum"
    if sc.arrivals.scale != 1.0:
        words += f"; every arrival figure is multiplied by {sc.arrivals.scale:g}"
    return words + "."


def summary_section(
    groups: Sequence[RunGroup],
    infos: Mapping[str, ScenarioInfo],
    metas: Mapping[str, Mapping[str, Any]],
) -> str:
    parts: list[str] = []
    first: tuple[str, list[str]] | None = None
    for name, info in infos.items():
        parts.append(f"<h3>Scenario {esc(name)}</h3>")
        if info.loaded is None:
            parts.append(f'<p class="warn">{esc(info.problem)}</p>')
            continue
        sc = info.loaded.scenario
        items = _scenario_items(info)
        if first is None:
            first = (name, items)
            shown = items
        else:
            shown = [t for t in items if t not in first[1]]
            shown.append(f"Everything else as in scenario {esc(first[0])}.")
        parts.append(ul(shown))
        said: dict[str, list[str]] = {}
        for g in (g for g in groups if g.scenario == name):
            head = f"<h4>Under {esc(g.label)}</h4>"
            if g.overrides:
                head += f"<p>This policy sets {esc(assignments(g.overrides))}"
                changed = _policy_items(info, g, items)
                head += ":</p>" + ul(changed) if changed else ".</p>"
            if not sc.hubs:
                parts.append(head + "<p>No third-country hub is configured.</p>")
                continue
            hubs = _hub_sentences(info, g, metas.get(g.run_ids[0], {}))
            same = next((lab for lab, h in said.items() if h == hubs), None)
            if same is not None:
                parts.append(head + f"<p>Hubs: as under {esc(same)}.</p>")
                continue
            said[g.label] = hubs
            parts.append(head + "<p>Hubs:</p>" + ul(hubs))
    return "\n".join(parts)


def _policy_items(info: ScenarioInfo, g: RunGroup, base: Sequence[str]) -> list[str]:
    """The summary items that a policy's overrides change."""
    import dataclasses

    from corridor.asylum.run import apply_overrides

    assert info.loaded is not None
    try:
        loaded = apply_overrides(info.loaded, g.overrides)
    except InputError as exc:
        return [esc(f"(cannot apply these overrides to the scenario as it is now: {exc})")]
    return [t for t in _scenario_items(dataclasses.replace(info, loaded=loaded)) if t not in base]


def _scenario_items(info: ScenarioInfo) -> list[str]:
    """What a scenario assumes, one HTML sentence or two per item."""
    assert info.loaded is not None
    sc = info.loaded.scenario
    days = (sc.period.end - sc.period.start).days + 1
    items: list[str] = []
    if sc.description:
        items.append(f"<em>{linkify(sc.description.strip())}</em>")
    items.append(
        f"Period: {sc.period.start} to {sc.period.end} ({days:,} days, "
        f"{days / 365.25:.1f} years), one step a day."
    )
    items.append(esc(_arrivals_words(info)))
    a = sc.asylum
    items.append(
        "Caseworkers: "
        + esc(_schedule_words(a.caseworkers, "FTE"))
        + "; each decides "
        + esc(_schedule_words(a.productivity, "cases a month", "{:,.2f}"))
        + f". Initial backlog {a.initial_backlog:,.0f} people; {a.household_size:g} people "
        f"per case; claims are withdrawn at {a.withdrawal_rate:g} a year while waiting; "
        f"queue discipline {esc(a.discipline)}."
    )
    ap = a.appeals
    items.append(
        f"Appeals: {ap.lodge_share:.0%} of refused people appeal; "
        + esc(_schedule_words(ap.judges, "judges"))
        + f" at {ap.hearings_per_judge_month:g} determinations a month each; "
        f"{ap.allow_rate:.0%} are allowed."
    )
    r = sc.returns
    nat = info.loaded.tables.get("nationalities", pd.DataFrame())
    removable = (
        sorted(str(n) for n in nat.loc[nat["returns_agreement"].astype(bool), "nationality"])
        if len(nat)
        else []
    )
    items.append(
        "Returns: "
        + esc(_schedule_words(r.removal_capacity, "removals a month"))
        + f", {r.detention_places:,.0f} detention places; voluntary departure "
        f"{r.voluntary_rate:g} a year, absconding {r.abscond_rate:g} a year. Nationalities "
        "with a returns agreement (removable): "
        + (esc(", ".join(removable)) if removable else "none")
        + "; refused people of the others are in limbo unless a hub takes them. Removals and"
        " hub transfers take the "
        + ("most recently refused" if r.removal_order == "newest_first" else "longest-waiting")
        + " first"
        + (
            f"; {r.initial_refused:,.0f} people refused before the start are still here."
            if r.initial_refused > 0
            else "."
        )
    )
    d = sc.deterrence
    if d.enabled:
        items.append(
            f"Deterrence is <strong>on</strong>: arrivals are multiplied by "
            f"1 − {d.elasticity:g} × p_removal, where p_removal is the share of a "
            f"nationality's recent outcomes (over {d.window_days} days, known "
            f"{d.lag_days} days late) that were removals or hub transfers. The evidence "
            "for this effect is weak and confounded (assumption P17)."
        )
    else:
        items.append(
            "Deterrence is <strong>off</strong>: arrivals do not respond to removals or "
            "hub transfers."
        )
    for x in sc.inadmissibility:
        until = f" to {x.to_date}" if x.to_date else ""
        who = ", ".join(x.nationalities) if x.nationalities else "all nationalities"
        items.append(
            f"Inadmissibility from {x.from_date}{until}: {x.share:.0%} of claimants "
            f"({esc(who)}) are screened out."
        )
    for pol in sorted(sc.policies, key=lambda q: q.date):
        note = f" ({linkify(pol.note)})" if pol.note else ""
        items.append(f"From {pol.date}: {esc(assignments(pol.set))}{note}.")
    if sc.uncertain:
        items.append(
            "Uncertain parameters drawn for each replicate: "
            + esc(", ".join(sorted(sc.uncertain)))
            + "."
        )
    if sc.agents_per_person < 1:
        items.append(f"Sampling: one agent per {1 / sc.agents_per_person:g} cases (agent engine).")
    return items
