"""Section "Flow through the asylum pipeline": a flow (Sankey) diagram per policy.

Contract: reads each group's cumulative totals over the whole period, mean over its runs
(:func:`corridor.report.figures.pipeline_totals`), and its first run's meta for hubs marked
hypothetical. Produces, for at most the first :data:`MAX_DRAWN` groups, a diagram
(:mod:`corridor.report.sankey`, written as ``pipeline_<k>_<label>.png``) with a caption of the
headline totals, and a note of how many more policies are not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from corridor.report.embed import slug
from corridor.report.figures import pipeline_totals
from corridor.report.markup import esc, num

if TYPE_CHECKING:
    from corridor.report.embed import Figures
    from corridor.report.run_groups import RunGroup
    from corridor.results.store import Store

__all__ = ["MAX_DRAWN", "pipeline_section"]

MAX_DRAWN = 4  # flow diagrams (and route maps) drawn at most, one per policy


def _hypothetical_hubs(meta: Mapping[str, Any]) -> list[str]:
    """Hubs of a run marked hypothetical that operated (from its meta)."""
    hubs = meta.get("hubs")
    if not isinstance(hubs, dict):
        return []
    return [
        str(h)
        for h, m in hubs.items()
        if isinstance(m, dict) and m.get("hypothetical") and (m.get("operating_days") or 0) > 0
    ]


def pipeline_section(
    groups: Sequence[RunGroup],
    store: Store,
    figs: Figures,
    metas: Mapping[str, Mapping[str, Any]],
) -> str:
    from corridor.report.sankey import pipeline, sankey_figure

    parts = [
        "<p>People through the asylum pipeline over the whole period (mean over replicates): "
        "arrivals and the people already waiting at the start, claims, initial decisions, "
        "grants and refusals, appeals, and what became of refused people (voluntary "
        "departure, enforced removal, transfer to a hub, absconding, limbo) and of people "
        "sent to hubs. Boxes on the right of each column hold the people still in that "
        "stage at the end. A box's size is the larger of its inflow and outflow.</p>"
    ]
    shown = groups[:MAX_DRAWN]
    for k, g in enumerate(shown):
        totals = pipeline_totals(store, g.run_ids)
        nodes, links = pipeline(totals)
        fig = sankey_figure(
            nodes,
            links,
            title=f"{g.label}: people through the pipeline",
            note=f"{g.n} run{'s' if g.n != 1 else ''}; cumulative people, mean over runs",
        )
        parts.append(
            figs.add(
                fig,
                f"pipeline_{k}_{slug(g.label)}",
                f"Flow diagram of the asylum pipeline, {g.label}",
                f"{esc(g.label)}: claims {num(totals.get('new_claims', 0.0))}, decisions "
                f"{num(totals.get('new_decisions', 0.0))}, grants (initial + appeal) "
                f"{num(totals.get('new_grants', 0.0) + totals.get('new_appeals_allowed', 0.0))}"
                f", removals {num(totals.get('new_removals', 0.0))}, hub transfers "
                f"{num(totals.get('new_hub_transfers', 0.0))}."
                + (
                    " <strong>HYPOTHETICAL</strong> hubs (they operate even if the host "
                    "refused): " + esc(", ".join(hypo)) + "."
                    if (hypo := _hypothetical_hubs(metas.get(g.run_ids[0], {})))
                    else ""
                ),
            )
        )
    if len(groups) > len(shown):
        parts.append(
            f"<p class='muted'>{len(groups) - len(shown)} more policies are not drawn.</p>"
        )
    return "\n".join(parts)
