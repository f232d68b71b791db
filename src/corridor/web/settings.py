"""How the dashboard serves: :class:`Settings`, what ``corridor serve`` passes to
:func:`~corridor.web.app.create_app`.

Contract
--------
Reads: nothing (plain values from the command line or tests). Produces: a frozen
:class:`Settings` and the ``Host`` names it allows (:meth:`Settings.hosts`). Invariants: when
the server listens on loopback without a token, only loopback names pass the ``Host`` check;
with a token (or off loopback, which needs one, see :func:`~corridor.web.guard.check_bind`)
any ``Host`` passes unless ``allowed_hosts`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from corridor.web.guard import LOOPBACK_NAMES, is_loopback

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """How the dashboard serves (see ``corridor serve --help``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    results: Path | None = None  # None: $CORRIDOR_RESULTS or ./results
    workers: int = 1  # processes per job
    queue: int = 8  # jobs that may wait
    max_body: int = 64 * 1024
    max_replicates: int = 32
    isolate_jobs: bool = True  # run jobs in a process of their own (else in a thread)
    allowed_hosts: tuple[str, ...] | None = field(default=None)  # None: from host

    def hosts(self) -> tuple[str, ...] | None:
        """Host names the ``Host`` header may give (None: any, when a token guards)."""
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        if self.token is not None or not is_loopback(self.host):
            return None
        return tuple(dict.fromkeys((*LOOPBACK_NAMES, self.host.strip("[]").lower())))
