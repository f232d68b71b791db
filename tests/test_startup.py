"""Start-up: what ``corridor --help`` and the ``corridor flee`` path import (issue 15, item 6).

Behavioural, not timed: a fresh interpreter imports the module or runs the command, and the
test reads ``sys.modules``. The heavy libraries (numba, pandas, duckdb, pyarrow, matplotlib,
scipy) cost hundreds of milliseconds each before any work starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corridor.data import synthetic_flee_case
from corridor.flee_run import run_flee

# Typer itself imports pydantic to parse a command's options, so it is not listed.
HEAVY = ("numba", "pandas", "duckdb", "pyarrow", "matplotlib", "scipy", "numpy", "yaml")


def _imported_after(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter after running ``code``."""
    probe = (
        "import sys, json\n"
        f"{code}\n"
        "sys.stdout.write('\\n' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["flee", "--help"], ["run", "--help"], ["--version"]])
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    code = (
        f"sys.argv = ['corridor', *{argv!r}]\n"
        "from corridor.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
    )
    assert _imported_after(code) & set(HEAVY) == set()


def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert _imported_after("import corridor.cli") & set(HEAVY) == set()


def test_flee_path_does_not_import_pandas_or_the_store() -> None:
    loaded = _imported_after(
        "from corridor.flee_run import run_flee\n"
        "from corridor.data import synthetic_flee_case\n"
        "c = synthetic_flee_case()\n"
        "r = run_flee(c / 'input', c / 'observed', seed=1, days=3)\n"
        "r.camps_csv()\n"
    )
    assert loaded.isdisjoint({"pandas", "duckdb", "pyarrow", "matplotlib"})
    assert "numba" in loaded  # the kernels still run compiled


def test_camps_csv_is_what_pandas_writes() -> None:
    case = synthetic_flee_case()
    result = run_flee(case / "input", case / "observed", seed=4, days=25)
    assert result.camps_csv() == result.camps.to_csv(index=False)
    assert str(result.camps["observed"].dtype) == "Int64"
    assert result.camps["simulated"].sum() == result.columns["simulated"].sum() > 0


def test_camps_csv_writes_missing_observations_empty() -> None:
    case = synthetic_flee_case()
    result = run_flee(case / "input", None, seed=1, days=3)
    assert np.isnan(result.columns["observed"]).all()
    rows = result.camps_csv().splitlines()
    assert rows[0] == "day,date,camp,simulated,observed"
    assert all(row.endswith(",") for row in rows[1:])
    assert result.camps_csv() == result.camps.to_csv(index=False)


def test_before_loop_sees_the_layout_before_the_counts() -> None:
    case = synthetic_flee_case()
    seen: list[dict[str, np.ndarray]] = []
    result = run_flee(case / "input", case / "observed", seed=1, days=10, before_loop=seen.append)
    (early,) = seen
    assert (early["simulated"] == 0).all()
    for name in ("day", "date", "camp"):
        assert list(early[name]) == list(result.columns[name])
    np.testing.assert_array_equal(early["observed"], result.columns["observed"])


def test_numba_starts_without_scipy_blas_and_blas_kernels_still_work() -> None:
    loaded = _imported_after(
        "import numpy as np, numba\n"
        "from corridor.engine.numba_start import load_cpu_target\n"
        "load_cpu_target()\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "assert 'scipy.linalg.cython_blas' not in sys.modules  # the block is lifted\n"
        "f = numba.njit(lambda a: (np.dot(a, a), np.convolve(a, a)[2]))\n"
        "assert f(np.arange(3.0)) == (5.0, 1.0)\n"
    )
    assert "scipy" in loaded  # np.dot imported SciPy's BLAS when it was compiled


def test_flee_command_does_not_import_scipy_linalg(tmp_path: Path) -> None:
    out = tmp_path / "o"
    code = (
        f"sys.argv = ['corridor', 'flee', 'synthetic', '--out', {str(out)!r}, '--days', '5']\n"
        "from corridor.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'scipy.linalg' not in sys.modules, 'Numba loaded SciPy linear algebra'\n"
    )
    _imported_after(code)
    assert (out / "camps.png").is_file()


def test_main_freezes_the_heap_before_the_process_exits() -> None:
    # The interpreter's last collections then skip Numba's objects (0.2-0.3 s of exit).
    _imported_after(
        "import gc\n"
        "sys.argv = ['corridor', '--version']\n"
        "from corridor.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert gc.get_freeze_count() > 0\n"
    )
