"""The uk-balkans observed tables built by tools/build_flagship_data.py.

Reads only the generated files shipped inside the package (no research folder needed).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import corridor

OBSERVED = Path(corridor.__file__).parent / "data" / "scenarios" / "uk-balkans" / "observed"

FILES = {
    "flows_monthly.csv": ["date", "metric", "value", "resolution", "source"],
    "uk_quarterly.csv": ["date", "metric", "value", "resolution", "source"],
    "channel_annual.csv": ["year", "metric", "value", "source"],
    "other_claims_monthly.csv": ["date", "metric", "value", "resolution", "source"],
    "nationality_quarterly.csv": ["quarter", "nationality", "share", "source"],
    "grant_rate_quarterly.csv": ["date", "grant_rate", "source"],
}

# Published 2024 totals, data.md section 1 (Frontex IBC detections by route, monthly file as of
# 3 Jun 2025) and section 2 (HO small-boat time series).
FRONTEX_2024 = {"wb_detections": 21_525, "em_detections": 69_954, "cm_detections": 66_855}
SMALL_BOATS_2024 = 36_816
# data.md section 3: asylum claims (people, sum of quarterly Asy_D01) 2023 = 87,427; awaiting
# initial decision peak, 30 Jun 2023 = 175,457 people.
CLAIMS_2023 = 87_427
AWAITING_2023_06_30 = 175_457


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(OBSERVED / name)


@pytest.mark.parametrize(("name", "columns"), list(FILES.items()))
def test_file_exists_parses_and_has_sources(name: str, columns: list[str]) -> None:
    path = OBSERVED / name
    assert path.is_file(), f"{path} missing: run tools/build_flagship_data.py"
    df = _read(name)
    assert list(df.columns) == columns
    assert len(df) > 0
    assert df["source"].notna().all()
    assert (df["source"].astype(str).str.strip() != "").all()


def test_flows_month_counts() -> None:
    df = _read("flows_monthly.csv")
    assert (df["resolution"] == "month").all()
    counts = df.groupby("metric")["date"].nunique()
    for metric in FRONTEX_2024:
        assert counts[metric] == 120
        months = df.loc[df["metric"] == metric, "date"]
        assert months.min() == "2015-01"
        assert months.max() == "2024-12"
    assert counts["small_boat_arrivals"] == 84
    assert not df.duplicated(["metric", "date"]).any()
    assert df["value"].notna().all()


def test_flows_2024_totals_match_published() -> None:
    df = _read("flows_monthly.csv")
    y2024 = df[df["date"].str.startswith("2024-")].groupby("metric")["value"].sum()
    for metric, expected in FRONTEX_2024.items():
        assert abs(y2024[metric] - expected) <= 1, metric
    assert y2024["small_boat_arrivals"] == SMALL_BOATS_2024


def test_uk_quarterly_known_values() -> None:
    df = _read("uk_quarterly.csv")
    assert (df["resolution"] == "quarter").all()
    claims = df[df["metric"] == "new_claims"]
    assert claims.loc[claims["date"].str.startswith("2023-"), "value"].sum() == CLAIMS_2023
    awaiting = df[(df["metric"] == "n_awaiting_decision") & (df["date"] == "2023-06-30")]
    assert awaiting["value"].tolist() == [AWAITING_2023_06_30]
    assert (df.groupby("metric")["date"].nunique() == 28).all()


def test_uk_quarterly_decisions_are_grants_plus_refusals() -> None:
    df = _read("uk_quarterly.csv").pivot(index="date", columns="metric", values="value")
    assert (df["new_decisions"] == df["new_grants"] + df["new_refusals"]).all()


def test_nationality_shares_sum_to_one() -> None:
    df = _read("nationality_quarterly.csv")
    assert (df["share"] >= 0).all()
    sums = df.groupby("quarter")["share"].sum()
    assert sums.to_numpy() == pytest.approx(1.0, abs=1e-9)
    assert df.groupby("quarter")["nationality"].nunique().eq(10).all()


def test_grant_rate_in_unit_interval() -> None:
    df = _read("grant_rate_quarterly.csv")
    assert len(df) == 28
    assert df["grant_rate"].between(0, 1).all()
