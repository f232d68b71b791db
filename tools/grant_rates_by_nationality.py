"""Rebuild uk-balkans' ``grant_rates.csv`` from the Home Office decisions by nationality.

Reads ``data_uk_decisions_by_nationality_quarterly.csv`` (Asy_D02, main applicants, to 2024
Q3) and ``data_uk_asylum_quarterly.csv`` (all nationalities, to 2024 Q4) from the research
folder (``--research``, default ``../shared/research``). Writes, atomically, one row per
nationality of the pack and quarter from 2018 Q1: the initial grant rate grants ÷ (grants +
refusals) of main applicants (the Home Office's definition; withdrawals and administrative
outcomes excluded). ``Other`` is every nationality outside the pack's list together; ``*`` (used
by ``Non-boat routes``) is all nationalities, through 2024 Q4. The by-nationality file stops at
2024 Q3: 2024 Q4 carries each nationality's Q3 rate on (the engine does this by itself: the
last row holds), which is said in the row's source. Quarters with fewer than
:data:`MIN_DECISIONS` decisions of a nationality keep the previous quarter's rate (a handful of
cases give a meaningless rate). Run: ``python tools/grant_rates_by_nationality.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from corridor.atomic import write_with

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "src/corridor/data/scenarios/uk-balkans"
MIN_DECISIONS = 20
FIRST = "2018 Q1"
SOURCE = (
    "Home Office Asy_D02 initial decisions by nationality, main applicants: grants / (grants +"
    " refusals), {period} (asylum-applications-datasets-sep-2024.xlsx, YE Sep 2024 release, 28"
    " Nov 2024; research file data_uk_decisions_by_nationality_quarterly.csv)"
)


def _write(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV atomically (the project's rule: corridor.atomic)."""
    write_with(path, lambda fh: df.to_csv(fh, index=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--research", type=Path, default=ROOT.parent / "shared/research")
    args = ap.parse_args()
    d = pd.read_csv(args.research / "data_uk_decisions_by_nationality_quarterly.csv")
    d = d[(d["applicant_type"] == "Main applicant") & (d["period"] >= FIRST)]
    nats = pd.read_csv(PACK / "nationalities.csv")["nationality"].tolist()
    named = [n for n in nats if n not in ("Other", "Non-boat routes")]
    d = d.assign(group=d["nationality"].where(d["nationality"].isin(named), "Other"))
    g = d.groupby(["group", "period"])[["grants_total", "refusals_total"]].sum().reset_index()
    g["decided"] = g["grants_total"] + g["refusals_total"]
    rows = []
    for name, grp in g.groupby("group"):
        last = None
        for _, r in grp.sort_values("period").iterrows():
            if r["decided"] >= MIN_DECISIONS:
                last = round(float(r["grants_total"] / r["decided"]), 4)
                source = SOURCE.format(period=r["period"])
            elif last is None:
                continue
            else:
                source = SOURCE.format(period=r["period"]) + f"; under {MIN_DECISIONS} decisions"
                source += ": the previous quarter's rate"
            year, q = r["period"].split(" Q")
            start = pd.Period(f"{year}Q{q}", freq="Q").start_time.date()
            rows.append((name, start.isoformat(), last, source))
    old = pd.read_csv(PACK / "grant_rates.csv")
    national = old[old["nationality"] == "*"]  # all nationalities, to 2024 Q4 (kept as it is)
    out = pd.DataFrame(rows, columns=["nationality", "from_date", "grant_rate", "source"])
    out = pd.concat([out, national], ignore_index=True)
    _write(out, PACK / "grant_rates.csv")


if __name__ == "__main__":
    main()
