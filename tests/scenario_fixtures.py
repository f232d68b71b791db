"""Helpers for tests of scenario folders: the shipped test scenarios and ways to edit copies.

``tests/data/scenarios/mini`` is a tiny made-up scenario (two fictional nationalities, one year,
two hubs); ``mini-variant`` extends it. Every figure in them is marked ``test fixture``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"
MINI = SCENARIOS / "mini"
MINI_VARIANT = SCENARIOS / "mini-variant"

# A minimal valid scenario, written from scratch (no hubs, no optional tables).
TINY_YAML = """\
name: tiny
period:
  start: 2024-01-01
  end: 2024-03-31
asylum:
  caseworkers: 10
  productivity: 5
costs:
  table: null
"""
TINY_TABLES: dict[str, str] = {
    "arrivals.csv": "month,nationality,people,source\n"
    "2024-01,Carvenia,10,test fixture\n"
    "2024-02,Carvenia,12,test fixture\n",
    "nationalities.csv": "nationality,household_size,returns_agreement,source\n"
    "Carvenia,1.2,no,test fixture\n",
    "grant_rates.csv": "nationality,from_date,grant_rate,source\n"
    "Carvenia,2023-01-01,0.5,test fixture\n",
}


def copy_scenario(dest: Path, source: Path = MINI, name: str | None = None) -> Path:
    """Copy scenario folder ``source`` to ``dest/<name>`` (default: its own name)."""
    target = dest / (name or source.name)
    shutil.copytree(source, target)
    return target


def copy_mini_pair(dest: Path) -> tuple[Path, Path]:
    """Copies of ``mini`` and ``mini-variant`` side by side in ``dest`` (the variant's
    ``extends: ../mini`` still works)."""
    return copy_scenario(dest, MINI), copy_scenario(dest, MINI_VARIANT)


def write_tiny(dest: Path, name: str = "tiny", yaml_text: str = TINY_YAML) -> Path:
    """Write the minimal valid scenario (or ``yaml_text`` with its tables) to ``dest/<name>``."""
    folder = dest / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(yaml_text, encoding="utf-8")
    for file, text in TINY_TABLES.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in text file ``path`` by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line of ``path`` that contains ``needle``."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")
