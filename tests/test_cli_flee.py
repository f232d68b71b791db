"""The ``corridor flee`` command end to end, and its handling of user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from corridor.cli import app
from corridor.data import synthetic_flee_case


def test_flee_synthetic_writes_all_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["flee", "synthetic", "--out", str(out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    camps = pd.read_csv(out / "camps.csv")
    assert list(camps.columns) == ["day", "date", "camp", "simulated", "observed"]
    assert set(camps["camp"]) == {"Eastfield", "Westbrook", "Southridge"}
    assert camps["day"].max() == 119  # Length 120 in sim_period.csv
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("ard", "days", "agents_peak", "seconds"):
        assert key in metrics
    assert metrics["days"] == 120
    assert 0.0 <= metrics["ard"] < 1.0
    assert (out / "camps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ARD" in res.output


def test_flee_days_option_and_explicit_folders(tmp_path: Path) -> None:
    case = synthetic_flee_case()
    out = tmp_path / "o"
    res = CliRunner().invoke(
        app,
        [
            "flee",
            str(case / "input"),
            "--observed",
            str(case / "observed"),
            "--out",
            str(out),
            "--days",
            "10",
        ],
    )
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "camps.csv")["day"].max() == 9


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corridor", *args], capture_output=True, text=True, timeout=300
    )


def test_bad_input_gives_located_error_without_traceback(tmp_path: Path) -> None:
    case = synthetic_flee_case()
    bad = tmp_path / "input"
    bad.mkdir()
    for f in (case / "input").iterdir():
        (bad / f.name).write_text(f.read_text())
    routes = (
        (bad / "routes.csv")
        .read_text()
        .replace("Northport,Hillcrest,120", "Northport,Atlantis,120")
    )
    (bad / "routes.csv").write_text(routes)
    proc = _run(
        "flee", str(bad), "--observed", str(case / "observed"), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "routes.csv:2" in proc.stderr
    assert "Atlantis" in proc.stderr
    assert not (tmp_path / "o" / "camps.csv").exists()


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = _run("flee", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "nowhere" in proc.stderr


def test_flee_in_a_fresh_process_draws_the_plot_in_a_forked_child(tmp_path: Path) -> None:
    # A fresh process has one thread, so the plot is drawn by a forked child (PlotInBackground);
    # the command must still leave a complete PNG and exit 0.
    proc = _run("flee", "synthetic", "--out", str(tmp_path / "o"), "--days", "20")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "camps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "o").glob(".*"))  # no temporary files left behind
