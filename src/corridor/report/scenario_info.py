"""The scenario behind each run of a report, found on disk: :class:`ScenarioInfo`.

Contract: reads scenario folders (``scenario.yaml`` and the tables, through
:func:`corridor.scenario.loader.check_scenario`); never the results store. A scenario is found
by its name among the shipped scenarios, or among the folders given with ``scenarios=``
(matched by the name they load as; one folder given for a report of one scenario is taken as
that scenario whatever its name). A scenario that cannot be found or loaded is not an error:
its :class:`ScenarioInfo` has ``loaded=None`` and ``problem`` says why, so the report can say
so and go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.errors import InputError

if TYPE_CHECKING:
    from corridor.report.run_groups import RunGroup
    from corridor.scenario.loaded import LoadedScenario

__all__ = ["ScenarioInfo", "scenario_infos"]


@dataclass
class ScenarioInfo:
    """A run's scenario as found on disk (``loaded`` is None when it could not be found)."""

    name: str
    loaded: LoadedScenario | None = None
    chain: list[Path] = field(default_factory=list)  # its folder, then the folders it extends
    table_files: dict[str, Path] = field(default_factory=dict)
    problem: str = ""


def _chain(folder: Path) -> list[Path]:
    import yaml

    out: list[Path] = []
    current: Path | None = folder.resolve()
    while current is not None and current not in out and len(out) < 32:
        out.append(current)
        try:
            data = yaml.safe_load((current / "scenario.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            break
        parent = data.get("extends") if isinstance(data, dict) else None
        current = (current / parent).resolve() if isinstance(parent, str) else None
    return out


def _scenario_info(name: str, explicit: Mapping[str, Path]) -> ScenarioInfo:
    from corridor.errors import CorridorError
    from corridor.scenario.loader import check_scenario, resolve_scenario

    info = ScenarioInfo(name)
    try:
        folder = explicit[name] if name in explicit else resolve_scenario(name)
    except InputError:
        info.problem = (
            f"scenario {name!r} is not a shipped scenario; give its folder with --scenario to "
            "include its assumptions"
        )
        return info
    try:
        check = check_scenario(folder)
    except CorridorError as exc:  # pragma: no cover - check_scenario collects problems
        info.problem = str(exc)
        return info
    if check.loaded is None:
        info.problem = f"scenario folder {folder} has problems: " + "; ".join(
            str(e) for e in check.errors[:3]
        )
        return info
    info.loaded = check.loaded
    info.chain = _chain(Path(folder))
    info.table_files = dict(check.table_files)
    return info


def scenario_infos(
    groups: Sequence[RunGroup], scenarios: Sequence[str | Path] | None
) -> dict[str, ScenarioInfo]:
    """The scenario of every group by name, in the order the groups first name them."""
    from corridor.scenario.loader import load_scenario

    explicit: dict[str, Path] = {}
    names = list(dict.fromkeys(g.scenario for g in groups))
    for ref in scenarios or []:
        loaded = load_scenario(ref)
        explicit[loaded.name] = loaded.folder
    if len(names) == 1 and len(explicit) == 1 and names[0] not in explicit:
        explicit[names[0]] = next(iter(explicit.values()))  # one scenario given for one run
    return {n: _scenario_info(n, explicit) for n in names}
