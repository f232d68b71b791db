"""The levers of a scenario: every dotted path a policy can move, with its value, bounds and why.

Reads: a loaded scenario (its validated model and ``uncertain:`` priors, its hubs, and its
forecast's variants). Produces: :func:`lever_rows` — one row per lever: ``path``, ``value`` (the
scenario's own, the status quo), ``bounds`` (from the schema's constraints; for an uncertain
parameter its prior's range too), ``what`` (the schema's description) and ``source`` (the
prior's source, else the scenario's comment-level citation is in scenario.yaml); and
:func:`variant_rows` — each named variant with the levers it sets. ``corridor levers SCENARIO``
prints both.

The vocabulary is the one every policy uses (:mod:`corridor.forecast.levers`): the paths a dated
policy may set (:mod:`corridor.scenario.policy_paths`), each hub's fields, and on a forecast its
levers on the flows (French prevention, Montenegro's railway, EU return hubs).

Invariants: read-only; the rows follow the vocabulary's order.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from corridor.scenario.loaded import LoadedScenario
from corridor.scenario.policy_paths import HUB_POLICY_FIELDS, POLICY_PATHS

__all__ = ["FLOW_LEVERS", "lever_rows", "variant_rows"]

# Levers of a forecast that act on the flows (fields of a variant, see forecast_schema.Variant).
FLOW_LEVERS: dict[str, tuple[str, str]] = {
    "prevention_add": (
        "0 to 0.9",
        "points added to the share of Channel attempts French prevention stops, from"
        " variant.prevention_from (prevented people retry unless they give up)",
    ),
    "montenegro_rail": (
        "true / false",
        "Montenegro's railway from variant.rail_from: it changes the Western Balkans routes"
        " (the route network, fitted/route_effects.json)",
    ),
    "eu_return_hubs": (
        "true / false",
        "EU return hubs from forecast.eu_return_hubs.from_date: EU-bound flows fall, a share"
        " turns to the Channel",
    ),
    "add_hubs": ("hubs", "hubs added to the scenario's (schema Hub)"),
    "inadmissibility": ("rules", "inadmissibility rules added (schema Inadmissibility)"),
}


def _field(model: type[BaseModel], path: list[str]) -> Any:
    """The pydantic FieldInfo at ``path`` under ``model`` (None when not a plain field)."""
    info = None
    current: Any = model
    for part in path:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        ann = info.annotation
        args = getattr(ann, "__args__", ())
        current = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
    return info


def _bounds(info: Any) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for m in getattr(info, "metadata", []) or []:
        for name, attr in (("ge", "ge"), ("gt", "gt"), ("le", "le"), ("lt", "lt")):
            v = getattr(m, attr, None)
            if v is None:
                continue
            if name in ("ge", "gt"):
                lo, lo_open = v, name == "gt"
            else:
                hi, hi_open = v, name == "lt"
    if lo is None and hi is None:
        return "-"
    left = "-inf" if lo is None else f"{lo:g}"
    right = "inf" if hi is None else f"{hi:g}"
    return f"{'(' if lo_open else '['}{left}, {right}{')' if hi_open else ']'}"


def _value(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _show(value: Any) -> str:
    if isinstance(value, list):
        last = value[-1] if value else None
        if isinstance(last, dict) and "value" in last:
            return f"{last['value']:g} (schedule, {len(value)} steps; last shown)"
        return f"{len(value)} steps"
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def lever_rows(loaded: LoadedScenario) -> list[dict[str, str]]:
    """Every lever of the scenario (see the module docstring)."""
    from corridor.scenario.schema import Hub, Scenario

    sc = loaded.scenario
    data = sc.model_dump(mode="python")
    rows: list[dict[str, str]] = []
    for path in POLICY_PATHS:
        info = _field(Scenario, path.split("."))
        prior = sc.uncertain.get(path)
        bounds = _bounds(info)
        if prior is not None and prior.low is not None and prior.high is not None:
            bounds += f"; prior {prior.low:g} to {prior.high:g}"
        rows.append(
            {
                "path": path,
                "value": _show(_value(data, path)),
                "bounds": bounds,
                "what": str(getattr(info, "description", None) or ""),
                "source": prior.source if prior is not None else "scenario.yaml",
            }
        )
    for i, hub in enumerate(data.get("hubs") or []):
        for name in HUB_POLICY_FIELDS:
            info = Hub.model_fields.get(name)
            rows.append(
                {
                    "path": f"hubs.{hub['id']}.{name}",
                    "value": _show(hub.get(name)),
                    "bounds": _bounds(info),
                    "what": str(getattr(info, "description", None) or ""),
                    "source": str(sc.hubs[i].source or "scenario.yaml"),
                }
            )
    if sc.forecast is not None:
        for name, (bounds, what) in FLOW_LEVERS.items():
            rows.append(
                {
                    "path": f"variant.{name}",
                    "value": "off",
                    "bounds": bounds,
                    "what": what,
                    "source": "scenario.yaml forecast:",
                }
            )
    return rows


def variant_rows(loaded: LoadedScenario) -> list[dict[str, str]]:
    """Each variant: id, label, kind and the levers it sets (paths, and its flow levers)."""
    rows = []
    for v in loaded.scenario.variants:
        sets = [f"{k}={_brief(val)}" for k, val in v.levers.items()]
        dates = {"prevention_add": v.prevention_from, "montenegro_rail": v.rail_from}
        for name in FLOW_LEVERS:
            val = getattr(v, name)
            if val:
                when = dates.get(name)
                sets.append(f"variant.{name}={_brief(val)}" + (f" from {when}" if when else ""))
        rows.append(
            {
                "id": v.id,
                "label": v.label,
                "kind": v.kind
                + (" (hypothetical)" if v.hypothetical and v.kind != "hypothetical" else ""),
                "levers": "; ".join(sets) or "none (the status quo)",
            }
        )
    return rows


def _brief(value: Any) -> str:
    if isinstance(value, list):
        if value and all(isinstance(x, dict) for x in value):
            if "id" in value[0]:  # hubs added
                return ", ".join(str(x["id"]) for x in value)
            if "share" in value[0]:  # rules added
                return ", ".join(f"share {x['share']:g} from {x['from_date']}" for x in value)
            last = value[-1]
            return f"{last.get('status', last.get('value'))} from {last.get('date')}"
        return f"{len(value)} items"
    if isinstance(value, dict) and set(value) == {"from", "value"}:
        return f"{value['value']} from {value['from']}"
    return str(value)
