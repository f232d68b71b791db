"""Add the 'Non-boat routes' pseudo-nationality to the uk-balkans pack (reproducible).

Asylum claims by people who did not arrive by small boat (visa, air, lorry, ...) are about
half of all UK claims; without them the modelled backlog is far below the observed one.
``observed/other_claims_monthly.csv`` (tools/build_flagship_data.py) holds those claims per
month; this script writes them into ``arrivals.csv`` as arrivals of ``Non-boat routes`` divided
by the pack's ``claim_share`` (0.93) so that the engine's claims equal the observed ones, and
adds the row to ``nationalities.csv``. Their grant rate is the all-nationality rate (``*`` rows
of grant_rates.csv). Run: python tools/add_non_boat_routes.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from corridor.atomic import write_with

PACK = Path(__file__).resolve().parents[1] / "src/corridor/data/scenarios/uk-balkans"
NAME = "Non-boat routes"
CLAIM_SHARE = 0.93


def _write(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV atomically (the project's rule: corridor.atomic)."""
    write_with(path, lambda fh: df.to_csv(fh, index=False))


def main() -> None:
    arrivals = pd.read_csv(PACK / "arrivals.csv", dtype=str)
    arrivals = arrivals[arrivals["nationality"] != NAME]
    other = pd.read_csv(PACK / "observed/other_claims_monthly.csv")
    rows = pd.DataFrame({
        "month": other["date"],
        "nationality": NAME,
        "people": (other["value"] / CLAIM_SHARE).round(1).astype(str),
        "source": "derived: other_route_claims / claim_share 0.93 (so that claims equal the"
        " observed non-boat claims); observed/other_claims_monthly.csv: " + other["source"],
    })  # fmt: skip
    out = pd.concat([arrivals, rows], ignore_index=True)
    _write(out, PACK / "arrivals.csv")
    nats = pd.read_csv(PACK / "nationalities.csv", dtype=str, keep_default_na=False)
    nats = nats[nats["nationality"] != NAME]
    row = {c: "" for c in nats.columns}
    row.update({
        "nationality": NAME,
        "household_size": "1.31",
        "returns_agreement": "true",
        "source": "household size as Afghanistan (all-nationality ratio); returns: assumption",
        "note": "people who claimed asylum without crossing by small boat, all nationalities"
        " together; assumed removable (most such claimants come from countries that accept"
        " returns; no split in the cited data)",
    })  # fmt: skip
    nats = pd.concat([nats, pd.DataFrame([row])], ignore_index=True)
    _write(nats, PACK / "nationalities.csv")


if __name__ == "__main__":
    main()
