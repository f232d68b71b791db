"""The tables a scenario run returns (both engines fill the same columns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from corridor.scenario.schema import FLOWS, STOCKS

STOCK_COLUMNS = tuple(f"n_{s}" for s in STOCKS)
FLOW_COLUMNS = tuple(f"new_{f}" for f in FLOWS)
Resolution = Literal["day", "month", "quarter", "year"]
_FREQ = {"month": "MS", "quarter": "QS", "year": "YS"}


@dataclass(frozen=True)
class ScenarioResult:
    """Daily stocks and flows by nationality, and costs by item.

    * ``stocks``: columns ``date``, ``nationality``, then every ``n_<stage>`` (people at the end
      of the day).
    * ``flows``: columns ``date``, ``nationality``, then every ``new_<flow>`` (people that day).
    * ``costs``: columns ``date``, ``item``, ``gbp`` (nominal pounds spent that day).
    * ``events``: optional extra per-day series (e.g. ``p_removal`` seen by deterrence).
    """

    stocks: pd.DataFrame
    flows: pd.DataFrame
    costs: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    events: pd.DataFrame | None = None

    def totals(self, resolution: Resolution = "day") -> pd.DataFrame:
        """All nationalities together: stocks at the period end, flows and costs summed."""
        st = self.stocks.drop(columns="nationality").groupby("date").sum()
        fl = self.flows.drop(columns="nationality").groupby("date").sum()
        co = self.costs.pivot_table(index="date", columns="item", values="gbp", aggfunc="sum")
        co.columns = [f"cost_{c}" for c in co.columns]
        out = st.join(fl).join(co).fillna(0.0)
        out["cost_total"] = out[[c for c in out.columns if c.startswith("cost_")]].sum(axis=1)
        out.index = pd.to_datetime(out.index)
        if resolution == "day":
            return out
        freq = _FREQ[resolution]
        stocks = out[list(STOCK_COLUMNS)].resample(freq).last()
        rest = out.drop(columns=list(STOCK_COLUMNS)).resample(freq).sum()
        return stocks.join(rest)
