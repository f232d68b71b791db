"""The JSON Schema of ``scenario.yaml`` (``corridor schema``), for editors and other tools.

Reads: the :class:`~corridor.scenario.schema.Scenario` models. Produces:
:func:`scenario_json_schema` (draft 2020-12, ``$id`` :data:`SCHEMA_ID`). Invariants: the
schema is the models' own, except that each network table may also be the name of a CSV file
and may be left out (read from ``<table>.csv``); its output is stable (same models, same bytes).
"""

from __future__ import annotations

from typing import Any

from corridor.scenario.network import TABLES as NETWORK_TABLES
from corridor.scenario.schema import Scenario

__all__ = ["SCHEMA_ID", "scenario_json_schema"]

SCHEMA_ID = "urn:corridor:scenario:1"


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``scenario.yaml`` (draft 2020-12), with a title and ``$id``."""
    schema = Scenario.model_json_schema()
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
    out["title"] = "Corridor scenario"
    net = out.get("$defs", {}).get("Network")
    if isinstance(net, dict):  # tables may name a CSV file, and may be left out for <table>.csv
        props = net.get("properties", {})
        for name in NETWORK_TABLES:
            if name in props:
                rows = props[name]
                props[name] = {
                    "title": rows.pop("title", name.title()),
                    "anyOf": [
                        rows,
                        {"type": "string", "description": "a CSV file in the scenario folder"},
                    ],
                }
        net.pop("required", None)
    out.setdefault(
        "description", "scenario.yaml of a Corridor scenario folder (see corridor.scenario.schema)"
    )
    return out
