"""Build uk-balkans' ``observed/decision_pauses.csv``: the quarters in which a large nationality
with people waiting was at risk of a pause in its initial decisions, and those in a pause.

Reads, from the research folder (``--research``, default ``../shared/research``):
``data_uk_decisions_by_nationality_quarterly.csv`` (Home Office Asy_D02, main applicants:
grants + refusals by nationality and quarter, to 2024 Q3) and ``data_uk_work_in_progress.csv``
(Asy_D03: main applicants awaiting an initial decision by nationality at each quarter end,
30 Jun 2010 - 30 Sep 2024). Applies the rule of :func:`corridor.forecast.pauses.find_pauses`
(decisions below 25% of the nationality's mean of the four quarters before, against the
national change, while at least that mean's worth of people waited) and writes, atomically, one
row per quarter at risk or in a pause (``state``: ``at_risk``, ``pause_start``, ``paused``) with
its source. The forecast's prior is computed from this file up to its cut-off
(:func:`corridor.forecast.pauses.pause_prior`). Prints the pauses found and the prior through
2024. Run: ``python tools/decision_pauses.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from corridor.atomic import write_with
from corridor.forecast.pauses import find_pauses, pause_prior

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "src/corridor/data/scenarios/uk-balkans"
SOURCE = (
    "derived: Home Office Asy_D02 initial decisions (grants + refusals, main applicants) by"
    " nationality and quarter (asylum-applications-datasets-sep-2024.xlsx, YE Sep 2024 release,"
    " 28 Nov 2024; research file data_uk_decisions_by_nationality_quarterly.csv) and Asy_D03"
    " main applicants awaiting an initial decision at the quarter before's end (research file"
    " data_uk_work_in_progress.csv); rule: corridor.forecast.pauses.find_pauses"
)


def load(research: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decisions (grants + refusals) and people awaiting, by quarter × nationality."""
    d = pd.read_csv(research / "data_uk_decisions_by_nationality_quarterly.csv")
    d = d[d["applicant_type"] == "Main applicant"]
    d = d.assign(decided=d["grants_total"] + d["refusals_total"])
    decided = d.pivot_table(
        index="period", columns="nationality", values="decided", aggfunc="sum", fill_value=0
    ).sort_index()
    w = pd.read_csv(research / "data_uk_work_in_progress.csv")
    w = w[(w["series"] == "Asy_D03_awaiting_decision") & (w["applicant_type"] == "Main applicant")]
    q = pd.PeriodIndex(pd.to_datetime(w["period_end"]), freq="Q")
    w = w.assign(period=[f"{p.year} Q{p.quarter}" for p in q])
    awaiting = w.pivot_table(
        index="period", columns="nationality", values="pending_initial_total", aggfunc="sum"
    )
    return decided, awaiting


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--research", type=Path, default=ROOT.parent / "shared/research")
    args = ap.parse_args()
    rows = find_pauses(*load(args.research))
    rows["decided"] = rows["decided"].round(0).astype(int)
    rows["awaiting_before"] = rows["awaiting_before"].round(0).astype(int)
    rows["baseline"] = rows["baseline"].round(2)
    rows["relative"] = rows["relative"].round(4)
    rows["source"] = SOURCE
    out = PACK / "observed" / "decision_pauses.csv"
    write_with(out, lambda fh: rows.to_csv(fh, index=False))
    found = rows[rows["state"] != "at_risk"].drop(columns="source")
    prior = pause_prior(rows, pd.Timestamp("2024-12-31"))
    sys.stdout.write(f"{found.to_string(index=False)}\n{prior} mean chance {prior.chance:.4f}\n")


if __name__ == "__main__":
    main()
