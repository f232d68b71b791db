"""Counter-based random streams (engine.rng) and the agent table (engine.agents)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.engine.agents import AgentTable
from corridor.engine.rng import generator, stream_key, uniform, uniform_np

MASK = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------
# RNG
# ---------------------------------------------------------------------------------------------
def _fmix_ref(h: int) -> int:
    # MurmurHash3's 64-bit finaliser, written from its published definition.
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK
    h ^= h >> 33
    return h


def uniform_ref(key: int, day: int, agent: int, draw: int) -> float:
    # The formula of the module docstring, in plain Python integers (mod 2**64):
    # u = top53(mix(mix(key ^ day·φ) ^ agent·ψ ^ draw·χ)) / 2**53.
    phi, psi, chi = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
    h = _fmix_ref(key ^ ((day * phi) & MASK))
    h = _fmix_ref(h ^ ((agent * psi) & MASK) ^ ((draw * chi) & MASK))
    return (h >> 11) / 2.0**53


keys = st.integers(0, MASK)
counters = st.integers(0, 2**40)


@given(key=keys, day=st.integers(0, 100_000), agent=counters, draw=st.integers(0, 1000))
@settings(max_examples=300, deadline=None)
def test_uniform_numba_numpy_and_reference_agree_bit_for_bit(
    key: int, day: int, agent: int, draw: int
) -> None:
    k = np.uint64(key)
    a = uniform(k, day, agent, draw)
    b = float(uniform_np(k, day, agent, draw))
    assert a == b == uniform_ref(key, day, agent, draw)
    assert 0.0 <= a < 1.0


def test_uniform_np_vectorised_matches_scalar_calls() -> None:
    key = stream_key(7, "move")
    agents = np.arange(0, 5000, 7, dtype=np.int64)
    draws = agents % 5
    vec = uniform_np(key, 12, agents, draws)
    one = np.array([uniform(key, 12, int(a), int(d)) for a, d in zip(agents, draws, strict=True)])
    np.testing.assert_array_equal(vec, one)


def test_stream_keys_differ_by_name_and_seed_and_are_stable() -> None:
    names = ["move", "route", "walk", "spawn"]
    ks = {(s, nm): stream_key(s, nm) for s in range(4) for nm in names}
    assert len(set(ks.values())) == len(ks)  # every (seed, name) has its own key
    assert all(stream_key(s, nm) == k for (s, nm), k in ks.items())  # a pure function
    assert all(isinstance(k, np.uint64) for k in ks.values())
    with pytest.raises(ValueError, match="non-negative"):
        stream_key(-1, "move")


def test_draws_differ_by_every_counter() -> None:
    key = stream_key(0, "move")
    base = uniform(key, 5, 100, 0)
    assert uniform(key, 6, 100, 0) != base
    assert uniform(key, 5, 101, 0) != base
    assert uniform(key, 5, 100, 1) != base
    assert uniform(stream_key(0, "route"), 5, 100, 0) != base


def test_moments_and_uniformity_of_a_million_draws() -> None:
    n = 1_000_000
    u = uniform_np(stream_key(3, "move"), 17, np.arange(n), 0)
    assert u.min() >= 0.0
    assert u.max() < 1.0
    # U[0,1): mean 1/2 (sd of the mean sqrt(1/12/n) ≈ 2.9e-4), variance 1/12 (sd of the sample
    # variance sqrt((1/80 - 1/144)/n) ≈ 7.5e-5); 5 sd tolerances.
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)
    # 100 equal bins: chi-square with 99 df has mean 99 and sd 14.
    counts = np.bincount((u * 100).astype(np.int64), minlength=100)
    chi2 = ((counts - n / 100) ** 2 / (n / 100)).sum()
    assert chi2 < 99 + 5 * 14
    # Neighbouring agents and neighbouring draws are uncorrelated (sd of r ≈ 1/sqrt(n)).
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(n)
    v = uniform_np(stream_key(3, "move"), 17, np.arange(n), 1)
    assert abs(np.corrcoef(u, v)[0, 1]) < 5 / np.sqrt(n)


def test_generator_depends_only_on_its_arguments() -> None:
    a = generator(1, "spawn", 3).random(5)
    np.testing.assert_array_equal(a, generator(1, "spawn", 3).random(5))
    assert not np.array_equal(a, generator(1, "spawn", 4).random(5))
    assert not np.array_equal(a, generator(2, "spawn", 3).random(5))
    assert not np.array_equal(a, generator(1, "other", 3).random(5))


# ---------------------------------------------------------------------------------------------
# AgentTable
# ---------------------------------------------------------------------------------------------
def test_add_returns_consecutive_ids_and_fills_defaults() -> None:
    t = AgentTable({"loc": np.int32, "link": np.int32}, capacity=4, fill={"link": -1})
    ids = t.add(3, loc=7)
    assert ids.tolist() == [0, 1, 2]
    assert t.n == 3
    assert t["loc"].tolist() == [7, 7, 7]
    assert t["link"].tolist() == [-1, -1, -1]  # not given: the column's fill value
    ids = t.add(2, loc=np.array([1, 2], np.int32))
    assert ids.tolist() == [3, 4]
    assert t["loc"].tolist() == [7, 7, 7, 1, 2]
    assert t["loc"].dtype == np.int32
    assert t.add(0).size == 0
    with pytest.raises(ValueError, match="non-negative"):
        t.add(-1)


def test_grow_doubles_and_keeps_data() -> None:
    t = AgentTable({"x": np.float32}, capacity=4, fill={"x": 2.5})
    t.add(4, x=np.arange(4, dtype=np.float32))
    assert t.capacity == 4
    t.add(1, x=9.0)  # full: grows to max(n + count, 2 · capacity) = 8
    assert t.capacity == 8
    assert t["x"].tolist() == [0, 1, 2, 3, 9]
    assert t.raw("x")[5:].tolist() == [2.5, 2.5, 2.5]  # new room holds the fill value
    t.add(10)  # 15 > 2 · 8? no: max(15, 16) = 16
    assert t.capacity == 16
    t.add(20)  # max(35, 32) = 35
    assert t.capacity == 35
    assert t.n == 35
    assert t["x"][:5].tolist() == [0, 1, 2, 3, 9]


def test_reserve_preallocates_without_changing_n() -> None:
    t = AgentTable({"a": np.uint8}, capacity=2)
    t.add(2, a=3)
    t.reserve(100)
    assert t.capacity == 100
    assert t.n == 2
    assert t["a"].tolist() == [3, 3]
    raw = t.raw("a")
    t.add(98)
    assert t.raw("a") is raw  # no reallocation within the reserved room
    t.reserve(10)  # smaller than now: no-op
    assert t.capacity == 100
    assert t.nbytes() == 100  # one uint8 column of 100


def test_views_write_through_and_columns_can_be_added() -> None:
    t = AgentTable({"loc": np.int32}, capacity=3)
    t.add(3)
    t["loc"][1] = 42
    assert t.raw("loc")[1] == 42
    assert len(t["loc"]) == 3
    assert len(t.raw("loc")) == 3
    t.add_column("flags", np.uint8, fill=1)
    assert list(t.columns()) == ["loc", "flags"]
    assert t["flags"].tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="exists"):
        t.add_column("loc", np.int32)
    assert t.nbytes() == 3 * 4 + 3 * 1
