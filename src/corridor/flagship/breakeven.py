"""Break-even deterrence of a forecast's variant against its status quo, replicate by replicate.

Reads: a scenario with a ``forecast:`` (its fitted state, flows and variants), a variant id,
the number of replicates and the engine. Produces: :class:`VariantBreakEven` — for each
replicate *r* (the forecast's seeds, :func:`~corridor.analysis.ensemble.replicate_seeds`), the
status quo's and the variant's asylum scenarios from the same drawn flows (common random
numbers, :func:`~corridor.forecast.model.prepare_replicate`), priced by
:func:`corridor.asylum.breakeven.breakeven` (deterrence off in both, the Home Office's unit
d* = 1 − S/G), and the p10 / p50 / p90 of d* over replicates: its interval comes from the flows,
the assumptions drawn per replicate and the productivity draw. A replicate in which the
variant's hub never opens (its life is drawn, :mod:`corridor.forecast.hub_process`) has no d*
and is left out. Invariants: replicate *r* of the
variant and of the status quo share their flows; the same seed gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from corridor.analysis.ensemble import replicate_seeds
from corridor.asylum.breakeven import BreakEven, breakeven
from corridor.errors import InputError
from corridor.forecast.config import load_flagship
from corridor.forecast.fitted import load_series_fits
from corridor.forecast.model import build_context, prepare_replicate

__all__ = ["VariantBreakEven", "variant_breakeven"]


@dataclass(frozen=True)
class VariantBreakEven:
    """Break-even deterrence of one variant: every replicate's and their quantiles."""

    variant: str
    replicates: tuple[BreakEven, ...]

    def quantiles(self, field: str = "share") -> dict[str, float]:
        """p10 / p50 / p90 of ``field`` over the replicates."""
        values = np.asarray([getattr(r, field) for r in self.replicates], dtype=float)
        p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
        return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def variant_breakeven(
    pack: Path,
    variant_id: str,
    *,
    replicates: int | None = None,
    engine: Literal["aggregate", "agents"] = "aggregate",
) -> VariantBreakEven:
    """d* of ``variant_id`` against the status quo over ``replicates`` (default the forecast's)."""
    cfg = load_flagship(pack)
    ids = [v.id for v in cfg.variants]
    if variant_id not in ids:
        raise InputError(
            f"unknown variant {variant_id!r}", field="--policy", expected=", ".join(ids)
        )
    if variant_id == "status_quo":
        raise InputError(
            "the status quo is the baseline", field="--policy", expected="another variant"
        )
    ctx = build_context(pack, fits=load_series_fits(pack, cfg.cutoff.isoformat()))
    n = cfg.replicates if replicates is None else replicates
    out = []
    for seed in replicate_seeds(cfg.seed, n):
        base, _, _ = prepare_replicate(ctx, cfg.variant("status_quo"), seed)
        pol, _, _ = prepare_replicate(ctx, cfg.variant(variant_id), seed)
        try:
            out.append(breakeven(base, pol, engine=engine, seed=seed))
        except InputError:  # the hub never opened in this replicate (hub_process): no d*
            continue
    if not out:
        raise InputError(
            f"variant {variant_id!r} transfers nobody in any of {n} replicates",
            field="--policy",
            expected="a variant whose hub opens",
        )
    return VariantBreakEven(variant_id, tuple(out))
