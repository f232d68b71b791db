"""Maps of a run: people a month on each link of the network, line width ∝ flow.

Matplotlib's object API without pyplot (no GUI backend, thread-safe figures):

>>> from corridor.routes.maps import flow_map            # doctest: +SKIP
>>> fig = flow_map(result, title="2024")                  # doctest: +SKIP
>>> fig.savefig("flows.png")                              # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from corridor.atomic import atomic_path
from corridor.routes.run import RoutesResult
from corridor.routes.schema import PLACE_KINDS

__all__ = ["flow_map", "link_month_flows", "save_flow_map"]

DAYS_PER_MONTH = 365.25 / 12.0
KIND_COLOURS = {
    "origin": "#b42318",
    "transit": "#555555",
    "coast": "#1f6feb",
    "destination": "#1a7f37",
}


def link_month_flows(
    result: RoutesResult, since: date | None = None, until: date | None = None
) -> pd.DataFrame:
    """People a month on each network link (both directions added) over ``[since, until)``
    (default: the whole run): columns link, from, to, people_per_month."""
    g = result.graph
    f = result.link_flows
    lo = pd.Timestamp(since or result.start)
    hi = (
        pd.Timestamp(until)
        if until
        else pd.Timestamp(result.start) + pd.Timedelta(days=result.days)
    )
    days = max((hi - lo).days, 1)
    sel = f[(f["date"] >= lo) & (f["date"] < hi)]
    total = sel.groupby("link", sort=False)["people"].sum()
    rows = []
    for key in dict.fromkeys(g.link_key):
        j = g.link_key.index(key)
        rows.append({
            "link": key,
            "from": g.names[g.src[j]],
            "to": g.names[g.dst[j]],
            "people_per_month": float(total.get(key, 0)) * DAYS_PER_MONTH / days,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["link", "from", "to", "people_per_month"])


def flow_map(
    result: RoutesResult,
    *,
    since: date | None = None,
    until: date | None = None,
    title: str = "",
    max_width: float = 10.0,
    ax: Any = None,
) -> Any:
    """A figure (or drawing on ``ax``) of people a month per link; returns the Figure.

    Places are dots at their lon/lat, coloured by kind and labelled; links are straight
    segments with width ``max_width × flow / max flow`` (thin grey when unused); crossings are
    marked with a cross at the middle of their link.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    g = result.graph
    if ax is None:
        fig = Figure(figsize=(8.0, 7.0))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    flows = link_month_flows(result, since, until)
    lon, lat = g.lon, g.lat
    index = {n: i for i, n in enumerate(g.names)}
    a = np.asarray([index[x] for x in flows["from"]], np.int64)
    b = np.asarray([index[x] for x in flows["to"]], np.int64)
    segs = np.stack([np.c_[lon[a], lat[a]], np.c_[lon[b], lat[b]]], axis=1)
    ppm = flows["people_per_month"].to_numpy(float)
    top = float(ppm.max()) if ppm.size and ppm.max() > 0 else 1.0
    widths: NDArray[np.float64] = np.where(ppm > 0, max_width * ppm / top, 0.4)
    colours = np.where(ppm > 0, "#d1495b", "#bbbbbb")
    ax.add_collection(
        LineCollection(
            list(segs),
            linewidths=widths,
            colors=list(colours),
            alpha=0.8,
            capstyle="round",
            zorder=1,
        )
    )
    for j, key in enumerate(g.cross_key):
        lk = int(g.cross_link[j])
        mx = (lon[g.src[lk]] + lon[g.dst[lk]]) / 2
        my = (lat[g.src[lk]] + lat[g.dst[lk]]) / 2
        ax.plot([mx], [my], marker="x", color="black", markersize=6, zorder=3)
        del key
    for k, kind in enumerate(PLACE_KINDS):
        sel = g.kind == k
        if sel.any():
            ax.scatter(lon[sel], lat[sel], s=28, color=KIND_COLOURS[kind], label=kind, zorder=2)
    for i, name in enumerate(g.names):
        ax.annotate(name, (lon[i], lat[i]), xytext=(3, 3), textcoords="offset points", fontsize=7)
    for q in (0.25, 1.0):
        v = top * q
        ax.plot([], [], color="#d1495b", linewidth=max_width * q, label=f"{v:,.0f} people a month")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1.0 / max(np.cos(np.deg2rad(float(np.mean(lat)))), 0.2))
    ax.autoscale_view()
    ax.margins(0.05)
    if title:
        ax.set_title(title)
    return fig


def save_flow_map(result: RoutesResult, dest: str | Path, **kwargs: Any) -> None:
    """Write :func:`flow_map` as a PNG to ``dest`` (atomically)."""
    fig = flow_map(result, **kwargs)
    with atomic_path(dest, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
