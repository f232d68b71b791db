"""Corridor: a simulator of migration corridors, asylum systems and third-country return hubs.

Corridor compares policies for whole populations. It holds no personal data; every output is an
aggregate count, rate or cost. See ``docs/model-card.md`` for what it is for and its limits.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
