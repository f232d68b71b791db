"""Data shipped with Corridor: scenario packs and the synthetic Flee-format test case."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    """The folder of shipped data."""
    return Path(str(files("corridor.data")))


def synthetic_flee_case() -> Path:
    """The synthetic Flee-format case (``input/``, ``observed/``), made up by the project."""
    return data_dir() / "flee-synthetic"
