"""The asylum rules written once (:mod:`corridor.asylum.rules`): per case and in expectation.

Each rule has a per-case form (own draws; the agent engine) and an expected form (the aggregate
engine). Here the mean of the per-case outcomes over many cases equals the expected shares, and
the outcomes add up to the people they split.
"""

from __future__ import annotations

import numpy as np
import pytest

from corridor.asylum.rules.appeals import allowed, allowed_expected
from corridor.asylum.rules.claims import INADMISSIBLE, NOT_CLAIMED, QUEUED, screen, screen_expected
from corridor.asylum.rules.decisions import (
    APPEALS,
    GRANTED,
    REFUSED,
    decide,
    decide_expected,
    lodging_time,
    lodging_times,
)

N = 400_000


def draws(k: int) -> list[np.ndarray]:
    rng = np.random.default_rng(k)
    return [rng.random(N) for _ in range(2)]


def shares(codes: np.ndarray, n: int = 3) -> np.ndarray:
    return np.bincount(codes, minlength=n) / codes.size


def test_screening_per_case_matches_expected() -> None:
    u1, u2 = draws(1)
    codes = screen(u1, u2, 0.9, np.full(N, 0.25))
    claims, inad, queued = screen_expected(1.0, 0.9, 0.25)
    assert claims == pytest.approx(inad + queued)
    got = shares(codes)
    assert got[NOT_CLAIMED] == pytest.approx(1.0 - claims, abs=0.003)
    assert got[INADMISSIBLE] == pytest.approx(inad, abs=0.003)
    assert got[QUEUED] == pytest.approx(queued, abs=0.003)


def test_decisions_per_case_match_expected() -> None:
    u1, u2 = draws(2)
    codes = decide(u1, u2, np.full(N, 0.4), 0.7)
    grants, lodged, to_exit = decide_expected(1.0, 0.4, 0.7)
    assert grants + lodged + to_exit == pytest.approx(1.0)
    got = shares(codes)
    assert got[GRANTED] == pytest.approx(grants, abs=0.003)
    assert got[APPEALS] == pytest.approx(lodged, abs=0.003)
    assert got[REFUSED] == pytest.approx(to_exit, abs=0.003)
    assert lodging_time(3.25, 10) == 13.25
    np.testing.assert_array_equal(lodging_times(np.array([0.5, 2.0]), 3), [3.5, 5.0])


def test_appeals_per_case_match_expected() -> None:
    u1, _ = draws(3)
    assert allowed(u1, 0.3).mean() == pytest.approx(allowed_expected(1.0, 0.3), abs=0.003)
    assert not allowed(u1, 0.0).any()  # certain either way
    assert allowed(u1, 1.0).all()
