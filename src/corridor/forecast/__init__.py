"""The forecast: the fitted flows, the Channel, the handoff into the UK asylum system, per policy.

Modules: :mod:`~corridor.forecast.config` (the forecast's settings and policy variants),
:mod:`~corridor.forecast.series` (structural time series of the monthly flows),
:mod:`~corridor.forecast.channel` (route preferences: who reaches the Channel from each route),
:mod:`~corridor.forecast.model` (one replicate: flows → levers → arrivals → asylum → re-entry),
:mod:`~corridor.forecast.fitted` (what is read from ``fitted/``, the starting state),
:mod:`~corridor.forecast.replicate` (a replicate as the results store's tables: the one entry's
forecast path). Applications built on it (the main job, back-test, refit, report) are in
:mod:`corridor.flagship`.
"""
