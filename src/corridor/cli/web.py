"""The ``corridor serve`` command: the dashboard (see ``docs/dashboard.md``).

A plain Typer command function, registered in :mod:`corridor.cli` with ``app.command()(serve)``.
``python -m corridor.cli.web`` runs it on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["serve"]


def serve(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Anything but loopback needs --token.",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CORRIDOR_TOKEN",
            help="Require 'Authorization: Bearer T' (or ?token=T) on every request; 16+ "
            "characters from A-Z a-z 0-9 . _ ~ -. Also read from $CORRIDOR_TOKEN.",
            show_default=False,
        ),
    ] = None,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="Results store folder (default: $CORRIDOR_RESULTS, else ./results).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=256, help="Processes per run for agent replicates (K)."
        ),
    ] = max(1, min(4, os.cpu_count() or 1)),
    queue: Annotated[
        int, typer.Option("--queue", min=1, max=10_000, help="Runs that may wait (N); then 429.")
    ] = 8,
    max_replicates: Annotated[
        int, typer.Option("--max-replicates", min=2, max=200, help="Most replicates per run.")
    ] = 32,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level (warning hides requests).")
    ] = "info",
) -> None:
    """Serve the dashboard: pick a scenario, move its levers, run it, compare with the status quo.

    Runs wait in a bounded queue and are stored in the results store. Every result has a link
    (/runs/ID) that opens the same view again. See docs/dashboard.md.
    """
    from corridor.web.app import Settings, check_bind, create_app

    check_bind(host, token)  # before anything is opened or bound
    import uvicorn

    settings = Settings(
        host=host,
        port=port,
        token=token,
        results=results,
        workers=workers,
        queue=queue,
        max_replicates=max_replicates,
    )
    app = create_app(settings)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Corridor dashboard on http://{shown}:{port}/ (results: {app.state.store.root})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level in ("debug", "info"),
        proxy_headers=False,
        server_header=False,
        date_header=False,
        limit_concurrency=512,
        timeout_keep_alive=5,
        ws="none",
    )


def main() -> None:
    """``python -m corridor.cli.web``: the command alone, errors as messages."""
    import sys

    from corridor.errors import CorridorError

    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    cli.command()(serve)
    try:
        cli()
    except CorridorError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
