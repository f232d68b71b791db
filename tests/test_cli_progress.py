"""Progress off a terminal (a log file, a pipe, CI): periodic plain lines, never "0/None"; and
the garbage collector during a command's start-up (:func:`start_up`)."""

from __future__ import annotations

import gc

import pytest

from corridor.cli.progress import progress_bar, start_up


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


def test_start_up_pauses_collection_then_freezes_and_gives_the_collector_back() -> None:
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    with start_up() as started:
        assert not gc.isenabled()  # loading: no collection
        loaded = [[i] for i in range(1000)]
        started()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(loaded)  # what was loaded is skipped from now on
        started()  # a second call changes nothing
        assert gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_start_up_keeps_a_disabled_collector_disabled_and_thaws_on_error() -> None:
    gc.disable()
    try:
        with pytest.raises(RuntimeError), start_up():
            raise RuntimeError("failed while loading")
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
