"""One self-contained HTML report of stored runs: ``build_report(runs, store, out)``.

The report opens offline: every figure is a PNG embedded as a ``data:`` URI, the style sheet is
inline, there is no script, and a Content-Security-Policy forbids loading anything else. The
same PNGs are written beside it, in ``<stem>_figures/``. Every file is written atomically
(:mod:`corridor.atomic`); the HTML last.

What ``runs`` may name (each item; see :func:`resolve_runs`):

* a run id: that run;
* an ensemble id: all its runs, one group per policy (replicates give the bands);
* ``ENSEMBLE:POLICY`` or a policy name: that policy's replicates (a bare policy name takes the
  most recent ensemble that holds it).

Sections (:data:`SECTIONS`): a plain-words summary of what the scenario assumes; the runs;
fan charts of the key series (:data:`KEY_METRICS`) with p10-p90 and p25-p75 bands across
replicates and the observed record where there is one; policies side by side (yearly
p10/p50/p90 and paired differences against the first policy); a flow (Sankey) diagram of the
asylum pipeline; route flows (or a note that the scenario has no route network); costs by item
and year; every assumption with its source and confidence; the model card.

The scenario of each run is found by its name among the shipped scenarios, or given with
``scenarios=`` (a folder). The observed record comes from a pack's ``observed.csv`` (the format
of :func:`corridor.analysis.calibrate.read_observed`), which takes precedence metric by metric,
and from the research CSVs (``observed_dir``, default ``$CORRIDOR_RESEARCH`` or a
``shared/research`` folder above the working directory or the package) for scenarios whose
arrivals table is the observed UK small-boat series (monthly totals within 2% of it over at
least 12 months): UK asylum statistics describe the UK only.

Layout: this module resolves the runs, gathers what the sections share and assembles the page;
each section is a module of :mod:`corridor.report.sections`. The rest: which runs
(:mod:`~corridor.report.run_groups`), their scenarios (:mod:`~corridor.report.scenario_info`),
the observed record (:mod:`~corridor.report.observed`), the key series
(:mod:`~corridor.report.metrics`), HTML text (:mod:`~corridor.report.markup`), the page shell
(:mod:`~corridor.report.page`) and the files written (:mod:`~corridor.report.embed`). The names
below stay importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.errors import InputError
from corridor.report.embed import Figures, figures_dir, write_readable
from corridor.report.markup import esc, link, linkify, md_block, md_inline
from corridor.report.metrics import KEY_METRICS, KeyMetric, SeriesData
from corridor.report.observed import load_observed
from corridor.report.page import page
from corridor.report.run_groups import RunGroup, resolve_runs
from corridor.report.scenario_info import ScenarioInfo, scenario_infos
from corridor.report.sections.assumptions import assumptions_section
from corridor.report.sections.costs import costs_section
from corridor.report.sections.model_card import model_card_section
from corridor.report.sections.pipeline import pipeline_section
from corridor.report.sections.policies import policies_section
from corridor.report.sections.routes import routes_section
from corridor.report.sections.runs import runs_section
from corridor.report.sections.series import series_section
from corridor.report.sections.summary import summary_section

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = [
    "KEY_METRICS",
    "SECTIONS",
    "KeyMetric",
    "RunGroup",
    "ScenarioInfo",
    "build_report",
    "esc",
    "figures_dir",
    "link",
    "linkify",
    "load_observed",
    "md_block",
    "md_inline",
    "resolve_runs",
]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "What the scenario assumes"),
    ("runs", "Runs in this report"),
    ("series", "Key series"),
    ("policies", "Policies side by side"),
    ("pipeline", "Flow through the asylum pipeline"),
    ("routes", "Route flows"),
    ("costs", "Costs"),
    ("assumptions", "Assumptions and sources"),
    ("model-card", "Model card and data"),
)


def build_report(
    runs: Sequence[str],
    store: Store | str | Path,
    out: str | Path,
    *,
    scenarios: Sequence[str | Path] | None = None,
    observed_dir: str | Path | None = None,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``runs`` (see the module docstring) to ``out``, its PNGs to
    :func:`figures_dir` ``(out)``, and return ``out``.

    ``store`` is a :class:`~corridor.results.store.Store` or its folder (which must exist).
    ``scenarios``: scenario folders for runs whose scenario is not shipped (matched by name).
    ``observed_dir``: the folder of the research CSVs (see :func:`load_observed`).
    Raises :class:`InputError` for a run, ensemble or policy that is not in the store.
    """
    from corridor.results.store import Store

    if not isinstance(store, Store):
        root = Path(store)
        if not (root / "catalog.duckdb").is_file():
            raise InputError(
                f"no results store at {root}", field="--results", expected="a results folder"
            )
        store = Store.open(root)
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"report file {out} does not end in .html", field="--out", expected="FILE.html"
        )
    groups = resolve_runs(store, list(runs))
    infos = scenario_infos(groups, scenarios)
    metas = {g.run_ids[0]: store.read_meta(g.run_ids[0]).get("result", {}) for g in groups}
    first_info = infos.get(groups[0].scenario)
    observed, notes = load_observed(
        first_info, Path(observed_dir) if observed_dir is not None else None
    )
    figs = Figures(figures_dir(out))
    data = SeriesData(store)
    scen_names = ", ".join(dict.fromkeys(g.scenario for g in groups))
    title = title or f"Corridor report: {scen_names}"
    n_runs = sum(g.n for g in groups)
    subtitle = esc(
        f"{len(groups)} polic{'ies' if len(groups) != 1 else 'y'} "
        f"({', '.join(g.label for g in groups)}), {n_runs} run{'s' if n_runs != 1 else ''}."
    )
    content = {
        "summary": summary_section(groups, infos, metas),
        "runs": runs_section(groups, infos, store),
        "series": series_section(groups, data, observed, notes, figs),
        "policies": policies_section(groups, data),
        "pipeline": pipeline_section(groups, store, figs, metas),
        "routes": routes_section(groups, infos, store, figs),
        "costs": costs_section(groups, store, figs),
        "assumptions": assumptions_section(infos),
        "model-card": model_card_section(),
    }
    doc = page(title, [(sid, h, content[sid]) for sid, h in SECTIONS], subtitle)
    write_readable(out, doc, ".html")
    figs.remove_stale()
    return out
