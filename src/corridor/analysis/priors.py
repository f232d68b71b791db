"""Sampling a scenario's uncertain parameters (``uncertain:`` priors) for an ensemble.

Each replicate ``i`` gets one point ``u_i`` of the unit cube ``[0, 1)^d`` (one coordinate per
prior, priors in sorted path order), mapped through each prior's inverse CDF:

* ``uniform(low, high)``: ``low + u (high - low)``
* ``loguniform(low, high)``: ``exp(log low + u (log high - log low))``
* ``normal(mean, sd)`` truncated to ``[low, high]`` (either bound may be absent):
  ``mean + sd Φ⁻¹(Φ(a) + u (Φ(b) - Φ(a)))`` with ``a = (low - mean)/sd``, ``b = (high - mean)/sd``
* ``triangular(low, mode, high)``: with ``c = (mode - low)/(high - low)``,
  ``low + sqrt(u (high - low)(mode - low))`` if ``u < c``, else
  ``high - sqrt((1 - u)(high - low)(high - mode))``

The points (:func:`unit_points`):

* ``"lhs"``: a Latin hypercube of ``n`` points (``scipy.stats.qmc.LatinHypercube``), row ``i`` for
  replicate ``i``; its generator is seeded from ``base_seed`` alone;
* ``"sobol"``: the first ``n`` points of a scrambled Sobol sequence of ``2^ceil(log2 n)`` points
  (``scipy.stats.qmc.Sobol``), seeded the same way;
* ``"none"``: independent uniforms; replicate ``i`` draws from its own
  ``SeedSequence(base_seed).spawn(n)[i]`` child (spawn key ``(i, 0)``), distinct from the stream
  of its simulation seed.

So a replicate's draw depends only on ``(base_seed, n, method, priors)``: never on the backend or
the number of workers. A parameter whose scenario value is an integer is rounded. Each draw is
checked against the scenario schema before any run starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from corridor.errors import InputError
from corridor.scenario.prior_values import inverse_cdf
from corridor.scenario.schema import Scenario

__all__ = [
    "SampleMethod",
    "draw_seed_sequence",
    "inverse_cdf",
    "sample_priors",
    "unit_points",
]

SampleMethod = Literal["lhs", "sobol", "none"]
SAMPLE_METHODS: tuple[str, ...] = ("lhs", "sobol", "none")
_DESIGN_TAG = 0x5EED_0001  # separates the design's generator from the replicate seeds


def draw_seed_sequence(base_seed: int, replicate: int) -> np.random.SeedSequence:
    """Replicate ``replicate``'s own stream for its prior draw: the child ``(replicate, 0)`` of
    ``SeedSequence(base_seed)`` (the replicate's seed comes from child ``(replicate,)``)."""
    return np.random.SeedSequence(int(base_seed), spawn_key=(int(replicate), 0))


def unit_points(d: int, n: int, method: SampleMethod, base_seed: int) -> NDArray[np.float64]:
    """``n`` points of ``[0, 1)^d``, row ``i`` for replicate ``i`` (see the module docstring)."""
    if n < 0 or d < 0:
        raise ValueError("n and d must be >= 0")
    if d == 0 or n == 0:
        return np.zeros((n, d))
    if method == "none":
        rows = [np.random.default_rng(draw_seed_sequence(base_seed, i)).random(d) for i in range(n)]
        return np.asarray(rows, dtype=np.float64)
    if method not in ("lhs", "sobol"):
        raise InputError(
            f"unknown sampling method {method!r}", field="sample", expected="lhs | sobol | none"
        )
    try:
        from scipy.stats import qmc
    except ImportError as exc:  # pragma: no cover - scipy present in the test environment
        raise InputError(
            f"sampling {method!r} needs the package 'scipy' (pip install scipy)",
            field="sample",
            expected="none, or install scipy",
        ) from exc
    rng = np.random.default_rng(np.random.SeedSequence([int(base_seed), _DESIGN_TAG]))
    if method == "lhs":
        points = qmc.LatinHypercube(d=d, rng=rng).random(n)
    else:
        m = max(0, math.ceil(math.log2(n)))
        points = qmc.Sobol(d=d, scramble=True, rng=rng).random_base2(m)[:n]
    return np.asarray(points, dtype=np.float64)


def numeric_parameter(data: Any, path: str) -> int | float | list[Any]:
    """The current value of uncertain parameter ``path`` in a model dump, which must exist and be
    a number (or a dated schedule); a clear error naming the ``uncertain.<path>`` field if not."""
    try:
        current = _lookup(data, path)
    except KeyError:
        raise InputError(
            f"uncertain parameter {path!r} is not a parameter of the scenario",
            field=f"uncertain.{path}",
            expected="a dotted path such as deterrence.elasticity or hubs.<id>.beds",
        ) from None
    if isinstance(current, bool) or not isinstance(current, int | float | list):
        raise InputError(
            f"uncertain parameter {path!r} is not a number (it is {current!r})",
            field=f"uncertain.{path}",
            expected="a numeric parameter",
        )
    return current


def _lookup(data: Any, path: str) -> Any:
    """The value at dotted ``path`` of a model dump (a list item by index or by its ``id``)."""
    node = data
    for key in path.split("."):
        if isinstance(node, list):
            if key.isdigit() and int(key) < len(node):
                node = node[int(key)]
                continue
            match = [x for x in node if isinstance(x, dict) and x.get("id") == key]
            if not match:
                raise KeyError(path)
            node = match[0]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise KeyError(path)
    return node


def _assign(data: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    parent = _lookup(data, ".".join(parts[:-1])) if len(parts) > 1 else data
    last = parts[-1]
    if isinstance(parent, list):
        index = (
            int(last)
            if last.isdigit()
            else next(
                i for i, x in enumerate(parent) if isinstance(x, dict) and x.get("id") == last
            )
        )
        parent[index] = value
    else:
        parent[last] = value


def sample_priors(
    scenario: Scenario,
    n: int,
    method: SampleMethod = "lhs",
    base_seed: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> list[dict[str, float | int]]:
    """One override dict per replicate (dotted path → drawn value) from ``scenario.uncertain``.

    ``base_seed`` defaults to the scenario's seed. ``fixed`` overrides (a policy's) are applied
    on top of each draw when checking that the drawn scenario is valid.
    """
    seed = scenario.seed if base_seed is None else int(base_seed)
    priors = dict(sorted(scenario.uncertain.items()))
    if not priors:
        return [{} for _ in range(n)]
    data = scenario.model_dump(mode="python")
    kinds: dict[str, type] = {}
    for path in priors:
        current = numeric_parameter(data, path)
        kinds[path] = int if isinstance(current, int) else float
    u = unit_points(len(priors), n, method, seed)
    columns = {path: inverse_cdf(prior, u[:, j]) for j, (path, prior) in enumerate(priors.items())}
    draws: list[dict[str, float | int]] = []
    for i in range(n):
        draw: dict[str, float | int] = {}
        for path in priors:
            value = float(columns[path][i])
            draw[path] = round(value) if kinds[path] is int else value
        trial = scenario.model_dump(mode="python")
        for path, value in {**draw, **(fixed or {})}.items():
            try:
                _assign(trial, path, value)
            except (KeyError, StopIteration):
                raise InputError(f"no parameter {path!r}", field=path) from None
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            raise InputError(
                f"replicate {i}'s prior draw {draw} makes the scenario invalid: "
                f"{exc.errors()[0].get('msg', exc)}",
                field="uncertain",
                expected="priors whose ranges respect each parameter's bounds",
            ) from exc
        draws.append(draw)
    return draws
