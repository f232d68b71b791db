"""Error measures of simulated against observed (or reference) camp counts.

All take arrays shaped ``(days, camps)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def relative_difference_by_day(sim: ArrayLike, ref: ArrayLike) -> NDArray[np.float64]:
    """E(t) = Σ_c |sim_c(t) − ref_c(t)| / max(Σ_c ref_c(t), 1)  (flee-model.md §3)."""
    s = np.asarray(sim, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if s.shape != r.shape:
        raise ValueError(f"shapes differ: {s.shape} vs {r.shape}")
    out: NDArray[np.float64] = np.abs(s - r).sum(axis=1) / np.maximum(r.sum(axis=1), 1.0)
    return out


def averaged_relative_difference(sim: ArrayLike, observed: ArrayLike) -> float:
    """ARD of the Flee papers: the mean over days of :func:`relative_difference_by_day`.

    This is not Flee's "Total error" column (which divides by the raw UNHCR count).

    >>> averaged_relative_difference([[10, 0], [20, 5]], [[10, 0], [10, 10]])
    0.75
    """
    e = relative_difference_by_day(sim, observed)
    return float(e.mean()) if e.size else 0.0


def trajectory_distance(sim: ArrayLike, reference: ArrayLike) -> float:
    """d = mean over days of Σ_c |sim − ref| / Σ_c ref: how far a run is from a reference run."""
    return averaged_relative_difference(sim, reference)
