"""The README's commands and examples run as written.

Every example of the README — each command line of a ``bash`` block, each ``python`` and
``yaml`` block, each inline `` `corridor ...` `` — is found by :func:`readme_examples` and is
either run here as written (in a scratch folder, the results store in it through
``$CORRIDOR_RESULTS``, so nothing lands in the user's folders), run by a named test elsewhere, a
template with placeholders (``SCENARIO``, ``DIR``, ``[--out DIR]``), or skipped with its reason
(minutes of work, a server, a cluster, the development tools). A new example that is none of
these fails :func:`test_every_readme_example_is_accounted_for`.

(The main job's Python example is run by
``tests/test_flagship.py::test_readme_flagship_example_runs``.)
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UK_BALKANS = ROOT / "src" / "corridor" / "data" / "scenarios" / "uk-balkans"
SHARED_CASES = ROOT.parent / "shared" / "flee-cases"

# An example with one of these is a template, not a command to run as written.
PLACEHOLDER = re.compile(r"\[|\b[A-Z][A-Z_]*\b")


def readme_examples() -> list[str]:
    """The README's examples: ``bash: <command line>`` (comments dropped), ``python: <first
    line>`` / ``yaml: <first line>`` per block, ``inline: <command>`` per inline code span that
    starts with ``corridor`` outside the blocks (whitespace collapsed, ``\\|`` read as ``|``)."""
    text = README.read_text(encoding="utf-8")
    out = []
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S):
        if lang == "bash":
            out += [
                f"bash: {c}" for c in (ln.split("#", 1)[0].strip() for ln in body.splitlines()) if c
            ]
        else:
            out.append(f"{lang}: {body.strip().splitlines()[0]}")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`(corridor [^`]*)`", prose):
        out.append("inline: " + " ".join(span.replace("\\|", "|").split()))
    return list(dict.fromkeys(out))


# Run here, as written (see test_readme_command_runs / test_readme_python_example_runs).
RUN_HERE = {
    "inline: corridor runs",
    "inline: corridor schema",
    "inline: corridor breakeven ia-2023-baseline --policy ia-2023",
    "inline: corridor breakeven uk-balkans --policy hub_kosovo",
    "inline: corridor flee synthetic --out out/f",
    "inline: corridor run uk-balkans --single",
    "python: from corridor.scenario.loader import load_scenario",
}
ELSEWHERE = {
    "python: from corridor.flagship.job import run_flagship":
        "tests/test_flagship.py::test_readme_flagship_example_runs",
    "python: from corridor.analysis.ensemble import run_ensemble, run_one":
        "test_readme_one_entry_example_runs (below)",
    "yaml: variants:": "test_readme_variant_levers_run (below)",
}  # fmt: skip
MAIN_JOB = (
    "the main job in full (16 variants x 20 replicates) takes minutes; the same command with"
    " fewer replicates and variants runs in tests/test_flagship.py::test_cli_backtest_and_run"
)
SKIPPED = {
    "bash: pip install . && corridor run uk-balkans --out out/uk-balkans":
        "installs the package, then " + MAIN_JOB,
    "inline: corridor run uk-balkans": MAIN_JOB,
    "bash: pip install -e \".[test]\" && python -m pytest":
        "installs the package and runs this very suite",
    "bash: pip install -e \".[test]\"": "installs the package (done before any test runs)",
    "bash: python -m pytest": "this very suite",
    "bash: python -m pytest -m slow": "the slow suite (load test, parallel builds): minutes",
    "bash: ruff check . && ruff format --check . && mypy":
        "the development checks, run before each commit, not a test",
    "bash: dask scheduler": "starts a Dask scheduler that runs until stopped",
    "bash: python benchmarks/vs_flee.py": "a benchmark (needs Flee, pip install -e '.[bench]')",
    "bash: python benchmarks/scale.py --agents 10000000 --days 365":
        "a benchmark of 10 million agents: minutes and gigabytes",
    "bash: python benchmarks/pipeline.py": "a benchmark: timings, minutes",
    "bash: python benchmarks/routes.py": "a benchmark: timings, minutes",
    "bash: python benchmarks/ensemble.py": "a benchmark: timings on 1 and 2 workers and Dask",
    "bash: python benchmarks/flagship.py": "a benchmark: the main job on 1 and 2 workers",
    "bash: python benchmarks/network_expected.py": "a benchmark: timings (its smoke run is in"
    " tests/test_forecast_network.py)",
    "inline: corridor backtest uk-balkans":
        "re-fits at each origin and forecasts 1-3 years ahead (minutes); the back-test's tests"
        " in tests/test_flagship.py run it",
    "inline: corridor run": "a command's name in prose, not a command line",
}  # fmt: skip


def _kind(example: str) -> str:
    if example in RUN_HERE:
        return "run here"
    if example in ELSEWHERE:
        return "elsewhere"
    if example in SKIPPED:
        return "skipped"
    body = example.split(": ", 1)[1]
    if example.startswith(("inline:", "bash:")) and PLACEHOLDER.search(body):
        return "template"
    return "unaccounted"


def test_every_readme_example_is_accounted_for() -> None:
    examples = readme_examples()
    assert len(examples) > 30
    unaccounted = [e for e in examples if _kind(e) == "unaccounted"]
    assert not unaccounted, f"README examples neither run nor skipped with a reason: {unaccounted}"
    stale = (RUN_HERE | set(ELSEWHERE) | set(SKIPPED)) - set(examples)
    assert not stale, f"listed here but no longer in the README: {stale}"


def _corridor() -> str:
    exe = shutil.which("corridor", path=str(Path(sys.executable).parent)) or shutil.which(
        "corridor"
    )
    if exe is None:
        pytest.skip("the corridor command is not installed (pip install -e .)")
    return exe


@pytest.mark.parametrize(
    "example", sorted(e for e in RUN_HERE if e.startswith("inline: corridor "))
)
def test_readme_command_runs(example: str, tmp_path: Path) -> None:
    """The command as written, in a scratch folder with its own results store."""
    argv = shlex.split(example.removeprefix("inline: "))
    env = {**os.environ, "CORRIDOR_RESULTS": str(tmp_path / "results")}
    proc = subprocess.run(
        [_corridor(), *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.strip()
    if "--out" in argv:
        out = tmp_path / argv[argv.index("--out") + 1]
        assert any(out.iterdir()), f"{out} is empty"
    if argv[1] == "run":
        from corridor.results.store import Store

        assert len(Store.open(tmp_path / "results").runs()) == 1


@pytest.mark.parametrize("example", sorted(e for e in SKIPPED))
def test_readme_example_skipped_with_its_reason(example: str) -> None:
    pytest.skip(f"{example}: {SKIPPED[example]}")


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first Python example (one run of a scenario, a Flee case) as written; Flee's Mali
    case comes from the shared research folder, linked as ``cases/mali``."""
    if not (SHARED_CASES / "mali" / "input").is_dir():
        pytest.skip("Flee's Mali case (shared/flee-cases/mali) is not available")
    code = next(b for b in _blocks("python") if "run_scenario(loaded" in b)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "mali").symlink_to(SHARED_CASES / "mali")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORRIDOR_RESULTS", str(tmp_path / "results"))
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"] is not None
    assert not (tmp_path / "results").exists()  # a plain run stores nothing


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
    assert base["hub_transfers"].sum() == 0
    assert lever.loc["2026-12", "backlog_end"] < base.loc["2026-12", "backlog_end"]
    # the hub's life is drawn per replicate (it may never open): over a few seeds it opens
    assert any(
        run_one(str(pack), seed, {}, "aggregate", policy="kosovo_hub_more_caseworkers")["metrics"]
        .to_pandas()["hub_transfers"]
        .sum()
        > 0
        for seed in (1, 2, 3, 4)
    )
