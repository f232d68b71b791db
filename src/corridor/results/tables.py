"""A run's results as Arrow tables: the form that crosses process boundaries and lands in Parquet.

A run gives four tables (:data:`TABLES`), converted from a
:class:`~corridor.asylum.result.ScenarioResult` by :func:`result_tables`:

==========  ===================================================================================
``stocks``  ``date`` (date32), ``nationality``, every ``n_<stage>`` (people at the end of the day)
``flows``   ``date``, ``nationality``, every ``new_<flow>`` (people that day)
``costs``   ``date``, ``item``, ``gbp`` (nominal pounds spent that day)
``events``  ``date``, ``nationality`` and per-day extras (``p_removal``, ``queue_decision``, ...)
==========  ===================================================================================

The run's ``meta`` (engine, seed, timings, ...) travels as JSON in the schema metadata of every
table under :data:`META_KEY`, so a ``dict[str, pyarrow.Table]`` is the whole result. In the
store each table gains a first column ``run_id`` (:func:`with_run_id`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS, ScenarioResult

__all__ = [
    "META_KEY",
    "TABLES",
    "empty_table",
    "result_tables",
    "table_meta",
    "to_result",
    "with_meta",
    "with_run_id",
]

TABLES: tuple[str, ...] = ("stocks", "flows", "costs", "events")
META_KEY = b"corridor.meta"

_KEYS: dict[str, tuple[tuple[str, pa.DataType], ...]] = {
    "stocks": (("date", pa.date32()), ("nationality", pa.string())),
    "flows": (("date", pa.date32()), ("nationality", pa.string())),
    "costs": (("date", pa.date32()), ("item", pa.string())),
    "events": (("date", pa.date32()), ("nationality", pa.string())),
}
_VALUES: dict[str, tuple[str, ...]] = {
    "stocks": STOCK_COLUMNS,
    "flows": FLOW_COLUMNS,
    "costs": ("gbp",),
    "events": (),
}


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def meta_json(meta: Mapping[str, Any]) -> str:
    """``meta`` as compact JSON (numpy scalars, dates and other objects made plain)."""
    return json.dumps(dict(meta), sort_keys=True, default=_json_default, allow_nan=True)


def empty_table(name: str, run_id: bool = False) -> pa.Table:
    """A table ``name`` with its declared columns and no rows (``run_id`` first if asked)."""
    fields = [pa.field(c, t) for c, t in _KEYS[name]]
    fields += [pa.field(c, pa.float64()) for c in _VALUES[name]]
    if run_id:
        fields.insert(0, pa.field("run_id", pa.string()))
    return pa.schema(fields).empty_table()


def _to_arrow(name: str, frame: pd.DataFrame | None) -> pa.Table:
    if frame is None:
        return empty_table(name)
    keys = dict(_KEYS[name])
    arrays: list[pa.Array] = []
    names: list[str] = []
    for col in frame.columns:
        values = frame[col]
        if col == "date":
            arr = pa.array(pd.to_datetime(values).dt.date.to_numpy(), type=pa.date32())
        elif col in keys:
            arr = pa.array(values.astype(object).to_numpy(), type=keys[col])
        else:
            arr = pa.array(values.to_numpy(dtype="float64"), type=pa.float64())
        arrays.append(arr)
        names.append(str(col))
    return pa.Table.from_arrays(arrays, names=names)


def result_tables(
    result: ScenarioResult, extra_meta: Mapping[str, Any] | None = None
) -> dict[str, pa.Table]:
    """The four tables of ``result``; ``result.meta`` (plus ``extra_meta``) in their metadata."""
    frames = {
        "stocks": result.stocks,
        "flows": result.flows,
        "costs": result.costs,
        "events": result.events,
    }
    tables = {name: _to_arrow(name, frames[name]) for name in TABLES}
    return with_meta(tables, {**result.meta, **(extra_meta or {})})


def with_meta(tables: Mapping[str, pa.Table], meta: Mapping[str, Any]) -> dict[str, pa.Table]:
    """``tables`` carrying ``meta`` (as JSON) in their schema metadata; missing declared
    tables (:data:`TABLES`) are added empty."""
    encoded = meta_json(meta).encode("utf-8")
    out = {name: tables.get(name, empty_table(name)) for name in TABLES}
    out.update({k: v for k, v in tables.items() if k not in out})
    return {k: t.replace_schema_metadata({META_KEY: encoded}) for k, t in out.items()}


def table_meta(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    """The run meta carried by ``tables`` (empty if none)."""
    for table in tables.values():
        raw = (table.schema.metadata or {}).get(META_KEY)
        if raw is not None:
            meta: dict[str, Any] = json.loads(raw)
            return meta
    return {}


def with_run_id(table: pa.Table, run_id: str) -> pa.Table:
    """``table`` with a first column ``run_id`` (and no schema metadata)."""
    plain = table.replace_schema_metadata(None)
    if "run_id" in plain.column_names:
        plain = plain.drop_columns(["run_id"])
    column = pa.repeat(pa.scalar(run_id, pa.string()), plain.num_rows)
    return plain.add_column(0, "run_id", column)


def to_result(tables: Mapping[str, pa.Table]) -> ScenarioResult:
    """A :class:`ScenarioResult` back from its tables (``run_id`` dropped, dates as datetime)."""

    def frame(name: str) -> pd.DataFrame:
        table = tables[name]
        if "run_id" in table.column_names:
            table = table.drop_columns(["run_id"])
        df: pd.DataFrame = table.replace_schema_metadata(None).to_pandas()
        if "date" in df.columns:
            df["date"] = pd.to_datetime(df["date"])
        return df

    events = frame("events") if "events" in tables else None
    return ScenarioResult(
        stocks=frame("stocks"),
        flows=frame("flows"),
        costs=frame("costs"),
        meta=table_meta(tables),
        events=events,
    )
