"""Section "Costs": nominal pounds by cost item and year, per policy.

Contract: reads each group's costs by item and year, mean over its runs
(:func:`corridor.report.figures.cost_by_item_year`), for at most the first six groups.
Produces one stacked-bar figure of all of them (written as ``costs.png``) and a table of each
item's whole-period total per policy with a total row. Pounds are nominal (no deflation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from corridor.report.figures import cost_by_item_year, cost_figure
from corridor.report.markup import esc, num, table

if TYPE_CHECKING:
    from corridor.report.embed import Figures
    from corridor.report.run_groups import RunGroup
    from corridor.results.store import Store

__all__ = ["costs_section"]


def costs_section(groups: Sequence[RunGroup], store: Store, figs: Figures) -> str:
    costs = {g.label: cost_by_item_year(store, g.run_ids) for g in groups[:6]}
    fig = cost_figure(costs, title="Cost by item and year (nominal £, mean over replicates)")
    parts = [
        "<p>Nominal pounds (no deflation) by cost item and year, mean over replicates. "
        "Accommodation is priced per supported person-night; decisions and appeals per case; "
        "removals and hub transfers per person; hub payments as the agreements set them "
        "(assumptions C1–C8).</p>",
        figs.add(fig, "costs", "Stacked bars of cost by item and year", "Cost by item and year."),
    ]
    items = sorted({c for f in costs.values() for c in f.columns})
    if items:
        rows = []
        for item in items:
            row = [esc(item.replace("_", " "))]
            for f in costs.values():
                row.append(num(float(f[item].sum()) if item in f.columns else 0.0, True))
            rows.append(row)
        rows.append(
            ["<strong>total</strong>"]
            + [f"<strong>{num(float(f.to_numpy().sum()), True)}</strong>" for f in costs.values()]
        )
        parts.append("<h3>Whole period by item</h3>")
        parts.append(table(["item", *costs.keys()], rows, cls="costs"))
    return "\n".join(parts)
