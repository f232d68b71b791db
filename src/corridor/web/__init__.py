"""The dashboard (``corridor serve``): pick a scenario, move its policy levers, run it, and
compare it with the status quo, with p10–p90 bands from the results store.

* :mod:`corridor.web.jobs`: levers ↔ overrides, and the bounded job queue that runs them as
  ensembles (:func:`corridor.analysis.ensemble.run_ensemble`);
* :mod:`corridor.web.app`: the FastAPI app (API, page, security guard);
* ``static/``: the page (one HTML file, one script, one style sheet; charts are inline SVG drawn
  by the script, nothing is fetched from elsewhere).

See ``docs/dashboard.md``.
"""

from __future__ import annotations

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> object:  # import FastAPI only when the app is wanted
    if name in __all__:
        from corridor.web import app

        return getattr(app, name)
    raise AttributeError(name)
