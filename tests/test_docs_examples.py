"""The README's runnable examples of the one entry and of levers run as written.

(The main job's example is run by ``tests/test_flagship.py::test_readme_flagship_example_runs``.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UK_BALKANS = ROOT / "src" / "corridor" / "data" / "scenarios" / "uk-balkans"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_one_entry_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``run_ensemble``/``run_one`` example stores every (policy, replicate) it names."""
    code = next(b for b in _blocks("python") if "run_ensemble" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    from corridor.results.store import Store

    runs = Store.open(tmp_path / "out" / "results").runs()
    assert sorted(zip(runs["policy"], runs["replicate"], strict=True)) == [
        (p, r) for p in ("caseworkers_2026", "hub_kosovo", "status_quo") for r in (0, 1)
    ]


def test_readme_variant_levers_run(tmp_path: Path) -> None:
    """The README's variant (a recipe of levers) validates and runs in a copy of uk-balkans,
    and its levers leave the fitted history alone."""
    from corridor.analysis.ensemble import run_one
    from corridor.scenario.loader import load_scenario

    yaml_block = next(b for b in _blocks("yaml") if "levers:" in b)
    variant = yaml_block.split("# ... status_quo first, then:\n", 1)[1]
    pack = tmp_path / "uk-balkans"
    shutil.copytree(UK_BALKANS, pack)
    scenario = pack / "scenario.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8").rstrip("\n") + "\n" + variant)
    loaded = load_scenario(pack)
    assert loaded.scenario.variants[-1].id == "kosovo_hub_more_caseworkers"

    def metrics(policy: str):  # type: ignore[no-untyped-def]
        frame = run_one(str(pack), 1, {}, "aggregate", policy=policy)["metrics"].to_pandas()
        frame["date"] = frame["date"].astype(str).str[:7]
        return frame.set_index("date")

    base, lever = metrics("status_quo"), metrics("kosovo_hub_more_caseworkers")
    history = base.index < "2025-01"
    assert (base.loc[history, "backlog_end"] == lever.loc[history, "backlog_end"]).all()
    assert lever["hub_transfers"].sum() > 0
    assert base["hub_transfers"].sum() == 0
    assert lever.loc["2026-12", "backlog_end"] < base.loc["2026-12", "backlog_end"]
