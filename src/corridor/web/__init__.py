"""The dashboard (``corridor serve``): pick a scenario, move its policy levers, run it, and
compare it with the status quo, with p10–p90 bands from the results store.

* :mod:`corridor.web.app`: :func:`create_app`, which assembles the rest;
* :mod:`corridor.web.settings`: :class:`Settings` (how the server serves);
* :mod:`corridor.web.guard`: the bind rule and the ASGI guard (host, token, body limits,
  security headers);
* :mod:`corridor.web.views`: the HTTP routes (page, static files, JSON API);
* :mod:`corridor.web.stored`: stored runs as the page shows them (catalog snapshot, cached
  bands and paired differences against the status quo);
* :mod:`corridor.web.levers`: request models, and levers ↔ overrides for shipped scenarios;
* :mod:`corridor.web.jobs`: the bounded job queue and job state;
* :mod:`corridor.web.runner`: how a job runs, as two ensembles
  (:func:`corridor.analysis.ensemble.run_ensemble`), in a job process or a thread;
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
