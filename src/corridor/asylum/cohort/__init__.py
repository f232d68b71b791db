"""The aggregate (cohort, expected-value) engine of the asylum system.

* :mod:`~corridor.asylum.cohort.fluid_queue` — Numba kernels of the fluid multi-server queue and
  of taking people from cohort queues (decision and tribunal queues, the exit route).
* :mod:`~corridor.asylum.cohort.kernel` — the day loop (:func:`~.kernel._kernel`), one kernel.
* :mod:`~corridor.asylum.cohort.driver` — parameters in, :class:`~.driver.Simulated` arrays and
  the :class:`~corridor.asylum.result.ScenarioResult` out (:func:`~.driver.run_aggregate`).

The public names stay importable from :mod:`corridor.asylum.aggregate`.
"""
