"""A scenario's forecast settings and variants, as the forecast runs them.

Reads: a scenario folder's ``scenario.yaml`` (its ``forecast:`` and ``variants:`` sections; the
schema is :mod:`corridor.scenario.forecast_schema`). Produces: :class:`FlagshipConfig`, the
forecast's settings with its variants (``variant(id)`` finds one, with a clear error naming the
known ids). A folder that still has a ``flagship.yaml`` (the layout before the forecast moved
into ``scenario.yaml``) gets a clear error naming the new keys.

Invariants: immutable; built from the validated scenario only.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from corridor.errors import InputError
from corridor.scenario.forecast_schema import (
    SERIES,
    Channel,
    DatedValue,
    EuReturnHubs,
    Forecast,
    SeriesSpec,
    Variant,
)
from corridor.scenario.loaded import LoadedScenario

__all__ = [
    "SERIES",
    "Channel",
    "DatedValue",
    "EuReturnHubs",
    "FlagshipConfig",
    "SeriesSpec",
    "Variant",
    "forecast_config",
    "has_forecast",
    "load_flagship",
]

OLD_FILE = "flagship.yaml"
_FORECAST_KEY = re.compile(r"^forecast\s*:", re.MULTILINE)


class FlagshipConfig(Forecast):
    """A scenario's forecast settings plus its variants."""

    variants: list[Variant]

    def variant(self, vid: str) -> Variant:
        for v in self.variants:
            if v.id == vid:
                return v
        raise InputError(
            f"no variant {vid!r}",
            field="variant",
            expected=", ".join(v.id for v in self.variants),
        )


def _refuse_old_layout(folder: Path) -> None:
    old = folder / OLD_FILE
    if old.is_file():
        raise InputError(
            f"{OLD_FILE} is no longer read: move its settings into scenario.yaml under a"
            " `forecast:` key (cutoff, backtest_cutoff, end, replicates, seed, engine, series,"
            " channel, eu_return_hubs, deterrence_elasticity, deterrence_from, fitted, ...) and"
            " its variants to a top-level `variants:` list, each variant's `asylum:` overrides"
            " renamed `levers:` (set from the forecast's start); then delete it",
            file=old,
        )


def has_forecast(folder: str | Path) -> bool:
    """Whether the scenario folder carries a forecast of its own (cheap: no loading; a folder
    with the old ``flagship.yaml`` counts, so that running it explains the new layout)."""
    path = Path(folder)
    if (path / OLD_FILE).is_file():
        return True
    yaml_file = path / "scenario.yaml"
    return yaml_file.is_file() and bool(_FORECAST_KEY.search(yaml_file.read_text("utf-8")))


def forecast_config(loaded: LoadedScenario) -> FlagshipConfig:
    """The forecast of a loaded scenario (an error if it has none)."""
    _refuse_old_layout(loaded.folder)
    sc = loaded.scenario
    if sc.forecast is None:
        raise InputError(
            "this scenario has no forecast",
            file=loaded.folder / "scenario.yaml",
            field="forecast",
            expected="a forecast: section (see the uk-balkans scenario)",
        )
    return FlagshipConfig(**dict(sc.forecast), variants=list(sc.variants))


def load_flagship(pack: Path) -> FlagshipConfig:
    """The forecast of the scenario in folder ``pack`` (loads it: errors name file, line and
    field). A job asks for it several times: the config of a folder whose files are unchanged
    (same names, sizes and modification times) is loaded once per process."""
    folder = Path(pack).resolve()
    _refuse_old_layout(folder)
    return _load_flagship(folder, _signature(folder))


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``folder``: relative path, size and modification time (ns)."""
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append((str(path.relative_to(folder)), st.st_size, st.st_mtime_ns))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _load_flagship(folder: Path, _signature: tuple[tuple[str, int, int], ...]) -> FlagshipConfig:
    from corridor.scenario.loader import load_scenario

    return forecast_config(load_scenario(folder))
