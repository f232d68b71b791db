"""Derive uk-balkans' GDP deflators by financial year (``deflators.csv``) from the ONS GDP
deflator at market prices by calendar year.

HM Treasury publishes the deflator by financial year (ONS series L8GG); that table is not in
``../shared/research`` and cannot be fetched here. What is available is the ONS calendar-year
implied GDP deflator at market prices (series YBGB, 2024 = 100) as bundled by the greenbook R
package (github.com/charlescoverdale/greenbook, ``inst/extdata/gdp_deflator.csv``; a secondary
source: its values are copied below, 2017-2024). A financial year April t - March t+1 is three
quarters of calendar year t and one of t+1, so its index is taken as ``0.75·CY_t + 0.25·CY_t+1``
(a linear approximation of the quarterly mean), then rebased so 2023-24 = 100. 2024-25 needs
calendar 2025, after the data's end: it is an assumption (2024 plus 2.5%, range 1.5-3.5%).

Run: ``python tools/gdp_deflators.py > src/corridor/data/scenarios/uk-balkans/deflators.csv``.
"""

from __future__ import annotations

import csv
import sys

SOURCE = (
    "ONS implied GDP deflator at market prices, series YBGB, calendar years, 2024 = 100, as"
    " bundled by the greenbook R package (github.com/charlescoverdale/greenbook"
    " inst/extdata/gdp_deflator.csv; secondary source: HM Treasury's financial-year series"
    " https://www.gov.uk/government/collections/gdp-deflators-at-market-prices-and-money-gdp"
    " is not available here); tools/gdp_deflators.py"
)
CALENDAR = {  # YBGB, 2024 = 100
    2017: 77.6367,
    2018: 79.1606,
    2019: 81.1085,
    2020: 85.2137,
    2021: 85.6358,
    2022: 90.5005,
    2023: 96.2507,
    2024: 100.0,
}
ASSUMED_2025 = 102.5  # assumption: calendar 2025 = 2024 + 2.5% (range 1.5-3.5%)
BASE = "2023-24"


def financial_years() -> dict[str, tuple[float, str]]:
    """Each financial year's index (2023-24 = 100) and its status."""
    cal = {**CALENDAR, 2025: ASSUMED_2025}
    raw = {f"{y}-{(y + 1) % 100:02d}": 0.75 * cal[y] + 0.25 * cal[y + 1] for y in range(2017, 2025)}
    base = raw[BASE]
    out = {}
    for fy, value in raw.items():
        if fy == BASE:
            status = "derived; the reference year (2023-24 = 100)"
        elif fy == "2024-25":
            status = (
                "ASSUMPTION: 0.75 x calendar 2024 + 0.25 x calendar 2025, with 2025 assumed"
                " 2.5% above 2024 (range 1.5-3.5%, about +-0.25 index points)"
            )
        else:
            status = "derived: 0.75 x its first calendar year + 0.25 x its second, rebased"
        out[fy] = (round(100.0 * value / base, 2), status)
    return out


def main() -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["financial_year", "deflator", "source", "status"])
    for fy, (value, status) in financial_years().items():
        w.writerow([fy, value, SOURCE, status])


if __name__ == "__main__":
    main()
