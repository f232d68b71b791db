"""Tests of the Flee input reader (rules: shared/research/flee-model.md §1.0, §2, §7.2)."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from corridor.errors import InputError
from corridor.scenario.flee_case import (
    CODE_DEFAULT_CONFLICT_WEIGHT,
    FleeCase,
    FleeSettings,
    ObservedSeries,
)
from corridor.scenario.flee_reader import read_flee_case, read_observed, read_settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
CASES = SHARED / "flee-cases"


def _needs_shared() -> None:
    if not (CASES / "mali").is_dir():
        pytest.skip("shared Flee cases are not available")


# ---------------------------------------------------------------------------------------------
# A small valid case, written to tmp_path
# ---------------------------------------------------------------------------------------------
BASE: dict[str, str] = {
    "input/sim_period.csv": "StartDate,2020-01-01\nLength,5\n",
    "input/locations.csv": (
        "#name,region,country,x,y,location_type,conflict_date,population\n"
        "A,R,Land,0,0,conflict_zone,0,1000\n"
        "B,R,Land,1,1,town,,500\n"
        "C,R2,Other,2,2,camp,,300\n"
    ),
    "input/routes.csv": "#name1,name2,distance,forced_redirection\nA,B,10,0\nB,C,20,\n",
    "input/closures.csv": "#type,name1,name2,start,end\ncountry,Land,Other,0,2\n",
    "input/conflicts.csv": "#Day,A,B,C\n0,1,0,0\n1,1,0,0\n2,1,0,0\n3,1,0,0\n4,1,0,0\n",
    "input/registration_corrections.csv": "C,2020-01-03\n",
    "observed/data_layout.csv": "total,refugees.csv\nC,camp-c.csv\n",
    "observed/refugees.csv": "Date,Refugees\n2020-01-01,10\n2020-01-05,50\n",
    "observed/camp-c.csv": (
        "Date,Count\n2019-12-25,4\n2020-01-01,10\n2020-01-03,30\n2020-01-06,60\n"
    ),
}


def write_case(root: Path, **changes: str | None) -> tuple[Path, Path]:
    """Write BASE (with ``changes``: key 'input/x.csv' -> text, None deletes) under ``root``."""
    files = dict(BASE)
    for key, text in changes.items():
        name = key.replace("__", "/").replace("_csv", ".csv")
        if text is None:
            files.pop(name)
        else:
            files[name] = text
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    (root / "observed").mkdir(exist_ok=True)
    return root / "input", root / "observed"


def read(root: Path, **changes: str | None) -> FleeCase:
    inp, obs = write_case(root, **changes)
    return read_flee_case(inp, obs)


def expect_error(
    root: Path, fname: str, line: int | None, fld: str | None, **changes: str | None
) -> InputError:
    with pytest.raises(InputError) as info:
        read(root, **changes)
    msg = str(info.value)
    assert fname in msg, msg
    if line is not None:
        assert f"{fname}:{line}:" in msg, msg
    if fld is not None:
        assert f"field '{fld}'" in msg, msg
    return info.value


# ---------------------------------------------------------------------------------------------
# Real cases
# ---------------------------------------------------------------------------------------------
def _data_lines(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for r in csv.reader(f) if r and not r[0].startswith("#"))


@pytest.mark.parametrize("name", ["mali", "burundi"])
def test_real_case_counts(name: str) -> None:
    _needs_shared()
    d = CASES / name
    case = read_flee_case(d / "input", d / "observed", CASES / "simsetting.yml")
    assert len(case.locations) == _data_lines(d / "input" / "locations.csv")
    assert len(case.routes) == _data_lines(d / "input" / "routes.csv")
    assert len(case.closures) == 2
    assert case.conflicts.values.shape[0] >= case.length
    assert case.conflicts.values.shape[1] == len(case.conflicts.names)
    assert case.observed is not None
    assert case.observed.total.name == "total"
    assert case.settings.conflict_weight == 0.25
    if name == "mali":
        assert (case.start_date, case.length) == (date(2012, 2, 29), 300)
        assert (len(case.locations), len(case.routes)) == (23, 35)
        assert len(case.observed.camps) == 7
        assert case.conflicts.values.shape == (300, 23)
    else:
        assert (case.start_date, case.length) == (date(2015, 5, 1), 396)
        assert (len(case.locations), len(case.routes)) == (30, 41)
        assert len(case.observed.camps) == 5
        assert {"Isale", "Gitega-Ruyigi"} <= set(case.conflicts.names)  # kept, not an error
        assert case.routes[-2].forced_redirection == 2
        assert case.locations[7].pop_cap == 0  # empty population
        assert case.closures[1].kind == "remove_forced_redirection"


def test_mali_interpolation_by_hand() -> None:
    _needs_shared()
    d = CASES / "mali"
    case = read_flee_case(d / "input", d / "observed")
    assert case.observed is not None
    bobo = case.observed.series("Bobo-Dioulasso")  # 2012-03-21: 0 (day 21), 03-24: 950 (day 24)
    assert bobo.interpolated(21) == 0
    assert bobo.interpolated(22) == int(950 / 3)  # 316
    assert bobo.interpolated(23) == 633
    assert bobo.interpolated(24) == 950
    niamey = case.observed.series("Niamey")  # 03-31: 0 (day 31), 06-30: 3567 (day 122)
    assert niamey.interpolated(60) == 1136  # 29/91 * 3567 = 1136.7
    assert niamey.interpolated(-5) == 0  # before the first row: v0
    assert case.observed.total.interpolated(0) == 20075


def test_mali_registration_correction_scales_earlier_rows() -> None:
    _needs_shared()
    d = CASES / "mali"
    case = read_flee_case(d / "input", d / "observed")
    raw = read_observed(d / "observed", date(2012, 2, 29), 1, None)
    assert case.observed is not None
    fm, fm_raw = case.observed.series("Fassala-Mbera"), raw.series("Fassala-Mbera")
    # 2012-12-31 (54028) is row 15; the row before is 2012-08-19 (103731).
    i = int(np.nonzero(fm.days == (date(2012, 12, 31) - date(2012, 2, 29)).days)[0][0])
    factor = 54028 / 103731
    assert fm_raw.values[0] == 17790
    assert fm.values[0] == pytest.approx(17790 * factor)
    np.testing.assert_allclose(fm.values[:i], fm_raw.values[:i] * factor)
    np.testing.assert_array_equal(fm.values[i:], fm_raw.values[i:])
    assert fm.interpolated(0) == 9265  # Flee's printed "Fassala-Mbera data" on day 0


@pytest.mark.parametrize("name", ["mali", "burundi"])
def test_observed_matches_flee_reference_output(name: str) -> None:
    """Every '<camp> data' value in Flee's own output equals our I(c, t) (§1.5, §2.8)."""
    _needs_shared()
    d = CASES / name
    case = read_flee_case(d / "input", d / "observed")
    assert case.observed is not None
    with (d / "flee-reference" / "run1.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    days = np.arange(case.length, dtype=np.int64)
    for s in case.observed.camps:
        ref = np.array([int(r[f"{s.name} data"]) for r in rows])
        np.testing.assert_array_equal(s.interpolated_many(days), ref, err_msg=s.name)


# ---------------------------------------------------------------------------------------------
# Small case: good input, including odd forms Flee accepts
# ---------------------------------------------------------------------------------------------
def test_small_case_values(tmp_path: Path) -> None:
    case = read(tmp_path)
    assert [loc.name for loc in case.locations] == ["A", "B", "C"]
    assert case.locations[0].conflict_date == 0
    assert case.locations[1].conflict_date is None
    assert case.routes[1].forced_redirection == 0
    s = case.observed.series("C")
    # correction on 2020-01-03 (30, row 2) scales rows 0-1 by 30/10
    np.testing.assert_array_equal(s.days, [-7, 0, 2, 5])
    np.testing.assert_allclose(s.values, [12, 30, 30, 60])
    assert s.interpolated_many(np.array([-9, 0, 1, 3, 4, 9])).tolist() == [12, 30, 30, 40, 50, 60]
    assert case.observed.total.interpolated(2) == 30  # 10 + 2/4 * 40


def test_odd_but_valid_inputs(tmp_path: Path) -> None:
    case = read(
        tmp_path,
        input__locations_csv=(
            '\ufeff"#name","region","country","lat","lon","type","date","pop",'
            '"capacity_per_day","note"\r\n'
            '"A","","",,,"conflict_zone",0,1000,0,hello\r\n'
            "   \r\n"
            "# a comment\r\n"
            'B,R,Land,1,1,"town",,,0\r\n'
            "C,R2,Other,2,2,camp,,300,5,,\r\n"
            "D,R2,Other,2,2,idpcamp,abc,3\r\n"
        ),
        input__routes_csv=(
            "#name1,name2,distance,forced_redirection,max_move_speed,walk_probability\n"
            '"A",B,0,,100,0.5\n'
            "B,C,20\n"
            "C,D,5,1\n"
        ),
        input__closures_csv=(
            "#closure_type,name1,name2,start,end\n"
            "country,unknown,Other,0,2\n"
            "location,B,,1,-1\n"
            "link,A,B,0,1\n"
            "camp,C,,0,3\n"
            "idpcamp,D,,2,3\n"
            "remove_forced_redirection,C,D,1,0\n"
        ),
        input__conflicts_csv=(
            '"#Day"," A", B ,C,,\n0, 1, 0, 0\n1,1,0,0,\n\n2,1,0,0\n3,1,0,0\n4,1,0,0\n5,1,0,0\n'
        ),
        input__registration_corrections_csv="\nC,2020-01-03,normalize\nC,2019-01-01\n",
        observed__data_layout_csv=(
            "\ufefftotal,refugees.csv\n# comment\nC,camp-c.csv\nD,camp-c.csv\nX\n"
        ),
        observed__refugees_csv=',\t\n"2020-01-01","10"\n2020-01-02,\n2020-01-05,50\n',
    )
    a, b, c, dd = case.locations
    assert (a.region, a.country, a.x, a.y) == ("unknown", "unknown", 0.0, 0.0)
    assert a.attributes == {"capacity_per_day": "0", "note": "hello"}
    assert b.pop_cap == 0
    assert c.attributes["capacity_per_day"] == "5"
    assert dd.conflict_date is None
    assert case.routes[0].distance == 0.0
    assert case.routes[0].attributes == {"max_move_speed": "100", "walk_probability": "0.5"}
    assert case.routes[2].forced_redirection == 1
    assert [cl.kind for cl in case.closures] == [
        "country", "location", "link", "camp", "idpcamp", "remove_forced_redirection"
    ]  # fmt: skip
    assert case.conflicts.names == ("A", "B", "C")
    assert case.conflicts.values.shape == (6, 3)
    assert case.observed.total.days.tolist() == [0, 4]
    assert case.observed.names() == ("C", "D")


def test_missing_closures_and_corrections_are_fine(tmp_path: Path) -> None:
    case = read(tmp_path, input__closures_csv=None, input__registration_corrections_csv=None)
    assert case.closures == ()
    assert case.observed.series("C").values[0] == 4


def test_empty_corrections_file(tmp_path: Path) -> None:
    case = read(tmp_path, input__registration_corrections_csv="\n")
    assert case.observed.series("C").values[0] == 4


def test_without_observed_dir(tmp_path: Path) -> None:
    inp, _ = write_case(tmp_path)
    case = read_flee_case(inp)
    assert case.observed is None
    assert case.settings == FleeSettings()


def test_add_csv_tables_semantics(tmp_path: Path) -> None:
    """AddCSVTables (§2.7): a file-2 date takes the *next* file-1 value; trailing rows drop."""
    obs = tmp_path / "obs"
    obs.mkdir()
    (obs / "data_layout.csv").write_text("total,t.csv\nC,a.csv,b.csv\n")
    (obs / "t.csv").write_text("2020-01-01,1\n")
    (obs / "a.csv").write_text("2020-01-01,1\n2020-01-11,2\n2020-01-21,3\n2020-01-31,4\n")
    (obs / "b.csv").write_text("2020-01-01,100\n2020-01-16,200\n")
    s = read_observed(obs, date(2020, 1, 1), 1, None).series("C")
    assert s.days.tolist() == [0, 10, 15]
    assert s.values.tolist() == [101, 102, 203]


def test_hasten_divides_observed_counts(tmp_path: Path) -> None:
    inp, obs = write_case(tmp_path)
    case = read_flee_case(inp, obs, FleeSettings(hasten=4))
    assert case.observed.total.values.tolist() == [2.5, 12.5]


def test_duplicate_dates_use_last_row_as_left_bracket() -> None:
    s = ObservedSeries("x", np.array([0, 5, 5, 10]), np.array([0.0, 10.0, 20.0, 40.0]))
    assert s.interpolated_many(np.array([0, 4, 5, 6, 10, 11])).tolist() == [0, 8, 20, 24, 40, 40]


# ---------------------------------------------------------------------------------------------
# Small case: bad input
# ---------------------------------------------------------------------------------------------
LOC_HEAD = "#name,region,country,x,y,location_type,conflict_date,population\n"


def test_unknown_location_in_route(tmp_path: Path) -> None:
    err = expect_error(
        tmp_path, "routes.csv", 3, "name2", input__routes_csv="#h\nA,B,1\nB,Nowhere,2\n"
    )
    assert "Nowhere" in str(err)


def test_negative_distance(tmp_path: Path) -> None:
    expect_error(tmp_path, "routes.csv", 2, "distance", input__routes_csv="A,B,1\nB,C,-2\n")


def test_non_numeric_distance(tmp_path: Path) -> None:
    expect_error(tmp_path, "routes.csv", 1, "distance", input__routes_csv="A,B,far\n")


def test_bad_route_attribute(tmp_path: Path) -> None:
    text = "#a,b,c,d,walk_probability\nA,B,1,0,1.5\n"
    expect_error(tmp_path, "routes.csv", 2, "walk_probability", input__routes_csv=text)


def test_unparseable_start_date(tmp_path: Path) -> None:
    text = "StartDate,2020-13-01\nLength,5\n"
    expect_error(tmp_path, "sim_period.csv", 1, "StartDate", input__sim_period_csv=text)


def test_bad_length(tmp_path: Path) -> None:
    text = "StartDate,2020-01-01\nlength,five\n"
    expect_error(tmp_path, "sim_period.csv", 2, "Length", input__sim_period_csv=text)


@pytest.mark.parametrize(
    "key",
    [
        "input/sim_period.csv",
        "input/locations.csv",
        "input/routes.csv",
        "input/conflicts.csv",
        "observed/data_layout.csv",
    ],
)
def test_missing_required_file(tmp_path: Path, key: str) -> None:
    change = {key.replace("/", "__").replace(".csv", "_csv"): None}
    err = expect_error(tmp_path, key.split("/")[1], None, None, **change)
    assert "not found" in str(err)


def test_missing_series_file_names_layout_line(tmp_path: Path) -> None:
    text = "total,refugees.csv\nC,nothere.csv\n"
    expect_error(tmp_path, "data_layout.csv", 2, "file 1", observed__data_layout_csv=text)


def test_missing_column(tmp_path: Path) -> None:
    text = LOC_HEAD + "A,R,Land,0,0,conflict_zone,0,1000\nB,R,Land,1\n"
    err = expect_error(tmp_path, "locations.csv", 3, "y", input__locations_csv=text)
    assert "missing" in str(err)


def test_duplicate_location(tmp_path: Path) -> None:
    text = BASE["input/locations.csv"] + "B,R,Land,1,1,town,,5\n"
    expect_error(tmp_path, "locations.csv", 5, "name", input__locations_csv=text)


def test_empty_location_name(tmp_path: Path) -> None:
    text = BASE["input/locations.csv"] + ",R,Land,1,1,town,,5\n"
    expect_error(tmp_path, "locations.csv", 5, "name", input__locations_csv=text)


def test_camp_missing_from_data_layout(tmp_path: Path) -> None:
    text = BASE["input/locations.csv"] + "E,R,Land,1,1,camp,,5\n"
    err = expect_error(tmp_path, "locations.csv", 5, "name", input__locations_csv=text)
    assert "'E'" in str(err)
    assert "data_layout.csv" in str(err)


@pytest.mark.parametrize("pop", ["12.5", "123.0", "many", " "])
def test_non_int_population(tmp_path: Path, pop: str) -> None:
    text = (
        LOC_HEAD + f"A,R,Land,0,0,conflict_zone,0,{pop}\nB,R,Land,1,1,town,,5\nC,R,X,1,1,camp,,5\n"
    )
    expect_error(tmp_path, "locations.csv", 2, "pop/cap", input__locations_csv=text)


def test_negative_population(tmp_path: Path) -> None:
    text = LOC_HEAD + "A,R,Land,0,0,conflict_zone,0,-3\nB,R,Land,1,1,town,,5\nC,R,X,1,1,camp,,5\n"
    expect_error(tmp_path, "locations.csv", 2, "pop/cap", input__locations_csv=text)


def test_conflict_zone_needs_conflict_date(tmp_path: Path) -> None:
    text = LOC_HEAD + "A,R,Land,0,0,conflict_zone,,3\nB,R,Land,1,1,town,,5\nC,R,X,1,1,camp,,5\n"
    expect_error(tmp_path, "locations.csv", 2, "conflict_date", input__locations_csv=text)


def test_bad_closure_type(tmp_path: Path) -> None:
    text = "#h\nborder,Land,Other,0,2\n"
    expect_error(tmp_path, "closures.csv", 2, "closure_type", input__closures_csv=text)


def test_closure_unknown_country(tmp_path: Path) -> None:
    text = "country,Land,Atlantis,0,2\n"
    expect_error(tmp_path, "closures.csv", 1, "name2", input__closures_csv=text)


def test_closure_bad_day(tmp_path: Path) -> None:
    text = "location,A,,zero,2\n"
    expect_error(tmp_path, "closures.csv", 1, "closure_start", input__closures_csv=text)


def test_correction_date_with_no_matching_row(tmp_path: Path) -> None:
    text = "C,2020-01-04\n"
    err = expect_error(
        tmp_path,
        "registration_corrections.csv",
        1,
        "date",
        input__registration_corrections_csv=text,
    )
    assert "2020-01-04" in str(err)


def test_correction_unknown_camp(tmp_path: Path) -> None:
    text = "C,2020-01-03\nZ,2020-01-03\n"
    expect_error(
        tmp_path,
        "registration_corrections.csv",
        2,
        "camp_name",
        input__registration_corrections_csv=text,
    )


def test_correction_bad_date(tmp_path: Path) -> None:
    text = "C,03/01/2020\n"
    expect_error(
        tmp_path,
        "registration_corrections.csv",
        1,
        "date",
        input__registration_corrections_csv=text,
    )


def test_too_few_conflict_rows(tmp_path: Path) -> None:
    text = "#Day,A,B,C\n0,1,0,0\n1,1,0,0\n"
    err = expect_error(tmp_path, "conflicts.csv", 3, "Day", input__conflicts_csv=text)
    assert "5" in str(err)


def test_bad_conflict_value(tmp_path: Path) -> None:
    text = "#Day,A,B,C\n0,1,0,0\n1,1,x,0\n2,1,0,0\n3,1,0,0\n4,1,0,0\n"
    expect_error(tmp_path, "conflicts.csv", 3, "B", input__conflicts_csv=text)


def test_series_dates_out_of_order(tmp_path: Path) -> None:
    text = "Date,n\n2020-01-05,3\n2020-01-02,4\n"
    expect_error(tmp_path, "refugees.csv", 3, "date", observed__refugees_csv=text)


def test_series_unknown_header(tmp_path: Path) -> None:
    text = "Day,n\n2020-01-05,3\n"
    expect_error(tmp_path, "refugees.csv", 1, "date", observed__refugees_csv=text)


def test_series_bad_count(tmp_path: Path) -> None:
    text = "Date,n\n2020-01-05,3.5\n"
    expect_error(tmp_path, "refugees.csv", 2, "count", observed__refugees_csv=text)


def test_invalid_utf8(tmp_path: Path) -> None:
    inp, obs = write_case(tmp_path)
    (inp / "routes.csv").write_bytes(b"A,B,1\nB,C,\xff\xfe\n")
    with pytest.raises(InputError, match=r"routes\.csv:2"):
        read_flee_case(inp, obs)


def test_unterminated_quote(tmp_path: Path) -> None:
    expect_error(tmp_path, "routes.csv", None, None, input__routes_csv='A,B,1\n"B,C,2\n')


# ---------------------------------------------------------------------------------------------
# simsetting.yml
# ---------------------------------------------------------------------------------------------
def _yml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "simsetting.yml"
    p.write_text(text)
    return p


def test_settings_defaults() -> None:
    assert read_settings(None) == FleeSettings()


def test_settings_shared_file() -> None:
    _needs_shared()
    s = read_settings(CASES / "simsetting.yml")
    assert s.conflict_weight == 0.25
    assert s.default_movechance == 0.3
    assert s.hasten == 1


def test_settings_code_defaults_and_unknown_keys(tmp_path: Path) -> None:
    text = (
        "move_rules:\n  camp_weight: 2\n  max_crossing_speed: 20\nother: 1\n"
        "log_levels:\n  granularity: location\n"
    )
    s = read_settings(_yml(tmp_path, text))
    assert s.conflict_weight == CODE_DEFAULT_CONFLICT_WEIGHT
    assert math.isclose(s.conflict_weight, 1 / math.sqrt(10))
    assert s.camp_weight == 2.0
    assert read_settings(_yml(tmp_path, "")).conflict_weight == CODE_DEFAULT_CONFLICT_WEIGHT


def test_settings_all_keys(tmp_path: Path) -> None:
    text = (
        "spawn_rules:\n  insert_day0: false\n  empty_camps_on_day0: true\n  sum_from_camps: 0\n"
        "move_rules:\n  softening: 5\n  idpcamp_movechance: 0.2\n  awareness_level: -1\n"
        "  pruning_threshold: 1.0\n  capacity_buffer: 0.5\noptimisations:\n  hasten: 10\n"
    )
    s = read_settings(_yml(tmp_path, text))
    assert (s.insert_day0, s.empty_camps_on_day0, s.sum_from_camps) == (False, True, False)
    assert (s.softening, s.idpcamp_movechance, s.awareness_level) == (5.0, 0.2, -1)
    assert (s.capacity_buffer, s.hasten) == (0.5, 10)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("move_rules:\n  awareness_level: 2\n", "move_rules.awareness_level"),
        ("move_rules:\n  avoid_short_stints: True\n", "move_rules.avoid_short_stints"),
        ("move_rules:\n  start_on_foot: true\n", "move_rules.start_on_foot"),
        ("move_rules:\n  pruning_threshold: 2\n", "move_rules.pruning_threshold"),
        ("spawn_rules:\n  take_from_population: true\n", "spawn_rules.take_from_population"),
        (
            "spawn_rules:\n  conflict_driven_spawning:\n    spawn_mode: constant\n",
            "spawn_rules.conflict_driven_spawning",
        ),
        (
            "move_rules:\n  two_system_decision_making: 0.5\n",
            "move_rules.two_system_decision_making",
        ),
        ("move_rules:\n  stay_close_to_home: true\n", "move_rules.stay_close_to_home"),
        ("move_rules:\n  fixed_routes: true\n", "move_rules.fixed_routes"),
        ("spawn_rules:\n  conflict_spawn_decay: [1, 0.5]\n", "spawn_rules.conflict_spawn_decay"),
    ],
)
def test_settings_unsupported(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(InputError) as info:
        read_settings(_yml(tmp_path, "log_levels:\n  agent: 0\n" + text))
    msg = str(info.value)
    assert "not supported by Corridor" in msg
    assert key in msg
    assert "simsetting.yml:4" in msg


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("move_rules:\n  max_move_speed: fast\n", "move_rules.max_move_speed", 2),
        ("move_rules:\n  max_move_speed:\n", "move_rules.max_move_speed", 2),
        ("move_rules:\n  awareness_level: 1.5\n", "move_rules.awareness_level", 2),
        ("spawn_rules:\n  insert_day0: 'False'\n", "spawn_rules.insert_day0", 2),
        ("move_rules:\n  camp_movechance: 2.0\n", "move_rules.camp_movechance", 2),
        ("optimisations:\n  hasten: 0\n", "optimisations.hasten", 2),
        ("log_levels:\n  agent: x\n", "log_levels.agent", 2),
        ("move_rules: 5\n", "move_rules", 1),
        ("move_rules:\n  a: [1\n", None, 3),
    ],
)
def test_settings_bad_values(tmp_path: Path, text: str, key: str | None, line: int) -> None:
    with pytest.raises(InputError) as info:
        read_settings(_yml(tmp_path, text))
    msg = str(info.value)
    assert f"simsetting.yml:{line}" in msg, msg
    if key is not None:
        assert f"field '{key}'" in msg, msg


def test_settings_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_settings(tmp_path / "nope.yml")


def test_read_flee_case_with_settings_path(tmp_path: Path) -> None:
    inp, obs = write_case(tmp_path)
    case = read_flee_case(inp, obs, _yml(tmp_path, "optimisations:\n  hasten: 2\n"))
    assert case.settings.hasten == 2
    assert case.observed.total.values.tolist() == [5.0, 25.0]
