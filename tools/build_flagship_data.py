"""Build the observed calibration tables of the uk-balkans scenario from the research CSVs.

Reads ``data_*.csv`` and ``data.md`` from the research folder (``--research``, default
``../shared/research`` relative to the repository root) and writes, atomically, into
``src/corridor/data/scenarios/uk-balkans/observed/``:

* ``flows_monthly.csv``: Frontex WB/EM/CM detections 2015-01..2024-12 and UK small-boat
  arrivals 2018-01..2024-12 (blank months are 0).
* ``uk_quarterly.csv``: UK asylum claims, initial grants/refusals/withdrawals, decisions
  (grants + refusals), quarter-end stock awaiting an initial decision and all-immigration
  returns, 2018 Q1..2024 Q4 (people).
* ``channel_annual.csv``: Channel deaths (IOM keyword-filtered series), small-boat arrivals and
  the French prevention share where data.md gives one.
* ``other_claims_monthly.csv``: asylum claims by people who did not arrive by small boat.
* ``nationality_quarterly.csv``: small-boat nationality shares per quarter (2018 Q1..2023 Q3).
* ``grant_rate_quarterly.csv``: all-nationality initial grant rate per quarter.
* ``returns_asylum_annual.csv``: enforced returns of people who claimed asylum
  (asylum-related, Ret_05) 2018..2023; 2024 derived: all enforced returns of 2024 (the
  quarterly file) x the asylum-related share of enforced returns in 2023.
* ``cohort_outcomes.csv``: outcomes by year of claim (main applicants, all nationalities,
  2018..2023 claims) as known at end June 2024, as shares of claims.

Every row keeps the source text of the row(s) it came from; derived rows say
``derived: <formula>; <sources>``. Run: ``python tools/build_flagship_data.py``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "src" / "corridor" / "data" / "scenarios" / "uk-balkans"
OUT_DIR = SCENARIO / "observed"

FRONTEX_ROUTES = {
    "wb_detections": "Western Balkan Route",
    "em_detections": "Eastern Mediterranean Route",
    "cm_detections": "Central Mediterranean Route",
}
FLOW_COLUMNS = ["date", "metric", "value", "resolution", "source"]

# data.md section 2, "Small boat arrivals who claimed asylum | 2018-2024 | 93%".
SMALL_BOAT_CLAIM_SHARE = 0.93

# data.md section 6: French prevention of Channel crossings. 2021 "~50%", 2022 "42.4-42.5%"
# (the upper value is used); 2023 ~26,000 crossings prevented; 2024 Frontex 67,552 attempts.
PREVENTION_2021 = 0.50
PREVENTION_2022 = 0.425
PREVENTED_2023 = 26_000
FRONTEX_CHANNEL_ATTEMPTS_2024 = 67_552

FIRST_YEAR, LAST_YEAR = 2018, 2024


# --------------------------------------------------------------------------- helpers


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` through a temp file in the same folder and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            df.to_csv(fh, index=False, lineterminator="\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the tables are ordinary package data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _md_row(md: str, quantity: str, period: str | None = None) -> dict[str, str]:
    """The data.md table row whose first cell is ``quantity`` (and second ``period``)."""
    hits = []
    for line in md.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 6 or cells[0] != quantity:
            continue
        if period is not None and cells[1] != period:
            continue
        hits.append(
            dict(zip(["quantity", "period", "value", "unit", "source", "conf"], cells, strict=True))
        )
    if len(hits) != 1:
        raise ValueError(f"data.md: expected one row {quantity!r} {period!r}, found {len(hits)}")
    return hits[0]


def _quarter_months(year: int, q: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


def _int_if_whole(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _with_official(df: pd.DataFrame) -> pd.Series:
    """Source text of a data_uk_asylum_quarterly.csv row: official file URL ; parse repo."""
    return df["official_source_url"].astype(str) + " ; " + df["source"].astype(str)


# --------------------------------------------------------------------------- tables


def small_boats_monthly(research: Path) -> pd.DataFrame:
    """Monthly small-boat arrivals 2018-01..2024-12 with blank months set to 0."""
    sb = pd.read_csv(research / "data_small_boats_monthly.csv")
    sb["date"] = sb["date_month"].str[:7]
    sb = sb[(sb["n_year"] >= FIRST_YEAR) & (sb["n_year"] <= LAST_YEAR)].copy()
    blank = sb["migrants_arrived"].isna()
    sb["value"] = sb["migrants_arrived"].fillna(0).astype(int)
    sb["source"] = sb["source"].where(
        ~blank, sb["source"] + "; no crossings recorded (blank in source, set to 0)"
    )
    return sb[["date", "value", "source", "n_year", "n_month"]]


def build_flows(research: Path) -> pd.DataFrame:
    fx = pd.read_csv(research / "data_frontex_monthly_by_route.csv")
    parts = []
    for metric, route in FRONTEX_ROUTES.items():
        r = fx[(fx["route"] == route) & (fx["month"] >= "2015-01") & (fx["month"] <= "2024-12")]
        if r["detections"].isna().any():
            raise ValueError(f"Frontex {route}: missing months")
        parts.append(
            pd.DataFrame(
                {
                    "date": r["month"],
                    "metric": metric,
                    "value": r["detections"].map(_int_if_whole),
                    "resolution": "month",
                    "source": r["source"],
                }
            )
        )
    sb = small_boats_monthly(research)
    parts.append(
        pd.DataFrame(
            {
                "date": sb["date"],
                "metric": "small_boat_arrivals",
                "value": sb["value"],
                "resolution": "month",
                "source": sb["source"],
            }
        )
    )
    return pd.concat(parts, ignore_index=True).sort_values(["metric", "date"], ignore_index=True)


def _asylum_quarterly(research: Path) -> pd.DataFrame:
    q = pd.read_csv(research / "data_uk_asylum_quarterly.csv")
    q = q[(q["period_end"] >= f"{FIRST_YEAR}-01-01") & (q["period_end"] <= f"{LAST_YEAR}-12-31")]
    if q.duplicated(["metric", "period_end"]).any():
        raise ValueError("data_uk_asylum_quarterly.csv: duplicate metric/quarter rows")
    return q.copy()


def _series(q: pd.DataFrame, metric: str) -> pd.DataFrame:
    s = q[q["metric"] == metric].set_index("period_end").sort_index()
    expected = pd.date_range(f"{FIRST_YEAR}-03-31", f"{LAST_YEAR}-12-31", freq="QE")
    missing = sorted(set(expected.strftime("%Y-%m-%d")) - set(s.index))
    if missing:
        raise ValueError(f"{metric}: missing quarters {missing}")
    return s


def build_uk_quarterly(research: Path) -> pd.DataFrame:
    q = _asylum_quarterly(research)
    direct = {
        "new_claims": ("asylum_claims_people", ""),
        "new_grants": ("asylum_initialGrants", ""),
        "new_refusals": ("asylum_initialRefusals", ""),
        "new_withdrawals": ("asylum_initialWithdrawals", ""),
        "n_awaiting_decision": ("awaiting_initial_decision", " (people, quarter-end stock)"),
        "returns_enforced_all": (
            "returns_enforced",
            " ; all immigration returns, not asylum-only (data.md pitfall 8)",
        ),
        "returns_voluntary_all": (
            "returns_voluntary",
            " ; all immigration returns, not asylum-only (data.md pitfall 8)",
        ),
    }
    parts = []
    for name, (metric, note) in direct.items():
        s = _series(q, metric)
        parts.append(
            pd.DataFrame(
                {
                    "date": s.index,
                    "metric": name,
                    "value": s["value"].astype(int).to_numpy(),
                    "resolution": "quarter",
                    "source": (_with_official(s) + note).to_numpy(),
                }
            )
        )
    g, r = _series(q, "asylum_initialGrants"), _series(q, "asylum_initialRefusals")
    parts.append(
        pd.DataFrame(
            {
                "date": g.index,
                "metric": "new_decisions",
                "value": (g["value"] + r["value"]).astype(int).to_numpy(),
                "resolution": "quarter",
                "source": (
                    "derived: asylum_initialGrants + asylum_initialRefusals (NOT including "
                    "withdrawals; the CSV's asylum_initialDecisions includes them, data.md "
                    "pitfall 6); " + _with_official(g)
                ).to_numpy(),
            }
        )
    )
    return pd.concat(parts, ignore_index=True).sort_values(["metric", "date"], ignore_index=True)


def build_channel_annual(research: Path, md: str) -> pd.DataFrame:
    years = range(FIRST_YEAR, LAST_YEAR + 1)
    deaths = pd.read_csv(research / "data_deaths_iom_mmp.csv")
    ch = deaths[deaths["route"].str.startswith("English Channel") & deaths["year"].isin(years)]
    if sorted(ch["year"]) != list(years):
        raise ValueError("IOM Channel deaths: missing years")
    rows = [
        {
            "year": int(d.year),
            "metric": "deaths",
            "value": int(d.value),
            "source": (
                f"{d.source} ; series: {d.route}; {str(d.note).strip().rstrip(';')} "
                "(dead and missing; indicative only, data.md pitfall 14)"
            ),
        }
        for d in ch.itertuples()
    ]
    yearly = pd.read_csv(research / "data_small_boats_yearly.csv").set_index("n_year")
    for y in years:
        rows.append(
            {
                "year": y,
                "metric": "small_boat_arrivals",
                "value": int(yearly.loc[y, "migrants_arrived"]),
                "source": yearly.loc[y, "source"],
            }
        )

    french = _md_row(md, "French prevention of Channel crossings")["source"]
    prevented = _md_row(md, "Crossings prevented by France")["source"]
    arrivals_2023 = _md_row(md, "Small boat arrivals (people detected)", "2023")["source"]
    implied = _md_row(md, "Prevention share implied by Frontex vs arrivals", "2024")["source"]
    a23 = int(yearly.loc[2023, "migrants_arrived"])
    a24 = int(yearly.loc[2024, "migrants_arrived"])
    rows += [
        {
            "year": 2021,
            "metric": "prevention_share",
            "value": PREVENTION_2021,
            "source": f"data.md section 6 '~50% interception rate' (2021): {french}",
        },
        {
            "year": 2022,
            "metric": "prevention_share",
            "value": PREVENTION_2022,
            "source": f"data.md section 6 '42.4-42.5%' (2022, upper value): {french}",
        },
        {
            "year": 2023,
            "metric": "prevention_share",
            "value": round(PREVENTED_2023 / (PREVENTED_2023 + a23), 6),
            "source": (
                f"derived: prevented / (prevented + arrived) = {PREVENTED_2023} / "
                f"({PREVENTED_2023} + {a23}) (data.md section 6, 'operational estimates'); "
                f"{prevented} ; {arrivals_2023}"
            ),
        },
        {
            "year": 2024,
            "metric": "prevention_share",
            "value": round(1 - a24 / FRONTEX_CHANNEL_ATTEMPTS_2024, 6),
            "source": (
                f"derived: 1 - arrivals / Frontex attempted departures = 1 - {a24} / "
                f"{FRONTEX_CHANNEL_ATTEMPTS_2024} (upper bound; repeat attempts counted, "
                f"data.md pitfall 3); {implied}"
            ),
        },
    ]
    # object dtype keeps counts as integers next to the fractional prevention shares
    df = pd.DataFrame(rows, dtype=object)
    return df.sort_values(["metric", "year"], ignore_index=True)


def build_other_claims(research: Path, md: str) -> pd.DataFrame:
    q = _asylum_quarterly(research)
    claims = _series(q, "asylum_claims_people")
    sb = small_boats_monthly(research)
    sb["q"] = (sb["n_month"] - 1) // 3 + 1
    sb_q = sb.groupby(["n_year", "q"])["value"].sum()
    share_src = _md_row(md, "Small boat arrivals who claimed asylum", "2018-2024")["source"]
    sb_src = sb["source"].iloc[0]
    rows = []
    for end, c in claims.iterrows():
        ts = pd.Timestamp(end)
        year, qn = ts.year, ts.quarter
        boats = int(sb_q.loc[(year, qn)])
        raw = float(c["value"]) - SMALL_BOAT_CLAIM_SHARE * boats
        quarterly = max(raw, 0.0)
        floored = " (floored at 0)" if raw < 0 else ""
        src = (
            f"derived: ({year} Q{qn} asylum_claims_people {int(c['value'])} - "
            f"{SMALL_BOAT_CLAIM_SHARE} x small-boat arrivals {boats}){floored} / 3 months, "
            f"max 0; 93% of small-boat arrivals claim asylum (data.md section 2: {share_src}); "
            f"claims: {c['official_source_url']} ; {c['source']} ; small boats: {sb_src}"
        )
        rows += [
            {
                "date": m,
                "metric": "other_route_claims",
                "value": round(quarterly / 3, 2),
                "resolution": "month",
                "source": src,
            }
            for m in _quarter_months(year, qn)
        ]
    return pd.DataFrame(rows, columns=FLOW_COLUMNS).sort_values(
        ["metric", "date"], ignore_index=True
    )


def build_nationality(research: Path) -> pd.DataFrame:
    nat = pd.read_csv(research / "data_small_boats_nationality_quarterly.csv")
    keep = pd.read_csv(SCENARIO / "nationalities.csv")["nationality"].tolist()
    keep = [n for n in keep if n != "Non-boat routes"]  # small-boat nationalities only
    named = [n for n in keep if n != "Other"]
    spelling = {"Türkiye": "Turkey", "Turkiye": "Turkey", "Viet Nam": "Vietnam"}
    nat["nationality"] = nat["nationality"].replace(spelling)
    unknown = set(named) - set(nat["nationality"])
    if unknown:
        raise ValueError(f"nationalities not found in the nationality file: {unknown}")
    nat["group"] = nat["nationality"].where(nat["nationality"].isin(named), "Other")
    src = nat["source"].iloc[0]
    sb = small_boats_monthly(research)
    sb["quarter"] = sb["n_year"].astype(str) + " Q" + ((sb["n_month"] - 1) // 3 + 1).astype(str)
    sb_q = sb.groupby("quarter")["value"].sum()
    rows = []
    for quarter, g in nat.groupby("quarter", sort=True):
        qlabel = quarter.replace(" ", "")
        counts = g.groupby("group")["small_boat_arrivals"].sum().reindex(keep, fill_value=0)
        total = counts.sum()
        others = sorted(set(g.loc[g["group"] == "Other", "nationality"]))
        if total > 0:
            shares = counts / total
            note = (
                f"derived: people of this nationality / sum over the file's top-15 "
                f"nationalities in {quarter} ({int(total)}), renormalised so the quarter sums "
                f"to 1; Other = {', '.join(others)} (nationalities outside the top 15 are not "
                f"in the file); {src}"
            )
        else:
            shares = pd.Series(0.0, index=keep)
            shares["Other"] = 1.0
            note = (
                f"derived: all top-15 nationality counts are 0 in {quarter}, so the whole "
                f"quarter ({int(sb_q[quarter])} arrivals in the HO time series) is assigned to "
                f"Other, as in arrivals.csv; {src}"
            )
        rows += [
            {"quarter": qlabel, "nationality": n, "share": float(shares[n]), "source": note}
            for n in keep
        ]
    return pd.DataFrame(rows).sort_values(["nationality", "quarter"], ignore_index=True)


def build_grant_rate(research: Path) -> pd.DataFrame:
    q = _asylum_quarterly(research)
    g, r = _series(q, "asylum_initialGrants"), _series(q, "asylum_initialRefusals")
    rate = g["value"] / (g["value"] + r["value"])
    start = pd.to_datetime(g.index).to_period("Q").start_time.strftime("%Y-%m-%d")
    src = (
        "derived: asylum_initialGrants / (asylum_initialGrants + asylum_initialRefusals), "
        "all nationalities, people (withdrawals excluded, data.md pitfall 6); " + _with_official(g)
    )
    df = pd.DataFrame(
        {"date": start, "grant_rate": rate.round(6).to_numpy(), "source": src.to_numpy()}
    )
    return df.sort_values("date", ignore_index=True)


def build_returns_asylum(research: Path) -> pd.DataFrame:
    d = pd.read_csv(research / "data_uk_returns_quarterly.csv")
    a = d[(d["series"] == "asylum_vs_nonasylum_annual")].copy()
    a["year"] = a["period"].astype(int)
    a = a[(a["year"] >= FIRST_YEAR)].set_index(["year", "category"])
    rows = []
    for year in range(FIRST_YEAR, 2024):
        r = a.loc[(year, "asylum-related")]
        src = "Home Office Ret_05 (asylum-related returns, enforced), " + str(r["source"])
        rows.append({"year": year, "metric": "returns_enforced_asylum",
                     "value": int(r["enforced_total"]), "source": src})  # fmt: skip
    last = a.loc[(2023, "asylum-related")]
    other = a.loc[(2023, "non-asylum")]
    share = float(last["enforced_total"]) / float(last["enforced_total"] + other["enforced_total"])
    q = _asylum_quarterly(research)
    enf = _series(q, "returns_enforced")
    in_2024 = [i for i in enf.index if str(i).startswith("2024")]
    total = float(enf.loc[in_2024, "value"].sum())
    rows.append({
        "year": 2024, "metric": "returns_enforced_asylum", "value": round(total * share),
        "source": f"derived: all enforced returns 2024 ({total:.0f}, sum of the quarters) x"
        f" the asylum-related share of enforced returns in 2023 ({share:.4f} ="
        f" {int(last['enforced_total'])} / {int(last['enforced_total'] + other['enforced_total'])},"
        " Ret_05; 2024 asylum-related returns are not in the research copy); "
        + _with_official(enf.loc[in_2024]).iloc[0],
    })  # fmt: skip
    return pd.DataFrame(rows)


def build_cohorts(research: Path) -> pd.DataFrame:
    d = pd.read_csv(research / "data_uk_cohort_outcomes_jun2024.csv")
    a = d[d["nationality"] == "All nationalities"].set_index("claim_year")
    rows = []
    for year in range(FIRST_YEAR, 2024):
        r = a.loc[year]
        n = float(r["claims_main_applicants"])
        parts = {
            "granted_initial": r["initial_grants_protection"] + r["initial_grants_other_leave"],
            "granted_latest": r["final_grants_protection"] + r["final_grants_other_leave"],
            "removed_or_left": r["enforced_returns"] + r["voluntary_returns"],
            "unresolved": r["final_not_yet_known"],
        }
        parts["other"] = (
            n - parts["granted_latest"] - parts["removed_or_left"] - parts["unresolved"]
        )
        parts["withdrawn"] = r["final_withdrawn"] + r["final_admin_outcomes"]
        for k, v in parts.items():
            rows.append({
                "claim_year": year, "metric": k, "value": round(float(v) / n, 6),
                "claims_main_applicants": int(n),
                "source": "derived: share of claims (main applicants); granted_initial = initial"
                " grants (protection + other leave), granted_latest = final grants,"
                " removed_or_left = enforced + voluntary returns, unresolved = final outcome not"
                " yet known (awaiting an initial decision: a refused claim awaiting its appeal"
                " keeps its initial outcome), other = the rest (refused or withdrawn, not known"
                " to have left), withdrawn = final withdrawn + administrative outcomes (a part"
                " of other);"
                " All nationalities row, " + str(r["source"]),
            })  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- main


def _check_sources(name: str, df: pd.DataFrame) -> None:
    bad = df["source"].isna() | (df["source"].astype(str).str.strip() == "")
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} rows without a source")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--research",
        type=Path,
        default=REPO / ".." / "shared" / "research",
        help="folder with data.md and data_*.csv (default: ../shared/research from the repo)",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    research: Path = args.research.resolve()
    md = (research / "data.md").read_text(encoding="utf-8")

    builders: dict[str, Callable[[], pd.DataFrame]] = {
        "flows_monthly.csv": lambda: build_flows(research),
        "uk_quarterly.csv": lambda: build_uk_quarterly(research),
        "channel_annual.csv": lambda: build_channel_annual(research, md),
        "other_claims_monthly.csv": lambda: build_other_claims(research, md),
        "nationality_quarterly.csv": lambda: build_nationality(research),
        "grant_rate_quarterly.csv": lambda: build_grant_rate(research),
        "returns_asylum_annual.csv": lambda: build_returns_asylum(research),
        "cohort_outcomes.csv": lambda: build_cohorts(research),
    }
    for name, build in builders.items():
        df = build()
        _check_sources(name, df)
        _atomic_csv(df, args.out / name)
        keys = ", ".join(sorted(df["metric"].unique())) if "metric" in df else ""
        print(f"{name}: {len(df)} rows {keys}".rstrip())  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
