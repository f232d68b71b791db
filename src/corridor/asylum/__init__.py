"""The asylum system: claims, the decision queue, appeals, returns, limbo and third-country hubs.

Two engines compute it from the same :class:`~corridor.scenario.schema.Scenario`: the agent-based
modules (people as rows of the engine's agent table) and the aggregate stock-flow model
(expected values, milliseconds). Both return a :class:`~corridor.asylum.result.ScenarioResult`.
"""
