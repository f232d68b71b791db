"""The ``corridor`` command (Typer + Rich): the app, its entry point and its commands.

This module holds the Typer ``app``, :func:`main` (the ``corridor`` entry point) and the
registration of the commands; each command lives in its own module of this package
(:mod:`~corridor.cli.flee`, :mod:`~corridor.cli.runs`, ...) and the helpers they share in
:mod:`corridor.cli.progress`.

Commands import what they need when they run, so that ``corridor --help`` and short runs start
fast. User mistakes are reported as one clear message (file, line, field, what was expected) and
exit status 2, never as a traceback; so is a failure to read or write a file (an ``OSError``: a
folder that cannot be made, a full disk), which the library leaves half-written nowhere. When a
command is done, :func:`main` freezes the garbage collector's heap: the process is about to
exit, and the interpreter's last collections would otherwise walk every object of the libraries
loaded (a quarter of a second once Numba is).
"""

from __future__ import annotations

import gc
import sys
import warnings
from typing import Annotated

import typer

from corridor.cli.progress import console, err_console

app = typer.Typer(
    name="corridor",
    help="Simulate migration corridors, asylum systems and third-country return hubs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from corridor import __version__

        console.print(f"corridor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Corridor: simulate migration corridors, asylum systems and third-country return hubs.

    Outputs are aggregate (counts, rates, costs for whole populations); Corridor holds no
    personal data.
    """


def main() -> None:
    """Entry point that turns Corridor's own errors into messages."""
    from corridor.errors import CorridorError

    try:
        app()
    except CorridorError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:  # a file or folder that cannot be read or written, a full disk
        err_console.print(f"[bold red]error:[/] {_os_error(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)
    finally:
        # The process ends here (see the module docstring). Files and connections are closed
        # explicitly, so no finalizer of an object left frozen is needed at exit.
        gc.freeze()


def _os_error(exc: OSError) -> str:
    """One line for an I/O failure: what failed, on which file, and why."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = ", ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    return f"{where}: {what}" if where else what


# ``python -m corridor.cli.web`` imports this package first, which imports ``web`` to register
# ``serve``; runpy then warns that the module it is about to run is already imported. That is
# harmless here (importing ``web`` only defines functions), so that one warning is not shown.
warnings.filterwarnings(
    "ignore",
    message=r"'corridor\.cli\.web' found in sys\.modules",
    category=RuntimeWarning,
    module="runpy",
)


def _register() -> None:
    """The commands, each from its own module, in the order ``corridor --help`` lists them.

    Each module imports only Typer at import time; a command imports what it needs when it runs.
    """
    from corridor.cli import (
        analysis,
        asylum,
        flagship,
        flee,
        report,
        routes,
        runs,
        scenario,
        web,
    )

    for command in (
        flee.flee,
        runs.run,
        flagship.backtest,
        flagship.refit,
        runs.ensemble,
        runs.runs,
        runs.query,
        runs.export,
        runs.compare,
        scenario.validate,
        scenario.schema,
        scenario.levers,
        asylum.breakeven,
        routes.routes,
        analysis.calibrate,
        analysis.sensitivity,
        report.report,
        web.serve,
    ):
        app.command()(command)


_register()
