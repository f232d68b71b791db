"""Observed series and calendar periods for calibration.

Reads: observed-series CSV files (columns ``date``, ``metric``, ``value``, optional
``resolution`` and ``source``; the format is described in :mod:`corridor.analysis.calibrate`)
and the metric names of :meth:`ScenarioResult.totals()
<corridor.asylum.result.ScenarioResult.totals>`.

Produces: :func:`read_observed`, one row per observation with the period's first and last day;
:func:`prepare_observed`, those rows a run covers with the ``stock`` and ``fit`` (used in the
score) columns; :func:`period_values`, a simulated daily series by period.

Invariants: a stock ``n_*`` is compared at the *end* of its period, a flow ``new_*`` or a cost
``cost_*`` summed *over* it; an observation is used only if the run covers it (a flow's every
day, a stock's last day); periods start and end on normalized days; every mistake in a file is
an :class:`~corridor.errors.InputError` naming the file, line and field. Nothing here runs the
model or touches Optuna.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from corridor.errors import InputError

__all__ = [
    "RESOLUTIONS",
    "Resolution",
    "as_end_date",
    "known_metrics",
    "metric_is_stock",
    "parse_period",
    "period_end",
    "period_start",
    "period_values",
    "prepare_observed",
    "read_observed",
    "run_covers",
]

# The public module's logger, as before calibration was split into this package.
log = logging.getLogger("corridor.analysis.calibrate")

Resolution = Literal["month", "quarter", "year"]
RESOLUTIONS: tuple[str, ...] = ("month", "quarter", "year")
_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}


# ---------------------------------------------------------------------------------------------
# Metrics and periods
# ---------------------------------------------------------------------------------------------
def known_metrics() -> tuple[str, ...]:
    """Every column of ``ScenarioResult.totals()``: stocks, flows, ``cost_<item>``,
    ``cost_total``."""
    from corridor.asylum.params import COST_ITEMS
    from corridor.asylum.result import FLOW_COLUMNS, STOCK_COLUMNS

    costs = (*tuple(f"cost_{c}" for c in COST_ITEMS), "cost_total")
    return STOCK_COLUMNS + FLOW_COLUMNS + costs


def metric_is_stock(metric: str) -> bool:
    """Whether ``metric`` is a stock (taken at the end of a period) rather than a flow (summed)."""
    from corridor.asylum.result import STOCK_COLUMNS

    return metric in STOCK_COLUMNS


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_period(text: str | int | date) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    """The first and last day of the period a date names, and its kind (year, month or day).

    ``2024`` or ``"2024"`` is that year, ``"2024-06"`` that month, ``"2024-06-30"`` (or a
    :class:`datetime.date`) that day. Raises :class:`ValueError` on anything else.
    """
    if isinstance(text, date):
        ts = pd.Timestamp(text)
        return ts, ts, "day"
    m = _DATE_RE.match(str(text).strip())
    if not m:
        raise ValueError(f"not a date: {text!r}")
    y, mo, d = m.groups()
    if d is not None and mo is not None:
        ts = pd.Timestamp(date(int(y), int(mo), int(d)))
        return ts, ts, "day"
    if mo is not None:
        start = pd.Timestamp(date(int(y), int(mo), 1))
        return start, (start + pd.offsets.MonthEnd(0)).normalize(), "month"
    start = pd.Timestamp(date(int(y), 1, 1))
    return start, pd.Timestamp(date(int(y), 12, 31)), "year"


def period_start(ts: pd.Timestamp, resolution: str) -> pd.Timestamp:
    return pd.Timestamp(ts.to_period(_FREQ[resolution]).start_time).normalize()


def period_end(ts: pd.Timestamp, resolution: str) -> pd.Timestamp:
    return pd.Timestamp(ts.to_period(_FREQ[resolution]).end_time).normalize()


def period_values(daily: pd.Series, resolution: str, stock: bool) -> pd.Series:
    """A daily series by period (index: period start): a stock's last day, a flow's sum."""
    index = pd.DatetimeIndex(daily.index)
    keys = pd.DatetimeIndex(index.to_period(_FREQ[resolution]).start_time).normalize()
    grouped = daily.groupby(keys)
    out = grouped.last() if stock else grouped.sum()
    out.index = pd.DatetimeIndex(out.index).as_unit("ns")
    return out


def run_covers(
    start: pd.Series,
    end: pd.Series,
    stock: pd.Series,
    run_start: pd.Timestamp,
    run_end: pd.Timestamp,
) -> pd.Series:
    """Whether a run over ``[run_start, run_end]`` covers each period (a flow's every day, a
    stock's last day)."""
    last_in = (end >= run_start) & (end <= run_end)
    whole = (start >= run_start) & (end <= run_end)
    return last_in.where(stock, whole)


# ---------------------------------------------------------------------------------------------
# Observed series
# ---------------------------------------------------------------------------------------------
_OBS_COLUMNS = ("file", "line", "metric", "resolution", "start", "end", "value", "source")


def read_observed(files: Sequence[str | Path] | str | Path) -> pd.DataFrame:
    """Read observed-series CSV files (see the module docstring) into one table.

    Columns: ``file``, ``line``, ``metric``, ``resolution``, ``start`` and ``end`` (the period's
    first and last day), ``value``, ``source``; one row per observation, in file order.
    """
    paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files]
    if not paths:
        raise InputError("no observed series given", field="observed", expected="a CSV file")
    metrics = set(known_metrics())
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(_read_one(path, metrics))
    frame = pd.DataFrame(rows, columns=list(_OBS_COLUMNS))
    seen: dict[tuple[str, str, pd.Timestamp], tuple[str, int]] = {}
    for r in rows:
        key = (str(r["metric"]), str(r["resolution"]), pd.Timestamp(r["start"]))
        if key in seen:
            f0, l0 = seen[key]
            raise InputError(
                f"{key[0]} for the {key[1]} starting {key[2].date()} is also given at {f0}:{l0}",
                file=str(r["file"]),
                line=int(r["line"]),
                field="date",
                expected="one value per metric and period",
            )
        seen[key] = (str(r["file"]), int(r["line"]))
    return frame


def _read_one(path: Path, metrics: set[str]) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError("observed series file not found", file=path, expected="a CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path, expected="a UTF-8 CSV file") from exc
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise InputError("empty file", file=path, line=1, expected="a header: date,metric,value")
    cols = [h.strip().lower() for h in header]
    for need in ("date", "metric", "value"):
        if need not in cols:
            raise InputError(
                f"no column {need!r}",
                file=path,
                line=1,
                field=need,
                expected="columns date, metric, value (optional resolution, source)",
            )
    at: dict[str, int] = {
        c: cols.index(c) for c in ("date", "metric", "value", "resolution", "source") if c in cols
    }
    parsed: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = at.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        def bad(msg: str, fld: str, expected: str, line: int = line) -> InputError:
            return InputError(msg, file=path, line=line, field=fld, expected=expected)

        raw_date = cell("date")
        try:
            ts, _, kind = parse_period(raw_date)
        except ValueError:
            raise bad(
                f"not a date: {raw_date!r}", "date", "YYYY-MM or YYYY-MM-DD (or YYYY)"
            ) from None
        metric = cell("metric")
        if metric not in metrics:
            close = sorted(m for m in metrics if metric and metric.split("_")[-1] in m)[:4]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise bad(
                f"unknown metric {metric!r}{hint}",
                "metric",
                "a column of ScenarioResult.totals(), e.g. new_arrivals, new_decisions, "
                "n_awaiting_decision, cost_total",
            )
        raw_value = cell("value")
        try:
            value = float(raw_value)
        except ValueError:
            raise bad(f"not a number: {raw_value!r}", "value", "a number >= 0") from None
        if not math.isfinite(value) or value < 0:
            raise bad(
                f"value must be a finite number >= 0 (is {raw_value})", "value", "a number >= 0"
            )
        resolution = cell("resolution").lower()
        if resolution and resolution not in RESOLUTIONS:
            raise bad(f"unknown resolution {resolution!r}", "resolution", "month | quarter | year")
        parsed.append(
            {
                "file": str(path),
                "line": line,
                "metric": metric,
                "resolution": resolution,
                "ts": ts,
                "kind": kind,
                "value": value,
                "source": cell("source"),
            }
        )
    if not parsed:
        raise InputError("no observations in file", file=path, expected="rows of date,metric,value")
    _infer_resolution(parsed)
    out: list[dict[str, Any]] = []
    for p in parsed:
        res = p["resolution"]
        out.append(
            {
                "file": p["file"],
                "line": p["line"],
                "metric": p["metric"],
                "resolution": res,
                "start": period_start(p["ts"], res),
                "end": period_end(p["ts"], res),
                "value": p["value"],
                "source": p["source"],
            }
        )
    return out


def _infer_resolution(parsed: list[dict[str, Any]]) -> None:
    """Fill blank resolutions per metric (within one file): see the module docstring."""
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for p in parsed:
        if not p["resolution"]:
            by_metric.setdefault(p["metric"], []).append(p)
    for rows in by_metric.values():
        for p in rows:
            if p["kind"] == "year":
                p["resolution"] = "year"
            elif p["kind"] == "month":
                p["resolution"] = "month"
        days = [p for p in rows if not p["resolution"]]
        stamps = sorted({p["ts"] for p in days})
        gaps = [(b - a).days for a, b in itertools.pairwise(stamps)]
        median = float(np.median(gaps)) if gaps else 30.0
        res = "month" if median <= 45 else "quarter" if median <= 135 else "year"
        for p in days:
            p["resolution"] = res


def prepare_observed(
    observed: pd.DataFrame,
    run_start: pd.Timestamp,
    run_end: pd.Timestamp,
    fit_through: pd.Timestamp | None,
) -> pd.DataFrame:
    """Observations the run covers, with ``stock`` and ``fit`` (used in the score) columns."""
    obs = observed.copy()
    obs["stock"] = obs["metric"].map(metric_is_stock).astype(bool)
    covered = run_covers(obs["start"], obs["end"], obs["stock"], run_start, run_end)
    dropped = int((~covered).sum())
    if dropped:
        log.warning(
            "%d observation(s) outside the run %s..%s are not used",
            dropped,
            run_start.date(),
            run_end.date(),
        )
    obs = obs[covered].reset_index(drop=True)
    obs["fit"] = True if fit_through is None else obs["end"] <= fit_through
    if obs.empty or not obs["fit"].any():
        why = "the run covers none of them" if obs.empty else "none ends by fit_through"
        raise InputError(
            f"no observation to fit: {why}",
            field="observed",
            expected=f"observations within {run_start.date()}..{run_end.date()}",
        )
    return obs


def as_end_date(value: date | str | None) -> pd.Timestamp | None:
    """The last day of the period ``value`` names (``fit_through``); ``None`` stays ``None``."""
    if value is None:
        return None
    try:
        return parse_period(value)[1]
    except ValueError:
        raise InputError(
            f"not a date: {value!r}", field="fit_through", expected="YYYY-MM-DD, YYYY-MM or YYYY"
        ) from None
