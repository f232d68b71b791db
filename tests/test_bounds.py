"""Bounds everywhere (issue 15, item 2): the schema's upper bounds on sizes, dates and seeds,
``--set`` and policies held to the same bounds, a policy dated after the period refused, and the
estimate of memory, disk and time that refuses a run the machine cannot hold, before it starts.
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from corridor.analysis import budget
from corridor.analysis.ensemble import check_budget, run_one
from corridor.cli.runs import parse_policy, parse_sets
from corridor.errors import InputError
from corridor.results.store import Store
from corridor.scenario.bounds import bound_problem
from corridor.scenario.loader import load_scenario, validate_scenario
from corridor.scenario.types import MAX_PEOPLE, MAX_PER_STAFF_MONTH, MAX_SEED, MAX_STAFF
from scenario_fixtures import MINI, copy_scenario, edit, line_of


def _refused(folder: Path, *needles: str) -> str:
    errors = [str(e) for e in validate_scenario(folder)]
    hits = [e for e in errors if all(n in e for n in needles)]
    assert hits, f"no error with {needles}; got {errors}"
    return hits[0]


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("  caseworkers: 100", "  caseworkers: 1e12", "asylum.caseworkers"),
        ("  initial_backlog: 500", "  initial_backlog: 1.0e12", "asylum.initial_backlog"),
        ("  end: 2024-12-31", "  end: 9999-12-31", "period.end"),
        ("seed: 7", "seed: 99999999999999999999999999999", "seed"),
        ("    beds: 200", "    beds: 1.0e12", "beds"),
        (
            "    - {date: 2024-07-01, value: 5.0}",
            "    - {date: 2024-07-01, value: 1.0e16}",
            "value",
        ),
    ],
)
def test_schema_refuses_sizes_dates_and_seeds_past_their_bounds(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, old, new)
    error = _refused(folder, needle)
    assert "less than or equal" in error or "should be" in error or "range" in error


def test_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  caseworkers: 100", f"  caseworkers: {MAX_STAFF:.0f}")
    edit(yml, "  initial_backlog: 500", f"  initial_backlog: {MAX_PEOPLE:.0f}")
    edit(yml, "seed: 7", f"seed: {MAX_SEED}")
    edit(yml, "  end: 2024-12-31", "  end: 2200-12-31")
    sc = load_scenario(folder).scenario
    assert sc.seed == MAX_SEED
    assert sc.asylum.initial_backlog == MAX_PEOPLE


def test_arrivals_table_count_is_bounded(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    csv = folder / "arrivals.csv"
    lines = csv.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("people")] = "1e12"
    csv.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    error = _refused(folder, "arrivals.csv", "people")
    assert ":2:" in error
    assert "1e+08" in error


def test_set_and_policy_options_are_held_to_the_schema_bounds() -> None:
    with pytest.raises(InputError, match=r"--set.*productivity\.0\.value.*less than or equal"):
        parse_sets(["asylum.productivity.0.value=1e16"])
    with pytest.raises(InputError, match=r"--policy.*caseworkers"):
        parse_policy("more=asylum.caseworkers=1e12")
    assert parse_sets([f"asylum.caseworkers={MAX_STAFF:.0f}"]) == {"asylum.caseworkers": MAX_STAFF}
    assert bound_problem("hubs.hub_x.beds", MAX_PEOPLE * 10) is not None
    assert bound_problem("asylum.productivity", MAX_PER_STAFF_MONTH) is None
    assert bound_problem("no.such.path", 1e300) is None  # unknown paths: the loader names them


def test_cli_set_out_of_bounds_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "corridor", "run", str(MINI), "--results", str(tmp_path / "r"),
         "--set", "asylum.productivity.0.value=1e16"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "Traceback" not in proc.stderr
    assert "less than or equal to 10000" in proc.stderr
    assert not (tmp_path / "r" / "runs").exists() or not any((tmp_path / "r" / "runs").iterdir())


def test_cli_seed_is_uint64(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "corridor", "run", str(MINI), "--results", str(tmp_path / "r"),
         "--seed", str(MAX_SEED + 1)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--seed" in proc.stderr


def test_policy_dated_after_the_period_is_an_error_not_dropped(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  - date: 2024-10-01", "  - date: 2099-10-01")
    errors = [e for e in validate_scenario(folder) if "2099-10-01" in str(e)]
    assert errors
    assert "never apply" in str(errors[0])
    assert errors[0].line == line_of(yml, "2099-10-01")


def test_a_child_with_a_shorter_period_leaves_its_parents_later_policies(tmp_path: Path) -> None:
    """uk-rwanda-actual ends in July 2024 and extends uk-balkans, whose policies go on to
    October 2024: those are the parent's, not a mistake of the child's, so it loads; a
    policy of the child's own dated after its end is still refused."""
    from corridor.scenario.loader import load_scenario

    assert load_scenario("uk-rwanda-actual").scenario.period.end.isoformat() == "2024-07-22"
    folder = copy_scenario(tmp_path)
    child = tmp_path / "child"
    child.mkdir()
    (child / "scenario.yaml").write_text(
        f"extends: {folder}\nname: child\nperiod: {{start: 2024-01-01, end: 2024-03-31}}\n",
        encoding="utf-8",
    )
    assert not [e for e in validate_scenario(child) if "never apply" in str(e)]
    (child / "scenario.yaml").write_text(
        f"extends: {folder}\nname: child\nperiod: {{start: 2024-01-01, end: 2024-03-31}}\n"
        "policies:\n  - {date: 2024-06-01, set: {asylum.caseworkers: 10}}\n",
        encoding="utf-8",
    )
    assert [e for e in validate_scenario(child) if "never apply" in str(e)]


def test_store_keeps_a_uint64_seed(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r")
    tables = run_one(str(MINI), 1, {}, "aggregate")
    store.write_run(tables, {"seed": MAX_SEED, "run_id": "top"})
    assert int(store.runs()["seed"].iloc[0]) == MAX_SEED
    assert store.query("SELECT seed FROM runs")["seed"].iloc[0] == MAX_SEED


def _at_the_bounds(tmp_path: Path) -> Path:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  caseworkers: 100", f"  caseworkers: {MAX_STAFF:.0f}")
    edit(
        yml,
        "    - {date: 2024-07-01, value: 5.0}",
        f"    - {{date: 2024-07-01, value: {MAX_PER_STAFF_MONTH:.0f}}}",
    )
    edit(yml, "  initial_backlog: 500", f"  initial_backlog: {MAX_PEOPLE:.0f}")
    edit(yml, "  removal_capacity: 40", f"  removal_capacity: {MAX_PEOPLE:.0f}")
    edit(yml, "    beds: 200", f"    beds: {MAX_PEOPLE:.0f}")
    edit(yml, "seed: 7", f"seed: {MAX_SEED}")
    return folder


def test_a_scenario_at_the_bounds_runs_and_stores_finite_numbers(tmp_path: Path) -> None:
    """The aggregate engine at the maximum sizes: finite, non-negative results, stored and read
    back through DuckDB without an INT64 conversion error."""
    folder = _at_the_bounds(tmp_path)
    store = Store.open(tmp_path / "r")
    check_budget(str(folder), 1, 1, 1, "aggregate", store)  # fits
    tables = run_one(str(folder), MAX_SEED, {}, "aggregate")
    run_id = store.write_run(tables, {"seed": MAX_SEED})
    for name in ("stocks", "flows", "costs"):
        frame = store.read(run_id, name)
        values = frame.select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(values).all(), name
        assert (values >= -1e-6).all(), name
    totals = store.query(f"SELECT sum(new_decisions) AS d FROM flows WHERE run_id = '{run_id}'")
    assert math.isfinite(float(totals["d"].iloc[0]))
    assert float(totals["d"].iloc[0]) > 0


def test_a_scenario_at_the_bounds_with_agents_is_refused_by_the_estimate(tmp_path: Path) -> None:
    folder = _at_the_bounds(tmp_path)
    store = Store.open(tmp_path / "r")
    est = budget.estimate(load_scenario(folder), 1, 1, "agents", store)
    small = budget.Machine(
        memory=4 * 2**30, memory_by="test", process_memory=None, cpus=2, cpus_by="test",
        cpu_seconds=None, disk_free=100 * 2**30, disk_at=tmp_path,
    )  # fmt: skip
    with pytest.raises(budget.TooBig, match=r"memory.*aggregate engine"):
        budget.check(est, small)


def test_cli_refuses_a_million_replicates_quickly(tmp_path: Path) -> None:
    for args in (["ensemble", "uk-balkans", "-n", "1000000"],
                 ["run", "uk-balkans", "--replicates", "1000000"]):  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "corridor", *args, "--results", str(tmp_path / "r")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        line = proc.stderr.strip()
        assert "\n" not in line, line
        assert line.startswith("error: refused before starting"), line
        assert "fewer replicates" in line
        assert "--scheduler" in line
        assert time.perf_counter() - t0 < 60
        assert not any((tmp_path / "r" / "runs").iterdir())


def test_force_goes_past_soft_limits_only() -> None:
    est = budget.Estimate(tasks=100, workers=1, disk_per_task=1e9, seconds_per_task=1.0,
                          process_memory=1e8, coordinator_memory=1e8, basis="test")  # fmt: skip
    m = budget.Machine(memory=2**40, memory_by="t", process_memory=None, cpus=1, cpus_by="t",
                       cpu_seconds=None, disk_free=int(110e9), disk_at=Path("/"))  # fmt: skip
    with pytest.raises(budget.TooBig, match="--force"):
        budget.check(est, m)  # 100 GB of 110 GB free: past 80%
    budget.check(est, m, force=True)
    with budget.forced():
        budget.check(est, m)
    tight = budget.Machine(**{**m.__dict__, "disk_free": int(50e9)})
    with pytest.raises(budget.TooBig) as info, budget.forced():
        budget.check(est, tight)  # past what the disk has: never
    assert "--force" not in str(info.value)


def test_machine_honours_cgroup_v2_and_ulimits(tmp_path: Path) -> None:
    cg = tmp_path / "cg"
    (cg / "jobs" / "me").mkdir(parents=True)
    (cg / "jobs" / "me" / "memory.max").write_text("1073741824\n")
    (cg / "jobs" / "me" / "memory.current").write_text("73741824\n")
    (cg / "jobs" / "cpu.max").write_text("50000 100000\n")
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text("0::/jobs/me\n")
    (proc / "meminfo").write_text("MemTotal: 67108864 kB\nMemAvailable: 33554432 kB\n")
    m = budget.machine(tmp_path / "store", cgroup_root=cg, proc=proc)
    assert m.memory == 1_000_000_000
    assert "memory.max" in m.memory_by
    assert m.cpus == 0.5
    assert "cpu.max" in m.cpus_by
    assert m.disk_free > 0
    assert m.disk_at == tmp_path


def test_machine_honours_rlimit_as() -> None:
    code = (
        "import resource;"
        "hard = resource.getrlimit(resource.RLIMIT_AS)[1];"
        "resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, hard));"
        "from corridor.analysis.budget import machine;print(machine('.').process_memory)"
    )
    if resource.getrlimit(resource.RLIMIT_AS)[1] not in (resource.RLIM_INFINITY,) and (
        resource.getrlimit(resource.RLIMIT_AS)[1] < 8 * 2**30
    ):
        pytest.skip("the hard limit is below 8 GiB here")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str(8 * 2**30), out.stderr
