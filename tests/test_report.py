"""The HTML report: complete, self-contained (opens offline), honest about its sources."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from corridor.errors import InputError
from corridor.report.html import (
    SECTIONS,
    ScenarioInfo,
    build_report,
    figures_dir,
    linkify,
    load_observed,
    md_inline,
    resolve_runs,
)
from corridor.report.sankey import pipeline
from corridor.results.store import Store

MINI = Path(__file__).parent / "data" / "scenarios" / "mini"
PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """What the checks need from a page: headings, images, links, tables, stray addresses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h2: list[str] = []
        self.imgs: list[str] = []
        self.tags: list[str] = []
        self.bad_attrs: list[str] = []
        self.stray_urls: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self._stack: list[str] = []
        self._in_h2 = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag not in ("br", "img", "meta"):
            self._stack.append(tag)
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        if tag == "img":
            self.imgs.append(a.get("src") or "")
        for key, value in attrs:
            if value and "http" in value and not (tag == "a" and key == "href"):
                self.bad_attrs.append(f"<{tag} {key}={value[:60]}>")
        if tag == "table":
            self.tables.append({"class": a.get("class") or "", "rows": []})
        if tag == "tr":
            self._row = []
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag == "h2":
            self._in_h2 = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2[-1] += data
        if self._cell is not None:
            self._cell.append(data)
        if ("http://" in data or "https://" in data) and "a" not in self._stack:
            self.stray_urls.append(data.strip()[:80])


def parse(path: Path) -> tuple[Page, str]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    return page, text


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str, str]:
    """A store with an agent ensemble of mini (2 policies x 3 replicates) and one aggregate run."""
    from corridor.analysis.ensemble import run_ensemble, run_one

    st = Store.open(tmp_path_factory.mktemp("results"))
    ens = run_ensemble(
        str(MINI),
        3,
        policies={"baseline": {}, "more_caseworkers": {"asylum.caseworkers": 200}},
        engine="agents",
        store=st,
    )
    agg = st.write_run(run_one(str(MINI), 7, {}, "aggregate"), {"scenario": "mini"})
    return st, ens.ensemble_id, agg


@pytest.fixture(scope="module")
def report(store: tuple[Store, str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    st, ens_id, _agg = store
    out = tmp_path_factory.mktemp("report") / "mini.html"
    empty = tmp_path_factory.mktemp("no-research")
    return build_report([ens_id], st, out, scenarios=[MINI], observed_dir=empty)


def test_report_is_complete_and_self_contained(report: Path) -> None:
    page, text = parse(report)
    assert text.startswith("<!DOCTYPE html>")
    assert page.h2 == [h for _, h in SECTIONS]
    # every image is embedded, and is a PNG
    assert len(page.imgs) >= 10
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    # nothing to fetch: no scripts, style sheets or frames; addresses only as citation links
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert page.bad_attrs == []
    assert page.stray_urls == []
    assert "Content-Security-Policy" in text
    # the words that matter
    assert "no personal data" in text
    assert "Deterrence is <strong>on</strong>" in text
    assert "HYPOTHETICAL" in text
    assert "Marovia refused (2024-02-01" in text
    assert "Δ more_caseworkers" in text
    assert "common random numbers (same seeds)" in text
    assert "No route network in this scenario" in text


def test_assumption_tables_cite_sources(report: Path) -> None:
    page, _ = parse(report)
    tables = [t for t in page.tables if "assumptions" in t["class"]]
    assert len(tables) >= 3  # the model's (docs) and the pack's
    for table in tables:
        header = [c.lower() for c in table["rows"][0]]
        src = header.index("source")
        assert "confidence" in header
        body = [r for r in table["rows"][1:] if len(r) == len(header)]
        assert body
        assert all(r[src] for r in body), table["class"]
    pack = next(t for t in tables if "pack" in t["class"])
    kinds = {r[0] for r in pack["rows"][1:]}
    assert {"host position", "hub", "unit cost", "nationality", "grant rate"} <= kinds
    hubs = [r for r in pack["rows"] if r[0] == "hub"]
    assert any(r[1].startswith("HYPOTHETICAL") and "hub_marovia" in r[1] for r in hubs)


def test_figures_are_written_beside_the_report(report: Path) -> None:
    pngs = sorted(figures_dir(report).glob("*.png"))
    names = {p.stem for p in pngs}
    assert {"fan_new_arrivals", "fan_cost_total", "costs", "pipeline_0_baseline"} <= names
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG)
        assert data[12:16] == b"IHDR"
    assert report.stat().st_mode & 0o044  # readable by others, like any written file


def test_single_run_and_ensemble_policy_from_the_cli(
    store: tuple[Store, str, str], tmp_path: Path
) -> None:
    from corridor.cli.report import report as report_cmd

    st, ens_id, agg = store
    app = typer.Typer()
    app.command()(report_cmd)
    out = tmp_path / "two.html"
    args = [agg, f"{ens_id}:more_caseworkers", "--results", str(st.root), "--out", str(out)]
    args += ["--scenario", str(MINI), "--observed", str(tmp_path)]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    assert "report written" in got.output
    page, text = parse(out)
    assert page.h2 == [h for _, h in SECTIONS]
    assert "independent runs" in text  # an aggregate run against agent replicates
    assert all(src.startswith("data:image/png;base64,") for src in page.imgs)


def test_missing_run_is_an_input_error(store: tuple[Store, str, str], tmp_path: Path) -> None:
    st, _, _ = store
    with pytest.raises(InputError, match="no-such-run"):
        build_report(["no-such-run"], st, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
    code = textwrap.dedent(
        """
        import sys
        from corridor import cli
        from corridor.cli.report import report
        if not any(c.callback is report for c in cli.app.registered_commands):
            cli.app.command()(report)
        sys.argv = ["corridor", "report", "no-such-run", "--results", sys.argv[1],
                    "--out", sys.argv[2]]
        cli.main()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(st.root), str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "no-such-run" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_resolve_runs(store: tuple[Store, str, str]) -> None:
    st, ens_id, agg = store
    groups = resolve_runs(st, [ens_id])
    assert [g.label for g in groups] == ["baseline", "more_caseworkers"]
    assert all(g.n == 3 and g.keys == (0, 1, 2) for g in groups)
    assert groups[0].seeds == groups[1].seeds  # common random numbers
    (pol,) = resolve_runs(st, ["more_caseworkers"])
    assert pol.overrides == {"asylum.caseworkers": 200}
    (one,) = resolve_runs(st, [agg])
    assert one.run_ids == (agg,)
    assert one.engine == "aggregate"
    with pytest.raises(InputError):
        resolve_runs(st, [])


def test_observed_record(tmp_path: Path) -> None:
    from corridor.scenario.loader import load_scenario

    loaded = load_scenario(MINI)
    info = ScenarioInfo("mini", loaded, [MINI.resolve()])
    monthly = loaded.tables["arrivals"].groupby("month")["people"].sum()
    research = tmp_path / "research"
    research.mkdir()
    pd.DataFrame(
        {"date_month": [d.strftime("%Y-%m-%d") for d in monthly.index], "migrants_arrived": monthly}
    ).to_csv(research / "data_small_boats_monthly.csv", index=False)
    got, notes = load_observed(info, research)
    assert set(got) == {"new_arrivals"}  # the arrivals match: the record applies
    assert float(got["new_arrivals"].values.sum()) == pytest.approx(float(monthly.sum()))
    # another series: not drawn
    pd.DataFrame({"date_month": ["2024-01-01"] * 1, "migrants_arrived": [5]}).to_csv(
        research / "data_small_boats_monthly.csv", index=False
    )
    got, notes = load_observed(info, research)
    assert got == {}
    assert any("not that series" in n for n in notes)
    # a pack's observed.csv wins
    pack = tmp_path / "pack"
    shutil.copytree(MINI, pack)
    (pack / "observed.csv").write_text(
        "date,metric,value,source\n2024-03,new_arrivals,190,test fixture\n"
        "2024-06-30,n_awaiting_decision,80,test fixture\n",
        encoding="utf-8",
    )
    got, _ = load_observed(ScenarioInfo("mini", loaded, [pack]), research)
    assert set(got) == {"new_arrivals", "n_awaiting_decision"}
    assert list(got["new_arrivals"].values) == [190.0]


def test_escaping_and_links() -> None:
    assert "<script>" not in md_inline("a <script>alert(1)</script> **b**")
    assert "<strong>b</strong>" in md_inline("a **b**")
    html = linkify("see https://example.org/x?a=1&b=2; then")
    assert html == (
        'see <a href="https://example.org/x?a=1&amp;b=2">example.org/x?a=1&amp;b=2</a>; then'
    )
    assert '"onmouseover' not in linkify('https://e.org/"onmouseover=alert(1)')
    assert "<a" not in linkify("javascript:alert(1)")


def test_pipeline_nodes_conserve_what_they_are_given() -> None:
    totals = {
        "new_arrivals": 100.0,
        "new_claims": 90.0,
        "initial": 10.0,
        "new_decisions": 95.0,
        "new_grants": 60.0,
        "new_refusals": 35.0,
        "new_appeals_lodged": 20.0,
        "new_appeals_determined": 18.0,
        "new_appeals_allowed": 8.0,
        "new_removals": 5.0,
        "new_hub_transfers": 4.0,
        "new_hub_removals": 1.0,
        "end_n_awaiting_decision": 5.0,
        "end_n_in_hub": 2.0,
    }
    nodes, links = pipeline(totals)
    keys = {n.key for n in nodes}
    assert all(lk.source in keys and lk.target in keys for lk in links)
    value = {(lk.source, lk.target): lk.value for lk in links}
    assert value[("arrivals", "not_claimed")] == 10.0
    assert value[("refused", "not_appealed")] == 15.0
    assert value[("appealed", "dismissed")] == 10.0
    assert value[("hub", "hub_stayed")] == 1.0
    assert all(lk.value >= 0 for lk in links)
