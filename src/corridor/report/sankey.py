"""A flow (Sankey) diagram of the asylum pipeline, drawn with matplotlib patches.

:func:`pipeline` turns a run's cumulative totals (people over the whole period) into nodes and
links: arrivals and the initial backlog → claims → initial decisions → grants / refusals →
appeals → the exit route → voluntary returns, removals, hub transfers, absconds, limbo and
people still waiting, and what became of people sent to hubs. :func:`draw_sankey` draws any
layered diagram of that kind (nodes in columns, bands whose width is the number of people).

Node sizes are ``max(people in, people out)``; the engines conserve people, but a few are in
transit at the end (e.g. an appeal being lodged), so a node's inflow and outflow may differ a
little. Zero nodes and links are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Link", "Node", "draw_sankey", "pipeline", "sankey_figure"]

# Colours by kind of node (colour-blind safe where it matters: grants vs refusals).
_C = {
    "in": "#6e7781",
    "queue": "#1f6feb",
    "grant": "#1a7f37",
    "refuse": "#cf222e",
    "appeal": "#bf8700",
    "exit": "#953800",
    "hub": "#8250df",
    "limbo": "#7d4e24",
    "gone": "#57606a",
    "wait": "#0969da",
}


@dataclass(frozen=True)
class Node:
    """A box of the diagram: ``column`` 0 is the left edge."""

    key: str
    label: str
    column: int
    colour: str = "#6e7781"


@dataclass(frozen=True)
class Link:
    """People moving from node ``source`` to node ``target``."""

    source: str
    target: str
    value: float


def _get(totals: Mapping[str, float], key: str) -> float:
    value = float(totals.get(key, 0.0))
    return value if value > 0 else 0.0


def pipeline(totals: Mapping[str, float]) -> tuple[list[Node], list[Link]]:
    """Nodes and links of the asylum pipeline from cumulative totals.

    ``totals`` holds, in people over the whole period, every flow ``new_<flow>`` summed, every
    stock at the end ``end_n_<stage>`` and ``initial`` (people awaiting a decision on day 0).
    """
    t = totals
    arrivals, claims = _get(t, "new_arrivals"), _get(t, "new_claims")
    inad = _get(t, "new_inadmissible")
    refused = _get(t, "new_refusals")
    lodged, determined = _get(t, "new_appeals_lodged"), _get(t, "new_appeals_determined")
    allowed = _get(t, "new_appeals_allowed")
    transfers = _get(t, "new_hub_transfers")
    returned = _get(t, "new_hub_returned_uk")  # back on the exit route (counted there again)
    hub_out = _get(t, "new_hub_removals") + _get(t, "new_hub_left") + returned
    nodes = [
        Node("backlog", "Waiting at start", 0, _C["wait"]),
        Node("arrivals", "Arrived", 0, _C["in"]),
        Node("queue", "Decision queue", 1, _C["queue"]),
        Node("not_claimed", "Did not claim", 1, _C["gone"]),
        Node("inadmissible", "Inadmissible", 1, _C["exit"]),
        Node("decided", "Initial decision", 2, _C["queue"]),
        Node("withdrawn", "Withdrew", 2, _C["gone"]),
        Node("waiting", "Still awaiting decision", 2, _C["wait"]),
        Node("granted", "Granted", 3, _C["grant"]),
        Node("refused", "Refused", 3, _C["refuse"]),
        Node("appealed", "Appealed", 4, _C["appeal"]),
        Node("not_appealed", "Did not appeal", 4, _C["refuse"]),
        Node("allowed", "Granted on appeal", 5, _C["grant"]),
        Node("dismissed", "Appeal dismissed", 5, _C["refuse"]),
        Node("appeal_pending", "Appeal pending", 5, _C["wait"]),
        Node("exit", "Refused: exit route", 6, _C["exit"]),
        Node("voluntary", "Left voluntarily", 7, _C["gone"]),
        Node("removed", "Removed", 7, _C["exit"]),
        Node("hub", "Sent to a hub", 7, _C["hub"]),
        Node("absconded", "Absconded", 7, _C["gone"]),
        Node("limbo", "In limbo at end", 7, _C["limbo"]),
        Node("awaiting_removal", "Awaiting removal at end", 7, _C["wait"]),
        Node("hub_removed", "Removed onward from hub", 8, _C["hub"]),
        Node("hub_left", "Left the hub", 8, _C["hub"]),
        Node("hub_stayed", "Stayed in host country", 8, _C["hub"]),
        Node("hub_returned", "Brought back to the UK", 8, _C["hub"]),
        Node("in_hub", "Still in a hub", 8, _C["hub"]),
    ]
    links = [
        Link("arrivals", "queue", max(claims - inad, 0.0)),
        Link("backlog", "queue", _get(t, "initial")),
        Link("arrivals", "not_claimed", max(arrivals - claims, 0.0)),
        Link("arrivals", "inadmissible", inad),
        Link("queue", "decided", _get(t, "new_decisions")),
        Link("queue", "withdrawn", _get(t, "new_withdrawals")),
        Link("queue", "waiting", _get(t, "end_n_awaiting_decision")),
        Link("decided", "granted", _get(t, "new_grants")),
        Link("decided", "refused", refused),
        Link("refused", "appealed", lodged),
        Link("refused", "not_appealed", max(refused - lodged, 0.0)),
        Link("appealed", "allowed", allowed),
        Link("appealed", "dismissed", max(determined - allowed, 0.0)),
        Link("appealed", "appeal_pending", max(lodged - determined, 0.0)),
        Link("not_appealed", "exit", max(refused - lodged, 0.0)),
        Link("dismissed", "exit", max(determined - allowed, 0.0)),
        Link("inadmissible", "exit", inad),
        Link("exit", "voluntary", _get(t, "new_voluntary_returns")),
        Link("exit", "removed", _get(t, "new_removals")),
        Link("exit", "hub", transfers),
        Link("exit", "absconded", _get(t, "new_absconds")),
        Link("exit", "limbo", _get(t, "end_n_limbo")),
        Link(
            "exit",
            "awaiting_removal",
            _get(t, "end_n_refused") + _get(t, "end_n_detained") + _get(t, "end_n_inadmissible"),
        ),
        Link("hub", "hub_removed", _get(t, "new_hub_removals")),
        Link("hub", "hub_left", _get(t, "new_hub_left")),
        Link("hub", "hub_returned", returned),
        Link("hub", "hub_stayed", max(transfers - hub_out - _get(t, "end_n_in_hub"), 0.0)),
        Link("hub", "in_hub", _get(t, "end_n_in_hub")),
    ]
    return nodes, links


def _band(x0: float, x1: float, y0: tuple[float, float], y1: tuple[float, float]) -> Any:
    """A band from the right edge of one node to the left edge of another (cubic edges)."""
    from matplotlib.path import Path as MPath

    xm = (x0 + x1) / 2.0
    (a_top, a_bot), (b_top, b_bot) = y0, y1
    verts = [
        (x0, a_top),
        (xm, a_top),
        (xm, b_top),
        (x1, b_top),
        (x1, b_bot),
        (xm, b_bot),
        (xm, a_bot),
        (x0, a_bot),
        (x0, a_top),
    ]
    codes = [
        MPath.MOVETO,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.LINETO,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CURVE4,
        MPath.CLOSEPOLY,
    ]
    return MPath(verts, codes)


def draw_sankey(
    ax: Any,
    nodes: Sequence[Node],
    links: Sequence[Link],
    *,
    node_width: float = 0.012,
    gap: float = 0.03,
    min_height: float = 0.035,
    fontsize: float = 7.0,
) -> None:
    """Draw a layered Sankey diagram on ``ax`` (axes coordinates 0..1 vertically).

    Nodes without people are left out. A node's height is proportional to
    ``max(inflow, outflow)`` (at least ``min_height`` so that its label can be read); bands
    leave a node in the order of ``links`` and enter their target in the same order.
    """
    from matplotlib.patches import PathPatch, Rectangle

    live = [lk for lk in links if lk.value > 0]
    inflow: dict[str, float] = {}
    outflow: dict[str, float] = {}
    for lk in live:
        outflow[lk.source] = outflow.get(lk.source, 0.0) + lk.value
        inflow[lk.target] = inflow.get(lk.target, 0.0) + lk.value
    size = {n.key: max(inflow.get(n.key, 0.0), outflow.get(n.key, 0.0)) for n in nodes}
    shown = [n for n in nodes if size[n.key] > 0]
    if not shown:
        ax.text(0.5, 0.5, "no people in the pipeline", ha="center", va="center")
        ax.set_axis_off()
        return
    columns = sorted({n.column for n in shown})
    col_pos = {c: i for i, c in enumerate(columns)}
    n_cols = len(columns)
    by_col: dict[int, list[Node]] = {c: [n for n in shown if n.column == c] for c in columns}
    # One scale for every column: the fullest column (people + gaps) fills the height.
    scale = min(
        (1.0 - gap * (len(col) - 1)) / sum(size[n.key] for n in col) for col in by_col.values()
    )
    for _ in range(8):  # room for the nodes raised to min_height
        fits = []
        for col in by_col.values():
            big = [size[n.key] for n in col if size[n.key] * scale >= min_height]
            small = len(col) - len(big)
            room = 1.0 - gap * (len(col) - 1) - min_height * small
            fits.append(room / sum(big) if big else scale)
        scale = max(min(fits), 1e-12)
    height = {n.key: max(size[n.key] * scale, min_height) for n in shown}
    top: dict[str, float] = {}
    x: dict[str, float] = {}
    span = 0.78  # the rest of the width holds the labels of the last column
    for c, col in by_col.items():
        total = sum(height[n.key] for n in col) + gap * (len(col) - 1)
        y = 1.0 - (1.0 - total) / 2.0
        for n in col:
            top[n.key] = y
            x[n.key] = span * col_pos[c] / max(n_cols - 1, 1)
            y -= height[n.key] + gap
    colour = {n.key: n.colour for n in shown}
    drawn = [lk for lk in live if lk.source in top and lk.target in top]
    # Bands leave a node in the order of their targets' heights and enter in the order of
    # their sources' heights: no two bands of one node cross each other.
    start: dict[int, float] = {}
    used = {k: 0.0 for k in top}
    for i in sorted(range(len(drawn)), key=lambda i: -top[drawn[i].target]):
        lk = drawn[i]
        start[i] = top[lk.source] - used[lk.source]
        used[lk.source] += lk.value * scale
    end: dict[int, float] = {}
    used = {k: 0.0 for k in top}
    for i in sorted(range(len(drawn)), key=lambda i: -top[drawn[i].source]):
        lk = drawn[i]
        end[i] = top[lk.target] - used[lk.target]
        used[lk.target] += lk.value * scale
    for i, lk in enumerate(drawn):
        w = lk.value * scale
        path = _band(
            x[lk.source] + node_width,
            x[lk.target],
            (start[i], start[i] - w),
            (end[i], end[i] - w),
        )
        ax.add_patch(PathPatch(path, facecolor=colour[lk.target], alpha=0.35, linewidth=0))
    for n in shown:
        h = height[n.key]
        ax.add_patch(
            Rectangle((x[n.key], top[n.key] - h), node_width, h, color=n.colour, linewidth=0)
        )
        ax.text(
            x[n.key] + node_width + 0.004,
            top[n.key] - h / 2.0,
            f"{n.label}\n{size[n.key]:,.0f}",
            va="center",
            ha="left",
            fontsize=fontsize,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    ax.set_xlim(-0.01, 1.0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_axis_off()


def sankey_figure(
    nodes: Sequence[Node], links: Sequence[Link], *, title: str = "", note: str = ""
) -> Any:
    """A matplotlib Figure (Agg canvas, no pyplot) holding :func:`draw_sankey`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 5.6))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.06 if note else 0.02, 0.98, 0.86 if title else 0.92))
    draw_sankey(ax, nodes, links)
    if title:
        fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    if note:
        fig.text(0.01, 0.015, note, fontsize=7, color="#57606a")
    return fig
