"""Reader for Flee's input format (djgroen/flee): settings, input CSVs and validation data.

Every rule here follows ``shared/research/flee-model.md``: §1.0 (settings and their code
defaults), §1.1 (set-up order), §1.3/§1.4 (location types, conflicts), §1.5 (spawning data),
§2 (all CSV formats) and §7.2 (quirks). Where Flee would crash, exit or silently misbehave on a
bad file, this reader raises :class:`~corridor.errors.InputError` naming the file, the 1-based
line, the field and what was expected. No other exception type escapes for bad input.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from corridor.errors import InputError
from corridor.scenario.flee_case import (
    CODE_DEFAULT_CONFLICT_WEIGHT,
    ConflictTable,
    FleeCase,
    FleeClosure,
    FleeLocation,
    FleeRoute,
    FleeSettings,
    ObservedData,
    ObservedSeries,
    classify_location,
)

__all__ = ["read_flee_case", "read_observed", "read_settings"]

_log = logging.getLogger(__name__)

_MAX_COUNT = 10**15  # far above any real population; keeps counts exact in float64 and int64
_LOC_COLUMNS = ("name", "region", "country", "x", "y", "location_type", "conflict_date", "pop/cap")
_ROUTE_COLUMNS = ("name1", "name2", "distance", "forced_redirection")
_CLOSURE_COLUMNS = ("closure_type", "name1", "name2", "closure_start", "closure_end")
# Flee classifies a location by substrings of its type (flee-model.md §1.3); a type with none of
# them (a typo, "volcano") silently becomes a location that everyone leaves, so it is refused.
_LOCATION_TYPES = (
    "conflict_zone",
    "town",
    "camp",
    "idpcamp",
    "forwarding_hub",
    "marker",
    "flood_zone",
    "default",
)
_TYPE_WORDS = ("conflict", "town", "camp", "forward", "marker", "flood_zone", "default")
_CLOSURE_KINDS = ("country", "location", "link", "camp", "idpcamp", "remove_forced_redirection")
_SECTIONS = ("log_levels", "spawn_rules", "move_rules", "optimisations")
_LOG_LEVELS = ("agent", "link", "camp", "init", "conflict", "idp_totals")  # Flee int()s these

# (section, yml key) -> (FleeSettings field, kind); names from SimulationSettings.ReadFromYML.
_MOVE_FLOATS = """max_move_speed max_walk_speed foreign_weight camp_weight conflict_weight
    conflict_movechance camp_movechance default_movechance idpcamp_movechance capacity_scaling
    capacity_buffer softening weight_softening weight_power distance_power pruning_threshold"""
_SPAWN_BOOLS = """take_from_population insert_day0 empty_camps_on_day0
    conflict_zone_spawning_only sum_from_camps"""
_SETTING_KEYS: dict[tuple[str, str], tuple[str, str]] = {
    **{("move_rules", k): (k, "float") for k in _MOVE_FLOATS.split()},
    ("move_rules", "awareness_level"): ("awareness_level", "int"),
    ("move_rules", "avoid_short_stints"): ("avoid_short_stints", "bool"),
    ("move_rules", "start_on_foot"): ("start_on_foot", "bool"),
    **{("spawn_rules", k): (k, "bool") for k in _SPAWN_BOOLS.split()},
    ("optimisations", "hasten"): ("hasten", "int"),
}


def _set(v: Any) -> bool:
    return v is not None


# Settings whose behaviour Corridor does not implement (flee-model.md §1.0, §7.2).
_UNSUPPORTED: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    ("move_rules", "awareness_level", lambda v: v > 1),
    ("move_rules", "avoid_short_stints", bool),
    ("move_rules", "start_on_foot", bool),
    ("move_rules", "pruning_threshold", lambda v: v > 1.001),
    ("move_rules", "two_system_decision_making", bool),
    ("move_rules", "stay_close_to_home", bool),
    ("move_rules", "fixed_routes", bool),
    ("move_rules", "use_v1_rules", bool),
    ("move_rules", "use_pop_for_loc_weight", bool),
    ("move_rules", "movechance_pop_scale_factor", lambda v: v not in (0, None)),
    ("move_rules", "flood_rules", _set),
    ("spawn_rules", "take_from_population", bool),
    ("spawn_rules", "conflict_driven_spawning", _set),
    ("spawn_rules", "conflict_spawn_decay", _set),
    ("spawn_rules", "flood_zone_spawning_only", bool),
    ("spawn_rules", "read_from_agents_csv_file", bool),
)


def _err(
    path: Path, line: int | None, col: str | None, msg: str, exp: str | None = None
) -> InputError:
    return InputError(msg, file=path, line=line, field=col, expected=exp)


# ---------------------------------------------------------------------------------------------
# simsetting.yml (§1.0)
# ---------------------------------------------------------------------------------------------
def read_settings(path: str | Path | None) -> FleeSettings:
    """Read Flee's ``simsetting.yml`` (flee-model.md §1.0) into :class:`FleeSettings`.

    ``None`` gives the published-run defaults (``FleeSettings()``). In a file, a missing key
    takes Flee's *code* default (``ReadFromYML``), so a missing ``conflict_weight`` is
    ``1/sqrt(10)``. Keys Flee does not read are ignored (logged at debug level). Wrong types,
    out-of-range values and settings Corridor does not implement raise :class:`InputError`.
    """
    if path is None:
        return FleeSettings()
    p = Path(path)
    sections, lines = _load_yaml_sections(p)
    values: dict[str, Any] = {"conflict_weight": CODE_DEFAULT_CONFLICT_WEIGHT}
    for sec_name, sec in sections.items():
        for key, raw in sec.items():
            where = (p, lines.get((sec_name, str(key))), f"{sec_name}.{key}")
            if (sec_name, key) in _SETTING_KEYS:
                fname, kind = _SETTING_KEYS[(sec_name, key)]
                values[fname] = _setting_value(raw, kind, where)
            elif sec_name == "log_levels" and key in _LOG_LEVELS:
                _setting_value(raw, "int", where)
            else:
                _log.debug("%s: %s.%s is not used by Corridor", p, sec_name, key)
    for sec_name, key, unsupported in _UNSUPPORTED:
        sec = sections.get(sec_name, {})
        if key in sec and unsupported(values.get(key, sec[key])):
            raise _err(
                p,
                lines.get((sec_name, key)),
                f"{sec_name}.{key}",
                f"this setting ({sec[key]!r}) is not supported by Corridor",
                "the key removed or set to Flee's default",
            )
    try:
        return FleeSettings(**values)
    except ValidationError as e:
        err = e.errors()[0]
        fname = str(err["loc"][0]) if err["loc"] else ""
        sk = next((sk for sk, (f, _) in _SETTING_KEYS.items() if f == fname), ("", fname))
        msg = f"value {values.get(fname)!r} is out of range: {err['msg']}"
        raise _err(p, lines.get(sk), ".".join(sk).strip("."), msg) from None


def _load_yaml_sections(p: Path) -> tuple[dict[str, dict[Any, Any]], dict[tuple[str, str], int]]:
    """The four sections Flee reads (others are ignored), and the line of each key."""
    text = _read_text(p)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        doc = loader.construct_document(node) if node is not None else None
        lines = _yaml_key_lines(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise _err(p, mark.line + 1 if mark else None, None, f"not valid YAML: {e}") from None
    except RecursionError:
        raise _err(p, None, None, "YAML nesting too deep") from None
    finally:
        loader.dispose()
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _err(p, 1, None, "the top level is not a mapping", "sections such as move_rules:")
    sections: dict[str, dict[Any, Any]] = {}
    for name, sec in doc.items():
        if name not in _SECTIONS:
            _log.debug("%s: ignoring %r, which Flee does not read", p, name)
        elif sec is not None and not isinstance(sec, dict):
            raise _err(p, lines.get((name, "")), name, "section is not a mapping", "key: value")
        else:
            sections[name] = sec or {}
    return sections, lines


def _yaml_key_lines(node: yaml.Node | None) -> dict[tuple[str, str], int]:
    """1-based lines of ``section`` (key ``""``) and ``section.key`` in a composed YAML tree."""
    out: dict[tuple[str, str], int] = {}
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            out[(str(knode.value), "")] = knode.start_mark.line + 1
            if isinstance(vnode, yaml.MappingNode):
                for k2, _ in vnode.value:
                    out[(str(knode.value), str(k2.value))] = k2.start_mark.line + 1
    return out


def _setting_value(raw: Any, kind: str, where: tuple[Path, int | None, str]) -> Any:
    """Convert one yml value as Flee's ``float()``/``int()``/``bool()`` would, but strictly."""
    if kind == "bool":
        if isinstance(raw, bool) or raw in (0, 1):
            return bool(raw)
    elif not isinstance(raw, bool) and isinstance(raw, int | float | str):
        try:
            f = float(raw)
            if math.isfinite(f) and (kind == "float" or f == int(f)):
                return f if kind == "float" else int(f)
        except (ValueError, OverflowError):
            pass
    exp = {"float": "a number", "int": "a whole number", "bool": "true or false"}[kind]
    raise _err(*where, f"value {raw!r} has the wrong type", exp)


# ---------------------------------------------------------------------------------------------
# CSV plumbing (§2, general rules)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    cells: tuple[str, ...]

    @property
    def comment(self) -> bool:
        return self.cells[0].startswith("#")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read_text(path: Path) -> str:
    """Whole file as text (UTF-8, optional BOM); a missing or unreadable file is an error."""
    if not _is_file(path):
        raise _err(path, None, None, "file not found", "an existing file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _err(path, None, None, f"cannot read file: {e.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _err(path, line, None, "not valid UTF-8 text", "UTF-8") from None


def _read_rows(path: Path) -> list[_Row]:
    """Rows as Python's csv module gives them (quotes stripped); blank lines are skipped."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    rows: list[_Row] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as e:
            raise _err(path, reader.line_num, None, f"malformed CSV: {e}") from None
        if cells and (len(cells) > 1 or cells[0].strip()):
            rows.append(_Row(start, tuple(cells)))


def _int(text: str, path: Path, line: int, col: str, exp: str = "a whole number") -> int:
    try:
        v = int(text)
    except ValueError:
        raise _err(path, line, col, f"{text!r} is not a whole number", exp) from None
    if abs(v) > _MAX_COUNT:
        raise _err(path, line, col, f"{text!r} is too large", f"at most {_MAX_COUNT}")
    return v


def _float(text: str, path: Path, line: int, col: str, exp: str = "a number") -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise _err(path, line, col, f"{text!r} is not a finite number", exp)
    return v


def _date(text: str, path: Path, line: int, col: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except (ValueError, OverflowError):
        raise _err(path, line, col, f"{text!r} is not a date", "YYYY-MM-DD") from None


def _missing_column(row: _Row, path: Path, columns: Sequence[str], need: int) -> InputError:
    col = columns[len(row.cells)]
    msg = f"row has {len(row.cells)} column(s); column '{col}' is missing"
    return _err(path, row.line, col, msg, f"at least these columns: {', '.join(columns[:need])}")


def _attributes(row: _Row, path: Path, first: int, names: Sequence[str]) -> dict[str, str]:
    """Attribute cells (index ``first`` and up), named by the '#' header rows (§2.1, §2.2)."""
    out: dict[str, str] = {}
    for i, value in enumerate(row.cells[first:]):
        col = f"column {first + i + 1}"
        if i >= len(names) and value.strip():
            raise _err(
                path,
                row.line,
                col,
                f"value {value!r} in a column with no name",
                "a '#' header row naming every attribute column",
            )
        if i < len(names) and names[i]:
            out[names[i]] = value
    return out


_Rules = Mapping[str, tuple[str, float, float]]


def _check_attrs(attrs: Mapping[str, str], row: _Row, path: Path, rules: _Rules) -> None:
    """Validate the numeric attributes Flee parses: kind "int"/"float", inclusive bounds."""
    for key, (kind, lo, hi) in rules.items():
        if key in attrs:
            exp = f"a {'whole ' if kind == 'int' else ''}number in [{lo:g}, {hi:g}]"
            parse = _int if kind == "int" else _float
            if not lo <= parse(attrs[key], path, row.line, key, exp) <= hi:
                raise _err(path, row.line, key, f"{attrs[key]!r} is out of range", exp)


_LOC_ATTRS: _Rules = {
    "capacity_per_day": ("int", 0, _MAX_COUNT),
    "initial_idps": ("int", 0, _MAX_COUNT),
    "conflict_intensity": ("float", 0, math.inf),
}
_ROUTE_ATTRS: _Rules = {
    "max_move_speed": ("float", 1e-9, math.inf),
    "walk_probability": ("float", 0, 1),
}


# ---------------------------------------------------------------------------------------------
# Input directory (§2.1-§2.5)
# ---------------------------------------------------------------------------------------------
def _read_locations(path: Path) -> tuple[FleeLocation, ...]:
    """``locations.csv`` (§2.1, §1.1 step 5). Population is kept unscaled (hasten not applied)."""
    attr_names: list[str] = []
    seen: dict[str, int] = {}
    out: list[FleeLocation] = []
    for row in _read_rows(path):
        if row.comment:
            attr_names.extend(row.cells[8:])  # as Flee: every '#' row with >8 cells adds names
            continue
        loc = _location(row, path, attr_names)
        if loc.name in seen:
            msg = f"duplicate location '{loc.name}' (first on line {seen[loc.name]})"
            raise _err(path, row.line, "name", msg, "unique location names")
        seen[loc.name] = row.line
        out.append(loc)
    if not out:
        raise _err(path, None, None, "no locations", "at least one location row")
    return tuple(out)


def _location(row: _Row, path: Path, attr_names: Sequence[str]) -> FleeLocation:
    c, line = row.cells, row.line
    if len(c) < 6:
        raise _missing_column(row, path, _LOC_COLUMNS, 6)
    if not c[0]:
        raise _err(path, line, "name", "empty location name", "a name")
    if not any(word in c[5].strip().lower() for word in _TYPE_WORDS):
        msg = f"unknown location type {c[5]!r}"
        raise _err(path, line, "location_type", msg, f"one of {', '.join(_LOCATION_TYPES)}")
    date_text = c[6] if len(c) > 6 else ""
    conflict_date: int | None = None
    if "conflict" in c[5].lower():
        exp = "a whole day number (required for conflict locations)"
        conflict_date = _int(date_text, path, line, "conflict_date", exp)
    elif date_text.strip():
        try:
            conflict_date = int(date_text)  # Flee never reads it for other types
        except ValueError:
            _log.debug("%s:%d: ignoring conflict_date %r", path, line, date_text)
    pop_text = c[7] if len(c) > 7 else ""
    pop = _int(pop_text, path, line, "pop/cap", "a whole number >= 0") if pop_text else 0
    if pop < 0:
        raise _err(path, line, "pop/cap", f"negative population {pop}", "a whole number >= 0")
    attrs = _attributes(row, path, 8, attr_names)
    _check_attrs(attrs, row, path, _LOC_ATTRS)
    return FleeLocation(
        name=c[0],
        region=c[1] or "unknown",
        country=c[2] or "unknown",
        x=_float(c[3], path, line, "x") if c[3] else 0.0,
        y=_float(c[4], path, line, "y") if c[4] else 0.0,
        location_type=c[5],
        conflict_date=conflict_date,
        pop_cap=pop,
        attributes=attrs,
        line=line,
    )


def _known(name: str, index: Mapping[str, Any], path: Path, line: int, col: str) -> str:
    if name not in index:
        exp = "a name from locations.csv (exact, case-sensitive)"
        raise _err(path, line, col, f"unknown location '{name}'", exp)
    return name


def _read_routes(path: Path, index: Mapping[str, int]) -> tuple[FleeRoute, ...]:
    """``routes.csv`` (§2.2); each row links both directions."""
    attr_names: list[str] = []
    out: list[FleeRoute] = []
    for row in _read_rows(path):
        c, line = row.cells, row.line
        if row.comment:
            attr_names.extend(c[4:])
            continue
        if len(c) < 3:
            raise _missing_column(row, path, _ROUTE_COLUMNS, 3)
        n1 = _known(c[0], index, path, line, "name1")
        n2 = _known(c[1], index, path, line, "name2")
        dist = _float(c[2], path, line, "distance", "a distance in km >= 0")
        if dist < 0:
            raise _err(path, line, "distance", f"negative distance {c[2]!r}", "a distance >= 0")
        fr_text = c[3] if len(c) > 3 else ""
        fr = _int(fr_text, path, line, "forced_redirection", "0, 1 or 2") if fr_text else 0
        attrs = _attributes(row, path, 4, attr_names)
        _check_attrs(attrs, row, path, _ROUTE_ATTRS)
        out.append(FleeRoute(n1, n2, dist, fr, attrs, line))
    if not out:  # Flee runs such a case, but nobody can move: always a mistake in the file
        raise _err(path, None, "name1", "no routes", "at least one row 'name1,name2,distance'")
    return tuple(out)


def _read_closures(path: Path, locations: Sequence[FleeLocation]) -> tuple[FleeClosure, ...]:
    """``closures.csv`` (§2.3, semantics §1.11); a missing file means no closures."""
    if not path.exists():
        return ()
    index = {loc.name: loc for loc in locations}
    countries = {loc.country: loc for loc in locations}
    out: list[FleeClosure] = []
    for row in _read_rows(path):
        c, line = row.cells, row.line
        if row.comment:
            continue
        if len(c) < 5:
            raise _missing_column(row, path, _CLOSURE_COLUMNS, 5)
        if c[0] not in _CLOSURE_KINDS:
            exp = " or ".join(_CLOSURE_KINDS)
            raise _err(path, line, "closure_type", f"unknown closure type {c[0]!r}", exp)
        if c[0] == "country":
            for col, name in (("name1", c[1]), ("name2", c[2])):
                if name not in countries:
                    exp = "a country from locations.csv"
                    raise _err(path, line, col, f"unknown country '{name}'", exp)
        else:  # location, camp and idpcamp ignore name2 (§1.11)
            _known(c[1], index, path, line, "name1")
            if c[0] in ("link", "remove_forced_redirection"):
                _known(c[2], index, path, line, "name2")
        start = _int(c[3], path, line, "closure_start", "a day number")
        end = _int(c[4], path, line, "closure_end", "a day number (-1: never)")
        out.append(FleeClosure(c[0], c[1], c[2], start, end, line))
    return tuple(out)


def _read_conflicts(path: Path, length: int, index: Mapping[str, int]) -> ConflictTable:
    """``conflicts.csv`` (§2.4, §1.4): required; the row index (not the day cell) is t."""
    rows = _read_rows(path)
    if not rows:
        raise _err(path, None, None, "empty file", "a header row '#Day,<names>...'")
    header, cols = rows[0], list[tuple[int, str]]()
    for i, cell in enumerate(rows[0].cells[1:], start=1):
        name = cell.strip()
        if name in {n for _, n in cols}:
            raise _err(path, header.line, name, f"duplicate column '{name}'", "each name once")
        if name:
            cols.append((i, name))
    unknown = [n for _, n in cols if n not in index]
    if unknown:
        _log.warning("%s: columns not in locations.csv are ignored: %r", path, unknown)
    if not cols:
        return ConflictTable((), np.zeros((length, 0), dtype=np.float64))
    width = len(header.cells)
    data: list[list[float]] = []
    for row in rows[1:]:
        c = row.cells
        if len(c) <= 1:
            continue  # Flee reads no value from such a row
        extra = [j for j in range(width, len(c)) if c[j].strip()]
        if extra:
            msg = f"value {c[extra[0]]!r} has no column name"
            raise _err(path, row.line, f"column {extra[0] + 1}", msg, f"{width} columns")
        missing = [n for i, n in cols if i >= len(c)]
        if missing:
            raise _err(path, row.line, missing[0], "missing value", f"{width} columns")
        data.append([_float(c[i].strip(), path, row.line, n, "an intensity") for i, n in cols])
    if len(data) < length:
        msg = f"only {len(data)} day rows, but sim_period.csv asks for {length} days"
        raise _err(path, rows[-1].line, "Day", msg, f"at least {length} data rows")
    return ConflictTable(tuple(n for _, n in cols), np.asarray(data, dtype=np.float64))


def _read_sim_period(path: Path) -> tuple[date, int]:
    """``sim_period.csv`` (§2.5): ``StartDate,YYYY-MM-DD`` and ``Length,N``, keys any case."""
    start: date | None = None
    length: int | None = None
    for row in _read_rows(path):
        key = row.cells[0].strip().lower()
        if key in ("startdate", "length") and len(row.cells) < 2:
            raise _err(path, row.line, row.cells[0], "missing value", "'<key>,<value>'")
        if key == "startdate":
            start = _date(row.cells[1], path, row.line, "StartDate")
        elif key == "length":
            exp = "a positive whole number of days"
            length = _int(row.cells[1], path, row.line, "Length", exp)
            if length < 1:
                raise _err(path, row.line, "Length", f"length {length}", exp)
    if start is None:
        raise _err(path, None, "StartDate", "no StartDate row", "a row 'StartDate,YYYY-MM-DD'")
    if length is None:
        raise _err(path, None, "Length", "no Length row", "a row 'Length,N'")
    return start, length


# ---------------------------------------------------------------------------------------------
# Validation data (§2.6, §2.7)
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Table:
    """One series while it is being built (an entry of Flee's ``DataTable.data_table``)."""

    name: str
    days: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def _read_series_file(path: Path, start: date, hasten: int) -> _Table:
    """One per-camp CSV (§2.7: ``ConvertCsvFileToNumPyTable`` and ``_processEntry``)."""
    t = _Table(path.name)
    for k, row in enumerate(_read_rows(path)):
        c, line = row.cells, row.line
        if k == 0 and (len(c) < 2 or not c[0] or c[0] in ("Date", "DateTime")):
            continue  # the only header rows Flee skips
        if len(c) < 2:
            continue
        if not c[0]:  # Flee fails on row[0][0]
            raise _err(path, line, "date", "empty date", "YYYY-MM-DD")
        if c[0][0] == "#" or c[1] == "":
            continue
        day = (_date(c[0], path, line, "date") - start).days
        count = _int(c[1], path, line, "count", "a whole number of people")
        if t.days and day < t.days[-1]:
            raise _err(path, line, "date", f"{c[0]} is earlier than the row before", "date order")
        t.days.append(day)
        t.values.append(count / hasten)
    if not t.days:
        raise _err(path, None, None, "no data rows", "rows 'YYYY-MM-DD,count'")
    return t


def _merge(t1: _Table, t2: _Table) -> None:
    """Flee's ``AddCSVTables`` (§2.7), reproduced exactly: not an interpolating sum."""
    days: list[int] = []
    vals: list[float] = []
    off, last, n1 = 0, 0.0, len(t1.days)
    for d2, v2 in zip(t2.days, t2.values, strict=True):
        while d2 > t1.days[off]:
            days.append(t1.days[off])
            vals.append(last + t1.values[off])
            if off == n1 - 1:
                break
            off += 1
        if d2 <= t1.days[off]:
            days.append(d2)
            vals.append(v2 + t1.values[off])
            if d2 == t1.days[off] and off < n1 - 1:
                off += 1
            last = v2
    t1.days, t1.values = days, vals


def _check_layout_names(rows: Sequence[_Row], layout: Path, camps: Collection[str]) -> None:
    """Every row after the total names a camp of locations.csv, once: Flee spawns the sum of
    all layout series, so an unknown or repeated name would silently change the population."""
    seen: dict[str, int] = {}
    for row in rows[1:]:
        name = row.cells[0]
        if name and name not in camps:
            msg = f"'{name}' is not a camp in locations.csv"
            exp = f"a camp name from locations.csv ({', '.join(sorted(camps)) or 'none'})"
            raise _err(layout, row.line, "name", msg, exp)
        if name in seen:
            msg = f"camp '{name}' again (first on line {seen[name]})"
            raise _err(layout, row.line, "name", msg, "each camp on one row")
        seen[name] = row.line


def _read_layout_row(row: _Row, layout: Path, start: date, hasten: int) -> _Table:
    """One ``data_layout.csv`` row: ``name, file1[, file2...]`` (§2.7)."""
    name, table = row.cells[0], _Table(row.cells[0])
    if not name:
        raise _err(layout, row.line, "name", "empty series name", "a camp name or 'total'")
    for k, fname in enumerate(row.cells[1:]):
        fpath, col = layout.parent / fname, f"file {k + 1}"
        if not fname or not _is_file(fpath):
            msg = f"file {fname!r} for '{name}' not found in {layout.parent}"
            raise _err(layout, row.line, col, msg, "an existing CSV file")
        extra = _read_series_file(fpath, start, hasten)
        if k == 0:
            table.days, table.values = extra.days, extra.values
        elif extra.days[0] > table.days[0]:  # Flee's AddCSVTables fails with an IndexError
            msg = f"{fname} starts after the series it is added to"
            raise _err(layout, row.line, col, msg, "a first date on or before the others'")
        else:
            _merge(table, extra)
    return table


def _apply_corrections(path: Path, tables: Sequence[_Table], start: date) -> None:
    """``registration_corrections.csv`` (§2.6, ``RefugeeTable.ReadL1Corrections``)."""
    by_name: dict[str, _Table] = {}
    for t in tables:
        by_name.setdefault(t.name, t)  # Flee's _find_headerindex returns the first match
    for row in _read_rows(path):
        if row.comment or len(row.cells) < 2:
            continue
        name, text = row.cells[0], row.cells[1]
        if name not in by_name:
            exp = "a series name from data_layout.csv"
            raise _err(path, row.line, "camp_name", f"'{name}' is not in data_layout.csv", exp)
        offset = (_date(text, path, row.line, "date") - start).days
        if offset >= 0:  # a date before the start is ignored
            _correct(by_name[name], offset, row, path)


def _correct(t: _Table, offset: int, row: _Row, path: Path) -> None:
    """Scale every row before each row dated ``offset`` by v[i]/v[i-1] (§2.6)."""
    matched = False
    for i, d in enumerate(t.days):
        if d == offset and i > 0:
            if t.values[i - 1] < 1:  # Flee exits here
                msg = f"the row before {row.cells[1]} in '{t.name}' is below 1"
                raise _err(path, row.line, "date", msg, "a previous value >= 1 to scale by")
            factor = t.values[i] / t.values[i - 1]
            t.values[:i] = [v * factor for v in t.values[:i]]
            matched = True
    if not matched:  # Flee fails with an UnboundLocalError
        msg = f"no data row of '{t.name}' is dated {row.cells[1]}"
        raise _err(path, row.line, "date", msg, "a date with its own row, not the first")
    if not all(abs(v) < 2.0**62 for v in t.values):
        raise _err(path, row.line, "date", "the correction makes the counts too large")


def read_observed(
    observed_dir: str | Path,
    start_date: date,
    hasten: int,
    corrections_file: Path | None,
    camps: Collection[str] | None = None,
) -> ObservedData:
    """Read ``data_layout.csv`` and its series (§2.7), then registration corrections (§2.6).

    Values are ``count / hasten``, days are offsets from ``start_date``. The layout's first row
    is the total, whatever its name. ``corrections_file`` may be ``None`` or not exist. With
    ``camps`` (the case's camp names), every later row must name one of them, each once.
    """
    layout = Path(observed_dir) / "data_layout.csv"
    if hasten < 1:
        raise _err(layout, None, "optimisations.hasten", f"hasten {hasten}", "hasten >= 1")
    rows = [row for row in _read_rows(layout) if len(row.cells) > 1 and not row.comment]
    if camps is not None:
        _check_layout_names(rows, layout, camps)
    tables = [_read_layout_row(row, layout, start_date, hasten) for row in rows]
    if not tables:
        raise _err(layout, None, None, "no series", "rows 'name,file.csv', the total first")
    if corrections_file is not None and corrections_file.exists():
        _apply_corrections(corrections_file, tables, start_date)
    series = [
        ObservedSeries(t.name, np.asarray(t.days, np.int64), np.asarray(t.values, np.float64))
        for t in tables
    ]
    return ObservedData(directory=Path(observed_dir), total=series[0], camps=tuple(series[1:]))


# ---------------------------------------------------------------------------------------------
# Whole case (§1.1)
# ---------------------------------------------------------------------------------------------
def read_flee_case(
    input_dir: str | Path,
    observed_dir: str | Path | None = None,
    settings: FleeSettings | str | Path | None = None,
) -> FleeCase:
    """Read a whole Flee case, in Flee's set-up order (§1.1).

    ``settings`` is a :class:`FleeSettings`, a path to ``simsetting.yml`` or ``None`` (the
    published-run defaults). With ``observed_dir``, the validation data are read with
    ``<input_dir>/registration_corrections.csv`` applied, and every camp must have a series.
    """
    inp = Path(input_dir)
    if not inp.is_dir():
        raise _err(inp, None, None, "input directory not found", "a directory")
    s = settings if isinstance(settings, FleeSettings) else read_settings(settings)
    start, length = _read_sim_period(inp / "sim_period.csv")
    locations = _read_locations(inp / "locations.csv")
    index = {loc.name: i for i, loc in enumerate(locations)}
    routes = _read_routes(inp / "routes.csv", index)
    closures = _read_closures(inp / "closures.csv", locations)
    conflicts = _read_conflicts(inp / "conflicts.csv", length, index)
    observed: ObservedData | None = None
    if observed_dir is not None:
        corrections = inp / "registration_corrections.csv"
        camps = [
            loc.name
            for loc in locations
            if classify_location(loc.location_type, loc.conflict_date, s).camp
        ]
        observed = read_observed(observed_dir, start, s.hasten, corrections, camps)
        _check_camps(locations, observed, s, inp / "locations.csv")
    return FleeCase(
        input_dir=inp,
        start_date=start,
        length=length,
        locations=locations,
        routes=routes,
        closures=closures,
        conflicts=conflicts,
        observed=observed,
        settings=s,
    )


def _check_camps(
    locations: Sequence[FleeLocation], observed: ObservedData, s: FleeSettings, path: Path
) -> None:
    """Every camp needs a data_layout.csv series, or Flee's ``get_field`` fails (§2.7)."""
    names = set(observed.names())
    for loc in locations:
        if loc.name in names or not classify_location(loc.location_type, loc.conflict_date, s).camp:
            continue
        layout = observed.directory / "data_layout.csv"
        msg = f"camp '{loc.name}' has no series in {layout}"
        if loc.name == observed.total.name:
            msg += " (its row is the first one, which Flee reserves for the total)"
        raise _err(path, loc.line, "name", msg, f"a row '{loc.name},<file>.csv' after the total")
