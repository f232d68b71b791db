"""Build uk-balkans' observed returns and appeals tables and the scenario values derived from them.

Reads, from the research folder (``--research``, default ``../shared/research``):
``data_uk_returns_quarterly.csv`` (Home Office Ret_05: asylum-related and non-asylum returns by
type and year, 2010-2023; Ret_D01: all returns by nationality and quarter to 2023 Q4),
``data_uk_asylum_quarterly.csv`` (national enforced returns and initial refusals by quarter to
2024 Q4), ``data_uk_appeals_quarterly.csv`` (Asy_D06/Asy_D07 appeals lodged and determined by
nationality and quarter to 2023 Q1, when the Home Office series stopped) and
``data_uk_work_in_progress.csv`` (ASY_03: asylum appeals outstanding on 30 June 2023; Asy_D03:
people awaiting a decision by nationality) and ``data_uk_support_quarterly.csv``; two MoJ
tribunal figures are constants below, each with its source.

Writes, atomically, into the pack's ``observed/``:

* ``returns_annual.csv`` - per year 2010-2024: enforced returns of all kinds and the
  asylum-related enforced and voluntary returns (Ret_05). 2024 is not in Ret_05: its
  asylum-related enforced returns are the 2024 national enforced returns (sum of the quarters,
  8,169) times the asylum-related share of enforced returns in 2023 (1,862 / 6,393), said in the
  row's ``note``; the cross-check is the reported ">9,000 asylum-related returns in 2024" times
  2023's enforced share of asylum-related returns (1,862 / 6,014): about 2,790 (data.md
  section 3; a media report, so not used for the level). Asylum-related voluntary returns in
  2024 are derived the same way (26,589 x 4,010 / 19,253).
* ``returns_by_nationality.csv`` - enforced returns (all kinds; Ret_D01 has no asylum split by
  nationality before 2023) per year 2018-2023 for each nationality of ``nationalities.csv``
  (``Other`` and ``Non-boat routes`` excluded: they are mixtures), and whether the nationality
  counts as removable by :data:`REMOVABLE_MIN_PER_YEAR`.
* ``support_quarterly.csv`` - people in receipt of asylum support by type (Section 95 / 4 / 98)
  and accommodation (hotel and other contingency, dispersal, initial, subsistence only) at each
  quarter end from 2018 (Asy_D09, to 30 Sep 2024), as published;
* ``awaiting_by_nationality.csv`` - people awaiting an initial decision by nationality (the
  pack's nine and all nationalities) at each quarter end from 2018 (Asy_D03, to 30 Sep 2024);
* ``appeals_quarterly.csv`` - all-nationality appeals lodged, determined, allowed, dismissed and
  withdrawn by quarter 2010 Q1-2023 Q1, and the allowed share of determinations (the scenario's
  values use 2018 on; the earlier years give the forecast the spread of the allowed share).

Prints the scenario values derived from them (``returns.removal_capacity`` a month by year;
``asylum.appeals.judges`` by quarter, in cases: determinations / 10 / household size, and for
2024 from a stock-flow balance, :func:`tribunal_2024`; ``asylum.appeals.allow_rate`` by year;
``asylum.appeals.lodge_share`` by year, :func:`lodge_shares`) so that scenario.yaml can be
checked against them; ``--check`` exits non-zero where scenario.yaml differs.
Run: ``python tools/returns_and_appeals.py [--check]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml
from grant_rates_by_nationality import _write  # the tools' atomic CSV writer (same folder)

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "src/corridor/data/scenarios/uk-balkans"
FIRST_YEAR = 2018
# A nationality is removable (nationalities.csv returns_agreement) when the UK enforced at least
# this many returns of it a year on average over the last three published years (2021-2023).
# Assumption: the threshold separates nationalities with a working returns route (Albania
# ~1,400 a year, Vietnam ~55) from those with a handful (Iraq ~19, Turkey ~16, Afghanistan,
# Eritrea, Iran, Sudan and Syria under 10); at 10 a year Iraq and Turkey would count as well.
REMOVABLE_MIN_PER_YEAR = 25.0
HEARINGS_PER_JUDGE_MONTH = 10.0  # scenario.yaml asylum.appeals.hearings_per_judge_month
HOUSEHOLD = 1.31  # scenario.yaml asylum.household_size: people per case
LODGING_DAYS = 14  # scenario.yaml asylum.appeals.lodging_days
# MoJ Tribunal Statistics Quarterly (asylum appeals at the First-tier Tribunal, IAC):
# lodged FY2023/24, https://nulphs.com/why-has-there-been-a-264-increase-in-asylum-appeals-uk-constitutional-law-association
MOJ_LODGED_FY2023_24 = 29_172.0
# outstanding on 31 Dec 2024, https://freemovement.org.uk/increase-in-home-office-refusals-sees-number-of-asylum-appeals-soar-in-latest-tribunal-statistics
MOJ_OUTSTANDING_END_2024 = 41_987.0
RET05 = (
    "Home Office Ret_05 asylum-related returns (returns-summary-dec-2023-tables.ods, YE Dec 2023"
    " release, 29 Feb 2024; research file data_uk_returns_quarterly.csv)"
)
RETQ = (
    "Home Office returns by type, quarterly (returns-datasets-dec-2025.xlsx,"
    " https://assets.publishing.service.gov.uk/media/699593e4b33a4db7ff889d4d/returns-datasets-dec-2025.xlsx;"
    " research file data_uk_asylum_quarterly.csv)"
)
RETD01 = (
    "Home Office Ret_D01 returns by nationality (returns-datasets-dec-2023.xlsx, YE Dec 2023"
    " release; research file data_uk_returns_quarterly.csv)"
)
APPEALS = (
    "Home Office Asy_D06/Asy_D07 appeals lodged and determined (asylum-appeals-lodged-datasets-"
    "mar-2023.xlsx, YE Mar 2023 release; research file data_uk_appeals_quarterly.csv)"
)


def returns_annual(research: Path) -> pd.DataFrame:
    r = pd.read_csv(research / "data_uk_returns_quarterly.csv")
    a = r[r["series"] == "asylum_vs_nonasylum_annual"].copy()
    a["year"] = a["period"].astype(int)
    piv = a.pivot_table(
        index="year", columns="category", values=["enforced_total", "voluntary_total"]
    )
    out = pd.DataFrame(
        {
            "year": piv.index,
            "enforced_all": (
                piv[("enforced_total", "asylum-related")] + piv[("enforced_total", "non-asylum")]
            ).to_numpy(),
            "enforced_asylum": piv[("enforced_total", "asylum-related")].to_numpy(),
            "voluntary_asylum": piv[("voluntary_total", "asylum-related")].to_numpy(),
        }
    )
    out["source"] = RET05
    out["note"] = "published"
    q = pd.read_csv(research / "data_uk_asylum_quarterly.csv")
    q = q[q["metric"].isin(["returns_enforced", "returns_voluntary"])]
    q = q.assign(year=q["period"].str[:4].astype(int))
    last = int(out["year"].max())
    nxt = last + 1
    enf = float(q.loc[(q["metric"] == "returns_enforced") & (q["year"] == nxt), "value"].sum())
    vol = float(q.loc[(q["metric"] == "returns_voluntary") & (q["year"] == nxt), "value"].sum())
    if enf > 0:
        prev = out[out["year"] == last].iloc[0]
        share = float(prev["enforced_asylum"]) / float(prev["enforced_all"])
        a = r[(r["series"] == "asylum_vs_nonasylum_annual") & (r["period"] == str(last))]
        vol_share = float(prev["voluntary_asylum"]) / float(a["voluntary_total"].sum())
        out.loc[len(out)] = {
            "year": nxt,
            "enforced_all": enf,
            "enforced_asylum": round(enf * share),
            "voluntary_asylum": round(vol * vol_share),
            "source": RETQ + "; " + RET05,
            "note": (
                f"derived: {nxt} enforced returns {enf:,.0f} (sum of the quarters) x the {last}"
                f" asylum-related share of enforced returns {share:.4f}; voluntary {vol:,.0f} x"
                f" {vol_share:.4f}"
            ),
        }
    cols = ["year", "enforced_all", "enforced_asylum", "voluntary_asylum"]
    return out.astype(dict.fromkeys(cols, int))


def returns_by_nationality(research: Path, nationalities: list[str]) -> pd.DataFrame:
    r = pd.read_csv(research / "data_uk_returns_quarterly.csv")
    q = r[r["series"] == "by_nationality_quarterly_all_returns"].copy()
    q["year"] = q["period"].str[:4].astype(int)
    q = q[(q["year"] >= FIRST_YEAR) & q["nationality"].isin(nationalities)]
    piv = q.pivot_table(index="nationality", columns="year", values="enforced_total", aggfunc="sum")
    piv = piv.reindex(nationalities).fillna(0).astype(int)
    years = [int(c) for c in piv.columns]
    last3 = years[-3:]
    out = piv.reset_index()
    out.columns = ["nationality", *[f"enforced_{y}" for y in years]]
    mean3 = piv[last3].mean(axis=1).to_numpy()
    out[f"mean_{last3[0]}_{last3[-1]}"] = mean3.round(1)
    out["removable"] = mean3 >= REMOVABLE_MIN_PER_YEAR
    out["source"] = RETD01
    return out


def appeals_quarterly(research: Path) -> pd.DataFrame:
    a = pd.read_csv(research / "data_uk_appeals_quarterly.csv")
    cols = [
        "appeals_lodged",
        "appeals_determined",
        "determined_allowed",
        "determined_dismissed",
        "determined_withdrawn",
    ]
    g = a.groupby(["period", "period_end"])[cols].sum().reset_index()
    g["allowed_share"] = (g["determined_allowed"] / g["appeals_determined"]).round(4)
    g["source"] = APPEALS
    return g


def support_quarterly(research: Path) -> pd.DataFrame:
    """People in receipt of asylum support by support type and accommodation, quarter ends from
    2018 (Asy_D09, as in the research file)."""
    t = pd.read_csv(research / "data_uk_support_quarterly.csv")
    return t[t["period_end"] >= f"{FIRST_YEAR}-01-01"].reset_index(drop=True)


def awaiting_by_nationality(research: Path, nationalities: list[str]) -> pd.DataFrame:
    """People (main applicants and dependants) awaiting an initial decision by nationality at
    each quarter end from 2018 (Asy_D03), the pack's nationalities and all nationalities; every
    route (the pack's ``Non-boat routes`` group holds the claimants who did not come by boat)."""
    w = pd.read_csv(research / "data_uk_work_in_progress.csv")
    w = w[(w["series"] == "Asy_D03_awaiting_decision") & (w["period_end"] >= f"{FIRST_YEAR}")]
    w = w[w["applicant_type"].isin(["Main applicant", "Dependant"])]
    total = w.groupby("period_end")["awaiting_total"].sum().rename("All nationalities")
    named = w[w["nationality"].isin(nationalities)]
    piv = named.pivot_table(
        index="period_end", columns="nationality", values="awaiting_total", aggfunc="sum"
    )
    out = piv.join(total).fillna(0).astype(int).reset_index()
    out["source"] = (
        "Home Office Asy_D03 people awaiting an initial decision (asylum-claims-awaiting-"
        "decision-datasets, YE Sep 2024 release; research file data_uk_work_in_progress.csv)"
    )
    return out


def refusals_quarterly(research: Path) -> pd.Series:
    """Initial refusals (people) by quarter, ``2023 Q1`` -> value (Asy_D02, to 2024 Q4)."""
    q = pd.read_csv(research / "data_uk_asylum_quarterly.csv")
    return q[q["metric"] == "asylum_initialRefusals"].set_index("period")["value"].astype(float)


def appeal_stock_mid_2023(research: Path) -> float:
    """Asylum appeals outstanding on 30 June 2023 (cases, UKVI transparency data ASY_03)."""
    w = pd.read_csv(research / "data_uk_work_in_progress.csv")
    w = w[w["series"].str.startswith("ASY_03") & (w["nationality"] == "All nationalities")]
    return float(w.loc[w["period_end"] == "2023-06-30", "wip_appeal_outstanding"].iloc[0])


def lodge_shares(app: pd.DataFrame, refusals: pd.Series) -> dict[str, float]:
    """Appeals lodged / initial refusals (people), by year from 2018 (Asy_D06 / Asy_D02); 2023
    Q1 alone; from 2023 Q2 the MoJ's FY2023/24 asylum appeals lodged over that year's refusals."""
    a = app.set_index("period")["appeals_lodged"].astype(float)
    out: dict[str, float] = {}
    for y in range(FIRST_YEAR, 2023):
        qs = [f"{y} Q{k}" for k in range(1, 5)]
        out[f"{y}-01-01"] = round(float(a[qs].sum() / refusals[qs].sum()), 3)
    out["2023-01-01"] = round(float(a["2023 Q1"] / refusals["2023 Q1"]), 3)
    fy = ["2023 Q2", "2023 Q3", "2023 Q4", "2024 Q1"]
    out["2023-04-01"] = round(MOJ_LODGED_FY2023_24 / float(refusals[fy].sum()), 3)
    return out


def tribunal_2024(research: Path, lodge_fy: float, judges_2023: float) -> tuple[float, str]:
    """The tribunal's effective capacity in 2024 (judges) from a stock-flow balance, 1 Jul 2023
    to 31 Dec 2024: determined = lodged - (outstanding at the end - outstanding at the start);
    lodged = the FY2023/24 lodge share x refusals shifted by the lodging delay (14 days);
    outstanding: ASY_03 on 30 Jun 2023 (cases x household size) and the MoJ's 41,987 on 31 Dec
    2024. The 2023 half-year is determined at the last published (2023 Q1) capacity; the rest
    falls in 2024. Returns the judges and a note saying how."""
    ref = refusals_quarterly(research)
    days = {"2023 Q2": 91, "2023 Q3": 92, "2024 Q4": 92}
    shifted = (
        ref["2023 Q2"] * LODGING_DAYS / days["2023 Q2"]
        + ref[["2023 Q3", "2023 Q4", "2024 Q1", "2024 Q2", "2024 Q3", "2024 Q4"]].sum()
        - ref["2024 Q4"] * LODGING_DAYS / days["2024 Q4"]
    )
    lodged = lodge_fy * float(shifted)
    start = appeal_stock_mid_2023(research) * HOUSEHOLD
    determined = lodged - (MOJ_OUTSTANDING_END_2024 - start)
    per_month_2023 = judges_2023 * HEARINGS_PER_JUDGE_MONTH * HOUSEHOLD
    in_2024 = determined - 6 * per_month_2023
    judges = in_2024 / 12.0 / HEARINGS_PER_JUDGE_MONTH / HOUSEHOLD
    note = (
        f"lodged {lodged:,.0f} (x{lodge_fy:.3f} of {shifted:,.0f} refused) - outstanding"
        f" {MOJ_OUTSTANDING_END_2024:,.0f} + {start:,.0f} = {determined:,.0f} determined Jul"
        f" 2023-Dec 2024; {in_2024:,.0f} in 2024"
    )
    return round(judges, 1), note


def derived_values(
    ret: pd.DataFrame, app: pd.DataFrame, research: Path
) -> tuple[dict[int, float], dict[str, float], dict[int, float], dict[str, float], str]:
    """Removal capacity a month by year, judges (effective) by quarter start, allow rate by
    year, lodge share by date, and how the 2024 capacity was derived."""
    cap = {
        int(y): round(float(v) / 12.0, 1)
        for y, v in zip(ret["year"], ret["enforced_asylum"], strict=True)
        if y >= FIRST_YEAR
    }
    # hearings are cases (main applicant and dependants): people / household size
    judges = {
        str(pd.Period(p, freq="Q").start_time.date()): round(
            float(d) / 3.0 / HEARINGS_PER_JUDGE_MONTH / HOUSEHOLD, 1
        )
        for p, d in zip(app["period"].str.replace(" ", ""), app["appeals_determined"], strict=True)
        if p >= f"{FIRST_YEAR}Q1"
    }
    lodge = lodge_shares(app, refusals_quarterly(research))
    j24, note = tribunal_2024(research, lodge["2023-04-01"], judges["2023-01-01"])
    judges["2024-01-01"] = j24
    app = app[app["period"] >= f"{FIRST_YEAR} Q1"]
    by_year = app.assign(year=app["period"].str[:4].astype(int)).groupby("year")
    allow = by_year["determined_allowed"].sum() / by_year["appeals_determined"].sum()
    allow_y = {int(y): round(float(v), 3) for y, v in allow.items()}
    return cap, judges, allow_y, lodge, note


def check(
    cap: dict[int, float],
    judges: dict[str, float],
    allow: dict[int, float],
    lodge: dict[str, float],
) -> list[str]:
    """Where scenario.yaml's values differ from the derived ones."""
    sc = yaml.safe_load((PACK / "scenario.yaml").read_text(encoding="utf-8"))
    problems = []
    steps = {str(s["date"]): float(s["value"]) for s in sc["returns"]["removal_capacity"]}
    for y, v in cap.items():
        if abs(steps.get(f"{y}-01-01", -1.0) - v) > 0.05:
            problems.append(f"removal_capacity {y}: {steps.get(f'{y}-01-01')} != {v}")
    js = {str(s["date"]): float(s["value"]) for s in sc["asylum"]["appeals"]["judges"]}
    for d, v in judges.items():
        if abs(js.get(d, -1.0) - v) > 0.05:
            problems.append(f"judges {d}: {js.get(d)} != {v}")
    for path, want in (
        ("asylum.appeals.allow_rate", {f"{y}-01-01": v for y, v in allow.items()}),
        ("asylum.appeals.lodge_share", lodge),
    ):
        pol = {
            str(p["date"]): float(p["set"][path])
            for p in sc.get("policies") or []
            if path in p["set"]
        }
        for d, v in want.items():
            if abs(pol.get(d, -1.0) - v) > 0.0005:
                problems.append(f"{path} {d}: {pol.get(d)} != {v}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--research", type=Path, default=ROOT.parent / "shared/research")
    ap.add_argument("--check", action="store_true", help="compare scenario.yaml, write nothing")
    args = ap.parse_args()
    nats = pd.read_csv(PACK / "nationalities.csv")["nationality"].tolist()
    named = [n for n in nats if n not in ("Other", "Non-boat routes")]
    ret = returns_annual(args.research)
    by_nat = returns_by_nationality(args.research, named)
    app = appeals_quarterly(args.research)
    cap, judges, allow, lodge, note = derived_values(ret, app, args.research)
    if args.check:
        problems = check(cap, judges, allow, lodge)
        sys.stdout.write("\n".join(problems or ["scenario.yaml matches"]) + "\n")
        sys.exit(1 if problems else 0)
    _write(ret, PACK / "observed/returns_annual.csv")
    _write(by_nat, PACK / "observed/returns_by_nationality.csv")
    _write(app, PACK / "observed/appeals_quarterly.csv")
    _write(support_quarterly(args.research), PACK / "observed/support_quarterly.csv")
    _write(
        awaiting_by_nationality(args.research, named), PACK / "observed/awaiting_by_nationality.csv"
    )
    sys.stdout.write(
        f"removal_capacity a month: {cap}\njudges: {judges}\n2024: {note}\n"
        f"allow_rate: {allow}\nlodge_share: {lodge}\n"
    )


if __name__ == "__main__":
    main()
