"""The dashboard's HTTP side: a FastAPI app over the results store and the job queue.

Endpoints (JSON unless said otherwise; see ``docs/dashboard.md``):

====================================  ===========================================================
``GET  /``, ``GET /runs/<id>``        the page (HTML); ``/runs/<id>`` opens a stored run
``GET  /static/...``                  the page's script and style, from the package
``GET  /api/health``                  ``{"ok": true, ...}`` and the queue's state
``GET  /api/scenarios``               shipped scenarios
``GET  /api/scenarios/<name>``        a scenario's levers and their status-quo values
``POST /api/overrides``               levers → overrides, validated (nothing is run)
``POST /api/runs``                    queue a run: 202 + job, 200 when already stored,
                                      422 bad levers, 413 body too large, 429 queue full
``GET  /api/jobs/<job id>``           a job's state and progress
``GET  /api/runs``                    recent stored runs and ensembles
``GET  /api/runs/<id>``               a stored ensemble (or run) against the status quo:
                                      monthly p10/p50/p90 bands and paired differences
====================================  ===========================================================

Security (:class:`Guard`, an ASGI middleware around everything): the ``Host`` header must name
the loopback address when the server listens there (no DNS rebinding); with a token every request
needs ``Authorization: Bearer <token>`` or ``?token=<token>``; request bodies are limited
(413) and POSTs must be JSON (415); responses carry a strict Content-Security-Policy. Ids from
requests are matched against strict patterns and looked up in the catalog before the store is
asked for files; scenarios are named, never given as paths.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from corridor.errors import CorridorError, InputError, InputErrors
from corridor.web.jobs import (
    JOB_ID,
    LEVERS,
    MODES,
    STATUS_QUO,
    Job,
    JobManager,
    JobSpec,
    QueueFull,
    Runner,
    RunRequest,
    canonical,
    levers_from_overrides,
    overrides_from_levers,
    scenario_info,
)

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["LOOPBACK_NAMES", "Settings", "check_bind", "create_app", "is_loopback"]

log = logging.getLogger(__name__)

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")  # the store's run-id rule
TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
QUANTILES = (0.1, 0.5, 0.9)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("n_awaiting_decision", "People awaiting an initial decision", "people"),
    ("cost_total", "Cost a month", "gbp"),
    ("n_in_hub", "People in hubs", "people"),
    ("cum_hub_transfers", "Transferred to hubs (running total)", "people"),
    ("n_limbo", "People in limbo (refused, not removable)", "people"),
    ("new_arrivals", "Arrivals a month", "people"),
)
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# ---------------------------------------------------------------------------------------------
# Settings and the bind rule
# ---------------------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token, or with a weak one."""
    if token is not None and not TOKEN.match(token):
        raise InputError(
            "the token must be 16 to 256 characters from A-Z a-z 0-9 . _ ~ -",
            field="--token",
            expected='e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    if not is_loopback(host) and token is None:
        raise InputError(
            f"refusing to listen on {host}: the dashboard would be open to the network without "
            "a token",
            field="--host",
            expected="--host 127.0.0.1 (the default), or --token T (or $CORRIDOR_TOKEN) so that "
            "every request must carry it",
        )


@dataclass(frozen=True)
class Settings:
    """How the dashboard serves (see ``corridor serve --help``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    results: Path | None = None  # None: $CORRIDOR_RESULTS or ./results
    workers: int = 1  # processes per job
    queue: int = 8  # jobs that may wait
    max_body: int = 64 * 1024
    max_replicates: int = 32
    isolate_jobs: bool = True  # run jobs in a process of their own (else in a thread)
    allowed_hosts: tuple[str, ...] | None = field(default=None)  # None: from host

    def hosts(self) -> tuple[str, ...] | None:
        """Host names the ``Host`` header may give (None: any, when a token guards)."""
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        if self.token is not None or not is_loopback(self.host):
            return None
        return tuple(dict.fromkeys((*LOOPBACK_NAMES, self.host.strip("[]").lower())))


# ---------------------------------------------------------------------------------------------
# The guard (pure ASGI: cheap, and sees every request, static files included)
# ---------------------------------------------------------------------------------------------
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """Host check, token check, body limit and security headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        max_body: int,
        allowed_hosts: tuple[str, ...] | None,
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def _reply(
        self, send: Callable[[Any], Awaitable[None]], status: int, detail: str, extra: Any = ()
    ) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *_SECURITY_HEADERS,
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, headers: dict[bytes, bytes], query: bytes) -> bool:
        assert self.token is not None
        given = headers.get(b"authorization", b"")
        if given[:7].lower() == b"bearer " and secrets.compare_digest(
            given[7:].strip(), self.token
        ):
            return True
        if b"token=" in query:
            values = parse_qs(query.decode("latin-1")).get("token", [])
            return any(secrets.compare_digest(v.encode("latin-1"), self.token) for v in values)
        return False

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets
        headers: dict[bytes, bytes] = {}
        for k, v in scope.get("headers", []):
            headers.setdefault(k.lower(), v)
        if self.allowed is not None:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed:
                await self._reply(send, 400, "unexpected Host header")
                return
        if self.token is not None and not self._authorised(headers, scope.get("query_string", b"")):
            await self._reply(
                send,
                401,
                "a token is needed: Authorization: Bearer <token>, or ?token=<token>",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        method = scope.get("method", "GET")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if method == "POST" and ctype != b"application/json":
                await self._reply(send, 415, "send JSON (Content-Type: application/json)")
                return
            length = headers.get(b"content-length")
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    await self._reply(send, 400, "bad Content-Length")
                    return
                if declared > self.max_body:
                    await self._reply(
                        send, 413, f"request body over {self.max_body} bytes ({declared})"
                    )
                    return
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    await self._reply(send, 413, f"request body over {self.max_body} bytes")
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        async def send_secure(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_secure)


# ---------------------------------------------------------------------------------------------
# Reading the store: a catalog snapshot and cached views
# ---------------------------------------------------------------------------------------------
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
        self._bytes: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._recent: dict[tuple[int, str | None], tuple[int, list[dict[str, Any]]]] = {}

    def view_json(self, rid: str) -> bytes | None:
        """:meth:`view` as JSON bytes, cached until the catalog changes."""
        version = self.catalog.snapshot()[1]
        with self._lock:
            hit = self._bytes.get(rid)
            if hit is not None and hit[0] == version:
                self._bytes.move_to_end(rid)
                return hit[1]
        got = self.view(rid)
        if got is None:
            return None
        data = json.dumps(got, separators=(",", ":"), allow_nan=False).encode()
        with self._lock:
            self._bytes[rid] = (version, data)
            while len(self._bytes) > 4 * self.size:
                self._bytes.popitem(last=False)
        return data

    # -- which runs ------------------------------------------------------------------------------
    def select(self, rid: str) -> Selection | None:
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
        policies = list(dict.fromkeys(rows["policy"]))
        own: dict[str, dict[str, Any]] = {}
        for p in policies:
            r = rows[rows["policy"] == p].iloc[0]
            own[p] = _own_overrides(r["overrides_json"], r["params_json"])
        policy = next((p for p in policies if own[p]), policies[0])
        lv = rows[rows["policy"] == policy].sort_values(["replicate", "run_id"])
        overrides = own[policy]
        first = lv.iloc[0]
        seeds = tuple(int(s) for s in lv["seed"].fillna(-1))
        sq_rows: pd.DataFrame | None = None
        sq_id: str | None = None
        if not overrides:
            sq_rows, sq_id = lv, rid
        else:
            same = [p for p in policies if p != policy and not own[p]]
            if same:
                sq_rows = rows[rows["policy"] == same[0]]
                sq_id = rid
            else:
                sq_rows, sq_id = self._find_status_quo(df, first, set(lv["run_id"]), seeds)
        sq_sorted = (
            None
            if sq_rows is None
            else sq_rows.sort_values(["replicate", "run_id"], na_position="last")
        )
        return Selection(
            id=rid,
            kind=kind,
            scenario=str(first["scenario"]),
            scenario_hash=str(first["scenario_hash"]),
            engine=str(first["engine"]),
            policy=str(policy),
            overrides=overrides,
            levers=tuple(lv["run_id"]),
            levers_seeds=seeds,
            status_quo=() if sq_sorted is None else tuple(sq_sorted["run_id"]),
            status_quo_seeds=()
            if sq_sorted is None
            else tuple(int(s) for s in sq_sorted["seed"].fillna(-1)),
            status_quo_id=sq_id,
        )

    def _find_status_quo(
        self, df: pd.DataFrame, first: Any, exclude: set[str], seeds: tuple[int, ...]
    ) -> tuple[pd.DataFrame | None, str | None]:
        """Runs of the same scenario and engine without overrides, on the same seeds (the
        largest such group, the latest on ties)."""
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
            not _own_overrides(o, p)
            for o, p in zip(cand["overrides_json"], cand["params_json"], strict=True)
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
            for side, (ids, seeds) in sides.items():
                wide = series(self.store, name, list(ids), "month")
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
                "label": label,
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
        return {"dates": dates or [], "series": out_series, "summary": summary}

    def view(self, rid: str) -> dict[str, Any] | None:
        """The view of ensemble or run ``rid`` (None when the store has no such id)."""
        sel = self.select(rid)
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
        return {
            "id": sel.id,
            "kind": sel.kind,
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
            "share_url": f"/runs/{sel.id}",
            "metrics": [{"name": n, "label": lab, "unit": u} for n, lab, u in METRICS],
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
                n=("run_id", "count"),
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
            out.append(
                {
                    "id": str(gid),
                    "kind": "run" if pd.isna(r["kind"]) else "ensemble",
                    "scenario": r["scenario"],
                    "engine": r["engine_"],
                    "policy": r["policy"] or None,
                    "replicates": int(r["n"]),
                    "overrides": len(own),
                    "finished": None if pd.isna(finished) else pd.Timestamp(finished).isoformat(),
                    "url": f"/runs/{gid}",
                }
            )
        return out


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------
def _error_items(exc: Exception) -> list[dict[str, Any]]:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    items: list[dict[str, Any]] = []
    for e in errors:
        if isinstance(e, InputError):
            items.append(
                {
                    "message": e.message,
                    "field": e.field,
                    "expected": e.expected,
                    "file": Path(e.file).name if e.file else None,  # no server paths
                    "line": e.line,
                }
            )
        else:
            items.append({"message": str(e), "field": None, "expected": None})
    return items


def _unprocessable(exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": _error_items(exc)}, status_code=422)


class _Validation:
    """``check_scenario`` results by (scenario, overrides), most recent kept."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[InputError]] = OrderedDict()

    def errors(self, folder: Path, overrides: dict[str, Any]) -> list[InputError]:
        from corridor.scenario.loader import check_scenario

        key = canonical([str(folder), overrides])
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        got = check_scenario(folder, overrides).errors
        with self._lock:
            self._cache[key] = got
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return got


def _index_html(token: str | None) -> str:
    text = (files("corridor.web") / "static" / "index.html").read_text(encoding="utf-8")
    query = "" if token is None else "?token=" + escape(token, quote=True)
    return text.replace("{{Q}}", query)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    runner: Runner | None = None,
) -> FastAPI:
    """The dashboard app. ``store`` defaults to the store at ``settings.results``; jobs run
    in a job process (``settings.isolate_jobs``) or in a thread; ``runner`` replaces
    :func:`~corridor.web.jobs.run_job` (in a thread; tests)."""
    from corridor import __version__
    from corridor.results.store import Store

    settings = settings or Settings()
    check_bind(settings.host, settings.token)
    store = store if store is not None else Store.open(settings.results)
    catalog = Catalog(store)
    views = Views(store, catalog)
    validation = _Validation()

    def on_done(job: Job) -> None:
        catalog.invalidate()
        if job.run_id:
            views.view_json(job.run_id)  # warm the cache

    manager = JobManager(
        store,
        queue_size=settings.queue,
        runner=runner,
        isolate=settings.isolate_jobs,
        on_done=on_done,
    )
    page = _index_html(settings.token)

    def warm() -> None:  # read every shipped pack once, so the first page is quick
        from corridor.scenario.loader import shipped_scenarios

        for name in shipped_scenarios():
            with contextlib.suppress(Exception):
                scenario_info(name)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=warm, name="corridor-warm", daemon=True).start()
        manager.start()
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(
        title="Corridor dashboard",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.manager = manager
    app.state.store = store
    app.state.views = views
    app.state.settings = settings

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = [
            {
                "message": str(e.get("msg", "invalid")),
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
                "expected": None,
            }
            for e in exc.errors()[:20]
        ]
        return JSONResponse({"detail": items}, status_code=422)

    @app.exception_handler(InputError)
    async def _input_error(_: Request, exc: InputError) -> JSONResponse:
        return _unprocessable(exc)

    @app.exception_handler(InputErrors)
    async def _input_errors(_: Request, exc: InputErrors) -> JSONResponse:
        return _unprocessable(exc)

    # -- pages ---------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/runs/{rid}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(rid: str) -> Response:
        if not RUN_ID.match(rid):
            return JSONResponse({"detail": "not a run id"}, status_code=404)
        return HTMLResponse(page)

    app.mount("/static", StaticFiles(packages=[("corridor.web", "static")]), name="static")

    # -- API -----------------------------------------------------------------------------------
    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "queue": manager.stats()}

    @app.get("/api/scenarios")
    def scenarios() -> dict[str, Any]:
        from corridor.scenario.loader import shipped_scenarios

        out = []
        for name in shipped_scenarios():
            try:
                info = scenario_info(name)
            except Exception as exc:  # a pack that does not load is left out of the list
                log.warning("scenario %s is left out: %s", name, exc)
                continue
            out.append({"name": name, "description": info.loaded.scenario.description})
        return {"scenarios": out}

    @app.get("/api/scenarios/{name}")
    def scenario(name: str) -> Response:
        try:
            info = scenario_info(name)
        except CorridorError:
            return JSONResponse({"detail": f"no shipped scenario {name[:64]!r}"}, status_code=404)
        return JSONResponse(
            {
                **info.public(),
                "metrics": [{"name": n, "label": lab, "unit": u} for n, lab, u in METRICS],
                "max_replicates": settings.max_replicates,
            }
        )

    def _prepare(req: RunRequest) -> tuple[Any, dict[str, Any], int]:
        info = scenario_info(req.scenario)
        overrides = overrides_from_levers(info, req.levers)
        errors = validation.errors(info.folder, overrides)
        if errors:
            raise InputErrors(errors) if len(errors) > 1 else errors[0]
        n = 1
        if req.mode == "bands":
            if req.replicates > settings.max_replicates:
                raise InputError(
                    f"{req.replicates} replicates asked for",
                    field="replicates",
                    expected=f"at most {settings.max_replicates}",
                )
            n = req.replicates
        return info, overrides, n

    @app.post("/api/overrides")
    def preview(req: RunRequest) -> dict[str, Any]:
        info, overrides, n = _prepare(req)
        levers, _ = levers_from_overrides(info, overrides)
        return {
            "scenario": info.name,
            "overrides": overrides,
            "levers": levers.model_dump(mode="json"),
            "replicates": n,
        }

    def _stored(
        info: Any, overrides: dict[str, Any], engine: str, sample: str, n: int
    ) -> str | None:
        """The levers ensemble id when it and its status quo are already stored."""
        from corridor.analysis.ensemble import ensemble_id

        seed = info.loaded.scenario.seed
        sq = ensemble_id(info.content_hash, n, seed, {STATUS_QUO: {}}, engine, sample)
        lv = ensemble_id(info.content_hash, n, seed, {LEVERS: overrides}, engine, sample)
        want = [sq] if not overrides else [sq, lv]
        df = catalog.frame()
        counts = df[df["ensemble_id"].isin(want) & (df["status"] == "ok")]["ensemble_id"]
        have = counts.value_counts()
        if all(int(have.get(e, 0)) >= n for e in want):
            return lv if overrides else sq
        return None

    @app.post("/api/runs")
    def submit(req: RunRequest) -> Response:
        info, overrides, n = _prepare(req)
        engine, sample = MODES[req.mode]
        stored = _stored(info, overrides, engine, sample, n)
        if stored is not None:
            return JSONResponse(
                {"status": "done", "run_id": stored, "run_url": f"/runs/{stored}", "job": None},
                status_code=200,
            )
        spec = JobSpec(
            scenario=info.name,
            folder=str(info.folder),
            overrides=overrides,
            mode=req.mode,
            engine=engine,
            sample=sample,
            n=n,
            workers=settings.workers,
        )
        try:
            job, _new = manager.submit(spec)
        except QueueFull as exc:
            return JSONResponse(
                {"detail": str(exc), "retry_after": exc.retry_after},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        snap = manager.get(job.id) or {}
        return JSONResponse(
            {"status": snap.get("status", "queued"), "job": snap, "job_url": f"/api/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/api/jobs/{job.id}"},
        )

    @app.get("/api/jobs/{job_id}")
    async def job(job_id: str) -> Response:
        snap = manager.get(job_id) if JOB_ID.match(job_id) else None
        if snap is None:
            return JSONResponse({"detail": "no such job"}, status_code=404)
        return JSONResponse(snap)

    @app.get("/api/runs")
    def runs(
        limit: int = Query(30, ge=1, le=200),
        scenario: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
    ) -> dict[str, Any]:
        return {"runs": views.recent(limit, scenario)}

    @app.get("/api/runs/{rid}")
    def run_view(rid: str) -> Response:
        if not RUN_ID.match(rid):
            return JSONResponse({"detail": "not a run id"}, status_code=404)
        got = views.view_json(rid)
        if got is None:
            return JSONResponse({"detail": f"no stored run or ensemble {rid!r}"}, status_code=404)
        return Response(content=got, media_type="application/json")

    app.add_middleware(
        Guard,  # type: ignore[arg-type]
        token=settings.token,
        max_body=settings.max_body,
        allowed_hosts=settings.hosts(),
    )
    return app
