"""Soak: the live view takes a long run of plot updates without a crash or growing memory.

A leak of even 100 bytes per update would show as 10 MiB over the 100,000 updates here; the
count of updates is read from pyqtgraph's own calls (wrapped by the test, not the widgets)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from console.config import demo_config  # noqa: E402
from console.engine import Engine  # noqa: E402
from console.snapshot import take  # noqa: E402
from drivers.simulator import LineSimulator  # noqa: E402
from tests.window_helpers import shown_grid  # noqa: E402

UPDATES = 100_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def variants(count: int = 64) -> list:
    """Real snapshots of the demo line, with the histograms and class mix jittered."""
    engine = Engine(demo_config())
    simulator = LineSimulator("demo", parts_per_day=1000)
    for _ in range(13):
        engine.feed_lines(simulator.lines(200))
    base = take(engine)
    assert base.columns
    rng = np.random.default_rng(7)
    out = []
    for _ in range(count):
        columns = tuple(
            dataclasses.replace(
                c,
                live=c.live * rng.uniform(0.8, 1.2, c.live.size),
                reference=c.reference * rng.uniform(0.95, 1.05, c.reference.size),
                scores={**c.scores, "psi": float(rng.uniform(0, 1.5))},
                worst="psi",
            )
            for c in base.columns
        )
        mix = base.class_live * rng.uniform(0.8, 1.2, base.class_live.size)
        out.append(
            dataclasses.replace(
                base,
                columns=columns,
                class_live=mix,
                class_reference=base.class_reference
                * rng.uniform(0.9, 1.1, base.class_reference.size),
            )
        )
    return out


@pytest.fixture
def plot_updates(monkeypatch):
    """Counts the plot items' data updates (curves' setData, bars' setOpts)."""
    import pyqtgraph as pg

    calls = [0]
    for cls, name in ((pg.PlotCurveItem, "setData"), (pg.BarGraphItem, "setOpts")):
        original = getattr(cls, name)

        def counted(self, *args, _original=original, **kwargs):
            calls[0] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, counted)
    return calls


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_live_view_survives_a_hundred_thousand_plot_updates_without_growing(qtbot, plot_updates):
    from PySide6.QtWidgets import QApplication

    grid = shown_grid(qtbot, 1500, 900)
    snapshots = variants()
    app = QApplication.instance()
    grid.show_snapshot(snapshots[0])
    qtbot.waitUntil(lambda: grid.complete, timeout=30_000)  # the charts are created one a turn
    per_refresh = 2 * (len(snapshots[0].columns) + 1)
    refreshes = UPDATES // per_refresh + 1
    warm_up = refreshes // 5
    start = rss_bytes()
    counted_at_warm_up = 0
    for i in range(refreshes):
        grid.show_snapshot(snapshots[i % len(snapshots)])
        if i % 250 == 0:
            app.processEvents()  # paint now and then, as the 10 Hz timer would
        if i == warm_up:
            start = rss_bytes()
            counted_at_warm_up = plot_updates[0]
    app.processEvents()
    end = rss_bytes()
    after_warm_up = plot_updates[0] - counted_at_warm_up
    print(f"soak: {plot_updates[0]} plot updates; RSS {start / 2**20:.1f} -> {end / 2**20:.1f} MiB")
    assert plot_updates[0] >= UPDATES
    assert end - start < 8 * 2**20, (
        f"RSS grew by {(end - start) / 2**20:.1f} MiB over {after_warm_up} updates"
    )
    assert len(grid.charts) == len(snapshots[0].columns)
