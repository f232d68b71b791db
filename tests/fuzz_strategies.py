"""Hypothesis strategies that write scenario folders and Flee cases from their schemas.

* :func:`from_schema` turns a JSON Schema node (``corridor schema``: the pydantic models'
  own) into a strategy for documents that mostly follow it: every value keeps to its type,
  enum and bounds, with edge values (the bounds themselves, zero, huge numbers) drawn often,
  and about one value in ten is off-schema (a wrong type, just past a bound, a bad date).
* :func:`scenario_yaml` overlays a few generated top-level sections on the ``mini`` test
  scenario, so the documents get past the first check and reach the deeper ones.
* :func:`flee_case` writes all the files of a Flee case from their column specifications
  (flee-model.md §2, as :mod:`corridor.scenario.flee_reader` reads them) and ``simsetting.yml``
  from the JSON Schema of :class:`~corridor.scenario.flee_case.FleeSettings`; names, types,
  numbers and dates come from small pools, so rows refer to each other as often as not.

Used by ``tests/test_fuzz.py``: a small sample in the default suite, 10,000 under ``-m slow``.
"""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import yaml
from hypothesis import strategies as st

from corridor.scenario.flee_case import FleeSettings
from corridor.scenario.json_schema import scenario_json_schema
from scenario_fixtures import MINI

SCENARIO_SCHEMA = scenario_json_schema()
MINI_DATA: dict[str, Any] = yaml.safe_load((MINI / "scenario.yaml").read_text())
MAX_DEPTH = 6

GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["", "x", "-1", "1e999", "nan", "2024-02-30", "9999-12-31", "../..", "é"]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just([]),
    st.just({}),
    st.just({"unknown_key": 1}),
)
DATES = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2024-01-01", "2024-12-31", "2025-06-30", "1900-01-01", "2200-12-31"]),
)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        node = root["$defs"][ref.split("/")[-1]]
    return node


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    lo = node.get("minimum", node.get("exclusiveMinimum"))
    hi = node.get("maximum", node.get("exclusiveMaximum"))
    edges = [v for v in (lo, hi, 0, 1, -1, 10**12, 2**63) if v is not None]
    if integer:
        inside = st.integers(
            None if lo is None else int(lo) + ("exclusiveMinimum" in node),
            None if hi is None else int(hi) - ("exclusiveMaximum" in node),
        )
    else:
        inside = st.floats(
            lo,
            hi,
            exclude_min="exclusiveMinimum" in node,
            exclude_max="exclusiveMaximum" in node,
            allow_nan=False,
            allow_infinity=False,
        )
    return st.one_of(inside, st.sampled_from(edges), inside.map(lambda v: v * 1000))


def _typed(node: dict[str, Any], root: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return st.one_of([from_schema(n, root, depth) for n in node[key]])
    if "allOf" in node:
        return from_schema(node["allOf"][0], root, depth)
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([_typed({**node, "type": k}, root, depth) for k in kind])
    if kind == "object" or "properties" in node:
        return _object(node, root, depth)
    if kind == "array":
        items = node.get("items", {})
        lo = node.get("minItems", 0)
        hi = min(node.get("maxItems", lo + 3), lo + 3)
        return st.lists(from_schema(items, root, depth + 1), min_size=lo, max_size=hi)
    if kind == "integer":
        return _number(node, integer=True)
    if kind == "number":
        return _number(node, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        if node.get("format") in ("date", "date-time"):
            return DATES
        return st.one_of(
            st.sampled_from(["status_quo", "Carvenia", "Dravos", "hub_keldany", "a", "month"]),
            DATES,
            st.text(max_size=12),
        )
    return GARBAGE


def _object(node: dict[str, Any], root: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    props: dict[str, Any] = node.get("properties", {})
    required = [k for k in node.get("required", []) if k in props]
    optional = [k for k in props if k not in required]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        keys = list(required)
        if optional and depth < MAX_DEPTH:
            keys += draw(st.lists(st.sampled_from(optional), max_size=4, unique=True))
        out = {k: draw(from_schema(props[k], root, depth + 1), label=k) for k in keys}
        if required and draw(st.integers(0, 19)) == 0:
            out.pop(draw(st.sampled_from(required)))  # a required key left out
        return out

    return build()


def from_schema(
    node: dict[str, Any], root: dict[str, Any] = SCENARIO_SCHEMA, depth: int = 0
) -> st.SearchStrategy[Any]:
    """Documents of the JSON Schema ``node`` (with ``$defs`` in ``root``), about 1 in 10
    values off-schema; below :data:`MAX_DEPTH` only required keys are written."""
    node = _resolve(node, root)
    valid = _typed(node, root, depth)
    return st.one_of(valid, valid, valid, valid, valid, valid, valid, valid, valid, GARBAGE)


@st.composite
def scenario_yaml(draw: st.DrawFn) -> bytes:
    """``scenario.yaml`` text: the mini scenario with 1-3 top-level sections generated."""
    doc = copy.deepcopy(MINI_DATA)
    props = SCENARIO_SCHEMA["properties"]
    for key in draw(st.lists(st.sampled_from(sorted(props)), min_size=1, max_size=3, unique=True)):
        if key == "extends":  # only names that stay inside the temporary folder
            doc[key] = draw(st.sampled_from(["../mini", ".", "", "missing", "../mini/"]))
            continue
        if draw(st.integers(0, 9)) == 0:
            doc.pop(key, None)
        else:
            doc[key] = draw(from_schema(props[key]), label=key)
    text: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Flee cases
# ---------------------------------------------------------------------------------------------
NAMES = st.sampled_from(["A", "B", "C", "D", "Camp E", "total", "", "a"])
TYPES = st.sampled_from(
    ["conflict_zone", "town", "camp", "idpcamp", "forwarding_hub", "marker", "default",
     "flood_zone", "Town", "volcano", ""]
)  # fmt: skip
INTS = st.one_of(
    st.integers(-2, 400), st.sampled_from(["", "x", "1.5", str(10**15), str(10**16), "-1"])
)
FLOATS = st.one_of(
    st.floats(-10, 1e4, allow_nan=False).map(lambda v: f"{v:g}"),
    st.sampled_from(["", "nan", "inf", "1e999", "0", "-0.0", "abc"]),
)
CELLS = {"name": NAMES, "type": TYPES, "int": INTS.map(str), "float": FLOATS, "date": DATES}
# Column specifications: flee-model.md §2.1-§2.7 (flee_reader's _LOC_COLUMNS and the others).
LOCATION_COLUMNS = ("name", "name", "name", "float", "float", "type", "int", "int")
ROUTE_COLUMNS = ("name", "name", "float", "int")
CLOSURE_KINDS = st.sampled_from(
    ["country", "location", "link", "camp", "remove_forced_redirection"]
)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@st.composite
def _row(draw: st.DrawFn, columns: tuple[str, ...]) -> list[str]:
    cells = [str(draw(CELLS[c])) for c in columns]
    cut = draw(st.sampled_from([len(cells)] * 8 + list(range(len(cells) + 1))))
    return cells[:cut] + (["1"] if draw(st.integers(0, 15)) == 0 else [])


@st.composite
def _settings(draw: st.DrawFn) -> str:
    schema = FleeSettings.model_json_schema()
    values = draw(from_schema(schema, schema))
    if not isinstance(values, dict):
        return yaml.safe_dump(values)
    sections: dict[str, dict[str, Any]] = {"move_rules": {}, "spawn_rules": {}, "optimisations": {}}
    for key, value in values.items():
        section = "optimisations" if key == "hasten" else "move_rules"
        kind = schema["properties"].get(key, {}).get("type")
        if kind == "boolean" and key not in ("avoid_short_stints", "start_on_foot"):
            section = "spawn_rules"
        sections[section][key] = value
    return yaml.safe_dump(sections)


@st.composite
def flee_case(draw: st.DrawFn) -> dict[str, str]:
    """Every file of a Flee case (relative path -> text), written from the column specs."""
    length = draw(st.integers(1, 8))
    locations = draw(st.lists(_row(LOCATION_COLUMNS), min_size=0, max_size=6))
    header = "#name,region,country,lat,lon,location_type,conflict_date,pop/cap"
    names = sorted({r[0] for r in locations if r}) or ["A"]
    routes = draw(st.lists(_row(ROUTE_COLUMNS), max_size=6))
    closures = draw(
        st.lists(
            st.tuples(CLOSURE_KINDS, NAMES, NAMES, INTS, INTS).map(lambda t: [str(v) for v in t]),
            max_size=2,
        )
    )
    width = draw(st.integers(0, len(names)))
    conflict_rows = [
        [str(day), *(str(draw(FLOATS)) for _ in range(width))]
        for day in range(draw(st.integers(0, length + 1)))
    ]
    series_names = ["total", *draw(st.lists(NAMES, max_size=4))]
    files = {
        "simsetting.yml": draw(_settings()),
        "input/sim_period.csv": _csv(
            [["StartDate", draw(DATES)], ["Length", str(draw(st.sampled_from([length, 0, -3])))]]
        ),
        "input/locations.csv": header + "\n" + _csv(locations),
        "input/routes.csv": "#name1,name2,distance,forced_redirection\n" + _csv(routes),
        "input/closures.csv": "#type,name1,name2,start,end\n" + _csv(closures),
        "input/conflicts.csv": _csv([["#Day", *names[:width]], *conflict_rows]),
        "observed/data_layout.csv": _csv(
            [[name, f"s{k}.csv"] for k, name in enumerate(series_names)]
        ),
    }
    if draw(st.booleans()):
        files["input/registration_corrections.csv"] = _csv(
            [[draw(NAMES), draw(DATES)] for _ in range(draw(st.integers(0, 2)))]
        )
    for k in range(len(series_names)):
        rows = draw(st.lists(st.tuples(DATES, INTS.map(str)), min_size=0, max_size=4))
        files[f"observed/s{k}.csv"] = _csv([["Date", "count"], *map(list, sorted(rows))])
    return files
