"""The content hash of a loaded scenario: what identifies its inputs exactly.

Reads: the validated :class:`~corridor.scenario.schema.Scenario` (after overrides, with its
network when it has one) and the bytes of the table files used (scenario tables by name,
network tables by name). Produces: :func:`content_hash`, a SHA-256 hex digest. Invariants: the
digest covers the model as canonical JSON (sorted keys, no spaces), then every table of
:data:`~corridor.scenario.loaded.TABLE_COLUMNS` in that order (its size and bytes, or
"absent"), then, for a scenario with a network, every network table of
:data:`~corridor.scenario.network.models.TABLES` in that order (its size and bytes, or
"inline"). Changing any of this changes every stored run's identity: keep it byte-stable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from corridor.scenario.loaded import TABLE_COLUMNS
from corridor.scenario.network import TABLES as NETWORK_TABLES
from corridor.scenario.schema import Scenario

__all__ = ["content_hash"]


def content_hash(
    scenario: Scenario, raws: Mapping[str, bytes], network_raws: Mapping[str, bytes]
) -> str:
    """The SHA-256 of ``scenario`` and of the bytes of its table files (``raws``, and
    ``network_raws`` for the network's CSV tables)."""
    has_network = scenario.network is not None
    digest = hashlib.sha256()
    dump = scenario.model_dump(mode="json", exclude=None if has_network else {"network"})
    model_json = json.dumps(dump, sort_keys=True, separators=(",", ":"), allow_nan=True)
    digest.update(b"scenario\0" + model_json.encode("utf-8"))
    for name in TABLE_COLUMNS:
        if name in raws:
            digest.update(f"\0table\0{name}\0{len(raws[name])}\0".encode())
            digest.update(raws[name])
        else:
            digest.update(f"\0table\0{name}\0absent\0".encode())
    for name in NETWORK_TABLES if has_network else ():
        content = network_raws.get(name)
        size = "inline" if content is None else str(len(content))
        digest.update(f"\0network\0{name}\0{size}\0".encode() + (content or b""))
    return digest.hexdigest()
