"""User-facing errors.

Every mistake in user input (a scenario, a Flee case, a command-line option) is reported as an
:class:`InputError` that names the file, the line, the field and what was expected. The command
line prints these without a traceback; library callers can catch :class:`CorridorError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CorridorError(Exception):
    """Base class of every error Corridor raises on purpose."""


class InputError(CorridorError):
    """A problem in user input, located as precisely as possible.

    Parameters
    ----------
    message:
        What is wrong, in plain words.
    file:
        The file that holds the problem, if any.
    line:
        1-based line number in that file, if known.
    field:
        The column, key or option at fault, if known.
    expected:
        What would have been accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.expected = expected
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        what = f"field '{self.field}': " if self.field else ""
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{what}{self.message}{tail}"


class InputErrors(CorridorError):
    """Several input problems found at once (``corridor validate`` lists them all)."""

    def __init__(self, errors: Iterable[InputError]) -> None:
        self.errors = list(errors)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return head + ":\n" + "\n".join(f"  - {e}" for e in self.errors)
