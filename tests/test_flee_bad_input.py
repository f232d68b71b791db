"""Flee inputs that Flee runs but that are always mistakes are refused (issue 15, "Bad input").

Each test damages one file of the shipped synthetic case and expects an :class:`InputError`
naming the file, the row and the field, with what was expected. The case as shipped reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corridor.cli import app
from corridor.data import synthetic_flee_case
from corridor.errors import InputError
from corridor.flee_run import run_flee
from corridor.scenario.flee_reader import read_flee_case


@pytest.fixture
def case(tmp_path: Path) -> Path:
    dest = tmp_path / "case"
    shutil.copytree(synthetic_flee_case(), dest)
    return dest


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _refused(case: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_flee_case(case / "input", case / "observed")
    return info.value


def test_shipped_case_reads(case: Path) -> None:
    read_flee_case(case / "input", case / "observed")


def test_unknown_location_type_is_refused(case: Path) -> None:
    loc = case / "input" / "locations.csv"
    text = loc.read_text()
    town = next(line for line in text.splitlines() if ",town," in line)
    loc.write_text(text.replace(town, town.replace(",town,", ",volcano,")))
    err = _refused(case)
    assert err.file == str(loc)
    assert err.line == _line_of(loc, ",volcano,")
    assert err.field == "location_type"
    assert "volcano" in str(err)
    assert "conflict_zone" in str(err)
    assert "camp" in str(err)


@pytest.mark.parametrize("kind", ["Town", "default", "idpcamp", "forwarding_hub", "marker"])
def test_flee_location_types_still_read(case: Path, kind: str) -> None:
    loc = case / "input" / "locations.csv"
    text = loc.read_text()
    town = next(line for line in text.splitlines() if ",town," in line)
    loc.write_text(text.replace(town, town.replace(",town,", f",{kind},")))
    if "camp" in kind.lower():  # a new camp needs its series
        name = town.split(",")[0]
        layout = case / "observed" / "data_layout.csv"
        layout.write_text(layout.read_text() + f"{name},eastfield.csv\n")
    read_flee_case(case / "input", case / "observed")


@pytest.mark.parametrize("content", ["", "#name1,name2,distance,forced_redirection\n", "\n\n"])
def test_empty_routes_file_is_refused(case: Path, content: str) -> None:
    routes = case / "input" / "routes.csv"
    routes.write_text(content)
    err = _refused(case)
    assert err.file == str(routes)
    assert err.field == "name1"
    assert "no routes" in str(err)
    assert "name1,name2,distance" in str(err)


def test_unknown_camp_in_data_layout_is_refused(case: Path) -> None:
    layout = case / "observed" / "data_layout.csv"
    layout.write_text(layout.read_text() + "Atlantis,eastfield.csv\n")
    err = _refused(case)
    assert err.file == str(layout)
    assert err.line == _line_of(layout, "Atlantis")
    assert err.field == "name"
    assert "Atlantis" in str(err)
    assert "Eastfield" in str(err)


def test_town_in_data_layout_is_refused(case: Path) -> None:
    loc = (case / "input" / "locations.csv").read_text().splitlines()
    town = next(line.split(",")[0] for line in loc if ",town," in line)
    layout = case / "observed" / "data_layout.csv"
    layout.write_text(layout.read_text() + f"{town},eastfield.csv\n")
    err = _refused(case)
    assert (err.file, err.field) == (str(layout), "name")
    assert f"'{town}' is not a camp" in str(err)


def test_repeated_camp_in_data_layout_is_refused(case: Path) -> None:
    layout = case / "observed" / "data_layout.csv"
    layout.write_text(layout.read_text() + "Eastfield,westbrook.csv\n")
    err = _refused(case)
    assert (err.file, err.field) == (str(layout), "name")
    assert err.line == len(layout.read_text().splitlines())
    assert "first on line 2" in str(err)


def test_run_with_an_unknown_camp_is_refused(case: Path) -> None:
    """The unknown camp's series used to be added to the spawns (9,786 agents, not 7,179)."""
    layout = case / "observed" / "data_layout.csv"
    layout.write_text(layout.read_text() + "Atlantis,eastfield.csv\n")
    with pytest.raises(InputError, match="Atlantis"):
        run_flee(case / "input", case / "observed", seed=1, days=5)


def test_cli_reports_the_refusal_in_one_line(case: Path, tmp_path: Path) -> None:
    routes = case / "input" / "routes.csv"
    routes.write_text("")
    res = CliRunner().invoke(app, ["flee", str(case), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    assert isinstance(res.exception, InputError)
    assert "routes.csv" in str(res.exception)
    assert not (tmp_path / "o" / "camps.csv").exists()
