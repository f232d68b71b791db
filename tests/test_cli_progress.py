"""Progress off a terminal (a log file, a pipe, CI): periodic plain lines, never "0/None"."""

from __future__ import annotations

import pytest

from corridor.cli.progress import progress_bar


def test_plain_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("replicates", every_seconds=0.0) as update:
        update(0, 0)  # total not known yet: nothing
        update(0, 4)
        update(2, 4)
        update(2, 4)  # the same count again: said once
        update(4, 4)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in err] == [
        "replicates: 0/4 (0%)",
        "replicates: 2/4 (50%)",
        "replicates: 4/4 (100%)",
    ]
    assert not any("None" in line for line in err)


def test_lines_are_spaced_in_time_but_the_end_always_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress_bar("runs", every_seconds=3600.0) as update:
        for done in range(1, 11):
            update(done, 10)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2  # the first report, then the end
    assert err[-1].startswith("runs: 10/10 (100%)")
