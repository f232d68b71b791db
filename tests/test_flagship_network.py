"""The flagship's route network pack (uk-balkans/network) and its route effects."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

import pytest

import corridor
from corridor.flagship.network_effects import (
    RouteEffects,
    flow_map_png,
    rail_comparison,
    wb_detection_factor,
)
from corridor.forecast.corridor_network import (
    DEFAULT_PACK,
    ME_RAIL,
    WB_STATES,
    load_corridor_network,
)
from corridor.routes.network import build_graph, state_on

PACK = Path(corridor.__file__).parent / "data" / "scenarios" / "uk-balkans" / "network"
TABLES = ("places.csv", "links.csv", "crossings.csv", "origins.csv")
DAYS = 240


@pytest.fixture(scope="module")
def comparison() -> tuple[RouteEffects, RouteEffects]:
    return rail_comparison(PACK, days=DAYS, seed=3)


def test_pack_is_the_default() -> None:
    assert DEFAULT_PACK.resolve() == PACK.resolve()


@pytest.mark.parametrize("rail", [False, True])
def test_network_loads(rail: bool) -> None:
    net = load_corridor_network(PACK, montenegro_rail=rail)
    assert len(net.places) >= 30
    assert {o.origin for o in net.origins} == {"Istanbul", "Tripoli"}
    assert {o.destination for o in net.origins} == {"Dover"}
    (cond,) = [c for c in net.conditions if c.id == ME_RAIL]
    assert cond.met is rail
    assert cond.host == "Montenegro"


@pytest.mark.parametrize("table", TABLES)
def test_every_row_has_a_source(table: str) -> None:
    with open(PACK / table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for i, row in enumerate(rows, start=2):
        assert (row.get("source") or "").strip(), f"{table} line {i} has no source"


def test_countries_present() -> None:
    countries = {p.country for p in load_corridor_network(PACK).places}
    wanted = set(WB_STATES) | {
        "Türkiye",
        "Greece",
        "Bulgaria",
        "Libya",
        "Italy",
        "Croatia",
        "Hungary",
        "Romania",
        "Slovenia",
        "Austria",
        "Germany",
        "France",
        "United Kingdom",
    }
    assert wanted <= countries, wanted - countries


def test_crossings_on_the_detected_borders() -> None:
    net = load_corridor_network(PACK)
    country = {p.place: p.country for p in net.places}
    links = {lk.key: lk for lk in net.links}
    borders = {(country[links[c.link].from_], country[links[c.link].to]) for c in net.crossings}
    for pair in [
        ("Türkiye", "Greece"),
        ("Türkiye", "Bulgaria"),
        ("Greece", "North Macedonia"),
        ("Greece", "Albania"),
        ("Serbia", "Hungary"),
        ("Serbia", "Romania"),
        ("Bosnia and Herzegovina", "Croatia"),
        ("Serbia", "Croatia"),
        ("Croatia", "Slovenia"),
        ("Libya", "Italy"),
        ("France", "United Kingdom"),
    ]:
        assert pair in borders, pair
    # both Türkiye-Greece crossings: by sea and by land
    modes = {
        links[c.link].mode
        for c in net.crossings
        if (country[links[c.link].from_], country[links[c.link].to]) == ("Türkiye", "Greece")
    }
    assert modes == {"small_boat", "road"}
    # the Channel has dated rows
    assert len({c.from_date for c in net.crossings if c.link == "Calais-Dover"}) >= 3


@pytest.mark.parametrize("rail", [False, True])
def test_rail_links_only_with_the_condition(rail: bool) -> None:
    net = load_corridor_network(PACK, montenegro_rail=rail)
    g = build_graph(net)
    rail_links = [j for j, k in enumerate(g.link_key) if k.startswith("me_rail")]
    assert {lk.key for lk in net.links if lk.condition == ME_RAIL} == {"me_rail_1", "me_rail_2"}
    assert len(rail_links) == 4  # two bidirectional links
    before = state_on(net, g, date(2026, 12, 31))
    after = state_on(net, g, date(2027, 1, 1))
    assert not before.link_open[rail_links].any()
    assert bool(after.link_open[rail_links].all()) is rail


def test_rail_comparison(comparison: tuple[RouteEffects, RouteEffects]) -> None:
    without, with_rail = comparison
    for e in (without, with_rail):
        assert e.days == DAYS
        assert e.seed == 3
        assert e.people > 0
        for x in (
            e.wb_detections_per_person,
            e.share_via_serbia,
            e.mean_days_to_channel,
            e.channel_arrivals_per_person,
        ):
            assert math.isfinite(x)
            assert x > 0
        assert 0 < e.mean_days_to_channel < e.mean_days_to_dover
        assert e.route_shares
        assert sum(e.route_shares.values()) <= 1 + 1e-9
        assert e.result is not None
        assert e.result.arrivals["destination"].eq("Dover").any()
    # The railway cuts the time of the route Tirana - Podgorica - Bijelo Polje - Belgrade
    # (450 km by rail at 400 km a day instead of road at 150), so more people route through
    # Montenegro; without it the road route is dearer than the routes through North
    # Macedonia and Kosovo (Montenegro: "not part of the migrant routes", data.md §5).
    assert with_rail.share_via_montenegro > without.share_via_montenegro
    factor = wb_detection_factor(without, with_rail)
    assert math.isfinite(factor)
    assert factor > 0


def test_same_seed_same_results(comparison: tuple[RouteEffects, RouteEffects]) -> None:
    again = rail_comparison(PACK, days=DAYS, seed=3)
    for a, b in zip(comparison, again, strict=True):
        assert a == b  # every field but the run itself
        assert a.result is not None
        assert b.result is not None
        assert a.result.events.equals(b.result.events)
        assert a.result.link_flows.equals(b.result.link_flows)


def test_flow_map_png(comparison: tuple[RouteEffects, RouteEffects], tmp_path: Path) -> None:
    out = flow_map_png(comparison[1], tmp_path / "maps" / "with.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.parent.glob(".*"))  # no temporary file left behind
