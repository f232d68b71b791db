"""The day kernel: Numba (serial and parallel) against its NumPy twin, and its choice rules.

The kernels draw from counter-based streams keyed on (day, agent, hop), so every version must
give the same result bit for bit, on any number of threads and any split into chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from corridor.engine.dtypes import AgentFlags
from corridor.engine.rng import stream_key
from corridor.flee_run import run_flee_case
from corridor.modules.flee_kernels import move_day_np, move_day_parallel, move_day_serial
from corridor.scenario.flee_case import FleeCase
from flee_builders import random_case

STALE = AgentFlags.STALE
WALK = 35.0


# ---------------------------------------------------------------------------------------------
# Whole runs
# ---------------------------------------------------------------------------------------------
def assert_same_runs(case: FleeCase, seed: int) -> None:
    a = run_flee_case(case, seed=seed, use_numba=True)
    b = run_flee_case(case, seed=seed, use_numba=False)
    assert a.metrics["kernel"] == "numba"
    assert b.metrics["kernel"] == "numpy"
    assert a.camps.equals(b.camps)


def test_numba_equals_numpy_on_synthetic_case() -> None:
    reader = pytest.importorskip("corridor.scenario.flee_reader")
    from corridor.data import synthetic_flee_case

    d = synthetic_flee_case()
    case = reader.read_flee_case(d / "input", d / "observed")
    for seed in (0, 1):
        assert_same_runs(case, seed)


@given(case=random_case(), seed=st.integers(0, 1000))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_numba_equals_numpy_on_random_worlds(case: FleeCase, seed: int) -> None:
    assert_same_runs(case, seed)


# ---------------------------------------------------------------------------------------------
# Direct kernel calls on random state
# ---------------------------------------------------------------------------------------------
@dataclass
class State:
    """Arguments of a kernel call: agent columns (mutated) and the world (read only)."""

    n: int
    loc: NDArray[np.int32]
    link: NDArray[np.int32]
    on_link: NDArray[np.float32]
    flags: NDArray[np.uint8]
    world: tuple[Any, ...]  # day ... walk_speed, in the kernel's argument order

    def copy(self) -> State:
        return State(
            self.n,
            self.loc.copy(),
            self.link.copy(),
            self.on_link.copy(),
            self.flags.copy(),
            self.world,
        )

    def run(self, kernel: Any, n_chunks: int) -> NDArray[np.int64]:
        delta = kernel(self.n, self.loc, self.link, self.on_link, self.flags, *self.world, n_chunks)
        return np.asarray(delta).sum(axis=0)


def make_graph(
    rng: np.random.Generator, n_loc: int, n_edges: int
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int64], NDArray[np.int32]]:
    """Directed links (both directions of random pairs) and their CSR index by source."""
    a = rng.integers(n_loc, size=n_edges)
    b = (a + rng.integers(1, n_loc, size=n_edges)) % n_loc  # no self-loops
    src = np.concatenate([a, b]).astype(np.int32)
    dst = np.concatenate([b, a]).astype(np.int32)
    order = np.argsort(src, kind="stable").astype(np.int32)
    ptr = np.zeros(n_loc + 1, np.int64)
    np.add.at(ptr, src.astype(np.int64) + 1, 1)
    return src, dst, np.cumsum(ptr), order


def random_state(seed: int, n: int = 4000, n_loc: int = 30) -> State:
    rng = np.random.default_rng(seed)
    src, dst, ptr, csr_link = make_graph(rng, n_loc, int(rng.integers(n_loc // 2, 3 * n_loc)))
    n_link = len(src)
    length = np.round(rng.uniform(5, 500, n_link), 1)
    speed = rng.choice([35.0, 120.0, 360.0, 600.0], n_link)
    walkp = np.where(rng.random(n_link) < 0.3, rng.random(n_link), 0.0)
    link_open = rng.random(n_link) < 0.8
    # Open links get a positive weight, except some zeros (full camps) so that whole
    # locations fall back to the uniform choice; closed links have weight 0, as in FleeMovement.
    w = rng.uniform(1e-3, 0.1, n_link) * (rng.random(n_link) < 0.85)
    w = np.where(link_open, w, 0.0)
    w[src == 0] = 0.0  # location 0: only zero weights
    wsum = np.zeros(n_loc)
    np.add.at(wsum, src, w)
    nopen = np.bincount(src[link_open], minlength=n_loc).astype(np.int64)
    movechance = rng.choice([0.0, 0.001, 0.1, 0.3, 1.0], n_loc)
    blocked = rng.random(n_loc) < 0.15
    # Agents: 40% on a link (at its start, with fewer km than its length), some of them STALE.
    loc = rng.integers(n_loc, size=n).astype(np.int32)
    link = np.full(n, -1, np.int32)
    on = rng.random(n) < 0.4
    link[on] = rng.integers(n_link, size=int(on.sum()))
    loc[on] = src[link[on]]
    on_link = np.zeros(n, np.float32)
    on_link[on] = (rng.random(int(on.sum())) * length[link[on]]).astype(np.float32)
    flags = np.where(on & (rng.random(n) < 0.3), STALE, 0).astype(np.uint8)
    key = int(rng.integers(2**62))
    world = (
        int(rng.integers(0, 1000)),  # day
        stream_key(key, "move"),
        stream_key(key, "route"),
        stream_key(key, "walk"),
        movechance,
        blocked,
        ptr,
        csr_link,
        src,
        dst,
        length,
        speed,
        walkp,
        w,
        link_open,
        wsum,
        nopen,
        WALK,
    )
    return State(n, loc, link, on_link, flags, world)


def assert_same_state(x: State, y: State) -> None:
    np.testing.assert_array_equal(x.loc, y.loc)
    np.testing.assert_array_equal(x.link, y.link)
    np.testing.assert_array_equal(x.on_link, y.on_link)
    np.testing.assert_array_equal(x.flags, y.flags)


@given(seed=st.integers(0, 2**32 - 1), n_chunks=st.sampled_from([1, 3, 16, 64]))
@settings(max_examples=25, deadline=None)
def test_serial_parallel_and_numpy_kernels_agree(seed: int, n_chunks: int) -> None:
    s0 = random_state(seed)
    ser, par, npy = s0.copy(), s0.copy(), s0.copy()
    d_ser = ser.run(move_day_serial, n_chunks)
    d_par = par.run(move_day_parallel, n_chunks)
    d_np = npy.run(move_day_np, 1)
    assert_same_state(ser, par)
    assert_same_state(ser, npy)
    np.testing.assert_array_equal(d_ser, d_par)
    np.testing.assert_array_equal(d_ser, d_np)
    # The returned change is exactly the change of people at each location.
    n_loc = len(s0.world[4])

    def at(s: State) -> NDArray[np.int64]:
        return np.bincount(s.loc[s.link < 0], minlength=n_loc)

    np.testing.assert_array_equal(at(ser) - at(s0), d_ser)
    # The state really moved (otherwise "equal" would prove little).
    assert not np.array_equal(ser.loc, s0.loc) or not np.array_equal(ser.link, s0.link)


@contextmanager
def threads(k: int) -> Iterator[None]:
    old = nb.get_num_threads()
    nb.set_num_threads(k)
    try:
        yield
    finally:
        nb.set_num_threads(old)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parallel_kernel_is_independent_of_thread_count(seed: int) -> None:
    s0 = random_state(seed, n=20_000)
    ref = s0.copy()
    d_ref = ref.run(move_day_serial, 37)
    for k in range(1, nb.config.NUMBA_NUM_THREADS + 1):
        s = s0.copy()
        with threads(k):
            d = s.run(move_day_parallel, 37)
        assert_same_state(ref, s)
        np.testing.assert_array_equal(d_ref, d)


# ---------------------------------------------------------------------------------------------
# Choice rules of the kernel (§1.7, §1.8, §1.9)
# ---------------------------------------------------------------------------------------------
def star_state(
    n: int,
    weights: list[float],
    link_open: list[bool],
    movechance: float = 1.0,
    blocked_end: int | None = None,
) -> State:
    """n agents at hub 0 with one link to each of ends 1..k (10000 km, so they stay on it)."""
    k = len(weights)
    n_loc = k + 1
    src = np.concatenate([np.zeros(k), np.arange(1, k + 1)]).astype(np.int32)
    dst = np.concatenate([np.arange(1, k + 1), np.zeros(k)]).astype(np.int32)
    order = np.argsort(src, kind="stable").astype(np.int32)
    ptr = np.zeros(n_loc + 1, np.int64)
    np.add.at(ptr, src.astype(np.int64) + 1, 1)
    ptr = np.cumsum(ptr)
    is_open = np.concatenate([link_open, [True] * k])
    w = np.where(is_open, np.concatenate([weights, [1.0] * k]), 0.0)
    wsum = np.zeros(n_loc)
    np.add.at(wsum, src, w)
    nopen = np.bincount(src[is_open], minlength=n_loc).astype(np.int64)
    mc = np.full(n_loc, movechance)
    blocked = np.zeros(n_loc, bool)
    if blocked_end is not None:
        blocked[blocked_end] = True
    world = (
        3,
        stream_key(1, "move"),
        stream_key(1, "route"),
        stream_key(1, "walk"),
        mc,
        blocked,
        ptr,
        order,
        src,
        dst,
        np.full(2 * k, 10_000.0),
        np.full(2 * k, 360.0),
        np.zeros(2 * k),
        w,
        is_open,
        wsum,
        nopen,
        WALK,
    )
    return State(
        n,
        np.zeros(n, np.int32),
        np.full(n, -1, np.int32),
        np.zeros(n, np.float32),
        np.zeros(n, np.uint8),
        world,
    )


def shares(s: State, k: int) -> NDArray[np.float64]:
    """Fraction of agents on each of the hub's k out-links (links 0..k-1)."""
    return np.bincount(s.link[s.link >= 0], minlength=2 * k)[:k] / s.n


@pytest.mark.parametrize("kernel", [move_day_serial, move_day_np])
def test_route_choice_is_proportional_to_weights(kernel: Any) -> None:
    # P(link) = w / Σw among the hub's links (§1.8); a closed link has weight 0.
    n = 200_000
    s = star_state(n, [1.0, 2.0, 5.0, 3.0], [True, True, True, False])
    s.run(kernel, 4)
    p = np.array([1.0, 2.0, 5.0, 0.0]) / 8.0
    got = shares(s, 4)
    sd = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(got - p) <= 5 * sd + 1e-12)
    assert got[3] == 0.0


@pytest.mark.parametrize("kernel", [move_day_serial, move_day_np])
def test_all_zero_weights_choose_uniformly_among_open_links(kernel: Any) -> None:
    # Σw = 0 (e.g. every neighbour a full camp): uniform over the *open* links (§1.8).
    n = 90_000
    s = star_state(n, [0.0, 0.0, 0.0], [True, False, True])
    s.run(kernel, 4)
    got = shares(s, 3)
    assert got[1] == 0.0
    assert abs(got[0] - 0.5) < 5 * np.sqrt(0.25 / n)
    assert got[0] + got[2] == 1.0


@pytest.mark.parametrize("kernel", [move_day_serial, move_day_np])
def test_no_open_link_means_no_move(kernel: Any) -> None:
    s = star_state(1000, [1.0, 1.0], [False, False])
    delta = s.run(kernel, 1)
    assert np.all(s.link == -1)
    assert np.all(s.loc == 0)
    assert not delta.any()


@pytest.mark.parametrize("kernel", [move_day_serial, move_day_np])
def test_move_chance_and_full_camp_block(kernel: Any) -> None:
    # movechance 0.3: about 30% move; the two ends are equally weighted, and end 2 is a camp
    # above 95% (blocked): those who pick it stay at the hub (§1.9), so ~15% end up on link 0.
    n = 100_000
    s = star_state(n, [1.0, 1.0], [True, True], movechance=0.3, blocked_end=2)
    delta = s.run(kernel, 4)
    got = shares(s, 2)
    assert got[1] == 0.0
    assert abs(got[0] - 0.15) < 5 * np.sqrt(0.15 * 0.85 / n)
    assert delta[0] == -np.count_nonzero(s.link >= 0)
