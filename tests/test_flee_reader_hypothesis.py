"""Hypothesis tests: malformed Flee inputs give either a case or an InputError, nothing else.

Each test damages one file of a small valid case (flee-model.md §2 formats) and reads the case.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.errors import InputError
from corridor.scenario.flee_case import ObservedSeries
from corridor.scenario.flee_reader import read_flee_case

BASE: dict[str, str] = {
    "simsetting.yml": (
        "log_levels:\n  agent: 0\n  granularity: location\nspawn_rules:\n  insert_day0: True\n"
        "move_rules:\n  max_move_speed: 360.0\n  conflict_weight: 0.25\n  awareness_level: 1\n"
        "optimisations:\n  hasten: 1\n"
    ),
    "input/sim_period.csv": "StartDate,2020-01-01\nLength,5\n",
    "input/locations.csv": (
        "#name,region,country,x,y,location_type,conflict_date,population,capacity_per_day\n"
        "A,R,Land,0,0,conflict_zone,0,1000,0\n"
        "B,R,Land,1,1,town,,500,0\n"
        '"C","R2","Other",2,2,"camp",,300,0\n'
    ),
    "input/routes.csv": (
        "#name1,name2,distance,forced_redirection,max_move_speed\nA,B,10,0,100\nB,C,20,\n"
    ),
    "input/closures.csv": "#type,name1,name2,start,end\ncountry,Land,Other,0,2\nlocation,B,,1,3\n",
    "input/conflicts.csv": "#Day, A, B, C,\n0,1,0,0\n1,1,0,0\n2,1,0,0\n3,1,0,0\n4,1,0,0\n",
    "input/registration_corrections.csv": "C,2020-01-03,normalize\n",
    "observed/data_layout.csv": "total,refugees.csv\nC,camp-c.csv,camp-c2.csv\n",
    "observed/refugees.csv": "Date,Refugees\n2020-01-01,10\n2020-01-05,50\n",
    "observed/camp-c.csv": "#Date,n\n2019-12-25,4\n2020-01-01,10\n2020-01-03,30\n2020-01-06,60\n",
    "observed/camp-c2.csv": ",\n2019-12-20,1\n2020-01-03,2\n2020-01-07,3\n",
}
FILE = st.sampled_from(sorted(BASE))  # the file to damage
HYP = settings(max_examples=60, deadline=None)

CELL = st.text(alphabet=st.sampled_from(list('aAC B,"#\n\r\t-.019eE_:\x00é\ufeff')), max_size=12)
ROWS = st.lists(st.lists(CELL, max_size=10), max_size=8)


def check(name: str, content: bytes) -> None:
    """Write BASE with ``name`` replaced by ``content``; reading must succeed or InputError."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for fname, text in BASE.items():
            p = root / fname
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content if fname == name else text.encode("utf-8"))
        error: InputError | None = None
        try:
            read_flee_case(root / "input", root / "observed", root / "simsetting.yml")
        except InputError as e:
            error = e
    if error is not None:
        assert error.file is not None
        assert str(error)


def to_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_base_case_is_valid() -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for fname, text in BASE.items():
            (root / fname).parent.mkdir(parents=True, exist_ok=True)
            (root / fname).write_text(text)
        case = read_flee_case(root / "input", root / "observed", root / "simsetting.yml")
        assert case.observed is not None
        assert case.observed.names() == ("C",)


@HYP
@given(name=FILE, text=st.text(max_size=300))
def test_random_text(name: str, text: str) -> None:
    check(name, text.encode("utf-8", "surrogatepass"))


@HYP
@given(name=FILE, data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    check(name, data)


@HYP
@given(name=FILE, rows=ROWS)
def test_random_cells(name: str, rows: list[list[str]]) -> None:
    check(name, to_csv(rows))


@HYP
@given(name=FILE, data=st.data())
def test_truncated_file(name: str, data: st.DataObject) -> None:
    raw = BASE[name].encode("utf-8")
    cut = data.draw(st.integers(0, len(raw)))
    check(name, raw[:cut])


@HYP
@given(name=FILE, data=st.data())
def test_damaged_row(name: str, data: st.DataObject) -> None:
    """Replace one cell, or cut one row short, of an otherwise valid file."""
    rows = list(csv.reader(io.StringIO(BASE[name])))
    i = data.draw(st.integers(0, len(rows) - 1))
    row = rows[i]
    if row and data.draw(st.booleans()):
        row[data.draw(st.integers(0, len(row) - 1))] = data.draw(CELL)
    else:
        rows[i] = row[: data.draw(st.integers(0, len(row)))]
    check(name, to_csv(rows))


def flee_interpolated(days: list[int], values: list[float], day: int) -> int:
    """Flee's get_interpolated_data (§2.7), written as a plain loop."""
    if day <= days[0]:
        return int(values[0])
    for i in range(1, len(days)):
        if day < days[i]:
            frac = float(day - days[i - 1]) / float(days[i] - days[i - 1])
            return int(values[i - 1] + frac * float(values[i] - values[i - 1]))
    return int(values[-1])


@HYP
@given(
    days=st.lists(st.integers(-40, 40), min_size=1, max_size=12).map(sorted),
    data=st.data(),
    query=st.lists(st.integers(-60, 60), max_size=30),
)
def test_interpolation_matches_flee_loop(
    days: list[int], data: st.DataObject, query: list[int]
) -> None:
    counts = data.draw(
        st.lists(st.integers(-(10**6), 10**6), min_size=len(days), max_size=len(days))
    )
    hasten = data.draw(st.integers(1, 7))
    values = [c / hasten for c in counts]
    s = ObservedSeries("x", np.asarray(days, np.int64), np.asarray(values, np.float64))
    got = s.interpolated_many(np.asarray(query, np.int64)).tolist()
    assert got == [flee_interpolated(days, values, q) for q in query]
