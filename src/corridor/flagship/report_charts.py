"""The report's charts by year: every variant, one panel each, against the status quo.

Reads: ``summary`` (``summary.json``'s ``{variant: {year: {metric: {p10, p50, p90}}}}``), the
variants' plain labels and the observed figures of the last year before the forecast
(:func:`corridor.flagship.report_years.observed_year`). Produces: one :class:`Chart` per metric
of :data:`CHART_METRICS` — small multiples, one panel per variant of ``summary`` (the status quo
first), each panel the variant's median and 10–90% range over the years in colour over the
status quo's in grey, a shared scale so panels compare, the published figure of the last
observed year as a black point where it counts the same thing — as PNG bytes with the ids of the
variants actually drawn (read back from the figure's panels); :func:`charts_html` embeds them in
the report (offline: base64 images, no script) and :func:`write_pngs` writes them beside it.

Invariants: every variant of ``summary`` has a panel in every chart; titles, axis labels and
legends are plain words with units scaled to read directly ("thousand people", "£ billion",
"per cent"), never code names or an offset such as 1e6; Matplotlib runs headless (Agg).
"""

from __future__ import annotations

import html
import io
import math
import textwrap
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from corridor.atomic import write_with

if TYPE_CHECKING:
    from corridor.analysis.pool import Pool
    from corridor.flagship.report_years import Observed

__all__ = ["BASELINE", "CHART_METRICS", "Chart", "chart_metrics", "charts_html", "write_pngs"]

BASELINE = "status_quo"
COLUMNS = 4

# (metric of summary.json, title, y-axis label, divisor, draw the published point)
CHART_METRICS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("small_boat_arrivals", "Small-boat arrivals a year", "thousand people", 1e3, True),
    ("asylum_claims", "Asylum claims a year", "thousand claims", 1e3, True),
    ("initial_decisions", "Initial decisions a year", "thousand decisions", 1e3, True),
    ("initial_grant_rate", "Grant rate at initial decision", "per cent of decisions", 1.0, True),
    ("backlog_end", "People awaiting an initial decision on 31 December", "thousand people",
     1e3, True),
    ("removals", "Removals and returns a year (enforced, voluntary, sent on from hubs)",
     "thousand people", 1e3, False),
    ("limbo_end", "People in limbo on 31 December (refused or inadmissible, not removed)",
     "thousand people", 1e3, False),
    ("cost_gbp", "Cost to the UK a year (prices of the scenario's price year)", "£ billion",
     1e9, False),
    ("cost_limbo_gbp", "Cost of limbo a year", "£ billion", 1e9, False),
    ("wb_detections", "Western Balkans detections a year (Frontex counting)",
     "thousand detections", 1e3, False),
)  # fmt: skip


@dataclass(frozen=True)
class Chart:
    metric: str
    title: str
    png: bytes
    variants: tuple[str, ...]  # ids of the variants drawn, one panel each, in panel order


Series = tuple[list[int], list[float], list[float], list[float]]


def _series(per_year: dict[str, Any], metric: str, scale: float) -> Series:
    years: list[int] = []
    lo: list[float] = []
    mid: list[float] = []
    hi: list[float] = []
    for year in sorted(per_year, key=int):
        q = per_year[year].get(metric) or {}
        if q.get("p50") is None:
            continue
        years.append(int(year))
        lo.append(q["p10"] / scale)
        mid.append(q["p50"] / scale)
        hi.append(q["p90"] / scale)
    return years, lo, mid, hi


def _set_limits(
    ax: Any, series: list[Series], published: tuple[int, float] | None, scale: float
) -> None:
    """Limits of the shared axes: every panel's years and bands (and the published point), with
    Matplotlib's default 5% margins; a quantity that is never negative starts at 0."""
    xs = [float(x) for s in series for x in s[0]]
    ys = [float(y) for s in series for part in s[1:] for y in part if y == y]
    if published is not None:
        xs.append(float(published[0]))
        ys.append(published[1] / scale)
    if not xs or not ys:
        return
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    dx = (x1 - x0) * 0.05 or 0.5
    dy = (y1 - y0) * 0.05 or max(abs(y1) * 0.05, 1e-9)
    ax.set_xlim(x0 - dx, x1 + dx)
    ax.set_ylim(0.0 if y0 >= 0 else y0 - dy, y1 + dy)


def _tick(v: float, _pos: Any = None) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:.3g}"


def _one(
    summary: dict[str, Any],
    labels: dict[str, str],
    spec: tuple[str, str, str, float, bool],
    published: tuple[int, float] | None,
) -> Chart:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    metric, title, ylabel, scale, _show = spec
    order = sorted(summary, key=lambda v: v != BASELINE)  # the status quo first, else as given
    rows = math.ceil(len(order) / COLUMNS)
    cols = min(COLUMNS, len(order))
    # tick sizes and the grid set before the axes are made, so their ticks are made once
    with plt.rc_context(
        {"xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3}
    ):
        fig, axes = plt.subplots(
            rows, cols, figsize=(3.0 * cols, 2.2 * rows + 0.9), sharex=True, sharey=True,
            squeeze=False,
        )  # fmt: skip
    base = _series(summary[BASELINE], metric, scale) if BASELINE in summary else None
    # the shared limits computed once (autoscaling after every artist rescales all 16 panels)
    for ax in axes.flat:
        ax.set_autoscale_on(False)
    _set_limits(axes[0, 0], [_series(summary[v], metric, scale) for v in order], published, scale)
    for i, ax in enumerate(axes.flat):
        if i >= len(order):
            ax.set_visible(False)
            continue
        vid = order[i]
        ax.set_gid(vid)
        if base is not None and vid != BASELINE:
            ax.fill_between(base[0], base[1], base[3], color="0.6", alpha=0.25, lw=0)
            ax.plot(base[0], base[2], color="0.45", lw=1.2)
        years, lo, mid, hi = _series(summary[vid], metric, scale)
        ax.fill_between(years, lo, hi, color="C0", alpha=0.25, lw=0)
        ax.plot(years, mid, color="C0", lw=1.8)
        if published is not None:
            ax.plot([published[0]], [published[1] / scale], "o", color="k", ms=3.5)
        label = labels.get(vid, vid.replace("_", " "))
        # y given: Matplotlib then skips measuring every tick label to place the title
        ax.set_title(textwrap.fill(label, 34), fontsize=8, y=1.0, pad=4.0)
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        if i % cols == 0:
            ax.set_ylabel(ylabel, fontsize=8)
    handles = [
        Line2D([], [], color="C0", lw=1.8, label="the panel's variant: median"),
        Patch(color="C0", alpha=0.25, label="its 10–90% range over replicates"),
    ]
    if base is not None:
        handles += [
            Line2D([], [], color="0.45", lw=1.2, label="status quo: median"),
            Patch(color="0.6", alpha=0.25, label="status quo: 10–90% range"),
        ]
    if published is not None:
        handles.append(
            Line2D([], [], color="k", marker="o", lw=0, ms=3.5, label=f"published, {published[0]}")
        )
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    # fixed margins (tight_layout measured every label of 16 panels: most of the time)
    height = 2.2 * rows + 0.9  # inches, as the figure was made
    fig.subplots_adjust(
        left=0.07, right=0.99, bottom=0.65 / height, top=1 - 0.6 / height,
        wspace=0.12, hspace=0.45,
    )  # fmt: skip
    drawn = tuple(str(ax.get_gid()) for ax in fig.axes if ax.get_visible() and ax.get_gid())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, facecolor="white")
    plt.close(fig)
    return Chart(metric, title, _palette(buf.getvalue()), drawn)


def _palette(png: bytes) -> bytes:
    """``png`` with at most 256 colours (a third of the size for flat charts; Pillow comes with
    Matplotlib)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        small = im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def chart_metrics(
    summary: dict[str, Any],
    labels: dict[str, str],
    observed: dict[str, Observed] | None = None,
    observed_year: int | None = None,
    workers: int = 1,
    pool: Pool | None = None,
) -> list[Chart]:
    """One small-multiples chart per metric of :data:`CHART_METRICS` that ``summary`` holds,
    drawn on ``workers`` processes of the one pool (:class:`corridor.analysis.pool.Pool`; a
    chart of 16 panels takes most of a second to draw); ``pool``: an open pool to draw on (the
    main job's, whose workers are up already) instead of a new one."""
    from corridor.analysis.pool import Pool

    if not summary:
        return []
    first = next(iter(summary.values()))
    held = set().union(*(set(m) for m in first.values())) if first else set()
    tasks = []
    for spec in CHART_METRICS:
        metric, _t, _y, _s, show = spec
        if metric not in held:
            continue
        o = (observed or {}).get(metric)
        published = (
            (observed_year, o.value)
            if show and o is not None and o.value is not None and observed_year is not None
            else None
        )
        tasks.append((summary, labels, spec, published))
    if pool is not None:
        return pool.map(_one, tasks)
    with Pool(workers=max(1, min(workers, len(tasks)))) as own:
        return own.map(_one, tasks)


def charts_html(charts: list[Chart], band_note: str) -> str:
    """The charts as figures embedded in the page (base64 PNG), each with a plain caption and
    its variants listed in ``data-variants``."""
    parts = []
    for c in charts:
        data = b64encode(c.png).decode("ascii")
        parts.append(
            f"<figure class='multiples' data-metric='{c.metric}'"
            f" data-variants='{' '.join(c.variants)}'>"
            f"<img alt='{html.escape(c.title)}: one panel per variant' style='max-width:100%'"
            f" src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(c.title)}: each panel one variant (median line, 10–90%"
            " range shaded) over the status quo in grey.</figcaption></figure>"
        )
    return f"<p><small>{html.escape(band_note)}</small></p>" + "".join(parts) if parts else ""


def _writer(png: bytes) -> Callable[[IO[Any]], None]:
    def write(fh: IO[Any]) -> None:
        fh.write(png)

    return write


def write_pngs(charts: list[Chart], folder: Path) -> list[Path]:
    """Each chart as ``folder/<metric>.png`` (written atomically); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in charts:
        path = folder / f"{c.metric}.png"
        write_with(path, _writer(c.png), binary=True)
        paths.append(path)
    return paths
