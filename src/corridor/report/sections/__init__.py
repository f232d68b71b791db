"""The sections of the HTML report, one module each, assembled by :mod:`corridor.report.html`.

Contract shared by every section module: a function ``*_section(...)`` takes what
:func:`corridor.report.html.build_report` has gathered (the run groups, their scenarios, the
results store, the cached series, the figure writer) and returns the section's HTML body,
without its ``<h2>`` heading (the page adds it). A section writes no file itself except through
the :class:`~corridor.report.embed.Figures` it is given, and holds no state between reports.
"""
