"""The camp plot of ``corridor flee``: drawn in steps, it is the picture a full draw gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from corridor.data import synthetic_flee_case
from corridor.flee_run import run_flee
from corridor.report.camps_plot import CampFigure, PlotInBackground, plot_camps


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.int16)


@pytest.fixture(scope="module")
def columns() -> dict[str, np.ndarray]:
    case = synthetic_flee_case()
    return run_flee(case / "input", case / "observed", seed=3, days=60).columns


@pytest.mark.parametrize("no_observations", [False, True])
def test_finish_over_the_background_is_a_full_draw(
    tmp_path: Path, columns: dict[str, np.ndarray], no_observations: bool
) -> None:
    camps = dict(columns)
    if no_observations:  # a panel without an observed line takes its x range from the days
        camps["observed"] = np.where(camps["camp"] == camps["camp"][0], np.nan, camps["observed"])
    figure = CampFigure(camps, "title")
    figure.draw_background()
    figure.finish(camps["simulated"], tmp_path / "steps.png")
    figure.fig.savefig(tmp_path / "full.png", dpi=100, format="png")  # everything drawn again
    steps, full = _pixels(tmp_path / "steps.png"), _pixels(tmp_path / "full.png")
    assert steps.shape == full.shape
    # Only the order of strokes at the frame's corners may differ, by a shade of antialiasing.
    differing = np.abs(steps - full).max(axis=-1)
    assert (differing > 0).sum() <= 10
    assert differing.max() <= 8


def test_plot_in_background_and_plot_camps_write_the_same_png(
    tmp_path: Path, columns: dict[str, np.ndarray]
) -> None:
    plot_camps(columns, tmp_path / "direct.png", "t")
    with PlotInBackground(tmp_path / "child.png", "t") as plot:
        plot.start(columns)
        plot.draw(columns)
    assert (tmp_path / "child.png").read_bytes() == (tmp_path / "direct.png").read_bytes()
    assert not list(tmp_path.glob(".*"))
