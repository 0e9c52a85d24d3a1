"""The live view draws a categorical input as its values' shares (bars) beside the reference's,
with the same badge as any input (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from console.config import load_config
from console.snapshot import take
from tests.test_categorical import PARTS_PER_DAY, lines, run, station_toml
from tests.window_helpers import shown_grid  # noqa: E402


def test_a_categorical_input_is_drawn_as_share_bars(qtbot, tmp_path):
    from widgets.live import CategoryChart, FeatureChart

    config = load_config(station_toml(tmp_path))
    engine, _ = run(config, lines(4 * PARTS_PER_DAY, seed=2, onset=3 * PARTS_PER_DAY))
    snapshot = take(engine)
    assert set(snapshot.categories) == {"channel", "flag"}
    grid = shown_grid(qtbot, 1280, 700)
    grid.show_snapshot(snapshot)
    qtbot.waitUntil(lambda: grid.complete, timeout=60_000)  # one chart per turn of the loop
    assert type(grid.charts["size"]) is FeatureChart
    chart = grid.charts["channel"]
    assert isinstance(chart, CategoryChart)
    shares = snapshot.categories["channel"]
    assert shares.values == ("phone", "shop", "web") or set(shares.values) == {
        "phone", "shop", "web"
    }  # fmt: skip
    heights = chart.bars.live_bars.opts["height"]
    assert np.allclose(heights, shares.live) and np.isclose(shares.live.sum(), 1.0)
    assert "mix changed" in chart.badge.text()
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100)
    out = Path(os.environ.get("LINEWATCH_SHOTS", tmp_path)) / "categorical-live.png"
    grid.grab().save(str(out))
    assert out.stat().st_size > 0
