"""A hub's life drawn per replicate (corridor.forecast.hub_process) and hosts' conditions.

Unit checks of the drawn life (ramp, suspensions, never, outcome shares), of the host gate and
the host payments; then one replicate of the uk-balkans pack's ``hub_montenegro_rail`` and
``hub_north_macedonia`` through the aggregate engine: the railway is in the cost, transfers build
up, the hub's exits split into its drawn outcomes and its leavers are back on the routes.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.forecast.hub_process import (
    condition_met,
    draw_life,
    host_position,
    with_hub_process,
)
from corridor.scenario.forecast_schema import HubProcess, Variant
from corridor.scenario.prior import Prior

PACK = Path(__file__).resolve().parents[1] / "src/corridor/data/scenarios/uk-balkans"


def _u(low: float, high: float) -> Prior:
    return Prior(dist="uniform", low=low, high=high)


def _prior(**over: Prior) -> HubProcess:
    base = {
        "never": _u(0.0, 1e-9),
        "delay_months": _u(0.0, 6.0),
        "ramp_months": _u(12.0, 24.0),
        "initial_beds_share": _u(0.2, 0.4),
        "flights_factor": _u(0.5, 1.5),
        "stay_factor": _u(0.5, 2.0),
        "suspension_per_year": _u(0.0, 1e-9),
        "suspension_months": _u(2.0, 12.0),
    }
    return HubProcess(**{**base, **over})


def _life(prior: HubProcess, seed: int = 1) -> object:
    return draw_life(
        prior, {}, date(2026, 7, 1), date(2030, 12, 31), 400.0, (0.37, 0.25, 0.08, 0.30), 1.0,
        180.0, seed, 0,
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_beds_ramp_up_to_full_and_never_down(seed: int) -> None:
    life = _life(_prior(), seed)
    beds = [b for _, b in life.beds]  # type: ignore[attr-defined]
    assert life.opens is not None
    assert life.opens >= date(2026, 7, 1)
    assert 0.2 * 400 - 1e-9 <= beds[0] <= 0.4 * 400 + 1e-9
    assert np.all(np.diff(beds) > 0)
    assert beds[-1] == pytest.approx(400.0)
    assert 12 <= len(beds) <= 26  # monthly steps over the 12-24 month ramp


def test_outcome_shares_drawn_and_sum_to_one() -> None:
    shares = np.array([_life(_prior(), s).shares for s in range(30)])  # type: ignore[attr-defined]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)  # onward + left + stayed + returned
    assert shares[:, 0].std() > 0.02  # they vary across replicates
    assert abs(shares[:, 0].mean() - 0.37) < 0.06  # around the hub's own share
    assert shares[:, 3].std() > 0.02  # returned to the UK: drawn too
    assert abs(shares[:, 3].mean() - 0.30) < 0.06


def test_suspensions_follow_their_chance() -> None:
    never_stopped = _life(_prior(), 3)
    assert never_stopped.suspensions == ()  # type: ignore[attr-defined]
    always = _prior(suspension_per_year=_u(0.999, 1.0), suspension_months=_u(3.0, 4.0))
    life = _life(always, 3)
    spells = life.suspensions  # type: ignore[attr-defined]
    assert len(spells) >= 3
    for a, b in spells:
        assert 80 <= (b - a).days <= 125 or b == date(2030, 12, 31)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(spells))


def test_never_opens() -> None:
    life = _life(_prior(never=_u(0.999, 1.0)))
    assert life.opens is None
    assert life.beds == ()
    assert life.suspensions == ()


def test_condition_gate() -> None:
    v = Variant(id="v", label="v", kind="hub", assumes="x", conditions_met=["Kosovo"])
    assert condition_met("in_talks", "Kosovo", v, hypothetical=False)
    assert not condition_met("not_asked", "North Macedonia", v, hypothetical=False)
    assert not condition_met("conditional", "Montenegro", v, hypothetical=False)
    assert not condition_met("refused", "Kosovo", v, hypothetical=False)
    assert condition_met("refused", "Albania", v, hypothetical=True)
    assert condition_met("", "Rwanda", v, hypothetical=False)  # not in hosts.csv


def test_host_position_dated() -> None:
    hosts = pd.DataFrame(
        {
            "host": ["A", "A"],
            "date": pd.to_datetime(["2025-01-01", "2025-06-01"]),
            "position": ["in_talks", "refused"],
            "condition": ["talks", "none"],
        }
    )
    assert host_position(hosts, "A", date(2025, 3, 1)) == ("in_talks", "talks")
    assert host_position(hosts, "A", date(2026, 1, 1)) == ("refused", "none")
    assert host_position(hosts, "B", date(2026, 1, 1)) == ("", "")


# ---- one replicate of the pack ---------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx() -> object:
    from corridor.forecast.replicate import prepare_forecast

    return prepare_forecast(PACK)


def _run(ctx: object, vid: str, seed: int) -> object:
    from corridor.forecast.model import run_replicate

    return run_replicate(ctx, ctx.config.variant(vid), 0, seed, keep_asylum=True)  # type: ignore[attr-defined]


def _opening_seed(ctx: object, vid: str, hub: str) -> int:
    """A replicate seed in which the hub opens (the draw is the hub's, not the run's)."""
    cfg = ctx.config  # type: ignore[attr-defined]
    for seed in range(100, 200):
        sc = ctx.loaded  # type: ignore[attr-defined]
        from corridor.forecast.levers import apply_variant

        loaded = apply_variant(sc, cfg.variant(vid), date(2025, 1, 1))
        _, draws = with_hub_process(
            loaded, cfg.variant(vid), cfg.hub_process, date(2024, 12, 31), date(2030, 12, 31), seed
        )
        if draws.get(f"hub.{hub}.opens") == 1.0 and draws[f"hub.{hub}.suspended_days"] < 200:
            return seed
    raise AssertionError("no seed opens the hub")


def test_montenegro_rail_pays_railway_and_builds_up(ctx: object) -> None:
    seed = _opening_seed(ctx, "hub_montenegro_rail", "hub_montenegro")
    res = _run(ctx, "hub_montenegro_rail", seed)
    y = res.yearly()  # type: ignore[attr-defined]
    fixed = y.loc[2026:2030, "cost_hub_fixed_gbp"].sum()
    assert fixed >= 8.4e9  # EUR 10bn x 0.8466 over 2026-2030, plus the hub's own payment
    t = y.loc[2025:2030, "hub_transfers"]
    assert t.loc[2025] == 0
    assert t.loc[2026] == 0
    assert t.sum() > 0
    first = int(t[t > 0].index[0])
    assert t.loc[first] < t.loc[first + 1 : 2030].max()  # a build-up, not full from day one
    assert y.loc[2025:2030, "hub_leavers"].sum() > 0
    # outcomes add up: transfers = removed onward + left + stayed + returned to the UK + still
    # in the hub, each in its drawn share
    fl, st = res.asylum.flows, res.asylum.stocks  # type: ignore[attr-defined]
    transfers = fl["new_hub_transfers"].sum()
    removed, left = fl["new_hub_removals"].sum(), fl["new_hub_left"].sum()
    returned = fl["new_hub_returned_uk"].sum()
    last = st["date"].max()
    in_hub = st.loc[st["date"] == last, "n_in_hub"].sum()
    exits = transfers - in_hub
    assert exits > 0
    assert returned > 0
    stayed = exits - removed - left - returned
    draws = res.meta["draws"]  # type: ignore[attr-defined]
    kinds = ("removed_onward", "left", "stayed", "returned_uk")
    shares = {k: draws[f"hub.hub_montenegro.{k}"] for k in kinds}
    assert sum(shares.values()) == pytest.approx(1.0)
    for k, people in zip(kinds, (removed, left, stayed, returned), strict=True):
        assert people / exits == pytest.approx(shares[k], abs=0.01), k
    assert y.loc[2025:2030, "hub_returned_uk"].sum() == pytest.approx(
        fl.loc[fl["date"] >= "2025-01-01", "new_hub_returned_uk"].sum()
    )
    # leavers are back on the Western Balkans route and some reach the UK again
    assert res.meta["reentry"]["reentered"] > 0  # type: ignore[attr-defined]
    assert y.loc[2025:2030, "hub_reentries_uk"].sum() > 0


def test_hosts_not_asked_or_silent_carry_no_transfers(ctx: object) -> None:
    for vid, hub in (("hub_north_macedonia", "hub_north_macedonia"), ("hub_serbia", "hub_serbia")):
        res = _run(ctx, vid, 101)
        y = res.yearly()  # type: ignore[attr-defined]
        assert y["hub_transfers"].sum() == 0
        assert y["cost_hub_fixed_gbp"].sum() == 0
        assert res.meta["draws"][f"hub.{hub}.condition_met"] == 0.0  # type: ignore[attr-defined]


def test_if_agreed_variants_differ_by_host(ctx: object) -> None:
    """The hypothetical hubs are labelled so and each has its host's own capacity and costs:
    the scenario's figures, the variant's stated assumptions and the per-replicate draws (the
    host's own range) differ between Albania and Bosnia."""
    from corridor.forecast.hub_process import hub_terms
    from corridor.forecast.levers import apply_variant

    cfg = ctx.config  # type: ignore[attr-defined]
    terms, drawn = {}, {}
    for vid, hub in (
        ("hub_albania_if_agreed", "hub_albania"),
        ("hub_bosnia_if_agreed", "hub_bosnia"),
    ):
        v = cfg.variant(vid)
        assert v.hypothetical
        assert v.assumes.startswith("HYPOTHETICAL")
        loaded = apply_variant(ctx.loaded, v, date(2025, 1, 1))  # type: ignore[attr-defined]
        t = hub_terms(loaded, cfg.hub_process, v)[hub]
        assumes = " ".join(v.assumes.split())
        assert f"{t['beds']:.0f}-bed" in assumes  # the variant states its host's own numbers
        assert f"GBP {t['setup_gbp'] / 1e6:.1f}m" in assumes
        assert f"GBP {t['fixed_payment_gbp'] / 1e6:.1f}m a year" in assumes
        terms[hub] = t
        _, draws = with_hub_process(
            loaded, v, cfg.hub_process, date(2024, 12, 31), date(2030, 12, 31), 7
        )
        drawn[hub] = draws
    a, b = terms["hub_albania"], terms["hub_bosnia"]
    for key in ("beds", "fixed_payment_gbp", "setup_gbp"):
        assert a[key] != b[key], key
    for key in ("beds", "cost_per_night_gbp", "setup_gbp"):
        assert a["ranges"][key] != b["ranges"][key], key  # each host its own range
    assert 400.0 <= drawn["hub_albania"]["hub.hub_albania.beds"] <= 880.0  # Gjader 400-880
    assert 295.0 <= drawn["hub_bosnia"]["hub.hub_bosnia.beds"] <= 885.0
    for key in ("beds", "cost_per_night_gbp", "fixed_payment_gbp", "setup_gbp"):
        assert drawn["hub_albania"][f"hub.hub_albania.{key}"] != pytest.approx(
            drawn["hub_bosnia"][f"hub.hub_bosnia.{key}"]
        ), key
    kosovo = hub_terms(ctx.loaded, cfg.hub_process)["hub_kosovo"]  # type: ignore[attr-defined]
    assert kosovo["beds"] == 300
    assert kosovo["fixed_payment_gbp"] == pytest.approx(17_778_600)
    assert kosovo["cost_per_night_gbp"] < a["cost_per_night_gbp"]  # cells run by Kosovo


def test_by_hub_names_a_hub_of_the_scenario(ctx: object) -> None:
    from corridor.errors import InputError

    cfg = ctx.config  # type: ignore[attr-defined]
    bad = cfg.hub_process.model_copy(update={"by_hub": {"hub_nowhere": {}}})
    with pytest.raises(InputError, match="hub_nowhere"):
        with_hub_process(
            ctx.loaded,  # type: ignore[attr-defined]
            cfg.variant("hub_kosovo"),
            bad,
            date(2024, 12, 31),
            date(2030, 12, 31),
            1,
        )
    with pytest.raises(ValueError, match="not a hub_process prior"):
        HubProcess(**{**cfg.hub_process.model_dump(), "by_hub": {"hub_kosovo": {"beds": _u(1, 2)}}})
