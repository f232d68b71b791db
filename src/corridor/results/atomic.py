"""Moved to :mod:`corridor.atomic` (a bottom-layer utility, beside :mod:`corridor.errors`).

Kept only as a re-export for the callers in :mod:`corridor.flagship` that still import it from
here; import :mod:`corridor.atomic` instead. Remove once nothing imports this module.
"""

from __future__ import annotations

from corridor.atomic import atomic_path, write_json, write_text, write_with

__all__ = ["atomic_path", "write_json", "write_text", "write_with"]
