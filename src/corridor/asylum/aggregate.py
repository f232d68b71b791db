"""The aggregate engine: the expected-value stock-flow version of the asylum pipeline.

The same model as the agent engine (:mod:`corridor.asylum.agents`), from the same parameters
(:func:`~corridor.asylum.params.build_params`; the rules are written there once), with people as
expected (real-valued) amounts: the large-population (fluid) limit of the agent engine, to which
the mean of agent runs converges as agents grow (``tests/test_engines_agree.py``). Each day, in
the order of :data:`corridor.engine.loop.PHASES`:

1. **claim** — arrivals ``× (1 − elasticity × p_removal)`` (deterrence on the run's own expected
   outcomes, :func:`~corridor.asylum.params.p_removal`); ``× claim_share`` claim; the
   inadmissible share is screened out onto the exit route; the rest join the decision queue,
   spread evenly over the day, in the priority class of the day.
2. **decide** — the decision queue in continuous time within the day (``_queue_day``, exact
   for piecewise-constant rates): servers busy whenever cases wait, each finishing cases at the
   day's productivity (hazard ``μ``); waiting cases withdraw at the withdrawal hazard; servers
   removed by a schedule finish their cases first; new servers take waiting cases at the start of
   the day. Cases enter service by priority class, then first come first served: the queue is
   held as **cohorts by the day cases joined** (``_take_queue``), so the nationality mix of
   decisions is that of the cases at the head, as in the agent engine, not the mix of the whole
   queue. Decisions grant at the day's grant rate. Queues count cases (people ÷ household size);
   stocks and flows count people.
3. **appeal** — a ``lodge_share`` of refusals lodge after ``lodging_days``; the tribunal is the
   same queue (``judges`` servers, ``hearings_per_judge_month``; no withdrawals), cohorts by
   lodging day; ``allow_rate`` of determinations grant.
4. **exit** — people refused (no appeal, or dismissed) and inadmissible people wait on the exit
   route, held as cohorts by the day they entered it, by nationality and kind (refused,
   inadmissible). The voluntary-return and abscond clocks compete (daily probabilities
   :attr:`~corridor.asylum.params.AsylumParams.depart_p`, ``depart_p_entry`` for today's
   entrants); removals listed ``removal_days`` ago are removed; hub stays end
   (``hub_exit_p``; removed onward / left / stayed / returned to the UK, the returned back on
   the exit route today as :func:`~corridor.asylum.rules.exits.returned_kind`); then removal
   listing takes the **oldest** (``removal_order: newest_first``: the newest, a cohort not taken
   whole in proportion) removable people (nationalities with a returns agreement in force that
   day, both kinds) up to ``min(removal capacity a day, free detention places)``; then each
   operating hub, in listed order, takes the oldest (newest) eligible people up to ``min(seats
   a day, free beds)`` (``_take_exit``). People refused before day 0 are the exit route's
   cohort 0.
5. **record** — stocks at the end of the day and the day's flows, by nationality; the exit
   route is reported as ``refused`` (removable that day), ``limbo`` (not removable, or
   inadmissible and not held) or ``inadmissible``; costs priced by
   :func:`corridor.asylum.costs.price_activity` (the agent engine's rule).

As in the agent engine, withdrawn claims and arrivals who do not claim are outside the asylum
stocks; people leaving a hub removed onward, left or stayed become ``departed``, those returned
to the UK rejoin the exit route; ``new_hub_removals``, ``new_hub_left`` and
``new_hub_returned_uk`` count the ``removed_onward``, ``left`` and ``returned_uk`` shares.
So, for every nationality and day (conservation, checked by the tests)::

    initial backlog share + Σ new_claims = Σ n_* + Σ new_withdrawals

What the expected values cannot carry: integer server counts (the agent engine rounds
``servers × agents_per_person``), household sizes beyond their mean (capacities are filled to
the exact amount), and ``service: fixed`` (the aggregate engine treats every service as
exponential). Within a day, the mix of today's entrants that start service or leave is their
share of the day's amounts.

The day loop is one Numba kernel (``_kernel``, ``cache=True``); ``simulate(...,
compiled=False)`` runs the same source as plain Python.

Layout
------
This module is the stable import path of the aggregate engine; the code lives in
:mod:`corridor.asylum.cohort` and is re-exported here:
:mod:`~corridor.asylum.cohort.fluid_queue` (``_queue_day``, ``_take_queue``, ``_take_exit``,
``_queue_stage``), :mod:`~corridor.asylum.cohort.kernel` (``_kernel``) and
:mod:`~corridor.asylum.cohort.driver` (:class:`Simulated`, :func:`simulate`,
:func:`run_aggregate`).
"""

from __future__ import annotations

from corridor.asylum.cohort.driver import ENGINE, Simulated, run_aggregate, simulate

__all__ = ["ENGINE", "Simulated", "run_aggregate", "simulate"]
