"""Base types shared by every scenario model (the scenario's and its network's).

Reads: nothing (no corridor imports). Produces: :class:`Frozen`, the base of every model of a
scenario (immutable, unknown keys refused, defaults validated, no NaN or infinity), and the
constrained numbers :data:`Share` (0 to 1), :data:`NonNeg` (>= 0), :data:`Positive` (> 0) and
:data:`PerYear` (a hazard rate per year, >= 0). Invariant: this module stays at the bottom of
the scenario layer, so that the scenario schema and the network schema can both build on it
without importing each other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Frozen", "NonNeg", "PerYear", "Positive", "Share"]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
PerYear = Annotated[float, Field(ge=0.0, description="hazard rate per year")]
Positive = Annotated[float, Field(gt=0.0)]


class Frozen(BaseModel):
    # allow_inf_nan=False: a NaN slips through every bound check, and no quantity is infinite.
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )
