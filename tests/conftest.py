"""Shared test set-up: no test writes into the user's folders.

Every test runs with ``CORRIDOR_RESULTS`` pointing at a fresh folder of its own, so a command
or function that opens the default results store (``./results`` otherwise) writes there; tests
that need a particular store still pass ``--results`` / ``store=`` themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_results_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRIDOR_RESULTS", str(tmp_path / "default-results"))
