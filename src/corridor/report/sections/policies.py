"""Section "Policies side by side": yearly values of each policy and paired differences.

Contract: reads each group's yearly and whole-period values of
:data:`~corridor.report.metrics.KEY_METRICS` through
:class:`~corridor.report.metrics.SeriesData`. Produces a yearly table (median and p10–p90
across replicates; flows and costs summed over the year, stocks at its end; years the period
covers only in part starred) and, with more than one policy, the paired difference (Δ) of each
policy from the first, replicate by replicate (:func:`corridor.analysis.summaries.paired`), with
how the runs pair: expected values, common random numbers, or independent runs. A cell that
stands for one run shows the value alone; a missing one shows –.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.report.markup import esc, num, table
from corridor.report.metrics import KEY_METRICS, SeriesData

if TYPE_CHECKING:
    from corridor.report.run_groups import RunGroup

__all__ = ["policies_section"]


def _pairing(a: RunGroup, b: RunGroup) -> tuple[list[int], str]:
    """Replicate keys the two groups share, and how their runs pair."""
    common = [k for k in a.keys if k in set(b.keys)]
    seeds_a = dict(zip(a.keys, a.seeds, strict=True))
    seeds_b = dict(zip(b.keys, b.seeds, strict=True))
    if a.engine == b.engine == "aggregate":
        how = "expected values (aggregate engine: no randomness)"
    elif common and all(seeds_a[k] is not None and seeds_a[k] == seeds_b[k] for k in common):
        how = "common random numbers (same seeds)"
    else:
        how = "independent runs (different seeds): differences include replicate noise"
    return common, how


def _median_range(
    p50: float, p10: float, p90: float, n: int, money: bool, *, inline: bool = False
) -> str:
    """A median with its p10–p90 range beneath it (beside it, in brackets, when ``inline``);
    the median alone when it stands for one run."""
    mid = num(p50, money)
    if n <= 1:
        return mid
    lo, hi = num(p10, money), num(p90, money)
    if inline:
        return f'{mid} <span class="range">({lo} – {hi})</span>'
    return f'{mid}<br><span class="range">{lo} – {hi}</span>'


def _band_cell(frame: pd.DataFrame, row: Any, money: bool) -> str:
    """The cell of ``row`` of a frame of p10/p50/p90/n bands (– where the row is missing)."""
    if row not in frame.index:
        return "–"
    r = frame.loc[row]
    return _median_range(float(r["p50"]), float(r["p10"]), float(r["p90"]), int(r["n"]), money)


def _diff_cell(d: np.ndarray[Any, Any], money: bool) -> str:
    """The cell of the paired differences ``d``: their median and p10–p90."""
    q10, q50, q90 = (float(v) for v in np.quantile(d, (0.1, 0.5, 0.9)))
    return _median_range(q50, q10, q90, len(d), money)


def policies_section(groups: Sequence[RunGroup], data: SeriesData) -> str:
    from corridor.analysis.summaries import bands, paired

    first = groups[0]
    parts: list[str] = []
    if len(groups) == 1:
        parts.append(
            "<p>Only one policy is in this report: nothing to compare. The table gives its "
            "yearly values (median, and p10–p90 across replicates).</p>"
        )
    else:
        parts.append(
            f"<p>Yearly values of each policy (median, and p10–p90 across replicates), and the "
            f"paired difference from <strong>{esc(first.label)}</strong> (Δ): each replicate "
            "minus the replicate of the first policy with the same number. Policies of one "
            "ensemble share each replicate's seed and prior draw (common random numbers), so "
            "these differences show the policy's effect without most of the replicate noise. "
            "Flows and costs are summed over the year, stocks taken at its end.</p>"
        )
    pairs = {g.label: _pairing(first, g) for g in groups[1:]}
    header = ["year", *(g.label for g in groups), *(f"Δ {g.label}" for g in groups[1:])]
    rows: list[list[str]] = []
    partial: set[int] = set()
    for g in groups:
        partial |= _partial_years(*data.days(g))
    width = len(header)
    for metric in KEY_METRICS:
        rows.append([f'<th colspan="{width}" class="metric">{esc(metric.title)}</th>'])
        wides = {g.label: data.at(metric.name, g, "year") for g in groups}
        stats = {k: bands(w, (0.1, 0.5, 0.9)) for k, w in wides.items()}
        years = sorted({int(i.year) for w in wides.values() for i in w.index})
        for y in years:
            when = pd.Timestamp(year=y, month=1, day=1)
            row = [f"{y}*" if y in partial else str(y)]
            row += [_band_cell(stats[g.label], when, metric.money) for g in groups]
            for g in groups[1:]:
                keys, _how = pairs[g.label]
                a, b = wides[first.label], wides[g.label]
                if not keys or when not in a.index or when not in b.index:
                    row.append("–")
                    continue
                va = pd.Series(a.loc[when].to_numpy(), index=list(first.keys)).loc[keys]
                vb = pd.Series(b.loc[when].to_numpy(), index=list(g.keys)).loc[keys]
                row.append(_diff_cell((vb - va).to_numpy(dtype=float), metric.money))
            rows.append(row)
    parts.append(table(header, rows, cls="yearly"))
    if partial:
        parts.append("<p class='muted'>* part of a year (the period starts or ends within it).</p>")
    if len(groups) == 1:
        return "\n".join(parts)
    comp_rows: list[list[str]] = []
    for g in groups[1:]:
        keys, how = pairs[g.label]
        comp_rows.append([f'<th colspan="6" class="metric">{esc(g.label)}: {esc(how)}</th>'])
        if not keys:
            comp_rows.append(["no replicates in common", "–", "–", "–", "–", "–"])
            continue
        for metric in KEY_METRICS:
            c = paired(
                data.scalar(metric.name, first).loc[keys],
                data.scalar(metric.name, g).loc[keys],
                metric=metric.name,
                policy_a=first.label,
                policy_b=g.label,
                quantiles=(0.1, 0.5, 0.9),
            )
            m = metric.money
            q = c.quantiles
            diff = _median_range(q["p50"], q["p10"], q["p90"], c.n, m, inline=True)
            ratio = f"{c.ratio:.2f}" if c.n > 1 and np.isfinite(c.ratio) else "–"
            comp_rows.append(
                [
                    esc(metric.title),
                    num(c.mean_a, m),
                    num(c.mean_b, m),
                    diff,
                    str(c.n),
                    ratio,
                ]
            )
    parts.append(
        "<h3>Whole period, paired by replicate</h3><p>Flows and costs summed over the "
        "period, stocks at its end. <em>sd ratio</em>: spread of the paired differences over "
        "the spread of the replicates (well below 1 when common random numbers work; about 1.4 "
        "for independent runs).</p>"
    )
    parts.append(
        table(
            [
                "metric",
                f"mean, {first.label}",
                "mean, policy",
                "difference: median (p10 – p90)",
                "pairs",
                "sd ratio",
            ],
            comp_rows,
            cls="paired",
        )
    )
    return "\n".join(parts)


def _partial_years(first: pd.Timestamp, last: pd.Timestamp) -> set[int]:
    """Years that the period [first, last] covers only in part."""
    out: set[int] = set()
    if (first.month, first.day) != (1, 1):
        out.add(first.year)
    if (last.month, last.day) != (12, 31):
        out.add(last.year)
    return out
