"""Architecture: the import contracts of ``[tool.importlinter]`` and a size limit on source files.

The contracts (layers, forbidden imports, no import cycles) are checked by Import Linter's
``lint-imports`` on the installed package; a broken contract fails the test with the tool's
report. No source file may be longer than 800 lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "corridor"
MAX_LINES = 800


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` (the one beside this Python, else on the PATH) in ``cwd``, where it
    reads ``pyproject.toml``."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports"
    )
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [exe, "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, f"lint-imports found broken contracts:\n{proc.stdout}{proc.stderr}"


def test_import_linter_sees_function_level_imports(tmp_path: Path) -> None:
    """The contracts also cover imports inside functions and under ``TYPE_CHECKING``: a forbidden
    contract on a throwaway package breaks on each of them."""
    pkg = tmp_path / "archprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from archprobe import typed_only


            def lazy() -> object:
                from archprobe import high

                return high
            """
        )
    )
    (pkg / "high.py").write_text("")
    (pkg / "typed_only.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_package = "archprobe"

            [[tool.importlinter.contracts]]
            name = "low imports neither high nor typed_only"
            type = "forbidden"
            source_modules = ["archprobe.low"]
            forbidden_modules = ["archprobe.high", "archprobe.typed_only"]
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = _lint_imports(tmp_path, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "archprobe.low -> archprobe.high (l.9)" in out, out
    assert "archprobe.low -> archprobe.typed_only (l.5)" in out, out


def test_source_files_are_at_most_800_lines() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(SRC.rglob("*.py"))
    }
    assert sizes, f"no source files under {SRC}"
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    listing = "\n".join(f"  {name}: {n} lines" for name, n in sorted(too_long.items()))
    assert not too_long, f"{len(too_long)} file(s) over {MAX_LINES} lines:\n{listing}"
