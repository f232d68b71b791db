"""Tests of the native scenario loader: scenario.yaml, extends chains, overrides, CSV tables,
cross-checks, error locations and the ``validate``/``schema`` commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from corridor.cli.scenario import schema, validate
from corridor.errors import InputError, InputErrors
from corridor.scenario.loaded import TABLE_COLUMNS
from corridor.scenario.loader import (
    SCHEMA_ID,
    load_scenario,
    resolve_scenario,
    scenario_json_schema,
    shipped_scenarios,
    validate_scenario,
)
from scenario_fixtures import (
    MINI,
    MINI_VARIANT,
    copy_mini_pair,
    copy_scenario,
    edit,
    line_of,
    write_tiny,
)


def _errors(ref: Path | str) -> list[InputError]:
    errors = validate_scenario(ref)
    assert errors, "expected the scenario to be refused"
    return errors


def _one(ref: Path | str, *needles: str) -> InputError:
    """The one error whose text contains every needle."""
    errors = _errors(ref)
    hits = [e for e in errors if all(n in str(e) for n in needles)]
    assert hits, f"no error with {needles}; got:\n" + "\n".join(map(str, errors))
    return hits[0]


# ---------------------------------------------------------------------------------------------
# Valid scenarios
# ---------------------------------------------------------------------------------------------
def test_mini_loads() -> None:
    loaded = load_scenario(MINI)
    sc = loaded.scenario
    assert loaded.name == "mini"
    assert loaded.folder == MINI.resolve()
    assert sc.period.start == date(2024, 1, 1)
    assert sc.period.end == date(2024, 12, 31)
    assert [h.id for h in sc.hubs] == ["hub_keldany", "hub_marovia"]
    assert sc.hubs[1].hypothetical
    assert len(loaded.content_hash) == 64
    for name, columns in TABLE_COLUMNS.items():
        assert tuple(loaded.tables[name].columns) == columns, name
        if name != "decision_pauses":  # optional: mini pauses no nationality (empty table)
            assert len(loaded.tables[name]) > 0, name
    arrivals = loaded.tables["arrivals"]
    assert len(arrivals) == 24
    assert str(arrivals["month"].dtype) == "datetime64[ns]"
    assert (arrivals["month"].dt.day == 1).all()
    assert arrivals["people"].dtype == "float64"
    assert set(arrivals["nationality"]) == {"Carvenia", "Dravos"}
    assert (arrivals["source"] == "test fixture").all()
    nat = loaded.tables["nationalities"].set_index("nationality")
    assert nat["returns_agreement"].dtype == bool
    assert not nat.loc["Carvenia", "returns_agreement"]
    assert nat.loc["Dravos", "returns_agreement"]
    hosts = loaded.tables["hosts"]
    assert set(hosts["position"]) == {"refused", "in_talks", "agreed"}
    assert "hub_fixed_payment" in set(loaded.tables["costs"]["item"])
    assert "*" in set(loaded.tables["grant_rates"]["nationality"])


def test_tiny_scenario_has_empty_optional_tables(tmp_path: Path) -> None:
    loaded = load_scenario(write_tiny(tmp_path))
    for name in ("hosts", "costs"):
        frame = loaded.tables[name]
        assert frame.empty
        assert tuple(frame.columns) == TABLE_COLUMNS[name]
    assert loaded.scenario.costs.table is None


def test_variant_merges_yaml_deeply() -> None:
    parent = load_scenario(MINI).scenario
    loaded = load_scenario(MINI_VARIANT)
    sc = loaded.scenario
    assert sc.name == "mini-variant"
    assert sc.extends == "../mini"
    assert loaded.folder == MINI_VARIANT.resolve()
    # changed in the child
    assert sc.asylum.caseworkers == 250
    assert sc.deterrence.elasticity == 0.5
    # kept from the parent, beside changed keys of the same mapping
    assert sc.asylum.productivity == parent.asylum.productivity
    assert sc.asylum.priority_classes == parent.asylum.priority_classes
    assert sc.asylum.appeals == parent.asylum.appeals
    assert sc.deterrence.enabled is parent.deterrence.enabled
    assert sc.hubs == parent.hubs
    assert sc.policies == parent.policies


def test_variant_replaces_tables_by_file_name() -> None:
    parent = load_scenario(MINI)
    child = load_scenario(MINI_VARIANT)
    assert (child.tables["arrivals"]["people"] == 200).sum() == 12  # the child's own file
    assert not child.tables["arrivals"].equals(parent.tables["arrivals"])
    for name in ("nationalities", "grant_rates", "hosts", "costs"):  # the parent's files
        pd.testing.assert_frame_equal(child.tables[name], parent.tables[name])


def test_lists_replace_not_merge(tmp_path: Path) -> None:
    _, variant = copy_mini_pair(tmp_path)
    with (variant / "scenario.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            "hubs:\n  - id: only\n    host: Keldany\n    beds: 5\n"
            "    agreement: [{date: 2024-05-01, status: agreed}]\n"
        )
    sc = load_scenario(variant).scenario
    assert [h.id for h in sc.hubs] == ["only"]
    assert sc.hubs[0].removed_onward == 0.5  # schema default, not the parent's hub 0


def test_three_level_chain(tmp_path: Path) -> None:
    copy_mini_pair(tmp_path)
    grandchild = tmp_path / "deeper" / "third"
    grandchild.mkdir(parents=True)
    (grandchild / "scenario.yaml").write_text(
        "name: third\nextends: ../../mini-variant\nreturns:\n  removal_capacity: 99\n"
    )
    sc = load_scenario(grandchild).scenario
    assert sc.returns.removal_capacity == 99
    assert sc.returns.detention_places == 100  # from mini
    assert sc.asylum.caseworkers == 250  # from mini-variant
    assert load_scenario(grandchild).tables["arrivals"]["people"].sum() == 3600  # variant's


def test_overrides_dotted_paths() -> None:
    base = load_scenario(MINI)
    loaded = load_scenario(
        MINI,
        overrides={
            "asylum.caseworkers": 3000,
            "hubs.0.beds": 500,
            "hubs.hub_marovia.seats_per_flight": 20,  # a hub named by its id
            "deterrence.enabled": False,
            "hubs.1.agreement.0.status": "ended",
            "accommodation.hotel": 0.5,  # a mapping that the YAML does not hold
            "asylum.productivity.1.value": 6,
        },
    )
    sc = loaded.scenario
    assert sc.asylum.caseworkers == 3000
    assert sc.hubs[0].beds == 500
    assert sc.hubs[1].beds == 100
    assert sc.hubs[1].seats_per_flight == 20
    assert sc.deterrence.enabled is False
    assert sc.deterrence.elasticity == 0.2
    assert sc.hubs[1].agreement[0].status == "ended"
    assert sc.accommodation.hotel == 0.5
    assert sc.asylum.productivity[1].value == 6  # type: ignore[index, union-attr]
    assert loaded.content_hash != base.content_hash
    assert load_scenario(MINI).scenario == base.scenario  # overrides do not leak


def test_override_unknown_path_is_named() -> None:
    with pytest.raises(InputError) as info:
        load_scenario(MINI, overrides={"asylum.caseworker": 1})
    assert "asylum.caseworker" in str(info.value)
    with pytest.raises(InputError, match=r"hubs\.7\.beds"):
        load_scenario(MINI, overrides={"hubs.7.beds": 1})
    with pytest.raises(InputError, match="nonsense"):
        load_scenario(MINI, overrides={"nonsense": 1})


def test_override_bad_value_says_override() -> None:
    with pytest.raises(InputError) as info:
        load_scenario(MINI, overrides={"arrivals.claim_share": 2})
    text = str(info.value)
    assert "arrivals.claim_share" in text
    assert "override" in text
    assert "less than or equal to 1" in text


def test_several_override_errors_at_once() -> None:
    with pytest.raises(InputErrors) as info:
        load_scenario(MINI, overrides={"x.y": 1, "asylum.caseworkers": "many"})
    assert len(info.value.errors) == 2


# ---------------------------------------------------------------------------------------------
# content_hash
# ---------------------------------------------------------------------------------------------
def test_content_hash_is_stable_and_location_free(tmp_path: Path) -> None:
    a = load_scenario(MINI).content_hash
    assert load_scenario(MINI).content_hash == a
    assert load_scenario(copy_scenario(tmp_path, MINI, "elsewhere")).content_hash == a
    assert load_scenario(MINI_VARIANT).content_hash != a


def test_content_hash_changes_with_one_table_byte(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    before = load_scenario(folder).content_hash
    edit(folder / "costs.csv", "hotel_night,2024-01-01,140,", "hotel_night,2024-01-01,141,")
    assert load_scenario(folder).content_hash != before
    # a byte that does not change any value still changes the hash (the bytes are hashed)
    folder2 = copy_scenario(tmp_path, MINI, "again")
    edit(folder2 / "hosts.csv", "Marovia,2024-02-01,refused,", "Marovia,2024-02-01,refused ,")
    assert load_scenario(folder2).content_hash != before


def test_content_hash_follows_yaml_values_not_text(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    before = load_scenario(folder).content_hash
    edit(folder / "scenario.yaml", "seed: 7", "seed: 7   # a comment")
    assert load_scenario(folder).content_hash == before
    edit(folder / "scenario.yaml", "seed: 7", "seed: 8")
    assert load_scenario(folder).content_hash != before


# ---------------------------------------------------------------------------------------------
# Finding scenarios
# ---------------------------------------------------------------------------------------------
def test_resolve_folder_and_yaml_file() -> None:
    assert resolve_scenario(MINI) == MINI.resolve()
    assert resolve_scenario(str(MINI)) == MINI.resolve()
    assert resolve_scenario(MINI / "scenario.yaml") == MINI.resolve()


def test_resolve_shipped_name() -> None:
    names = shipped_scenarios()
    if not names:
        pytest.skip("no scenario is shipped in the package yet")
    folder = resolve_scenario(names[0])
    assert (folder / "scenario.yaml").is_file()
    assert folder.name == names[0]


def test_resolve_unknown_name_lists_shipped() -> None:
    with pytest.raises(InputError) as info:
        resolve_scenario("no-such-scenario-xyz")
    text = str(info.value)
    assert "no-such-scenario-xyz" in text
    assert "shipped scenario" in text
    for name in shipped_scenarios():
        assert name in text


def test_folder_without_scenario_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no scenario\.yaml"):
        load_scenario(tmp_path)


# ---------------------------------------------------------------------------------------------
# Errors in scenario.yaml
# ---------------------------------------------------------------------------------------------
def test_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  elasticity: 0.2\n", "  elasticity: 0.2\n  elastisity: 0.3\n")
    err = _one(folder, "elastisity")
    assert err.file == str(yml)
    assert err.line == line_of(yml, "elastisity")
    assert err.field == "deterrence.elastisity"
    assert f"{yml}:{err.line}" in str(err)
    assert "unknown key" in str(err)
    assert "elasticity" in str(err.expected)  # the keys allowed there


def test_wrong_type(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  beds: 200\n", "  beds: lots\n")
    err = _one(folder, "hubs.0.beds")
    assert err.line == line_of(yml, "beds: lots")
    assert "'lots'" in str(err)
    assert "valid number" in str(err)
    assert f"{yml}:{err.line}: field 'hubs.0.beds'" in str(err)


def test_schedule_wrong_type_is_one_error(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    edit(folder / "scenario.yaml", "caseworkers: 100", "caseworkers: many")
    errors = [e for e in _errors(folder) if e.field == "asylum.caseworkers"]
    assert len(errors) == 1
    assert "a valid number" in str(errors[0])
    assert "a valid list" in str(errors[0])


def test_out_of_bounds(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "claim_share: 0.9", "claim_share: 1.5")
    err = _one(folder, "arrivals.claim_share")
    assert err.line == line_of(yml, "claim_share")
    assert "1.5" in str(err)
    assert "less than or equal to 1" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("caseworkers: 100", "caseworkers: -5", "asylum.caseworkers"),  # a constant schedule
        ("caseworkers: 100", "caseworkers: .nan", "asylum.caseworkers"),
        ("  beds: 200\n", "  beds: .inf\n", "hubs.0.beds"),
    ],
)
def test_negative_and_non_finite_numbers(tmp_path: Path, old: str, new: str, field: str) -> None:
    folder = copy_scenario(tmp_path)
    edit(folder / "scenario.yaml", old, new)
    err = _one(folder, field)
    assert err.line == line_of(folder / "scenario.yaml", new.strip())


def test_model_rule_in_a_list_item(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "    left: 0.4\n", "    left: 0.5\n")
    err = _one(folder, "removed_onward + left + stayed")
    assert err.field == "hubs.1"
    assert err.line == line_of(yml, "id: hub_marovia")


def test_missing_required_key(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  end: 2024-12-31\n", "")
    err = _one(folder, "period.end")
    assert "missing" in str(err)
    assert err.line == line_of(yml, "period:")


def test_bad_date_in_yaml(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "  end: 2024-12-31", "  end: 2024-02-30")
    err = _one(folder, "2024-02-30")
    assert err.line == line_of(yml, "2024-02-30")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "seed: 7\n", "seed: [7\n")
    err = _one(folder, "YAML")
    assert err.file == str(yml)
    assert err.line is not None
    assert err.line >= line_of(yml, "seed: [7")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "seed: 7\n", "seed: 7\nseed: 8\n")
    err = _one(folder, "appears twice")
    assert err.line == line_of(yml, "seed: 8")
    assert err.field == "seed"


def test_key_that_is_not_text(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "seed: 7\n", "seed: 7\non: 1\n")  # YAML 1.1 reads 'on' as true
    err = _one(folder, "'on'")
    assert err.line == line_of(yml, "on: 1")
    assert "not text" in str(err)


def test_yaml_and_table_errors_together(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    edit(folder / "scenario.yaml", "seed: 7\n", "seed: [7\n")
    edit(folder / "arrivals.csv", "2024-03,Dravos,50,", "2024-03,Dravos,fifty,")
    errors = validate_scenario(folder)
    assert len(errors) == 2
    assert {Path(e.file or "").name for e in errors} == {"scenario.yaml", "arrivals.csv"}


def test_alias_bomb_and_recursive_alias(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    bomb = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb.append("description: *a8")
    text = yml.read_text()
    edit(yml, "seed: 7\n", "seed: 7\n" + "\n".join(bomb) + "\n")
    edit(yml, "description: Test fixture", "# description: Test fixture")
    errors = _errors(folder)
    assert any(e.field == "description" for e in errors)
    assert any(e.field == "a8" and "unknown key" in str(e) for e in errors)
    yml.write_text(text.replace("seed: 7\n", "seed: 7\nloop: &l {again: *l}\n"))
    err = _one(folder, "alias")
    assert err.field == "loop.again"


def test_not_a_mapping_and_empty(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    (folder / "scenario.yaml").write_text("- just\n- a list\n")
    assert "mapping" in str(_one(folder, "scenario.yaml:1"))
    (folder / "scenario.yaml").write_text("")
    assert "empty" in str(_one(folder, "scenario.yaml:1"))


def test_error_in_parent_points_to_parent_file(tmp_path: Path) -> None:
    mini, variant = copy_mini_pair(tmp_path)
    edit(mini / "scenario.yaml", "  detention_places: 100", "  detention_places: -1")
    err = _one(variant, "returns.detention_places")
    assert err.file == str(mini / "scenario.yaml")
    assert err.line == line_of(mini / "scenario.yaml", "detention_places")
    # and a key set by the child points to the child
    edit(variant / "scenario.yaml", "elasticity: 0.5", "elasticity: 5")
    err = _one(variant, "deterrence.elasticity")
    assert err.file == str(variant / "scenario.yaml")
    assert err.line == line_of(variant / "scenario.yaml", "elasticity: 5")


def test_extends_cycle(tmp_path: Path) -> None:
    mini, variant = copy_mini_pair(tmp_path)
    edit(mini / "scenario.yaml", "name: mini\n", "name: mini\nextends: ../mini-variant\n")
    err = _one(variant, "cycle")
    assert err.field == "extends"
    assert err.line == line_of(mini / "scenario.yaml", "extends:")
    # a scenario extending itself
    edit(mini / "scenario.yaml", "extends: ../mini-variant", "extends: .")
    assert _one(mini, "cycle").field == "extends"


def test_missing_parent(tmp_path: Path) -> None:
    _, variant = copy_mini_pair(tmp_path)
    edit(variant / "scenario.yaml", "extends: ../mini", "extends: ../nowhere")
    err = _one(variant, "nowhere")
    assert err.file == str(variant / "scenario.yaml")
    assert err.line == line_of(variant / "scenario.yaml", "extends:")
    assert err.field == "extends"
    assert "not found" in str(err)


# ---------------------------------------------------------------------------------------------
# Errors in tables
# ---------------------------------------------------------------------------------------------
def test_bad_csv_cell_has_file_line_column(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    csv = folder / "arrivals.csv"
    edit(csv, "2024-03,Dravos,50,", "2024-03,Dravos,fifty,")
    err = _one(folder, "fifty")
    assert err.file == str(csv)
    assert err.line == line_of(csv, "fifty")
    assert err.field == "people"
    assert f"{csv}:{err.line}: field 'people'" in str(err)
    assert "number of people" in str(err)


def test_table_collects_every_bad_cell(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    (folder / "nationalities.csv").write_text(
        "nationality,household_size,returns_agreement,source\n"
        "Carvenia,0.5,maybe,test fixture\n"
        "Dravos,1.1,true,\n"
    )
    errors = [e for e in _errors(folder) if e.file and e.file.endswith("nationalities.csv")]
    where = {(e.line, e.field) for e in errors}
    assert where == {(2, "household_size"), (2, "returns_agreement"), (3, "source")}


def test_table_cell_rules(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    (folder / "grant_rates.csv").write_text(
        "nationality,from_date,grant_rate,source\n"
        "Carvenia,2023-01-01,1.2,s\n"  # out of [0, 1]
        "Dravos,01/01/2023,0.2,s\n"  # not ISO
        "Dravos,2023-02-30,0.2,s\n"  # no such day
        "*,2023-01-01,nan,s\n"  # not a finite number
    )
    (folder / "hosts.csv").write_text(
        "host,date,position,source\nKeldany,2024-01-15,keen,s\nMarovia,2024-01-15,refused,s\n"
    )
    (folder / "costs.csv").write_text(
        "item,from_date,gbp,unit,source\nlimousine,2024-01-01,5,each,s\n"
        "hotel_night,2024-01-01,-5,each,s\n"
    )
    got = {(Path(e.file or "").name, e.line, e.field) for e in _errors(folder)}
    assert {
        ("grant_rates.csv", 2, "grant_rate"),
        ("grant_rates.csv", 3, "from_date"),
        ("grant_rates.csv", 4, "from_date"),
        ("grant_rates.csv", 5, "grant_rate"),
        ("hosts.csv", 2, "position"),
        ("costs.csv", 2, "item"),
        ("costs.csv", 3, "gbp"),
    } <= got


def test_month_forms_and_booleans(tmp_path: Path) -> None:
    folder = write_tiny(tmp_path)
    (folder / "arrivals.csv").write_text(
        "month,nationality,people,source,notes\n"
        "2024-01,Carvenia,1,s,first\n"
        "2024-02-15,Carvenia,2,s,\n"
        "\n"
        "2024-03-01,Carvenia,3.5,s,\n"
    )
    (folder / "nationalities.csv").write_text(
        "note_why,nationality,household_size,returns_agreement,source\n"
        "x,Carvenia,1,YES,s\nx,Dravos,2,0,s\n"
    )
    (folder / "grant_rates.csv").write_text(
        "nationality,from_date,grant_rate,source\n*,2023-01-01,0.5,s\n"
    )
    tables = load_scenario(folder).tables
    months = list(tables["arrivals"]["month"])
    assert months == [pd.Timestamp(f"2024-0{m}-01") for m in (1, 2, 3)]
    assert tuple(tables["arrivals"].columns) == TABLE_COLUMNS["arrivals"]  # notes dropped
    assert list(tables["nationalities"]["returns_agreement"]) == [True, False]


def test_extra_and_missing_columns(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    csv = folder / "hosts.csv"
    edit(csv, "host,date,position,source", "host,date,position,source,colour")
    err = _one(folder, "colour")
    assert (err.file, err.line, err.field) == (str(csv), 1, "colour")
    edit(csv, "host,date,position,source,colour", "host,position")
    err = _one(folder, "missing column")
    assert "date" in str(err)
    assert "source" in str(err)
    assert err.line == 1


def test_duplicate_key_rows(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    csv = folder / "arrivals.csv"
    with csv.open("a", encoding="utf-8") as fh:
        fh.write("2024-05-20,Dravos,1,test fixture\n")  # 2024-05 again, as a date
    err = _one(folder, "duplicate")
    assert err.line == len(csv.read_text().splitlines())
    assert "first on line" in str(err)


def test_short_row_and_bad_encoding(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    with (folder / "hosts.csv").open("a", encoding="utf-8") as fh:
        fh.write("Keldany,2024-09-01\n")
    err = _one(folder, "hosts.csv:5", "cells")
    assert "4" in str(err)
    (folder / "costs.csv").write_bytes(b"item,from_date,gbp,unit,source\n\xff\xfe,1,2\n")
    err = _one(folder, "costs.csv:2", "UTF-8")
    assert err.line == 2


def test_missing_required_table(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    (folder / "grant_rates.csv").unlink()
    err = _one(folder, "grant_rates.csv")
    assert "missing" in str(err)
    assert err.field == "grant_rates"
    # an optional table may be absent
    (folder / "hosts.csv").unlink()
    assert not any("hosts.csv" in str(e) for e in _errors(folder))


def test_arrivals_table_name_from_yaml(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    (folder / "arrivals.csv").rename(folder / "arrivals_2024.csv")
    assert _one(folder, "arrivals.csv", "missing")
    edit(folder / "scenario.yaml", "table: arrivals.csv", "table: arrivals_2024.csv")
    assert len(load_scenario(folder).tables["arrivals"]) == 24


# ---------------------------------------------------------------------------------------------
# Cross-checks
# ---------------------------------------------------------------------------------------------
def test_unknown_nationality_in_tables(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    csv = folder / "arrivals.csv"
    edit(csv, "2024-04,Dravos,60,", "2024-04,Zembla,60,")
    err = _one(folder, "Zembla")
    assert (err.file, err.line, err.field) == (str(csv), line_of(csv, "Zembla"), "nationality")
    # '*' is fine in grant_rates, and each nationality needs a rate unless '*' exists
    edit(csv, "2024-04,Zembla,60,", "2024-04,Dravos,60,")
    grants = folder / "grant_rates.csv"
    edit(grants, "*,2023-01-01,0.5,test fixture\n", "")
    edit(grants, "Carvenia,2023-01-01,0.85,test fixture\n", "")
    err = _one(folder, "no grant rate")
    assert err.file == str(folder / "nationalities.csv")
    assert err.line == line_of(folder / "nationalities.csv", "Carvenia")


def test_unknown_nationality_in_yaml(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "nationalities: [Dravos]", "nationalities: [Dravos, Zembla]")
    err = _one(folder, "Zembla")
    assert err.field == "asylum.priority_classes.0.nationalities.1"
    assert err.line == line_of(yml, "Zembla")


def test_hub_host_must_be_in_hosts(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "host: Keldany", "host: Atlantis")
    err = _one(folder, "Atlantis")
    assert (err.file, err.line, err.field) == (str(yml), line_of(yml, "Atlantis"), "hubs.0.host")


def test_agreement_dates_ascending(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "{date: 2024-09-01, status: operating}", "{date: 2024-05-01, status: operating}")
    err = _one(folder, "agreement")
    assert err.field == "hubs.0.agreement.2.date"
    assert err.line == line_of(yml, "2024-05-01")


def test_policy_set_paths_and_values(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "      asylum.caseworkers: 150", "      asylum.caseworker: 150")
    err = _one(folder, "asylum.caseworker'")
    assert err.line == line_of(yml, "asylum.caseworker:")
    assert "policy" in str(err)
    edit(yml, "      asylum.caseworker: 150", "      deterrence.elasticity: 7")
    err = _one(folder, "deterrence.elasticity")
    assert err.line == line_of(yml, "deterrence.elasticity: 7")
    assert "less than or equal to 1" in str(err)
    edit(yml, "      deterrence.elasticity: 7", "      hubs.hub_marovia.beds: 300")
    assert load_scenario(folder).scenario.policies[0].set == {"hubs.hub_marovia.beds": 300}


def test_policy_hub_paths(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    yml = folder / "scenario.yaml"
    edit(yml, "      asylum.caseworkers: 150", "      hubs.hub_keldany.status: suspended")
    assert load_scenario(folder).scenario.policies[0].set["hubs.hub_keldany.status"] == "suspended"
    edit(yml, "hubs.hub_keldany.status: suspended", "hubs.hub_keldany.status: paused")
    err = _one(folder, "paused")
    assert err.line == line_of(yml, "paused")
    assert "operating" in str(err.expected)
    edit(yml, "hubs.hub_keldany.status: paused", "hubs.hub_nowhere.beds: 3")  # unknown id
    err = _one(folder, "hub_nowhere")
    assert "hub_keldany" in str(err.expected)
    edit(yml, "hubs.hub_nowhere.beds: 3", "hubs.0.beds: 3")  # policies name hubs by id
    assert _one(folder, "hubs.0.beds").line == line_of(yml, "hubs.0.beds")
    edit(yml, "hubs.0.beds: 3", "hubs.hub_marovia.left: 0.9")  # shares no longer sum to 1
    err = _one(folder, "removed_onward + left + stayed")
    assert err.line == line_of(yml, "hub_marovia.left")


def test_validate_lists_several_errors_at_once(tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    edit(folder / "scenario.yaml", "seed: 7", "seed: -1\nbogus: 1")
    edit(folder / "arrivals.csv", "2024-03,Dravos,50,", "2024-03,Dravos,-50,")
    edit(folder / "hosts.csv", "refused", "unsure")
    errors = validate_scenario(folder)
    fields = {e.field for e in errors}
    assert {"seed", "bogus", "people", "position"} <= fields
    with pytest.raises(InputErrors) as info:
        load_scenario(folder)
    assert len(info.value.errors) == len(errors)
    assert f"{len(errors)} problems found" in str(info.value)


def test_valid_scenario_validates_clean() -> None:
    assert validate_scenario(MINI) == []
    assert validate_scenario(MINI_VARIANT) == []


# ---------------------------------------------------------------------------------------------
# JSON Schema and the commands
# ---------------------------------------------------------------------------------------------
def test_json_schema() -> None:
    doc = scenario_json_schema()
    assert doc["$id"] == SCHEMA_ID
    assert doc["title"] == "Corridor scenario"
    assert {"name", "period", "asylum", "hubs"} <= set(doc["properties"])
    assert "asylum" in doc["required"]
    json.dumps(doc)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(validate)
    app.command()(schema)
    return app


def test_cli_validate_ok(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["validate", str(MINI)])
    assert result.exit_code == 0, result.output
    assert "OK: mini (6 tables)" in result.output
    result = CliRunner().invoke(cli, ["validate", str(MINI_VARIANT)])
    assert result.exit_code == 0, result.output
    assert "OK: mini-variant (6 tables)" in result.output


def test_cli_validate_errors(cli: typer.Typer, tmp_path: Path) -> None:
    folder = copy_scenario(tmp_path)
    edit(folder / "scenario.yaml", "seed: 7", "seed: [7]\nbogus: 1")
    edit(folder / "arrivals.csv", "2024-03,Dravos,50,", "2024-03,Dravos,x,")
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "3 problems" in result.output
    assert "bogus" in result.output
    assert "list[Step]" not in result.output
    assert f"{folder / 'arrivals.csv'}:" in result.output


def test_cli_validate_unknown_folder(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["validate", "no-such-scenario-xyz"])
    assert result.exit_code == 2
    assert "no-such-scenario-xyz" in result.output
    assert "Traceback" not in result.output


def test_cli_schema(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["$id"] == SCHEMA_ID
    out = tmp_path / "sub" / "scenario.schema.json"
    result = CliRunner().invoke(cli, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["title"] == "Corridor scenario"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left
