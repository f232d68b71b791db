"""Named, counter-based random streams.

Every random decision in Corridor draws from a *named stream* (``"move"``, ``"route"``,
``"spawn"``, ...). A stream's key is derived from the run seed and the stream's name; a draw is a
pure function of ``(key, day, agent, draw)``:

    u = to_unit(mix(mix(key ^ day·φ) ^ agent·ψ ^ draw·χ))

where ``mix`` is the 64-bit finaliser of MurmurHash3 applied twice (a strong bijective mixer)
and ``to_unit`` keeps the top 53 bits. Because no state is carried from one draw to the next,
draws can be made in any order and on any number of threads with identical results, and two
policies run with the same seed share every draw that they both make (common random numbers).

The same function exists twice: :func:`uniform` (Numba, for kernels) and :func:`uniform_np`
(NumPy, for vectorised code and tests); tests check they agree bit for bit.
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np
from numpy.typing import NDArray

_PHI = np.uint64(0x9E3779B97F4A7C15)
_PSI = np.uint64(0xC2B2AE3D27D4EB4F)
_CHI = np.uint64(0x165667B19E3779F9)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_S11 = np.uint64(11)
_TWO53 = 1.0 / 9007199254740992.0


def stream_key(seed: int, name: str) -> np.uint64:
    """The 64-bit key of stream ``name`` for run ``seed`` (stable across processes, platforms)."""
    if seed < 0:
        raise ValueError("seed must be non-negative")
    digest = hashlib.blake2b(
        f"{name}".encode(), digest_size=8, key=int(seed).to_bytes(16, "little")
    ).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def generator(seed: int, name: str, *counters: int) -> np.random.Generator:
    """A NumPy Generator for vectorised draws of stream ``name`` at the given counters (e.g. day).

    Built from ``SeedSequence([seed, id(name), *counters])``, so it depends on nothing but its
    arguments.
    """
    name_id = int(stream_key(0, name))
    entropy = [int(seed), name_id, *(int(c) for c in counters)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@nb.njit(cache=True, inline="always")
def _fmix(h: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


@nb.njit(cache=True, inline="always")
def uniform(key: np.uint64, day: int, agent: int, draw: int) -> float:  # pragma: no cover
    """One U[0,1) draw of the stream with ``key`` for (day, agent, draw)."""
    h = _fmix(key ^ (np.uint64(day) * _PHI))
    h = _fmix(h ^ (np.uint64(agent) * _PSI) ^ (np.uint64(draw) * _CHI))
    return float(h >> _S11) * _TWO53


def _fmix_np(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    return h ^ (h >> _S33)


def uniform_np(
    key: np.uint64,
    day: int,
    agents: NDArray[np.integer] | int,
    draw: NDArray[np.integer] | int,
) -> NDArray[np.float64]:
    """NumPy twin of :func:`uniform`, vectorised over agents (and draws)."""
    with np.errstate(over="ignore"):
        a = np.asarray(agents).astype(np.uint64)
        d = np.asarray(draw).astype(np.uint64)
        h0 = _fmix_np(np.asarray(np.uint64(key) ^ (np.uint64(day) * _PHI), dtype=np.uint64))
        h = _fmix_np(h0 ^ (a * _PSI) ^ (d * _CHI))
    return (h >> _S11).astype(np.float64) * _TWO53
