"""Which runs a report shows: the names given on the command line resolved to groups of runs.

Contract: reads only the results store's catalog (:meth:`~corridor.results.store.Store.runs`),
skipping runs whose status is not ``ok``. :func:`resolve_runs` returns one
:class:`RunGroup` per policy shown, in the order the names were given; each group's runs are
sorted by replicate then run id, and labels are unique across the groups (the ensemble or run id
is added where two would read the same). A name that matches nothing is an
:class:`~corridor.errors.InputError`.

What a name may be:

* a run id: that run;
* an ensemble id: all its runs, one group per policy (replicates give the bands);
* ``ENSEMBLE:POLICY`` or a policy name: that policy's replicates (a bare policy name takes the
  most recent ensemble that holds it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridor.errors import InputError

if TYPE_CHECKING:
    from corridor.results.store import Store

__all__ = ["RunGroup", "resolve_runs"]


@dataclass(frozen=True)
class RunGroup:
    """Runs shown as one policy: replicates of one ensemble policy, or one run.

    ``keys`` pair runs across groups (replicate numbers; positions when a run has none).
    """

    label: str
    run_ids: tuple[str, ...]
    keys: tuple[int, ...]
    seeds: tuple[int | None, ...]
    scenario: str
    scenario_hash: str | None
    engine: str
    ensemble_id: str | None = None
    policy: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""

    @property
    def n(self) -> int:
        return len(self.run_ids)


def _none(v: Any) -> Any:
    return None if v is None or (not isinstance(v, str) and bool(pd.isna(v))) else v


def _group(label: str, rows: pd.DataFrame) -> RunGroup:
    rows = rows.sort_values(["replicate", "run_id"], na_position="last").reset_index(drop=True)
    reps = [_none(r) for r in rows["replicate"]]
    keys = tuple(int(r) if r is not None else i for i, r in enumerate(reps))
    first = rows.iloc[0]
    try:
        overrides = json.loads(first["overrides_json"] or "{}")
    except (TypeError, ValueError):
        overrides = {}
    finished = _none(rows["finished_at"].max())
    return RunGroup(
        label=label,
        run_ids=tuple(str(r) for r in rows["run_id"]),
        keys=keys,
        seeds=tuple(None if _none(s) is None else int(s) for s in rows["seed"]),
        scenario=str(_none(first["scenario"]) or "?"),
        scenario_hash=_none(first["scenario_hash"]),
        engine=str(_none(first["engine"]) or "?"),
        ensemble_id=_none(first["ensemble_id"]),
        policy=_none(first["policy"]),
        overrides=overrides if isinstance(overrides, dict) else {},
        finished_at="" if finished is None else str(finished)[:16],
    )


def _by_policy(rows: pd.DataFrame, prefix: str = "") -> list[RunGroup]:
    out: list[RunGroup] = []
    pol = rows["policy"].fillna("")
    for name in dict.fromkeys(pol):
        sub = rows[pol == name]
        out.append(_group(prefix + (str(name) or "runs"), sub))
    return out


def resolve_runs(store: Store, refs: Sequence[str]) -> list[RunGroup]:
    """The groups of runs named by ``refs`` (run ids, ensemble ids, ``ENSEMBLE:POLICY`` or
    policy names), in the order given; :class:`InputError` for a name that matches nothing."""
    if not refs:
        raise InputError("no runs given", field="RUN", expected="a run id, ensemble id or policy")
    catalog = store.runs()
    if "status" in catalog.columns:
        catalog = catalog[catalog["status"].fillna("ok") == "ok"]
    groups: list[RunGroup] = []
    for ref in refs:
        if ref in set(catalog["run_id"]):
            row = catalog[catalog["run_id"] == ref]
            pol = _none(row["policy"].iloc[0])
            groups.append(_group(str(pol) if pol else str(row["scenario"].iloc[0]), row))
            continue
        ens = catalog[catalog["ensemble_id"] == ref]
        if len(ens):
            groups += _by_policy(ens)
            continue
        ens_id, sep, policy = ref.partition(":")
        if sep:
            rows = catalog[(catalog["ensemble_id"] == ens_id) & (catalog["policy"] == policy)]
        else:
            rows = catalog[catalog["policy"] == ref]
            if len(rows):
                latest = (
                    rows.groupby("ensemble_id", dropna=False)["finished_at"]
                    .max()
                    .sort_values(na_position="first")
                )
                rows = rows[rows["ensemble_id"] == latest.index[-1]]
        if len(rows):
            groups.append(_group(policy if sep else ref, rows))
            continue
        raise InputError(
            f"no run, ensemble or policy named {ref!r} in the results store {store.root}",
            field="RUN",
            expected="a run id or ensemble id (see `corridor runs`), ENSEMBLE:POLICY, or a "
            "policy name",
        )
    # Unique labels: add the ensemble or run id where two would read the same.
    seen: dict[str, int] = {}
    for g in groups:
        seen[g.label] = seen.get(g.label, 0) + 1
    out: list[RunGroup] = []
    for g in groups:
        if seen[g.label] > 1:
            tag = g.ensemble_id or g.run_ids[0]
            g = RunGroup(**{**g.__dict__, "label": f"{g.label} [{tag}]"})
        out.append(g)
    return out
