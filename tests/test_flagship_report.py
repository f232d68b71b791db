"""The main job's report: it leads with the first two forecast years beside the last published
year, charts every variant of summary.json, and speaks in plain words.

The report is written by the real :func:`corridor.flagship.report.write_report` from a synthetic
``yearly`` table (every variant of uk-balkans, a few replicates, random values) so the checks run
in seconds; ``tests/test_flagship.py::test_cli_backtest_and_run`` checks a real run's report.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corridor.flagship.report_charts import CHART_METRICS, chart_metrics
from corridor.flagship.report_years import (
    BAND_NOTE,
    YEAR_METRICS,
    Observed,
    fmt_value,
    observed_year,
)
from corridor.flagship.summaries import (
    FlagshipRun,
    comparison_table,
    differences,
    summarise,
)
from corridor.forecast.model import METRICS
from corridor.scenario.loader import resolve_scenario

PACK = resolve_scenario("uk-balkans")
OBSERVED = PACK / "observed"


class Page(HTMLParser):
    """Figures (their data-variants and captions), tables (rows of cell texts), plain text."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str]] = []
        self.tables: list[tuple[str, list[list[str]]]] = []  # (heading before it, rows)
        self.text: list[str] = []
        self._heading = ""
        self._in_heading = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "figure":
            self.figures.append({"variants": a.get("data-variants", ""), "caption": ""})
        elif tag == "img" and self.figures and "alt" in a:
            self.figures[-1]["alt"] = a["alt"]
        elif tag == "figcaption":
            self._caption = True
        elif tag in {"h2", "h3"}:
            self._in_heading, self._heading = True, ""
        elif tag == "table":
            self.tables.append((self._heading, []))
        elif tag == "tr":
            self._row = []
        elif tag in {"td", "th"}:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"h2", "h3"}:
            self._in_heading = False
        elif tag == "figcaption":
            self._caption = False
        elif tag in {"td", "th"} and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)
        if self._caption and self.figures:
            self.figures[-1]["caption"] += data


def _yearly(variants: list[str], replicates: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i, vid in enumerate(variants):
        for r in range(replicates):
            for year in range(2024, 2031):
                row: dict[str, Any] = {"variant": vid, "replicate": r, "year": year}
                for m in METRICS:
                    row[m] = float(rng.uniform(1e3, 1e5)) * (1 + i / 10)
                row["initial_grant_rate"] = float(rng.uniform(30, 70))
                row["cost_gbp"] = float(rng.uniform(3e9, 8e9))
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FlagshipRun]:
    from corridor.flagship.job import _variants_info
    from corridor.flagship.report import write_report
    from corridor.forecast.replicate import prepare_forecast

    ctx = prepare_forecast(PACK)
    ids = [v.id for v in ctx.config.variants]
    yearly = _yearly(ids)
    first = ctx.cutoff.year + 1
    out = tmp_path_factory.mktemp("report")
    run = FlagshipRun(
        out,
        summarise(yearly, first),
        comparison_table(yearly, first, ids),
        yearly,
        1.0,
        4,
        1,
        differences=differences(yearly, first, ids),
    )
    write_report(run, ctx, _variants_info(ctx, ids, {}, [1, 2, 3, 4], 4, 1.0, 1))
    return out, run


def _page(out: Path) -> Page:
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    return page


def test_every_variant_of_summary_is_charted(written: tuple[Path, FlagshipRun]) -> None:
    out, run = written
    page = _page(out)
    charts = [f for f in page.figures if f["variants"]]
    assert len(run.summary) == 16
    assert {f.get("alt", "").split(":")[0] for f in charts} == {t for _m, t, *_ in CHART_METRICS}
    for fig in charts:
        assert set(fig["variants"].split()) == set(run.summary), fig["alt"]
    for metric, *_ in CHART_METRICS:
        assert (out / "figures" / f"{metric}.png").read_bytes().startswith(b"\x89PNG")


def test_chart_panels_are_read_back_from_the_figure() -> None:
    """The variants listed for a chart are its drawn panels: a summary of three variants gives
    three panels, the status quo first."""
    summary = summarise(_yearly(["more_caseworkers", "status_quo", "hub_kosovo"]), 2025)
    charts = chart_metrics(summary, {})
    assert [c.variants for c in charts] == [("status_quo", "more_caseworkers", "hub_kosovo")] * len(
        CHART_METRICS
    )


def _lead(page: Page, year: int) -> list[list[str]]:
    return next(rows for heading, rows in page.tables if heading.strip() == str(year))


def test_report_leads_with_2025_and_2026_beside_2024(written: tuple[Path, FlagshipRun]) -> None:
    out, run = written
    page = _page(out)
    headings = [h for h, _rows in page.tables]
    assert headings[:2] == ["2025", "2026"]  # the first tables of the report
    labels = {str(v.label) for v in _flagship().variants}
    quarterly = pd.read_csv(OBSERVED / "uk_quarterly.csv")
    q24 = quarterly[quarterly["date"].str.startswith("2024")]
    boats = pd.read_csv(OBSERVED / "channel_annual.csv").query(
        "metric == 'small_boat_arrivals' and year == 2024"
    )
    for year in (2025, 2026):
        rows = _lead(page, year)
        assert rows[0][1:] == [h for _m, h, _u in YEAR_METRICS]
        observed = rows[1]
        assert observed[0] == "Observed in 2024"
        assert observed[1].startswith(f"{boats['value'].iloc[0]:,.0f}")
        claims = q24[q24["metric"] == "new_claims"]["value"].sum()
        assert observed[2].startswith(f"{claims:,.0f}")
        backlog = q24[(q24["metric"] == "n_awaiting_decision") & (q24["date"] == "2024-12-31")]
        assert observed[5].startswith(f"{backlog['value'].iloc[0]:,.0f}")
        assert observed[7].startswith("not published")  # limbo
        assert observed[8].startswith("not published")  # cost
        assert {r[0] for r in rows[2:]} == labels
        by_label = {r[0]: r for r in rows[2:]}
        label = next(v.label for v in _flagship().variants if v.id == "rwanda_style")
        q = run.summary["rwanda_style"][str(year)]["backlog_end"]
        assert by_label[label][5] == (
            f"{fmt_value(q['p50'], 'people')} {fmt_value(q['p10'], 'people')}–"
            f"{fmt_value(q['p90'], 'people')}"
        )


def _flagship() -> Any:
    from corridor.forecast.config import load_flagship

    return load_flagship(PACK)


def test_observed_year_reads_the_tables() -> None:
    obs = observed_year(PACK, 2024)
    q = pd.read_csv(OBSERVED / "uk_quarterly.csv")
    q = q[q["date"].str.startswith("2024")]

    def total(metric: str) -> float:
        return float(q[q["metric"] == metric]["value"].sum())

    assert obs["initial_decisions"].value == total("new_decisions")
    assert obs["initial_grant_rate"].value == pytest.approx(
        100 * total("new_grants") / total("new_decisions")
    )
    assert obs["initial_grant_rate"].value == pytest.approx(47.0, abs=0.05)  # issue 13
    assert obs["removals"].value == total("returns_enforced_all") + total("returns_voluntary_all")
    assert "not only people who claimed asylum" in obs["removals"].note
    assert obs["limbo_end"].value is None
    assert "not published" in obs["limbo_end"].note
    assert set(obs) == {m for m, _h, _u in YEAR_METRICS}
    later = observed_year(PACK, 2031)  # nothing published: every figure says so, none invented
    assert all(o.value is None and o.note for o in later.values())
    assert observed_year(Path("/nonexistent"), 2024)["asylum_claims"] == Observed(
        None, "not published for 2024 in the scenario's observed tables"
    )


def test_plain_words_and_every_band_explained(written: tuple[Path, FlagshipRun]) -> None:
    out, _run = written
    page = _page(out)
    text = " ".join(" ".join(page.text).split())
    code_names = {m for m in METRICS if "_" in m}
    for fig in page.figures:
        for words in (fig.get("alt", ""), fig["caption"]):
            assert not any(name in words for name in code_names), words
    for _m, title, ylabel, _scale, _show in CHART_METRICS:
        assert "_" not in title + ylabel
        assert not re.search(r"1e\d|GBP", title + ylabel)
    for _m, heading, _u in YEAR_METRICS:
        assert "_" not in heading
    assert " ".join(BAND_NOTE.split()) in text
    for _heading, rows in page.tables:  # column headings in plain words and units
        assert not any("_" in h or "GBP" in h for h in rows[0]), rows[0]
    for covered in ("flows", "assumptions", "system parameters", "does not include"):
        assert covered in BAND_NOTE


def test_hub_section_shows_each_hosts_own_hub(written: tuple[Path, FlagshipRun]) -> None:
    """Per hub variant, the report shows what it assumes of its host's hub: beds and costs
    differ by host (Albania 400 beds, Bosnia 590, Kosovo 300, Montenegro 100)."""
    out, _run = written
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "What each hub variant assumes of its host" in page
    for vid, hub, beds in (
        ("hub_albania_if_agreed", "hub_albania", "400"),
        ("hub_bosnia_if_agreed", "hub_bosnia", "590"),
        ("hub_kosovo", "hub_kosovo", "300"),
        ("hub_montenegro_rail", "hub_montenegro", "100"),
    ):
        row = re.search(
            rf"<code>{vid}</code></th><td>[^<]*<br><code>{hub}</code></td><td>(\d+)", page
        )
        assert row is not None, vid
        assert row.group(1) == beds, vid


def test_fmt_value() -> None:
    assert fmt_value(46_522.8, "people") == "46,500"
    assert fmt_value(530_123, "people") == "530,000"
    assert fmt_value(177.4, "people") == "177"
    assert fmt_value(-0.2, "people") == "0"
    assert fmt_value(57.643, "percent") == "57.6%"
    assert fmt_value(4.3217e9, "gbp") == "4.32"
    assert fmt_value(None, "people") == "–"
    assert fmt_value(float("nan"), "gbp") == "–"


def test_the_railway_section_gives_the_factors_range_over_replicates(
    written: tuple[Path, FlagshipRun],
) -> None:
    """Each replicate resolves the network under its own crossing probabilities: the report
    says so, with the factor's median and 10-90% range."""
    out, _run = written
    text = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    found = re.search(
        r"median over replicates is (\d\.\d{3}), its 10–90% range (\d\.\d{3})–(\d\.\d{3})", text
    )
    assert found, "no range of the railway's factor in the report"
    lo, mid, hi = float(found[2]), float(found[1]), float(found[3])
    assert lo <= mid <= hi
    assert lo < hi  # four replicates, four networks
