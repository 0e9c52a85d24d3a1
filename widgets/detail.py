"""The detail view of one input over time: mean with its p5/p50/p95 band, the mean-shift z
against its control limits, and the detected onset of drift marked on both (UI thread).

The plot items are created once; each new snapshot (from the 10 Hz pump, only while this view
is shown) updates them with `setData`. Times are the records' own timestamps (15-minute
buckets), shown in UTC like the records. The onset is the `onset` of the worst active alarm on
this input. A side panel gives the numbers behind the charts.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.snapshot import ColumnView, Series, Snapshot
from widgets import theme
from widgets.clock import StationClock
from widgets.live import TITLES, badge_text, reading_label, statistics_text


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _finite(x: np.ndarray, *ys: np.ndarray) -> np.ndarray:
    mask = np.isfinite(x)
    for y in ys:
        mask &= np.isfinite(y)
    return mask


class FeatureDetail(QWidget):
    """One input over time with control limits and the onset marker (UI thread)."""

    feature_chosen = Signal(str)

    def __init__(self, clock: StationClock | None = None) -> None:
        super().__init__()
        self.clock = clock or StationClock()
        self.name = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        charts = QVBoxLayout()
        top = QHBoxLayout()
        self.title = QLabel("Pick an input")
        self.title.setObjectName("title")
        top.addWidget(self.title, 1)
        self.chooser = QComboBox()
        self.chooser.setMinimumWidth(240)
        self.chooser.activated.connect(lambda i: self.show_feature(self.chooser.itemText(i)))
        top.addWidget(QLabel("Input:"))
        top.addWidget(self.chooser)
        charts.addLayout(top)
        # pyqtgraph's utcOffset counts seconds west of UTC.
        west = -self.clock.utc_offset_seconds()
        axis = pg.DateAxisItem(orientation="bottom", utcOffset=west)
        self.values_plot = pg.PlotWidget(axisItems={"bottom": axis})
        self.z_plot = pg.PlotWidget(
            axisItems={"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=west)}
        )
        for plot, label in ((self.values_plot, "value"), (self.z_plot, "mean shift z")):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.z_plot.setXLink(self.values_plot)
        self.p5 = pg.PlotDataItem(pen=pg.mkPen(theme.BAND_FILL))
        self.p95 = pg.PlotDataItem(pen=pg.mkPen(theme.BAND_FILL))
        self.band = pg.FillBetweenItem(self.p5, self.p95, brush=pg.mkBrush(theme.BAND_FILL))
        self.p50 = pg.PlotDataItem(pen=pg.mkPen(theme.MUTED, width=1, style=Qt.PenStyle.DashLine))
        self.mean = pg.PlotDataItem(pen=pg.mkPen(theme.LIVE_LINE, width=2))
        # What the reference had at the same hour of day (shift offsets, daily cycle): a drift
        # shows as the live line leaving this one.
        self.expected = pg.PlotDataItem(
            pen=pg.mkPen("#7d7d7d", width=4, style=Qt.PenStyle.DashLine)
        )
        self.ref_mean = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(theme.MUTED, width=1, style=Qt.PenStyle.DotLine),
            label="reference mean",
            labelOpts={"position": 0.97, "color": theme.TEXT, "anchors": [(1, 1), (1, 1)]},
        )
        # p50 is kept in the numbers panel; on the chart it would only crowd the mean.
        for item in (self.band, self.p5, self.p95, self.expected, self.mean, self.ref_mean):
            self.values_plot.addItem(item)
        self.z = pg.PlotDataItem(
            pen=pg.mkPen(theme.LIVE_LINE, width=2),
            symbol="o",
            symbolSize=4,
            symbolBrush=theme.LIVE_LINE,
            symbolPen=None,
        )
        self.upper = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(theme.TEXT, width=1, style=Qt.PenStyle.DashLine),
            label="+limit",
            labelOpts={"position": 0.97, "color": theme.TEXT, "anchors": [(1, 1), (1, 1)]},
        )
        self.lower = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(theme.TEXT, width=1, style=Qt.PenStyle.DashLine),
            label="−limit",
            labelOpts={"position": 0.97, "color": theme.TEXT, "anchors": [(1, 0), (1, 0)]},
        )
        for item in (self.z, self.upper, self.lower):
            self.z_plot.addItem(item)
        onset_pen = pg.mkPen(theme.DRIFT_LINE, width=2)
        self.onset_values = pg.InfiniteLine(
            angle=90,
            pen=onset_pen,
            label="onset",
            labelOpts={"position": 0.95, "color": theme.DRIFT_LINE, "anchors": [(0, 0), (0, 0)]},
        )
        self.onset_z = pg.InfiniteLine(angle=90, pen=onset_pen)
        self.values_plot.addItem(self.onset_values)
        self.z_plot.addItem(self.onset_z)
        charts.addWidget(self.values_plot, 3)
        charts.addWidget(self.z_plot, 2)
        layout.addLayout(charts, 1)
        self.numbers = QLabel("")
        self.numbers.setObjectName("panel")
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.numbers.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.numbers.setMinimumWidth(250)
        self.numbers.setMaximumWidth(340)
        self.numbers.setWordWrap(True)
        layout.addWidget(self.numbers)
        self._series: Series | None = None
        self._snapshot: Snapshot | None = None
        self.onset: float | None = None
        self.onset_note = ""

    def show_feature(self, name: str) -> None:
        self.name = name
        self._series = None
        if self._snapshot is not None:
            self.show_snapshot(self._snapshot)
        self.feature_chosen.emit(name)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        names = [c.name for c in snapshot.columns]
        if [self.chooser.itemText(i) for i in range(self.chooser.count())] != names:
            self.chooser.clear()
            self.chooser.addItems(names)
        if not self.name and names:
            self.name = names[0]
        if self.name in names:
            self.chooser.setCurrentIndex(names.index(self.name))
        column = next((c for c in snapshot.columns if c.name == self.name), None)
        series = snapshot.series.get(self.name)
        if column is None or series is None:
            self.title.setText(
                "Learning the reference: no history yet" if snapshot.learning else "Pick an input"
            )
            return
        self.title.setText(
            f"{TITLES.get(self.name, self.name)} over time ({self.clock.record_label},"
            " 15-minute buckets)<br>"
            "<span style='font-weight:normal'>black: now · dashed: the reference at that hour"
            " · band: p5–p95</span>"
        )
        if series is self._series:
            self._show_numbers(column, snapshot)
            return
        self._series = series
        ts = series.ts
        seen = ts[np.isfinite(series.mean)]
        start, end = (
            (float(seen[0]), float(seen[-1]) + 900.0)
            if seen.size
            else (float(ts[0]), float(ts[-1]) + 900.0)
        )
        self._show_onset(snapshot, start)
        self._show_numbers(column, snapshot)
        self.values_plot.setXRange(start, end, padding=0.02)
        ok = _finite(ts, series.mean)
        self.mean.setData(ts[ok], series.mean[ok])
        if series.expected.size == ts.size:
            self.expected.setData(ts[ok], series.expected[ok])
        ok = _finite(ts, series.p5, series.p95)
        self.p5.setData(ts[ok], series.p5[ok])
        self.p95.setData(ts[ok], series.p95[ok])
        ok = _finite(ts, series.p50)
        self.p50.setData(ts[ok], series.p50[ok])
        ok = _finite(ts, series.z)
        self.z.setData(ts[ok], series.z[ok])
        self.ref_mean.setValue(column.ref_mean)
        self.upper.setValue(series.z_limit)
        self.lower.setValue(-series.z_limit)
        values = np.concatenate([series.mean, series.p5, series.p95, [column.ref_mean]])
        values = values[np.isfinite(values)]
        low, high = float(values.min()), float(values.max())
        pad = max(high - low, 1e-9) * 0.08
        self.values_plot.setYRange(low - pad, high + pad, padding=0)
        z = series.z[np.isfinite(series.z)]
        reach = max(float(np.max(np.abs(z), initial=0.0)), series.z_limit) * 1.1
        self.z_plot.setYRange(-reach, reach, padding=0)

    def _show_onset(self, snapshot: Snapshot, start: float) -> None:
        """Mark the onset of the worst active alarm on this input (earliest if several)."""
        mine = sorted(
            (a for a in snapshot.alarms if a.source == self.name and a.onset),
            key=lambda a: a.onset or "",
        )
        onset = parse_iso(mine[0].onset) if mine else None
        self.onset = onset
        inside = onset is not None and onset >= start
        for line in (self.onset_values, self.onset_z):
            line.setVisible(inside)
            if inside:
                line.setValue(onset)
        self.onset_note = ""
        if onset is not None:
            when = self.clock.record_time(mine[0].onset, with_date=True)
            self.onset_values.label.setFormat(f"onset {when}")
            self.onset_note = f"drift onset {when} ({self.clock.record_label})" + (
                "" if inside else " (before the 48 h shown)"
            )

    def _show_numbers(self, column: ColumnView, snapshot: Snapshot) -> None:
        scores = "".join(
            f"<tr><td>{reading_label(k)}</td><td align='right'>"
            f"{'<b>' if v >= 1 else ''}{v:.2f}{'</b>' if v >= 1 else ''}</td></tr>"
            for k, v in sorted(column.scores.items(), key=lambda kv: -kv[1])
        )
        readings = "".join(
            f"<tr><td>{label}</td><td align='right'>{value}</td><td align='right'>{limit}</td></tr>"
            for label, value, limit in statistics_text(column)
        )
        self.numbers.setText(
            f"<p style='font-size:{theme.FONT_TITLE}px'><b>{TITLES.get(column.name, column.name)}</b></p>"
            f"<p>{badge_text(column, snapshot.alarms, self.clock, named=True)}</p>"
            f"<p><b>{self.onset_note}</b></p>"
            f"<table cellspacing='4'>"
            f"<tr><td>mean now</td><td align='right'>{column.mean:.4g}</td></tr>"
            f"<tr><td>mean reference</td><td align='right'>{column.ref_mean:.4g}</td></tr>"
            f"<tr><td>sd now</td><td align='right'>{column.sd:.3g}</td></tr>"
            f"<tr><td>sd reference</td><td align='right'>{column.ref_sd:.3g}</td></tr>"
            f"<tr><td>p5</td><td align='right'>{column.p5:.4g}</td></tr>"
            f"<tr><td>p50</td><td align='right'>{column.p50:.4g}</td></tr>"
            f"<tr><td>p95</td><td align='right'>{column.p95:.4g}</td></tr>"
            f"<tr><td>missing</td><td align='right'>{column.missing}</td></tr>"
            f"<tr><td>out of range</td><td align='right'>{column.out_of_range}</td></tr>"
            f"</table><p><b>Detector readings</b> (reading / limit)</p><table cellspacing='4'>"
            f"{readings}</table>"
            f"<p><b>Scores</b> (1 = threshold)</p><table cellspacing='4'>{scores}</table>"
        )
