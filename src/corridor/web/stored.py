"""Stored runs as the dashboard shows them: a catalog snapshot, and cached views of an
ensemble (or run) against its status quo.

Contract
--------
Reads: the results store's catalog (:meth:`~corridor.results.store.Store.runs`, re-read at
most every few seconds or when invalidated after a job) and the monthly series of the runs a
view shows (:func:`corridor.analysis.summaries.series`). Produces: JSON-ready dicts, and
compact JSON bytes for ``GET /api/runs/<id>``: p10/p50/p90 bands per month of each metric in
:data:`METRICS` for the levers and the status quo, one scalar per metric and replicate
(the end value of a stock, the total of a flow) with paired differences, the levers the
overrides stand for, and the list of recent ensembles for ``GET /api/runs``. Invariants: an id
is matched against :data:`~corridor.web.guard.RUN_ID` and looked up in the catalog before any
series is read; the status quo of a run with overrides is the group of runs of the same
scenario content and engine, without overrides, on the same seeds (replicates are paired by
seed); caches are bounded and keyed by run ids or the catalog's version, so a new run is seen
once the catalog changes; one computation per view runs at a time. Nothing here writes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridor.errors import CorridorError, InputError
from corridor.web.guard import RUN_ID
from corridor.web.levers import LEVERS, MODES, STATUS_QUO, levers_from_overrides, scenario_info

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["METRICS", "Catalog", "Selection", "ViewError", "Views", "metrics_public"]

log = logging.getLogger(__name__)

QUANTILES = (0.1, 0.5, 0.9)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("n_awaiting_decision", "People awaiting an initial decision", "people"),
    ("cost_total", "Cost a month", "gbp"),
    ("n_in_hub", "People in hubs", "people"),
    ("cum_hub_transfers", "Transferred to hubs (running total)", "people"),
    ("n_limbo", "People in limbo (refused, not removable)", "people"),
    ("new_arrivals", "Arrivals a month", "people"),
)


SUMMARY_ENGINE = "flagship"  # the main job's summary run: extra tables only
BASELINE_POLICIES = ("status_quo", "baseline", "")


class ViewError(CorridorError):
    """A stored id that has no view (the message says why): answered 404."""


def _is_baseline(policy: str, own: dict[str, Any]) -> bool:
    return not own and policy in BASELINE_POLICIES


def _params(params_json: Any) -> dict[str, Any]:
    try:
        got = json.loads(params_json or "{}")
    except (TypeError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def metrics_public() -> list[dict[str, str]]:
    """:data:`METRICS` as the page reads them."""
    return [{"name": n, "label": lab, "unit": u} for n, lab, u in METRICS]


class Catalog:
    """The catalog as a DataFrame, re-read at most every ``ttl`` seconds or when invalidated."""

    def __init__(self, store: Store, ttl: float = 3.0) -> None:
        self.store = store
        self.ttl = ttl
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None
        self._at = 0.0
        self._print: tuple[Any, ...] = ()
        self.version = 0  # changes when the catalog's content does

    def invalidate(self) -> None:
        with self._lock:
            self._frame = None

    def frame(self) -> pd.DataFrame:
        return self.snapshot()[0]

    def snapshot(self) -> tuple[pd.DataFrame, int]:
        """The catalog and its version."""
        with self._lock:
            if self._frame is not None and time.monotonic() - self._at < self.ttl:
                return self._frame, self.version
        frame = self.store.runs()
        frame["policy"] = frame["policy"].fillna("")
        frame["group"] = frame["ensemble_id"].where(frame["ensemble_id"].notna(), frame["run_id"])
        stamp = (len(frame), tuple(frame["run_id"].tail(1)), str(frame["finished_at"].max()))
        with self._lock:
            if stamp != self._print:
                self._print = stamp
                self.version += 1
            self._frame, self._at = frame, time.monotonic()
            return frame, self.version


def _own_overrides(overrides_json: Any, params_json: Any) -> dict[str, Any]:
    """A run's policy overrides: its overrides less those that are its prior draw."""
    try:
        over = json.loads(overrides_json or "{}")
        params = json.loads(params_json or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(over, dict):
        return {}
    params = params if isinstance(params, dict) else {}
    missing = object()
    return {k: v for k, v in over.items() if params.get(k, missing) != v}


def _in_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Catalog rows by replicate (then run id; rows without a replicate last)."""
    return rows.sort_values(["replicate", "run_id"], na_position="last")


def _seeds(rows: pd.DataFrame) -> tuple[int, ...]:
    """The rows' seeds (-1 where none is recorded)."""
    return tuple(int(s) for s in rows["seed"].fillna(-1))


def _clean(x: Any) -> float | None:
    v = float(x)
    return float(f"{v:.6g}") if math.isfinite(v) else None


@dataclass(frozen=True)
class Selection:
    """The runs a view shows."""

    id: str
    kind: str  # ensemble | run
    scenario: str
    scenario_hash: str
    engine: str
    policy: str
    overrides: dict[str, Any]
    policies: tuple[str, ...]  # every policy of the ensemble (or the run's)
    status_quo_policy: str | None
    opened_from: str | None  # the summary run opened as this ensemble
    levers: tuple[str, ...]  # run ids
    levers_seeds: tuple[int, ...]
    status_quo: tuple[str, ...]
    status_quo_seeds: tuple[int, ...]
    status_quo_id: str | None


class Views:
    """Views of stored runs against the status quo, cached by their run ids."""

    def __init__(self, store: Store, catalog: Catalog, size: int = 128) -> None:
        self.store = store
        self.catalog = catalog
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, Any]] = (
            OrderedDict()
        )
        self._computing: dict[tuple[tuple[str, ...], tuple[str, ...]], threading.Lock] = {}
        self._bytes: OrderedDict[str, tuple[int, bytes]] = OrderedDict()  # id[?policy]
        self._recent: dict[tuple[int, str | None], tuple[int, list[dict[str, Any]]]] = {}

    def view_json(self, rid: str, policy: str | None = None) -> bytes | None:
        """:meth:`view` as JSON bytes, cached until the catalog changes."""
        version = self.catalog.snapshot()[1]
        key = rid if policy is None else f"{rid}?{policy}"
        with self._lock:
            hit = self._bytes.get(key)
            if hit is not None and hit[0] == version:
                self._bytes.move_to_end(key)
                return hit[1]
        got = self.view(rid, policy)
        if got is None:
            return None
        data = json.dumps(got, separators=(",", ":"), allow_nan=False).encode()
        with self._lock:
            self._bytes[key] = (version, data)
            while len(self._bytes) > 4 * self.size:
                self._bytes.popitem(last=False)
        return data

    # -- which runs ------------------------------------------------------------------------------
    def select(self, rid: str, policy: str | None = None) -> Selection | None:
        """The runs the view of ``rid`` shows (None: no such id; :class:`ViewError`: an id
        that has no view, or no policy ``policy``)."""
        if not RUN_ID.match(rid):
            return None
        df = self.catalog.frame()
        rows = df[(df["ensemble_id"] == rid) & (df["status"] == "ok")]
        kind = "ensemble"
        if rows.empty:
            rows = df[(df["run_id"] == rid) & (df["status"] == "ok")]
            kind = "run"
        if rows.empty:
            return None
        if kind == "run" and str(rows["engine"].iloc[0]) == SUMMARY_ENGINE:
            ens = str(_params(rows["params_json"].iloc[0]).get("ensemble_id") or "")
            got = self.select(ens, policy) if RUN_ID.match(ens) and ens != rid else None
            if got is None:
                raise ViewError(
                    f"{rid!r} is a main job's summary run (no monthly tables); its ensemble "
                    f"{ens or '(not named)'} is not in this store"
                )
            return dataclasses.replace(got, opened_from=rid)
        policies = list(dict.fromkeys(rows["policy"]))
        own: dict[str, dict[str, Any]] = {}
        for p in policies:
            r = rows[rows["policy"] == p].iloc[0]
            own[p] = _own_overrides(r["overrides_json"], r["params_json"])
        base = sorted((p for p in policies if _is_baseline(p, own[p])), key=BASELINE_POLICIES.index)
        if policy is not None:
            if policy not in policies:
                raise ViewError(
                    f"{kind} {rid!r} has no policy {policy!r} (it has: {', '.join(policies)})"
                )
            chosen = policy
        else:
            chosen = next((p for p in policies if p not in base), policies[0])
        lv = _in_order(rows[rows["policy"] == chosen])
        overrides = own[chosen]
        first = lv.iloc[0]
        seeds = _seeds(lv)
        sq_rows: pd.DataFrame | None = None
        sq_id: str | None = None
        if chosen in base:
            sq_rows, sq_id = lv, rid
        elif base:
            sq_rows, sq_id = rows[rows["policy"] == base[0]], rid
        else:
            sq_rows, sq_id = self._find_status_quo(df, first, set(lv["run_id"]), seeds)
        sq_sorted = None if sq_rows is None else _in_order(sq_rows)
        return Selection(
            id=rid,
            kind=kind,
            scenario=str(first["scenario"]),
            scenario_hash=str(first["scenario_hash"]),
            engine=str(first["engine"]),
            policy=str(chosen),
            overrides=overrides,
            policies=tuple(str(p) for p in policies),
            status_quo_policy=None if sq_sorted is None else str(sq_sorted["policy"].iloc[0]),
            opened_from=None,
            levers=tuple(lv["run_id"]),
            levers_seeds=seeds,
            status_quo=() if sq_sorted is None else tuple(sq_sorted["run_id"]),
            status_quo_seeds=() if sq_sorted is None else _seeds(sq_sorted),
            status_quo_id=sq_id,
        )

    def _find_status_quo(
        self, df: pd.DataFrame, first: Any, exclude: set[str], seeds: tuple[int, ...]
    ) -> tuple[pd.DataFrame | None, str | None]:
        """Status-quo runs (:func:`_is_baseline`) of the same scenario and engine on the same
        seeds (the largest such group, the latest on ties)."""
        cand = df[
            (df["scenario_hash"] == first["scenario_hash"])
            & (df["engine"] == first["engine"])
            & (df["status"] == "ok")
            & (~df["run_id"].isin(list(exclude)))
            & (df["seed"].isin(list(seeds)))
        ]
        if cand.empty:
            return None, None
        plain = [
            _is_baseline(str(pol), _own_overrides(o, p))
            for pol, o, p in zip(
                cand["policy"], cand["overrides_json"], cand["params_json"], strict=True
            )
        ]
        cand = cand[plain]
        if cand.empty:
            return None, None
        best = (
            cand.groupby("group")
            .agg(n=("seed", "nunique"), last=("finished_at", "max"))
            .sort_values(["n", "last"], ascending=False)
        )
        group = str(best.index[0])
        rows = cand[cand["group"] == group].drop_duplicates("seed")
        return rows, group

    # -- the numbers -----------------------------------------------------------------------------
    def _numbers(self, sel: Selection) -> dict[str, Any]:
        key = (sel.levers, sel.status_quo)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:  # one computation per view at a time; the others wait for its result
            with self._lock:
                hit = self._cache.get(key)
            if hit is None:
                hit = self._compute(sel)
                with self._lock:
                    self._cache[key] = hit
                    while len(self._cache) > self.size:
                        self._cache.popitem(last=False)
        with self._lock:
            self._computing.pop(key, None)
        return hit

    def _compute(self, sel: Selection) -> dict[str, Any]:
        from corridor.analysis.summaries import bands, paired, parse_metric, quantile_label, series

        labels = [quantile_label(q) for q in QUANTILES]
        sides = {LEVERS: (sel.levers, sel.levers_seeds)}
        if sel.status_quo and sel.status_quo != sel.levers:
            sides[STATUS_QUO] = (sel.status_quo, sel.status_quo_seeds)
        dates: list[str] | None = None
        out_series: dict[str, dict[str, Any]] = {}
        summary: list[dict[str, Any]] = []
        for name, label, unit in METRICS:
            metric = parse_metric(name)
            per_side: dict[str, Any] = {}
            scalars: dict[str, pd.Series] = {}
            try:
                wides = {
                    side: series(self.store, name, list(ids), "month")
                    for side, (ids, _) in sides.items()
                }
            except InputError as exc:  # a metric these runs do not keep: shown as missing
                log.info("metric %s of %s: %s", name, sel.id, exc)
                out_series[name] = {STATUS_QUO: None, LEVERS: None}
                summary.append(
                    {"metric": name, "label": label, "unit": unit, "scalar": None,
                     LEVERS: None, STATUS_QUO: None, "diff": None, "missing": True}
                )  # fmt: skip
                continue
            for side, (_ids, seeds) in sides.items():
                wide = wides[side]
                if dates is None:
                    dates = [d.strftime("%Y-%m") for d in wide.index]
                b = bands(wide, QUANTILES)
                per_side[side] = {lab: [_clean(v) for v in b[lab]] for lab in labels}
                last = wide.iloc[-1] if metric.kind == "stock" else wide.sum(axis=0)
                scalars[side] = pd.Series(last.to_numpy(dtype=float), index=list(seeds))
            if STATUS_QUO not in sides and sel.status_quo:  # no overrides: the same runs
                per_side[STATUS_QUO] = per_side[LEVERS]
                scalars[STATUS_QUO] = scalars[LEVERS]
            out_series[name] = {STATUS_QUO: per_side.get(STATUS_QUO), LEVERS: per_side[LEVERS]}
            row: dict[str, Any] = {
                "metric": name,
                # a flow's row is its total over the period: "Cost", not "Cost a month"
                "label": label if metric.kind == "stock" else label.removesuffix(" a month"),
                "unit": unit,
                "scalar": "at the end" if metric.kind == "stock" else "over the period",
                STATUS_QUO: None,
                "diff": None,
            }
            for side, values_s in scalars.items():
                values = values_s.to_numpy(dtype=float)
                qs = pd.Series(values).quantile(list(QUANTILES)).to_numpy()
                row[side] = {lab: _clean(v) for lab, v in zip(labels, qs, strict=True)}
                row[side]["n"] = len(values)
            if STATUS_QUO in scalars:
                cmp = paired(
                    scalars[STATUS_QUO],
                    scalars[LEVERS],
                    metric=name,
                    policy_a=STATUS_QUO,
                    policy_b=LEVERS,
                    quantiles=QUANTILES,
                )
                row["diff"] = {
                    **{k: _clean(v) for k, v in cmp.quantiles.items()},
                    "mean": _clean(cmp.mean_diff),
                    "n": cmp.n,
                }
            summary.append(row)
        if dates is None:
            raise InputError(f"no metric of {sel.id!r} can be read", field="runs")
        return {"dates": dates, "series": out_series, "summary": summary}

    def view(self, rid: str, policy: str | None = None) -> dict[str, Any] | None:
        """The view of ensemble or run ``rid`` (None when the store has no such id), showing
        its policy ``policy`` (default: the first that is not a status quo)."""
        sel = self.select(rid, policy)
        if sel is None:
            return None
        numbers = self._numbers(sel)
        levers: dict[str, Any] | None = None
        extra: dict[str, Any] = dict(sel.overrides)
        pack_changed = None
        shipped = None
        try:
            info = scenario_info(sel.scenario)
        except CorridorError:  # not a shipped scenario: no levers, the overrides are shown
            info = None
        except Exception:  # a shipped pack that does not load: the numbers still show
            log.exception("scenario %s", sel.scenario)
            info = None
        if info is not None:
            shipped = info.name
            pack_changed = info.content_hash != sel.scenario_hash
            lev, extra = levers_from_overrides(info, sel.overrides)
            levers = lev.model_dump(mode="json")
        mode = next((m for m, (eng, _) in MODES.items() if eng == sel.engine), sel.engine)
        fc = None if info is None else info.forecast
        if fc is not None:  # a forecast runs with its own engine: modes differ by replicates
            mode = "bands" if len(sel.levers) > 1 else "quick"

        def label(pol: str) -> str:
            if fc is not None and fc.label(pol):
                return str(fc.label(pol))
            return {LEVERS: "With levers", STATUS_QUO: "Status quo"}.get(pol, pol)

        several = len([p for p in sel.policies if p != sel.status_quo_policy]) > 1
        share = f"/runs/{sel.id}" + (f"?policy={sel.policy}" if several else "")
        variant = sel.policy if fc is not None and fc.has_variant(sel.policy) else None
        return {
            "id": sel.id,
            "kind": sel.kind,
            "opened_from": sel.opened_from,
            "forecast": fc is not None,
            "variant": variant if variant != STATUS_QUO else None,
            "policy_label": label(sel.policy)
            + (" + levers" if fc is not None and variant and sel.overrides else ""),
            "policies": [
                {"id": p, "label": label(p), "status_quo": p == sel.status_quo_policy}
                for p in sel.policies
            ],
            "status_quo_policy": sel.status_quo_policy,
            "scenario": shipped,
            "scenario_name": sel.scenario,
            "scenario_hash": sel.scenario_hash,
            "pack_changed": pack_changed,
            "engine": sel.engine,
            "mode": mode,
            "replicates": len(sel.levers),
            "policy": sel.policy,
            "overrides": sel.overrides,
            "extra_overrides": extra,
            "levers": levers,
            "status_quo_id": sel.status_quo_id,
            "status_quo_replicates": len(sel.status_quo),
            "has_status_quo": bool(sel.status_quo),
            "share_url": share,
            "metrics": metrics_public(),
            **numbers,
        }

    def recent(self, limit: int, scenario: str | None) -> list[dict[str, Any]]:
        """The latest ``limit`` ensembles (and lone runs), cached until the catalog changes."""
        df, version = self.catalog.snapshot()
        key = (limit, scenario)
        with self._lock:
            hit = self._recent.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        got = self._recent_rows(df, limit, scenario)
        with self._lock:
            if len(self._recent) > 256:
                self._recent.clear()
            self._recent[key] = (version, got)
        return got

    def _recent_rows(
        self, df: pd.DataFrame, limit: int, scenario: str | None
    ) -> list[dict[str, Any]]:
        df = df[df["status"] == "ok"]
        if scenario is not None:
            df = df[df["scenario"] == scenario]
        if df.empty:
            return []
        grouped = (
            df.groupby("group", sort=False)
            .agg(
                scenario=("scenario", "first"),
                engine_=("engine", "first"),  # not "engine": agg() has such an argument
                policy=("policy", "first"),
                policies=("policy", "nunique"),
                n=("run_id", "count"),
                reps=("replicate", "nunique"),
                finished=("finished_at", "max"),
                overrides=("overrides_json", "first"),
                params=("params_json", "first"),
                kind=("ensemble_id", "first"),
            )
            .sort_values("finished", ascending=False)
            .head(limit)
        )
        out: list[dict[str, Any]] = []
        for gid, r in grouped.iterrows():
            own = _own_overrides(r["overrides"], r["params"])
            finished = r["finished"]
            kind = "run" if pd.isna(r["kind"]) else "ensemble"
            url = f"/runs/{gid}"
            ensemble: str | None = None
            replicates = int(r["reps"]) if kind == "ensemble" and r["reps"] else int(r["n"])
            if r["engine_"] == SUMMARY_ENGINE:  # the main job's summary: open its ensemble
                kind = "summary"
                params = _params(r["params"])
                got = str(params.get("ensemble_id") or "")
                ensemble = got if RUN_ID.match(got) else None
                url = f"/runs/{ensemble}" if ensemble else url
                replicates = int(params.get("replicates") or 0) or replicates
                own = {}
            out.append(
                {
                    "id": str(gid),
                    "kind": kind,
                    "scenario": r["scenario"],
                    "engine": r["engine_"],
                    "policy": r["policy"] or None,
                    "policies": int(r["policies"])
                    if kind != "summary"
                    else len(str(r["policy"]).split(",")),
                    "replicates": replicates,
                    "overrides": len(own),
                    "finished": None if pd.isna(finished) else pd.Timestamp(finished).isoformat(),
                    "url": url,
                    "ensemble_id": ensemble,
                }
            )
        return out
