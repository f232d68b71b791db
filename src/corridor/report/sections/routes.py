"""Section "Route flows": a map of people a month on each link of a scenario's route network.

Contract: reads a run's stored ``link_flows.parquet`` (the first run of each of at most
:data:`~corridor.report.sections.pipeline.MAX_DRAWN` groups) and its scenario's network
(``network:`` of its ``scenario.yaml`` or the pack's ``places.csv``,
:func:`corridor.routes.schema.load_network`). Produces one map per group that has both
(:func:`corridor.report.figures.route_map_figure`, written as ``routes_<k>_<label>.png``), or a
sentence saying the scenario has no route network. A map that cannot be drawn is logged and
left out, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridor.report.embed import slug
from corridor.report.figures import route_map_figure
from corridor.report.markup import esc
from corridor.report.sections.pipeline import MAX_DRAWN

if TYPE_CHECKING:
    from corridor.report.embed import Figures
    from corridor.report.run_groups import RunGroup
    from corridor.report.scenario_info import ScenarioInfo
    from corridor.results.store import Store

__all__ = ["routes_section"]

log = logging.getLogger("corridor.report.html")  # the report's one logger, as before the split


def routes_section(
    groups: Sequence[RunGroup], infos: Mapping[str, ScenarioInfo], store: Store, figs: Figures
) -> str:
    """A route-flow map where a run stored link flows and its scenario has a network."""
    drawn: list[str] = []
    for k, g in enumerate(groups[:MAX_DRAWN]):
        result = _routes_result(store, g, infos.get(g.scenario))
        if result is None:
            continue
        fig = route_map_figure(result, title=f"{g.label}: people a month on each link")
        drawn.append(
            figs.add(
                fig,
                f"routes_{k}_{slug(g.label)}",
                f"Map of route flows, {g.label}",
                f"{esc(g.label)}: people a month on each link of the route network "
                f"(run {esc(g.run_ids[0])}).",
            )
        )
    if not drawn:
        return (
            "<p>No route network in this scenario: its runs have no link flows, so there is "
            "no map of route flows.</p>"
        )
    return "\n".join(drawn)


def _routes_result(store: Store, g: RunGroup, info: ScenarioInfo | None) -> Any:
    """A :class:`~corridor.routes.run.RoutesResult` from a run's stored ``link_flows`` and its
    scenario's network, or None when either is missing."""
    path = store.run_dir(g.run_ids[0]) / "link_flows.parquet"
    if info is None or info.loaded is None or not path.is_file() or not info.chain:
        return None
    try:
        import yaml

        from corridor.routes.network import build_graph
        from corridor.routes.run import RoutesResult
        from corridor.routes.schema import load_network

        folder = info.chain[0]
        doc = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")) or {}
        section = doc.get("network") if isinstance(doc, dict) else None
        if section is None and not (folder / "places.csv").is_file():
            return None
        net = load_network(folder, section)
        flows = pd.read_parquet(path)
        flows["date"] = pd.to_datetime(flows["date"])
        sc = info.loaded.scenario
        empty = pd.DataFrame()
        return RoutesResult(
            link_flows=flows,
            events=empty,
            arrivals=empty,
            stocks=empty,
            routes=empty,
            agents=None,
            metrics={},
            network=net,
            graph=build_graph(net),
            start=sc.period.start,
            days=(sc.period.end - sc.period.start).days + 1,
        )
    except Exception as exc:  # a map is optional: say why in the log and go on
        log.warning("route map of %s not drawn: %s", g.label, exc)
        return None
