"""Pauses in deciding a nationality (:mod:`corridor.asylum.rules.pauses`), in both engines.

While a nationality's decisions are paused none of its cases is decided (after the cases in
service when it started are finished), its waiting cases rise, the caseworkers decide other
nationalities' cases, and its cases are decided again after the pause; both engines agree in
mean; the agent engine's kernels and their twins set cases aside and merge them back in the
same order; without a pause nothing changes.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corridor.asylum.agent.kernel_sets import NUMBA, TWINS
from corridor.asylum.agent.state import Options
from corridor.asylum.params import build_params
from corridor.asylum.rules.pauses import (
    decidable,
    pause_lifted,
    pause_starts,
    paused_withdrawals_expected,
)
from corridor.asylum.run import run_agents, run_scenario
from corridor.scenario.loaded import LoadedScenario
from test_engines_agree import START, _report, compare, every_mechanism

LO, HI = date(2024, 3, 1), date(2024, 6, 30)  # B paused, both days included
D_LO, D_HI = (LO - START).days, (HI - START).days


def with_pause(loaded: LoadedScenario, nat: str = "B", lo: date = LO, hi: date = HI) -> Any:
    t = pd.DataFrame(
        {
            "nationality": [nat],
            "from_date": pd.to_datetime([lo]),
            "to_date": pd.to_datetime([hi]),
            "source": ["test"],
        }
    )
    return dataclasses.replace(loaded, tables={**loaded.tables, "decision_pauses": t})


def _by_nat(frame: pd.DataFrame, column: str, nat: str) -> np.ndarray[Any, Any]:
    return frame[frame["nationality"] == nat][column].to_numpy(dtype=np.float64)


def test_the_rule() -> None:
    paused = np.zeros((6, 2), dtype=bool)
    paused[2:4, 1] = True
    assert [decidable(paused, d, 1) for d in range(6)] == [1, 1, 0, 0, 1, 1]
    assert [pause_starts(paused, d, 1) for d in range(6)] == [0, 0, 1, 0, 0, 0]
    assert [pause_lifted(paused, d, 1) for d in range(6)] == [0, 0, 0, 0, 1, 0]
    assert not any(pause_starts(paused, d, 0) or pause_lifted(paused, d, 0) for d in range(6))
    first = np.zeros((2, 1), dtype=bool)
    first[0, 0] = True
    assert pause_starts(first, 0, 0)
    assert pause_lifted(first, 1, 0)
    # withdrawals of cases set aside: the waiting ones at 1 − e^−w, the joining ones about w/2
    w = 0.01
    assert paused_withdrawals_expected(100.0, 0.0, w) == pytest.approx(100 * (1 - np.exp(-w)))
    assert paused_withdrawals_expected(0.0, 100.0, w) == pytest.approx(100 * w / 2, rel=0.01)
    assert paused_withdrawals_expected(100.0, 100.0, 0.0) == 0.0


def test_params_mark_the_paused_days() -> None:
    p = build_params(with_pause(every_mechanism(scale=1.0)))
    b = p.nationalities.index("B")
    assert p.paused[D_LO : D_HI + 1, b].all()
    assert not p.paused[:D_LO, b].any()
    assert not p.paused[D_HI + 1 :, b].any()
    assert p.paused.sum() == D_HI - D_LO + 1  # only B
    assert not build_params(every_mechanism(scale=1.0)).paused.any()


@pytest.mark.parametrize("engine", ["aggregate", "agents"])
def test_a_paused_nationality_is_not_decided_and_waits(engine: str) -> None:
    loaded = with_pause(every_mechanism(scale=4.0, agents_per_person=0.25))
    base = run_scenario(every_mechanism(scale=4.0, agents_per_person=0.25), seed=1, engine=engine)  # type: ignore[arg-type]
    res = run_scenario(loaded, seed=1, engine=engine)  # type: ignore[arg-type]
    dec = _by_nat(res.flows, "new_decisions", "B")
    wait = _by_nat(res.stocks, "n_awaiting_decision", "B")
    before = dec[D_LO - 30 : D_LO].sum()
    assert before > 100
    # cases in service when the pause starts finish within days (mean service ~4 days)
    assert dec[D_LO + 45 : D_HI + 1].sum() <= 1e-3 * before
    assert wait[D_HI] > 1.5 * wait[D_LO - 1]  # its waiting cases rise
    assert dec[D_HI + 1 : D_HI + 31].sum() > 2.0 * before  # decided again, the backlog first
    # capacity goes to the others: A is decided faster than without the pause
    a_on = _by_nat(res.flows, "new_decisions", "A")[D_LO : D_HI + 1].sum()
    a_off = _by_nat(base.flows, "new_decisions", "A")[D_LO : D_HI + 1].sum()
    assert a_on > 1.1 * a_off
    # history before the pause is unchanged
    pd.testing.assert_frame_equal(
        res.stocks[res.stocks["date"] < pd.Timestamp(LO)],
        base.stocks[base.stocks["date"] < pd.Timestamp(LO)],
    )


def test_engines_agree_in_mean_with_a_pause() -> None:
    gaps = compare(with_pause(every_mechanism(agents_per_person=0.25)))
    bad = [g for g in gaps if g.excess > 1.0]
    assert not bad, _report(gaps)


def test_kernels_and_twins_give_identical_runs_with_a_pause() -> None:
    loaded = with_pause(every_mechanism(scale=1.0), lo=date(2024, 2, 1), hi=date(2024, 4, 15))
    a, _sa = run_agents(loaded, seed=3, options=Options(use_numba=True))
    b, _sb = run_agents(loaded, seed=3, options=Options(use_numba=False))
    pd.testing.assert_frame_equal(a.stocks, b.stocks)
    pd.testing.assert_frame_equal(a.flows, b.flows)


@pytest.mark.parametrize("kern", [NUMBA, TWINS], ids=["numba", "twins"])
def test_set_aside_and_merge_back_keep_the_order(kern: Any) -> None:
    """Queue 0 holds agents 0..9 (nationality = id mod 3); nationality 1 is set aside into
    queue 2 + 1 and merged back: the queue is 0..9 again; more joined meanwhile in order."""
    n = 14
    qhead, qtail = np.full(6, -1, np.int64), np.full(6, -1, np.int64)
    qnext = np.full(n, -1, np.int32)
    nat = (np.arange(n) % 3).astype(np.uint8)
    kern.append(qhead, qtail, qnext, np.zeros(10, np.int64), np.arange(10, dtype=np.int64))
    moved = kern.set_aside(0, 2, qhead, qtail, qnext, nat, np.array([False, True, False]))
    assert moved == 3

    def walk(q: int) -> list[int]:
        out, a = [], int(qhead[q])
        while a >= 0:
            out.append(a)
            a = int(qnext[a])
        return out

    assert walk(0) == [0, 2, 3, 5, 6, 8, 9]
    assert walk(3) == [1, 4, 7]
    assert qtail[0] == 9
    assert qtail[3] == 7
    kern.append(qhead, qtail, qnext, np.array([0, 3, 0], np.int64), np.array([10, 11, 12]))
    kern.merge_back(3, 0, qhead, qtail, qnext)
    assert walk(0) == list(range(13))
    assert qtail[0] == 12
    assert qhead[3] == -1
    assert qtail[3] == -1
