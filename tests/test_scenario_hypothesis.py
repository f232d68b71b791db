"""Property tests: whatever is in a scenario folder, the loader reports InputError/InputErrors
and nothing else (no KeyError, TypeError, RecursionError, pandas or YAML exceptions)."""

from __future__ import annotations

import copy
import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corridor.errors import InputError, InputErrors
from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.loader import load_scenario, validate_scenario
from scenario_fixtures import MINI, copy_scenario

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MINI_DATA: dict[str, Any] = yaml.safe_load((MINI / "scenario.yaml").read_text())
TABLE_FILES = ("arrivals.csv", "nationalities.csv", "grant_rates.csv", "hosts.csv", "costs.csv")


def _load_only_input_errors(
    folder: Path, overrides: dict[str, object] | None = None, also_validate: bool = False
) -> None:
    """Load ``folder``: it must either load or raise InputError/InputErrors; with
    ``also_validate``, validate_scenario must agree and return a list of InputError."""
    problems: list[InputError] | None = None
    try:
        loaded = load_scenario(folder, overrides)
    except InputErrors as exc:
        problems = exc.errors
        assert len(problems) >= 2
    except InputError as exc:
        problems = [exc]
    else:
        assert isinstance(loaded, LoadedScenario)
    for problem in problems or []:
        assert isinstance(problem, InputError)
        assert str(problem)
    failed = problems is not None
    if also_validate:
        errors = validate_scenario(folder)
        assert all(isinstance(e, InputError) for e in errors)
        assert bool(errors) == failed


# ---------------------------------------------------------------------------------------------
# scenario.yaml
# ---------------------------------------------------------------------------------------------
YAML_TOKENS = st.sampled_from(
    [
        "name:", "period:", "asylum:", "hubs:", "extends:", "  start:", "  end:", "  - ", "- ",
        "caseworkers:", "{", "}", "[", "]", ",", ":", "'", '"', "&a ", "*a", "!!int ", "!!binary ",
        "!!python/object ", "2024-02-30", "2024-01-01", "-1", "1e999", ".nan", "yes", "null",
        "~", "|", ">", "\t", "\n", "  ", "---\n", "...\n", "? ", "<<: *a", "%YAML 1.1\n", "#",
        "\x00", "\u2028", "é", "../", "..", "extends: .", "1:", "[1, 2]:",
    ]
)  # fmt: skip
yaml_ish = st.lists(YAML_TOKENS, max_size=40).map("".join)


def _write_yaml(raw: bytes, also_validate: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_scenario(Path(tmp))
        (folder / "scenario.yaml").write_bytes(raw)
        _load_only_input_errors(folder, also_validate=also_validate)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_yaml(text: str) -> None:
    _write_yaml(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(yaml_ish)
@example("!!int ")
@example("&a [*a]")
@example("a: &a {b: *a}")
def test_yaml_ish_text(text: str) -> None:
    _write_yaml(text.encode("utf-8", "surrogatepass"), also_validate=True)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_yaml(raw: bytes) -> None:
    _write_yaml(raw)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
PATHS: list[tuple[Any, ...]] = []


def _paths(obj: Any, path: tuple[Any, ...]) -> None:
    PATHS.append(path)
    if isinstance(obj, dict):
        for k, v in obj.items():
            _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _paths(v, (*path, i))


_paths(MINI_DATA, ())


def _mutate(data: Any, path: tuple[Any, ...], value: Any, mode: str) -> Any:
    if not path:
        return value if mode == "replace" else data
    parent = data
    for seg in path[:-1]:
        parent = parent[seg]
    last = path[-1]
    if mode == "replace":
        parent[last] = value
    elif mode == "delete":
        del parent[last]
    elif isinstance(parent, dict):  # add an unknown key beside it
        parent[f"unknown_{last}"] = value
    return data


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            values,
            st.sampled_from(["replace", "delete", "add"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_mappings(edits: list[tuple[tuple[Any, ...], Any, str]]) -> None:
    data: Any = copy.deepcopy(MINI_DATA)
    for path, value, mode in edits:
        try:
            data = _mutate(data, path, value, mode)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the place
    _write_yaml(yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "asylum.caseworkers", "hubs.0.beds", "hubs.5.beds", "deterrence.enabled",
                "asylum.productivity.0.value", "x", "", ".", "hubs..beds", "policies.0.set.a",
                "period.start", "costs.table", "arrivals", "hubs.-1.beds", "asylum.caseworkers.0",
            ]
        ),
        values,
        max_size=4,
    )
)  # fmt: skip
def test_random_overrides(overrides: dict[str, Any]) -> None:
    _load_only_input_errors(MINI, overrides)


# ---------------------------------------------------------------------------------------------
# CSV tables
# ---------------------------------------------------------------------------------------------
cell = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        ["", "2024-01", "2024-13", "2024-02-30", "Carvenia", "*", "1e400", "-0", "nan", "inf",
         "yes", "refused", "hotel_night", "source", "note", '"', ",", "\n", "\r", "\x00", " 1 "]
    ),
)  # fmt: skip


def _write_table(table: str, raw: bytes, also_validate: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_scenario(Path(tmp))
        (folder / table).write_bytes(raw)
        _load_only_input_errors(folder, also_validate=also_validate)


@SETTINGS
@given(
    st.sampled_from(TABLE_FILES),
    st.lists(st.lists(cell, max_size=7), max_size=6),
    st.booleans(),
)
def test_random_cells(table: str, rows: list[list[str]], keep_header: bool) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if keep_header:
        writer.writerow((MINI / table).read_text().splitlines()[0].split(","))
    writer.writerows(rows)
    _write_table(table, out.getvalue().encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.sampled_from(TABLE_FILES), st.data())
def test_truncated_and_spliced_tables(table: str, data: st.DataObject) -> None:
    raw = (MINI / table).read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    junk = data.draw(st.binary(max_size=20))
    raw = raw[:cut] + junk + data.draw(st.sampled_from([b"", raw[cut:]]))
    _write_table(table, raw)


@SETTINGS
@given(st.sampled_from(TABLE_FILES), st.sampled_from(["latin-1", "utf-16", "utf-32", "cp1252"]))
def test_other_encodings(table: str, encoding: str) -> None:
    text = (MINI / table).read_text() + "Dravos,2099-01-01,café,é,£\n"
    _write_table(table, text.encode(encoding, "replace"), also_validate=True)
