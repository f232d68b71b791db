"""The decision queue against queueing theory, and the queue kernels against their twins.

Erlang C (A. K. Erlang 1917; L. Kleinrock, *Queueing Systems* vol. 1, 1975, §3.5; Gross &
Harris, *Fundamentals of Queueing Theory*, §2.3): in an M/M/c queue with arrival rate λ, service
rate μ per server and offered load a = λ/μ < c, an arrival waits with probability

    C(c, a) = [aᶜ/c! · c/(c − a)] / [Σ_{k=0}^{c−1} aᵏ/k! + aᶜ/c! · c/(c − a)]

and its mean wait is W_q = C(c, a) / (cμ − λ). With non-preemptive priority classes and one
exponential service rate for all (Cobham 1954; Kleinrock vol. 2, §3.6), class k waits
W_k = C(c, a)/(cμ) / ((1 − σ_{k−1})(1 − σ_k)), σ_k the load of classes 1..k over c.
Little's law (Little 1961): mean number waiting = arrival rate × mean wait.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asylum_builders import make_loaded
from corridor.asylum import queue_kernels as qk
from corridor.asylum.agents import AsylumState, Options
from corridor.asylum.params import DAYS_PER_MONTH, build_params
from corridor.asylum.result import ScenarioResult
from corridor.asylum.run import episodes, run_agents
from corridor.engine.rng import stream_key, uniform_np
from corridor.scenario.loaded import LoadedScenario

C_SERVERS = 20
RHO = 0.9
MMC30_DAYS = 20 * 365


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load a (formula in the module docstring)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_scenario(mean_service: float, days: int, **asylum: object) -> LoadedScenario:
    """One decision stage: Poisson arrivals, exponential service, everyone granted, no
    withdrawals, no appeals; utilisation RHO with C_SERVERS caseworkers."""
    lam = RHO * C_SERVERS / mean_service
    return make_loaded(
        start=date(2000, 1, 1),
        days=days,
        arrivals_per_day=lam,
        grant_rate=1.0,
        arrivals={"claim_share": 1.0},
        asylum={
            "caseworkers": float(C_SERVERS),
            "productivity": DAYS_PER_MONTH / mean_service,
            "withdrawal_rate": 0.0,
            **asylum,
        },
    )


@pytest.fixture(scope="module")
def mmc30() -> tuple[object, ScenarioResult, AsylumState]:
    """20 years of the M/M/c queue with 30-day cases (about 4,400 cases), seed 3."""
    loaded = mmc_scenario(mean_service=30.0, days=MMC30_DAYS)
    res, s = run_agents(loaded, seed=3, options=Options(record_episodes=True))
    return loaded, res, s


def test_waits_equal_continuous_time_fcfs_recursion(
    mmc30: tuple[LoadedScenario, ScenarioResult, AsylumState],
) -> None:
    """Day stepping changes nothing: every start time equals the continuous-time FCFS
    multi-server recursion (Kiefer & Wolfowitz 1955) fed the same arrival and service times."""
    loaded, _, s = mmc30
    ep = episodes(s).sort_values("agent")
    t_arr = s.agents["t_arrive"].astype(np.float64)  # agent order = arrival order
    mean = 1.0 / float(build_params(loaded).decisions_per_caseworker_day[0])
    u = uniform_np(stream_key(3, "service"), 0, np.arange(t_arr.size), 0)
    service = -np.log1p(-u) * mean
    free = np.zeros(C_SERVERS)
    start = np.full(t_arr.size, np.inf)
    for i in range(t_arr.size):
        j = int(np.argmin(free))
        start[i] = max(t_arr[i], free[j])
        free[j] = start[i] + service[i]
    ids = ep["agent"].to_numpy().astype(np.int64)
    assert ids.size > 4000
    assert np.array_equal(ids, np.arange(ids.size))  # FIFO: started in arrival order
    np.testing.assert_allclose(ep["t_start"].to_numpy(), start[ids], rtol=0, atol=1e-9)
    assert np.all(start[ids.size :] >= MMC30_DAYS)  # the others would start after the end


def test_littles_law(mmc30: tuple[LoadedScenario, ScenarioResult, AsylumState]) -> None:
    """Mean number waiting (daily snapshots of the reported queue) = λ × mean wait, within 3%;
    λ is the observed arrival rate over the same window (first and last years left out)."""
    _, res, s = mmc30
    lo, hi = 365, MMC30_DAYS - 365
    ep = episodes(s)
    inside = (ep["t_queue"] >= lo) & (ep["t_queue"] < hi)
    wait = float((ep["t_start"] - ep["t_queue"])[inside].mean())
    t_arr = s.agents["t_arrive"]
    lam = float(((t_arr >= lo) & (t_arr < hi)).sum()) / (hi - lo)
    lq = float(res.events["queue_decision"].to_numpy()[lo:hi].mean())
    assert lq == pytest.approx(lam * wait, rel=0.03)


def test_mean_wait_matches_erlang_c() -> None:
    """M/M/c, c = 20, utilisation 0.9: mean wait within 5% of Erlang C.

    At ρ = 0.9 the mean wait of one run converges slowly (its standard deviation is about 26% for
    20 years of 30-day cases and needs ~4 million cases to reach 1.7%). Erlang C depends only on
    c, ρ and the time unit (W_q / E[S]), so the same queue is run with a mean service of 0.05
    day: 5 independent seeds × 2,000 days ≈ 3.6 million cases, warm-up (50 days) discarded.
    """
    mean_service, days, warm = 0.05, 2000, 50
    lam = RHO * C_SERVERS / mean_service
    wq = erlang_c(C_SERVERS, lam * mean_service) / (C_SERVERS / mean_service - lam)
    waits, counts, lq = [], [], []
    for seed in range(5):
        res, s = run_agents(
            mmc_scenario(mean_service, days), seed=seed, options=Options(record_episodes=True)
        )
        ep = episodes(s)
        ep = ep[ep["t_queue"] >= warm]
        waits.append(float((ep["t_start"] - ep["t_queue"]).sum()))
        counts.append(len(ep))
        lq.append(float(res.events["queue_decision"].to_numpy()[warm:].mean()))
    mean_wait = sum(waits) / sum(counts)
    assert sum(counts) > 3_400_000
    assert mean_wait == pytest.approx(wq, rel=0.05)
    assert float(np.mean(lq)) == pytest.approx(lam * wq, rel=0.05)


def test_priority_classes_follow_cobham() -> None:
    """Two non-preemptive classes (loads 0.3 and 0.6): the first waits as Cobham's formula says
    (within 8%), the second far longer; a fast track is a priority class."""
    mean_service, days, warm = 0.05, 1500, 50
    lam = RHO * C_SERVERS / mean_service
    loaded = make_loaded(
        start=date(2000, 1, 1),
        days=days,
        nationalities=("fast", "slow"),
        arrivals_per_day=lam / 2,
        grant_rate=1.0,
        arrivals={"claim_share": 1.0},
        asylum={
            "caseworkers": float(C_SERVERS),
            "productivity": DAYS_PER_MONTH / mean_service,
            "withdrawal_rate": 0.0,
            "discipline": "priority",
            "priority_classes": [{"name": "fast track", "nationalities": ["fast"]}],
        },
    )
    # unequal loads: half the "slow" nationality's arrivals are moved to "fast" by scaling
    t = loaded.tables["arrivals"]
    t.loc[t["nationality"] == "fast", "people"] *= 2.0 / 3.0
    t.loc[t["nationality"] == "slow", "people"] *= 4.0 / 3.0
    _, s = run_agents(loaded, seed=5, options=Options(record_episodes=True))
    ep = episodes(s)
    ep = ep[ep["t_queue"] >= warm]
    nat = s.agents["nationality"][ep["agent"].to_numpy().astype(np.int64)]
    w = (ep["t_start"] - ep["t_queue"]).to_numpy()
    base = erlang_c(C_SERVERS, lam * mean_service) / (C_SERVERS / mean_service)
    w_fast = base / (1.0 * (1 - 0.3))
    w_slow = base / ((1 - 0.3) * (1 - 0.9))
    assert float(w[nat == 0].mean()) == pytest.approx(w_fast, rel=0.08)
    assert float(w[nat == 1].mean()) > 5 * float(w[nat == 0].mean())
    assert float(w[nat == 1].mean()) == pytest.approx(w_slow, rel=0.25)


# ---------------------------------------------------------------------------------------------
# Kernels == twins


def _random_queue_world(rng: np.random.Generator, n: int, n_q: int) -> dict[str, np.ndarray]:
    state = rng.choice(
        np.array([qk.REFUSED, qk.LIMBO, qk.INADMISSIBLE, qk.DEPARTED], np.uint8), size=n
    )
    return {
        "state": state,
        "t_state": np.sort(rng.random(n) * 10).astype(np.float32),
        "people": rng.integers(1, 5, n).astype(np.uint8),
        "queue": rng.integers(0, n_q, n).astype(np.int64),
    }


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 60),
    budget=st.floats(-3, 40),
    room=st.floats(0, 40),
)
def test_append_and_take_fifo_match_twins(seed: int, n: int, budget: float, room: float) -> None:
    rng = np.random.default_rng(seed)
    n_q = 4
    w = _random_queue_world(rng, n, n_q)
    ok = np.zeros(qk.N_STATES, bool)
    ok[[qk.REFUSED, qk.LIMBO, qk.INADMISSIBLE]] = True
    queues = np.asarray([0, 2, 3], np.int64)
    outs = []
    for append, take in ((qk.append, qk.take_fifo), (qk.append_py, qk.take_fifo_py)):
        qhead = np.full(n_q, -1, np.int64)
        qtail = np.full(n_q, -1, np.int64)
        qnext = np.full(max(n, 1), -1, np.int32)
        ids = np.arange(n, dtype=np.int64)
        half = n // 2
        append(qhead, qtail, qnext, w["queue"][:half], ids[:half])
        append(qhead, qtail, qnext, w["queue"][half:], ids[half:])
        out = np.empty(n + 1, np.int64)
        k, b, r = take(
            queues,
            qhead,
            qtail,
            qnext,
            w["state"],
            ok,
            w["t_state"],
            w["people"],
            budget,
            room,
            out,
        )
        outs.append((out[:k].tolist(), b, r, qhead.tolist(), qtail.tolist(), qnext.tolist()))
    assert outs[0] == outs[1]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 60),
    budget=st.floats(-3, 40),
    room=st.floats(0, 40),
)
def test_insert_and_take_newest_match_twins(seed: int, n: int, budget: float, room: float) -> None:
    """Newest first: the kernels and their twins link, take and carry credit the same way; what
    is taken comes newest day first, and a day not taken whole is shared out in proportion."""
    rng = np.random.default_rng(seed)
    n_q = 4
    w = _random_queue_world(rng, n, n_q)
    w["t_state"] = rng.integers(0, 4, n).astype(np.float32) + np.float32(0.5)  # few days
    key = rng.random(n).astype(np.float32)
    ok = np.zeros(qk.N_STATES, bool)
    ok[[qk.REFUSED, qk.LIMBO, qk.INADMISSIBLE]] = True
    queues = np.asarray([0, 2, 3], np.int64)
    outs = []
    for insert, take in (
        (qk.insert_newest, qk.take_newest),
        (qk.insert_newest_py, qk.take_newest_py),
    ):
        qhead = np.full(n_q, -1, np.int64)
        qtail = np.full(n_q, -1, np.int64)
        qnext = np.full(max(n, 1), -1, np.int32)
        ids = np.arange(n, dtype=np.int64)
        insert(qhead, qtail, qnext, w["queue"], ids, w["t_state"], key)
        credit = np.linspace(-1.0, 1.0, n_q)
        out = np.empty(n + n_q + 2, np.int64)
        args = (queues, qhead, qtail, qnext, w["state"], ok, w["t_state"], w["people"])
        k, b, r = take(*args, budget, room, out, credit)
        outs.append(
            (
                out[:k].tolist(),
                b,
                r,
                qhead.tolist(),
                qtail.tolist(),
                qnext.tolist(),
                credit.tolist(),
            )
        )
    assert outs[0] == outs[1]
    taken = outs[0][0]
    live = [a for a in range(n) if ok[w["state"][a]] and w["queue"][a] in queues]
    if taken and live:
        days = np.floor(w["t_state"][taken])
        left = sorted(set(live) - set(taken))
        if left:  # nothing left is newer than anything taken
            assert np.floor(w["t_state"][left]).max() <= days.min()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), until=st.floats(0, 12))
def test_timer_heap_matches_twin(seed: int, n: int, until: float) -> None:
    rng = np.random.default_rng(seed)
    t = np.round(rng.random(n) * 10, 1)  # ties on time, broken by agent then kind
    a = rng.integers(0, 20, n).astype(np.int64)
    k = rng.integers(0, 5, n).astype(np.int8)
    res = []
    for push, pop in ((qk.push_timers, qk.pop_due), (qk.push_timers_py, qk.pop_due_py)):
        ht, ha, hk = np.empty(n + 1), np.empty(n + 1, np.int64), np.empty(n + 1, np.int8)
        size = push(ht, ha, hk, 0, t[: n // 2], a[: n // 2], k[: n // 2])
        size = push(ht, ha, hk, size, t[n // 2 :], a[n // 2 :], k[n // 2 :])
        ot, oa, ok = np.empty(n + 1), np.empty(n + 1, np.int64), np.empty(n + 1, np.int8)
        m, size = pop(ht, ha, hk, size, until, ot, oa, ok)
        m2, _ = pop(ht, ha, hk, size, np.inf, ot[m:], oa[m:], ok[m:])
        res.append((m, list(zip(ot[: m + m2], oa[: m + m2], ok[: m + m2], strict=True))))
    assert res[0] == res[1]
    order = sorted(zip(t, a, k, strict=True))
    assert res[0][1] == order


def test_serve_day_matches_twin_with_priorities_and_withdrawals() -> None:
    """Several days of a two-class queue with withdrawals and a changing server count."""
    rng = np.random.default_rng(7)
    n = 400
    t_arrive = np.sort(rng.random(n) * 20).astype(np.float32)
    cls = rng.integers(0, 2, n).astype(np.int64)
    t_w = (t_arrive + rng.exponential(3.0, n)).astype(np.float32)
    key = stream_key(1, "service")
    results = []
    for serve, append in ((qk.serve_day, qk.append), (qk.serve_day_py, qk.append_py)):
        state = np.full(n, qk.WAITING_DECISION, np.uint8)
        t_next = t_w.copy()
        qhead, qtail = np.full(2, -1, np.int64), np.full(2, -1, np.int64)
        qnext = np.full(n, -1, np.int32)
        free_at, serving = np.zeros(6), np.full(6, -1, np.int64)
        log = []
        for day in range(25):
            new = np.flatnonzero((t_arrive >= day) & (t_arrive < day + 1)).astype(np.int64)
            append(qhead, qtail, qnext, cls[new], new)
            bufs = [
                np.empty(n + 6, np.int64) if i in (0, 3, 5) else np.empty(n + 6) for i in range(7)
            ]
            n_s, n_d, n_w = serve(
                day,
                np.array([0, 1], np.int64),
                qhead,
                qtail,
                qnext,
                state,
                t_arrive,
                t_next,
                False,
                qk.WAITING_DECISION,
                3 + day % 4,
                free_at,
                serving,
                0.8,
                True,
                key,
                0,
                *bufs,
            )
            state[bufs[0][:n_s]] = qk.IN_DECISION
            state[bufs[5][:n_w]] = qk.WITHDRAWN
            log.append(
                [
                    b[:k].tolist()
                    for b, k in zip(bufs, (n_s, n_s, n_s, n_d, n_d, n_w, n_w), strict=True)
                ]
            )
        results.append((log, t_next.tolist(), free_at.tolist(), serving.tolist()))
    assert results[0] == results[1]
    done = sum(len(day[3]) for day in results[0][0])
    withdrawn = sum(len(day[5]) for day in results[0][0])
    assert done > 100
    assert withdrawn > 0
