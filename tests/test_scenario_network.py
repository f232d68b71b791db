"""The route network as part of the native scenario format: the ``network:`` section and its
CSV tables (extends, located errors, content hash, overrides), the shipped balkans-routes packs
and the ``corridor routes`` command."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from corridor.cli.routes import OUTPUT_FILES, routes
from corridor.cli.scenario import validate
from corridor.errors import InputError, InputErrors
from corridor.routes.run import demo_network
from corridor.scenario.loader import (
    check_scenario,
    load_scenario,
    resolve_scenario,
    scenario_json_schema,
    validate_scenario,
)
from corridor.scenario.schema import Scenario
from scenario_fixtures import MINI, edit

BASE = "balkans-routes"
RAIL = "balkans-routes-montenegro-rail"
NETWORK_TABLES = ("places", "links", "crossings", "origins")
MONTENEGRO = {"Podgorica", "Bijelo Polje"}


def _copy_packs(dest: Path) -> Path:
    """Copies of uk-balkans, balkans-routes and the Montenegro variant side by side in ``dest``
    (their ``extends`` still work); returns the copy of balkans-routes."""
    for name in ("uk-balkans", BASE, RAIL):
        shutil.copytree(resolve_scenario(name), dest / name)
    return dest / BASE


def _rows(rows: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [r.model_dump(exclude={"source"}) for r in rows]


def _line(path: Path, startswith: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith(startswith))


# ---------------------------------------------------------------------------------------------
# The shipped packs
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "rail"), [(BASE, False), (RAIL, True)])
def test_packs_load_validate_and_match_the_demo_network(name: str, rail: bool) -> None:
    assert validate_scenario(name) == []
    loaded = load_scenario(name)
    net = loaded.scenario.network
    assert net is not None
    demo = demo_network(montenegro_rail=rail)
    for table in NETWORK_TABLES:
        assert _rows(getattr(net, table)) == _rows(getattr(demo, table)), table
    assert _rows(net.conditions) == _rows(demo.conditions)
    assert net.conditions[0].met is rail
    assert (net.speeds, net.choice) == (demo.speeds, demo.choice)
    # the asylum part is uk-balkans's
    assert loaded.scenario.asylum == load_scenario("uk-balkans").scenario.asylum
    # a model dump validates back to the same scenario (as ensembles and overrides do)
    assert Scenario.model_validate(loaded.scenario.model_dump()) == loaded.scenario
    assert Scenario.model_validate(loaded.scenario.model_dump(mode="json")) == loaded.scenario


def test_pack_tables_cite_a_source_on_every_row() -> None:
    folder = resolve_scenario(BASE)
    for table in NETWORK_TABLES:
        with open(folder / f"{table}.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows, table
        for row in rows:
            source = row["source"].strip()
            assert "http" in source or source.startswith("assumption"), (table, row)
    crossings = pd.read_csv(folder / "crossings.csv").set_index("link")["source"].to_dict()
    # figures from data.md cite its public URLs: prices, Channel interception and deaths
    channel = str(crossings["Calais-Dover"])
    assert "factrefuge.com" in channel
    assert "head-post.com" in channel
    assert "n1info.rs" in str(crossings["Belgrade-Szeged"])
    for name in (BASE, RAIL):
        assert (resolve_scenario(name) / "README.md").is_file()
    check = check_scenario(RAIL)  # the variant reads the base's tables
    assert {f"network.{t}": folder / f"{t}.csv" for t in NETWORK_TABLES}.items() <= (
        check.table_files.items()
    )


def test_asylum_only_scenarios_have_no_network() -> None:
    loaded = load_scenario(MINI)
    assert loaded.scenario.network is None
    assert load_scenario("uk-balkans").scenario.network is None


def test_json_schema_allows_table_files() -> None:
    doc = scenario_json_schema()
    net = doc["$defs"]["Network"]
    assert "network" in doc["properties"]
    for table in NETWORK_TABLES:
        assert {"type": "string"}.items() <= net["properties"][table]["anyOf"][1].items()
    assert "required" not in net
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    text = (resolve_scenario(BASE) / "scenario.yaml").read_text("utf-8")
    data = json.loads(json.dumps(yaml.safe_load(text), default=str))  # dates as text
    jsonschema.validate({**data, "asylum": {"caseworkers": 1, "productivity": 1}}, doc)


def test_either_module_may_be_imported_first() -> None:
    """routes.schema imports scenario.schema, whose Scenario needs routes.schema's Network:
    Scenario is complete whichever comes first (here, this module imported the routes first;
    a fresh interpreter imports scenario.schema first)."""
    from corridor.routes.schema import Network

    assert Scenario.__pydantic_complete__
    assert Scenario.model_fields["network"].annotation == (Network | None)
    code = (
        "import corridor.routes.schema as r, corridor.scenario.schema as s, sys;"
        "assert 'corridor.routes' in sys.modules;"
        "assert s.Scenario.__pydantic_complete__;"
        "assert s.Scenario.model_fields['network'].annotation == (r.Network | None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import corridor.scenario.schema; {code}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------
# Errors, extends, content hash, overrides
# ---------------------------------------------------------------------------------------------
def test_bad_network_cell_is_located_and_listed_with_other_errors(tmp_path: Path) -> None:
    base = _copy_packs(tmp_path)
    line = _line(base / "crossings.csv", "Calais-Dover,")
    edit(base / "crossings.csv", "Calais-Dover,,0.45,", "Calais-Dover,,lots,")
    edit(base / "scenario.yaml", "  end: 2030-12-31", "  end: 2030-12-31\nseed: -1")
    edit(tmp_path / "uk-balkans" / "arrivals.csv", "2018-01,Albania,", "2018-13,Albania,")
    errors = validate_scenario(tmp_path / RAIL)  # through the variant: the base's tables
    found = {(Path(e.file or "").name, e.line, e.field) for e in errors}
    assert ("crossings.csv", line, "interception") in found
    assert ("scenario.yaml", _line(base / "scenario.yaml", "seed:"), "seed") in found
    assert any(Path(e.file or "").name == "arrivals.csv" for e in errors)
    cell = next(e for e in errors if e.field == "interception")
    assert cell.file == str(base.resolve() / "crossings.csv")
    assert "lots" in cell.message
    with pytest.raises(InputErrors):
        load_scenario(tmp_path / RAIL)
    # the command lists them all
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(validate)
    app.command()(routes)
    result = CliRunner().invoke(app, ["validate", str(tmp_path / RAIL)])
    assert result.exit_code == 2
    assert f"{base.resolve() / 'crossings.csv'}:{line}" in result.output
    assert f"{len(errors)} problems" in result.output


def test_network_yaml_and_reference_errors_are_located(tmp_path: Path) -> None:
    base = _copy_packs(tmp_path)
    rail = tmp_path / RAIL
    edit(rail / "scenario.yaml", "      host: Montenegro", "      host: Atlantis")
    edit(base / "scenario.yaml", "  origins: origins.csv", "  origins: origins.csv\n  bogus: 1")
    errors = validate_scenario(rail)
    bogus = next(e for e in errors if e.field == "network.bogus")
    assert (Path(bogus.file or ""), bogus.line) == (
        base.resolve() / "scenario.yaml",
        _line(base / "scenario.yaml", "  bogus:"),
    )
    # references are checked once every row parses
    edit(base / "scenario.yaml", "\n  bogus: 1", "")
    edit(base / "links.csv", ",Tirana,Podgorica,", ",Tirana,Podgoritsa,")
    errors = validate_scenario(rail)
    found = {(Path(e.file or "").name, e.line, e.field) for e in errors}
    assert ("links.csv", _line(base / "links.csv", ",Tirana,Podgoritsa,"), "to") in found
    host = next(e for e in errors if e.field == "network.conditions.0.host")
    assert Path(host.file or "") == rail.resolve() / "scenario.yaml"
    assert host.line == _line(rail / "scenario.yaml", "      host:")
    # a table file named but missing is reported where it is named
    edit(base / "scenario.yaml", "  links: links.csv", "  links: roads.csv")
    missing = next(e for e in validate_scenario(rail) if e.field == "network.links")
    assert "roads.csv is missing" in missing.message
    assert missing.line == _line(base / "scenario.yaml", "  links: roads.csv")


def test_extends_replaces_a_network_table(tmp_path: Path) -> None:
    base = _copy_packs(tmp_path)
    child = tmp_path / "fewer-people"
    child.mkdir()
    (child / "scenario.yaml").write_text(
        f"name: fewer-people\nextends: ../{BASE}\n", encoding="utf-8"
    )
    (child / "origins.csv").write_text(
        "origin,destination,people_per_month,source\nIstanbul,Dover,100,test fixture\n",
        encoding="utf-8",
    )
    check = check_scenario(child)
    assert check.errors == []
    assert check.loaded is not None
    net = check.loaded.scenario.network
    assert net is not None
    assert [o.people_per_month for o in net.origins] == [100.0]
    assert net.origins[0].budget_eur_median == 0.0  # the child's row, not merged with the parent
    assert len(net.places) == 20  # the parent's
    assert check.table_files["network.origins"] == child.resolve() / "origins.csv"
    assert check.table_files["network.places"] == base.resolve() / "places.csv"
    # inline rows in the child's YAML replace the parent's file too
    (child / "origins.csv").unlink()
    (child / "scenario.yaml").write_text(
        f"name: fewer-people\nextends: ../{BASE}\nnetwork:\n  origins:\n"
        "    - {origin: Istanbul, destination: Dover, people_per_month: 7}\n",
        encoding="utf-8",
    )
    net = load_scenario(child).scenario.network
    assert net is not None
    assert [o.people_per_month for o in net.origins] == [7.0]


def test_content_hash_follows_network_tables(tmp_path: Path) -> None:
    base = _copy_packs(tmp_path)
    shipped = load_scenario(BASE).content_hash
    assert load_scenario(base).content_hash == shipped  # location-free
    edit(base / "links.csv", ",Tirana,Podgorica,160,", ",Tirana,Podgorica,161,")
    changed = load_scenario(base).content_hash
    assert changed != shipped
    # bytes that leave the model unchanged (a blank line) still change the hash
    with open(base / "links.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert load_scenario(base).content_hash not in (shipped, changed)
    # and so do the variant's inherited tables
    assert load_scenario(tmp_path / RAIL).content_hash != load_scenario(RAIL).content_hash


def test_overrides_reach_network_parameters_and_rows(tmp_path: Path) -> None:
    loaded = load_scenario(
        BASE,
        {
            "network.conditions.0.met": True,
            "network.choice.logit_scale": 2.0,
            "network.speeds.rail": 300,
            "network.crossings.Calais-Dover.interception": 0.6,
            "network.crossings.country:Greece.price_eur": 900,
            "network.links.Tirana-Podgorica.km": 170,
        },
    )
    net = loaded.scenario.network
    assert net is not None
    assert net.conditions[0].met
    assert (net.choice.logit_scale, net.speeds.rail) == (2.0, 300)
    cross = {c.link: c for c in net.crossings}
    assert cross["Calais-Dover"].interception == 0.6
    assert cross["Thessaloniki-Skopje"].price_eur == cross["Thessaloniki-Tirana"].price_eur == 900
    assert cross["Edirne-Sofia"].price_eur == 600  # starts in Türkiye
    assert next(lk.km for lk in net.links if lk.key == "Tirana-Podgorica") == 170
    assert loaded.content_hash != load_scenario(BASE).content_hash
    by_id = load_scenario(BASE, {"network.conditions.me_rail.met": True}).scenario.network
    assert by_id is not None
    assert by_id.conditions[0].met

    with pytest.raises(InputErrors) as info:
        load_scenario(BASE, {"network.choice.k": 0, "network.links.0.colour": "red"})
    text = {e.field: str(e) for e in info.value.errors}
    assert "set by override 'network.choice.k'" in text["network.choice.k"]
    assert "no column 'colour'" in text["network.links.0.colour"]
    # rows are looked up once the tables read cleanly
    with pytest.raises(InputErrors) as info:
        load_scenario(
            BASE, {"network.crossings.Nowhere.price_eur": 1, "network.places.Dover.lat": 100}
        )
    text = {e.field: str(e) for e in info.value.errors}
    assert "no row 'Nowhere'" in text["network.crossings.Nowhere.price_eur"]
    assert "set by override 'network.places.Dover.lat'" in text["network.places.Dover.lat"]
    with pytest.raises(InputError, match="has no network section"):
        load_scenario(MINI, {"network.choice.k": 2})


# ---------------------------------------------------------------------------------------------
# corridor routes
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(validate)
    app.command()(routes)
    return app


def _montenegro_people(folder: Path) -> float:
    flows = pd.read_csv(folder / "link_flows.csv")
    on = flows["from"].isin(MONTENEGRO) | flows["to"].isin(MONTENEGRO)
    return float(flows.loc[on, "people"].sum())


def test_cli_routes_writes_results_and_the_railway_pulls_people(
    cli: typer.Typer, tmp_path: Path
) -> None:
    runner = CliRunner()
    base, rail = tmp_path / "base", tmp_path / "rail"
    result = runner.invoke(cli, ["routes", BASE, "--days", "60", "--out", str(base)])
    assert result.exit_code == 0, result.output
    for file in OUTPUT_FILES:
        assert (base / file).stat().st_size > 0, file
    assert (base / "flows_map.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in base.iterdir() if p.name.startswith(".")]  # no temporary files left
    events = pd.read_csv(base / "events.csv")
    assert list(events.columns) == ["date", "crossing", "kind", "count"]
    arrivals = pd.read_csv(base / "arrivals.csv")
    assert arrivals["destination"].unique().tolist() == ["Dover"]
    assert "Calais-Dover" in result.output
    assert "interceptions" in result.output
    assert f"{int(arrivals['people'].sum()):,}" in result.output

    result = runner.invoke(cli, ["routes", RAIL, "--days", "60", "--out", str(rail)])
    assert result.exit_code == 0, result.output
    assert "me_rail_1" in set(pd.read_csv(rail / "link_flows.csv")["link"])
    assert _montenegro_people(rail) > 1.5 * _montenegro_people(base) > 0


def test_cli_routes_set_meets_the_condition(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "set"
    args = ["routes", BASE, "--days", "20", "--seed", "3", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--set", "network.conditions.me_rail.met=true"])
    assert result.exit_code == 0, result.output
    assert "me_rail_1" in set(pd.read_csv(out / "link_flows.csv")["link"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["no-such-scenario-xyz"], "no-such-scenario-xyz"),
        ([str(MINI)], "has no route network"),
        ([BASE, "--set", "network.choice.k=0"], "network.choice.k"),
        ([BASE, "--set", "nonsense"], "path=value"),
    ],
)
def test_cli_routes_user_errors_exit_2(
    cli: typer.Typer, tmp_path: Path, args: list[str], needle: str
) -> None:
    result = CliRunner().invoke(cli, ["routes", *args, "--days", "5", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert needle in result.output
    assert not any(tmp_path.iterdir())
