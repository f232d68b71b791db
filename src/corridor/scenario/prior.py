"""An uncertain parameter's distribution (``uncertain:`` priors, forecast assumption priors).

Reads: the YAML mapping of a prior. Produces: a validated, immutable :class:`Prior`.
Invariants: the parameters its distribution needs are present; ``low < high``; a loguniform's
``low > 0``; a triangular's ``low <= mode <= high``. Values at probabilities come from
:func:`corridor.scenario.prior_values.inverse_cdf`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from corridor.scenario.types import Frozen

__all__ = ["Prior"]


class Prior(Frozen):
    """An uncertain parameter's distribution, sampled by ensembles and fitted by calibration.

    ``uniform(low, high)``, ``loguniform(low, high)``, ``normal(mean, sd)`` truncated to
    [low, high] when given, ``triangular(low, mode, high)``. ``source`` says where the range
    comes from.
    """

    dist: Literal["uniform", "loguniform", "normal", "triangular"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    mode: float | None = None
    source: str = ""

    @model_validator(mode="after")
    def _params(self) -> Prior:
        need = {
            "uniform": ("low", "high"),
            "loguniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "triangular": ("low", "mode", "high"),
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} prior needs {', '.join(missing)}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError("low must be below high")
        if self.dist == "loguniform" and (self.low is None or self.low <= 0):
            raise ValueError("loguniform needs low > 0")
        if self.dist == "triangular" and not (
            (self.low or 0.0) <= (self.mode or 0.0) <= (self.high or 0.0)
        ):
            raise ValueError("triangular needs low <= mode <= high")
        return self
