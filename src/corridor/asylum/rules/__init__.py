"""The asylum rules, each written once and called by both engines.

One module per topic, each a set of small Numba functions (``cache=True``; scalar rules
``inline="always"``) that the agent engine (:mod:`corridor.asylum.agent`, NumPy code and Numba
kernels) and the aggregate engine's kernel (:mod:`corridor.asylum.cohort.kernel`) both call:

* :mod:`~corridor.asylum.rules.claims`: who claims, who is screened out as inadmissible.
* :mod:`~corridor.asylum.rules.decisions`: grants, appeal lodging and its delay.
* :mod:`~corridor.asylum.rules.appeals`: appeals allowed or dismissed.
* :mod:`~corridor.asylum.rules.deterrence`: the share of recent outcomes that were removals or
  hub transfers, the arrivals factor, and the running sums they are computed from.
* :mod:`~corridor.asylum.rules.exits`: the exit route — returns agreements (held or limbo, the
  day an agreement changes), daily capacities with their free places (removal listing, hub
  seats), the removal delay, hub stay outcomes.
* :mod:`~corridor.asylum.rules.queues`: the servers at work in a queue stage.
* :mod:`~corridor.asylum.rules.pauses`: pauses in deciding a nationality (its cases wait,
  caseworkers take other cases; decided again in their order when the pause is lifted).
* :mod:`~corridor.asylum.rules.reentry`: people who leave a hub back on the routes, and
  arriving again.

Outcome rules come in two forms side by side: per case, from the case's own draws (the agent
engine), and in expectation (the aggregate engine).

Reads: plain arrays and numbers (never :class:`~corridor.asylum.params.AsylumParams`, so that
the rules stay below the parameters and both engines). Produces: numbers, masks. Invariants:
pure (no draws of their own, no state). A cached Numba kernel that inlines a rule is not
recompiled when only the rule's file changes: after editing a rule, clear the kernels'
``__pycache__`` (or touch the kernel's file).
"""
