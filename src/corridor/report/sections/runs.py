"""Section "Runs in this report": one table row per policy shown.

Contract: reads only the :class:`~corridor.report.run_groups.RunGroup` s (label, scenario,
engine, run ids, seeds, overrides, finish time) and, to warn when a scenario's files changed
since it was run, each scenario's current content hash. Produces the table, each row with the
colour swatch its policy has in every chart (:data:`corridor.report.figures.COLOURS`, by
position), and one warning paragraph per changed scenario.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from corridor.report.figures import COLOURS
from corridor.report.markup import assignments, esc, table

if TYPE_CHECKING:
    from corridor.report.run_groups import RunGroup
    from corridor.report.scenario_info import ScenarioInfo
    from corridor.results.store import Store

__all__ = ["runs_section"]


def runs_section(
    groups: Sequence[RunGroup], infos: Mapping[str, ScenarioInfo], store: Store
) -> str:
    rows = []
    warnings: list[str] = []
    for k, g in enumerate(groups):
        seeds = [s for s in g.seeds if s is not None]
        seed_txt = (
            "–"
            if not seeds
            else (str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]} … ({len(seeds)} seeds)")
        )
        over = assignments(g.overrides) or "–"
        swatch = f'<span class="sw" style="background:{COLOURS[k % len(COLOURS)]}"></span>'
        ids = g.run_ids[0] if g.n == 1 else f"{g.run_ids[0]} … {g.run_ids[-1]}"
        rows.append(
            [
                swatch + esc(g.label),
                esc(g.scenario),
                esc(g.engine),
                f"{g.n}",
                esc(g.ensemble_id or "–"),
                f"<code>{esc(ids)}</code>",
                esc(seed_txt),
                esc(over),
                esc(g.finished_at or "–"),
            ]
        )
        info = infos.get(g.scenario)
        if (
            info is not None
            and info.loaded is not None
            and g.scenario_hash
            and info.loaded.content_hash != g.scenario_hash
        ):
            warnings.append(
                f"The files of scenario {g.scenario} have changed since {g.label} was run "
                "(content hash differs): the assumptions below describe the files as they "
                "are now."
            )
    runs = table(
        [
            "policy / run",
            "scenario",
            "engine",
            "runs",
            "ensemble",
            "run ids",
            "seeds",
            "overrides",
            "finished (UTC)",
        ],
        rows,
        cls="runs",
    )
    warn = "".join(f'<p class="warn">{esc(w)}</p>' for w in dict.fromkeys(warnings))
    return (
        f"<p>Results store: <code>{esc(store.root)}</code>. Bands are quantiles across the "
        "replicates of each policy; one run gives a line without bands. The engine "
        "<em>aggregate</em> computes expected values (no randomness).</p>" + runs + warn
    )
