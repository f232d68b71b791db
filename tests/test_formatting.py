"""Numbers as people read them: no "-0" in any table."""

from __future__ import annotations

from corridor.cli.runs import _cell
from corridor.flagship.summaries import fmt_number


def test_no_negative_zero() -> None:
    for x in (-0.0, -0.3, -0.49, 0.2):
        assert fmt_number(x) == "0"
        assert fmt_number(x, compact=True) == "0"
    assert _cell(-0.0, "f") == "0"
    assert fmt_number(-2.0) == "-2"
    assert fmt_number(-1234.0, compact=True) == "-1.23k"
