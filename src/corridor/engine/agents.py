"""The agent table: one preallocated NumPy array per attribute (a struct of arrays).

Modules declare the columns they need (name and dtype, see :mod:`corridor.engine.dtypes`); the
table allocates them with spare capacity and grows geometrically when full. Agents are never
deleted: a person who leaves the system changes state, so an agent's index is its identity for
the whole run and keys its random draws.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray


class AgentTable:
    """Columns of equal length; ``n`` agents are live, ``capacity`` are allocated.

    Example
    -------
    >>> t = AgentTable({"loc": np.int32}, capacity=4)
    >>> ids = t.add(3, loc=7)
    >>> t.n, t["loc"].tolist()
    (3, [7, 7, 7])
    """

    def __init__(
        self,
        columns: Mapping[str, DTypeLike],
        capacity: int = 1024,
        fill: Mapping[str, int | float] | None = None,
    ) -> None:
        self._dtypes = {k: np.dtype(v) for k, v in columns.items()}
        self._fill = dict(fill or {})
        self._capacity = max(int(capacity), 1)
        self._data: dict[str, NDArray[Any]] = {
            k: self._new(k, self._capacity) for k in self._dtypes
        }
        self.n = 0

    def _new(self, name: str, size: int) -> NDArray[Any]:
        return np.full(size, self._fill.get(name, 0), dtype=self._dtypes[name])

    @property
    def capacity(self) -> int:
        return self._capacity

    def columns(self) -> Iterator[str]:
        return iter(self._dtypes)

    def add_column(self, name: str, dtype: DTypeLike, fill: int | float = 0) -> None:
        """Declare a further column (a module that joins after set-up)."""
        if name in self._dtypes:
            raise ValueError(f"column {name!r} exists")
        self._dtypes[name] = np.dtype(dtype)
        self._fill[name] = fill
        self._data[name] = self._new(name, self._capacity)

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` agents without reallocating later."""
        if capacity <= self._capacity:
            return
        for k, old in self._data.items():
            new = self._new(k, capacity)
            new[: self.n] = old[: self.n]
            self._data[k] = new
        self._capacity = capacity

    def add(
        self, count: int, *, return_ids: bool = True, **values: int | float | NDArray[Any]
    ) -> NDArray[np.int64]:
        """Append ``count`` agents; columns not given keep their fill value.

        Returns their ids (an empty array with ``return_ids=False``, which saves a temporary of
        8 bytes per agent when millions are added at once).
        """
        if count < 0:
            raise ValueError("count must be non-negative")
        if self.n + count > self._capacity:
            self.reserve(max(self.n + count, 2 * self._capacity))
        lo, hi = self.n, self.n + count
        for k, v in values.items():
            self._data[k][lo:hi] = v
        self.n = hi
        if not return_ids:
            return np.empty(0, dtype=np.int64)
        return np.arange(lo, hi, dtype=np.int64)

    def __getitem__(self, name: str) -> NDArray[Any]:
        """The live part of column ``name`` (a view: writes go to the table)."""
        return self._data[name][: self.n]

    def raw(self, name: str) -> NDArray[Any]:
        """The whole allocated column (for kernels that take the live count separately)."""
        return self._data[name]

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._data.values())
