"""Fuzzing as a habit (issue 15, item 4): generated scenario folders and Flee cases load or are
refused with Corridor's own errors, never a traceback, and never hang.

The documents come from the schemas (:mod:`fuzz_strategies`). The default suite runs a small
sample; ``pytest -m slow tests/test_fuzz.py`` runs 10,000 (5,000 of each). A document either
loads, or raises :class:`~corridor.errors.CorridorError` (``InputError``/``InputErrors``) with
a message; anything else fails the test, as does one load taking over :data:`HANG_SECONDS`.
"""

from __future__ import annotations

import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.errors import CorridorError, InputError, InputErrors
from corridor.scenario.flee_reader import read_flee_case
from corridor.scenario.loader import load_scenario
from fuzz_strategies import flee_case, scenario_yaml
from scenario_fixtures import copy_scenario

HANG_SECONDS = 20
SAMPLE = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
MANY = settings(max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck))


class Hang(Exception):
    """One document took longer than HANG_SECONDS."""


@contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def only_corridor_errors(load: Callable[[], object], seconds: int = HANG_SECONDS) -> None:
    """Run ``load``: it returns, or raises a CorridorError with a message (each part located)."""
    error: CorridorError | None = None
    try:
        with no_hang(seconds):
            load()
    except CorridorError as exc:
        error = exc
    if isinstance(error, InputErrors):
        assert error.errors
        assert all(isinstance(e, InputError) and str(e) for e in error.errors)
    assert error is None or str(error)


def check_scenario(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_scenario(Path(tmp))
        (folder / "scenario.yaml").write_bytes(raw)
        only_corridor_errors(lambda: load_scenario(folder))


def check_flee(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        (root / "observed").mkdir(exist_ok=True)
        only_corridor_errors(
            lambda: read_flee_case(root / "input", root / "observed", root / "simsetting.yml")
        )


def test_the_checker_fails_on_a_traceback() -> None:
    with pytest.raises(KeyError):
        only_corridor_errors(lambda: {}["x"])
    with pytest.raises(Hang):
        only_corridor_errors(signal.pause, seconds=1)  # the alarm ends the wait


@SAMPLE
@given(scenario_yaml())
def test_generated_scenarios_sample(raw: bytes) -> None:
    check_scenario(raw)


@SAMPLE
@given(flee_case())
def test_generated_flee_cases_sample(files: dict[str, str]) -> None:
    check_flee(files)


@pytest.mark.slow
@MANY
@given(scenario_yaml())
def test_generated_scenarios_many(raw: bytes) -> None:
    check_scenario(raw)


@pytest.mark.slow
@MANY
@given(flee_case())
def test_generated_flee_cases_many(files: dict[str, str]) -> None:
    check_flee(files)


def test_generators_reach_valid_documents() -> None:
    """Not only refusals: some generated documents load, so the deep checks are reached."""
    loaded = {"scenario": 0}

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = copy_scenario(Path(tmp))
            (folder / "scenario.yaml").write_bytes(data.draw(scenario_yaml()))
            try:
                load_scenario(folder)
                loaded["scenario"] += 1
            except CorridorError:
                pass

    run()
    assert loaded["scenario"] > 0
