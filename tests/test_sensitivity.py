"""Sobol' sensitivity analysis on a case whose indices are known in closed form.

With deterrence off, the aggregate engine's claims over the year are
``Y = scale × claim_share × C`` (C: the table's arrivals), and the voluntary-return rate plays
no part. For independent ``X1 ~ U(0.5, 2)`` (scale) and ``X2 ~ U(0.5, 1)`` (claim share), with
``m_i``, ``v_i`` their means and variances::

    V1 = v1 m2²,  V2 = v2 m1²,  V12 = v1 v2,  V = V1 + V2 + V12
    S1_1 = V1/V = 0.743, S1_2 = V2/V = 0.229, ST_1 = (V1+V12)/V = 0.771, ST_2 = (V2+V12)/V = 0.257

and every index of the voluntary-return rate is 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.analysis.sensitivity import output_value, sensitivity
from corridor.errors import InputError

MINI = Path(__file__).resolve().parent / "data" / "scenarios" / "mini"

UNCERTAIN = """
uncertain:
  arrivals.scale: {dist: uniform, low: 0.5, high: 2.0, source: test fixture}
  arrivals.claim_share: {dist: uniform, low: 0.5, high: 1.0, source: test fixture}
  returns.voluntary_rate: {dist: loguniform, low: 0.02, high: 0.5, source: test fixture}
"""


def _known() -> dict[str, tuple[float, float]]:
    m1, v1 = 1.25, 1.5**2 / 12
    m2, v2 = 0.75, 0.5**2 / 12
    v_1, v_2, v_12 = v1 * m2**2, v2 * m1**2, v1 * v2
    total = v_1 + v_2 + v_12
    return {
        "arrivals.scale": (v_1 / total, (v_1 + v_12) / total),
        "arrivals.claim_share": (v_2 / total, (v_2 + v_12) / total),
        "returns.voluntary_rate": (0.0, 0.0),
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sobol") / "mini"
    shutil.copytree(MINI, folder)
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    text = text.replace("deterrence:\n  enabled: true", "deterrence:\n  enabled: false")
    assert "enabled: false" in text
    (folder / "scenario.yaml").write_text(text + UNCERTAIN, encoding="utf-8")
    return folder


def test_sobol_indices_match_the_known_answer(scenario: Path, tmp_path: Path) -> None:
    result = sensitivity(scenario, "new_claims", at=2024, n=32, seed=5, out_dir=tmp_path)
    table = result.table
    assert result.runs == 32 * (3 + 2)
    # ranking by total effect: scale, then claim share, then the irrelevant return rate
    assert result.ranking() == ["arrivals.scale", "arrivals.claim_share", "returns.voluntary_rate"]
    # the closed-form indices lie within the 95% intervals (wide with n = 32: about ±0.3)
    for param, (s1, st) in _known().items():
        row = table.loc[param]
        assert abs(row["S1"] - s1) <= max(row["S1_conf"], 1e-9), (param, row["S1"], s1)
        assert abs(row["ST"] - st) <= max(row["ST_conf"], 1e-9), (param, row["ST"], st)
    irrelevant = table.loc["returns.voluntary_rate"]
    assert abs(irrelevant["S1"]) <= irrelevant["S1_conf"] + 1e-9
    assert abs(irrelevant["ST"]) <= irrelevant["ST_conf"] + 1e-9
    # the samples went through the priors: the loguniform one spans its range on a log scale
    vr = result.samples["returns.voluntary_rate"]
    assert 0.02 <= vr.min() < 0.03
    assert 0.4 < vr.max() <= 0.5
    assert np.median(vr) == pytest.approx(np.sqrt(0.02 * 0.5), rel=0.25)

    csv = pd.read_csv(tmp_path / "sobol.csv")
    assert list(csv["param"]) == result.ranking()
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(csv.columns)
    assert (tmp_path / "sobol.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(tmp_path / "samples.csv")) == result.runs


def test_output_value_over_a_period() -> None:
    days = pd.date_range("2024-01-01", "2025-12-31")
    daily = pd.DataFrame(
        {"new_arrivals": 1.0, "n_awaiting_decision": np.arange(len(days), dtype=float)},
        index=days,
    )
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
    assert output_value(daily, "new_arrivals", start, end) == 365.0  # flow: summed
    assert output_value(daily, "n_awaiting_decision", start, end) == len(days) - 1  # stock: end


def test_bad_requests_are_input_errors(scenario: Path) -> None:
    with pytest.raises(InputError, match="power of 2"):
        sensitivity(scenario, "new_claims", n=50)
    with pytest.raises(InputError, match="unknown metric"):
        sensitivity(scenario, "claims", n=8)
    with pytest.raises(InputError, match="outside the run"):
        sensitivity(scenario, "new_claims", at=2030, n=8)
    with pytest.raises(InputError, match="at least 2"):
        sensitivity(scenario, "new_claims", params=["arrivals.scale"], n=8)
