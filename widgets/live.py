"""The live view's small multiples: one chart per input, the confidence, and the class mix.

`FeatureChart` shows the current window's histogram (a dark step line) over the reference's
(light grey fill) on the same display bins, and a badge with the worst detector's reading
against its threshold; the frame and badge turn amber only when a detector is over threshold.
`CategoryChart` shows a categorical input's value shares as bars, live beside reference, and
`ClassMixChart` the class mix the same way. `FeatureGrid` lays them out and
builds them once, on the first snapshot that has a reference; every later snapshot only calls
`setData` on existing items, and only for arrays that changed. All of it runs on the UI thread,
driven by the 10 Hz snapshot pump; a click on a chart asks for its detail view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.alarms import AlarmView
from console.detectors import LIVE_VIEW, SPECS
from console.detectors.categories import CategoryShares
from console.detectors.jump import JUMP
from console.detectors.mean_shift import MEAN_SHIFT
from console.detectors.quality import MISSING, STUCK
from console.detectors.shape import KS, PSI
from console.snapshot import ColumnView, Snapshot
from widgets import theme
from widgets.clock import StationClock
from widgets.theme import WATCH_SCORE

DETECTOR_LABELS = {spec.name: spec.label for spec in LIVE_VIEW}
# Readings shown beside the detectors' that no detector alarms on (no spec of their own).
READING_LABELS = {"wasserstein_sd": "Wasserstein (sd)"}
TITLES = {"conf": "confidence"}

pg.setConfigOptions(antialias=False, background=theme.PLOT, foreground=theme.MUTED)


# What the worst detector says the input did, in plain words (going up, going down).
MOVES = {
    MEAN_SHIFT.name: ("drifting up", "drifting down"),
    "ramp": ("drifting up", "drifting down"),  # console/detectors/ramp.py
    "missing_rate": ("values missing", "values missing"),  # console/detectors/missing_rate.py
    JUMP.name: ("stepped up", "stepped down"),
    KS.name: ("shape changed", "shape changed"),
    PSI.name: ("shape changed", "shape changed"),
    STUCK.name: ("stuck on one value", "stuck on one value"),
    MISSING.name: ("values missing", "values missing"),
    "categories": ("mix changed", "mix changed"),  # console/detectors/categories.py
    "new_category": ("new value", "new value"),
}


def _onset(column: ColumnView, alarms: Sequence[AlarmView]) -> str | None:
    """The earliest onset among the active alarms on this input."""
    onsets = sorted(a.onset for a in alarms if a.source == column.name and a.active and a.onset)
    return onsets[0] if onsets else None


def badge_text(
    column: ColumnView,
    alarms: Sequence[AlarmView] = (),
    clock: StationClock | None = None,
    *,
    named: bool = False,
) -> str:
    """The worst detector in plain words: '2.6× its limit — drifting down since 21:00'."""
    worst = column.worst
    score = column.scores.get(worst, 0.0)
    name = f"{TITLES.get(column.name, column.name)} " if named else ""
    if score < WATCH_SCORE:
        return f"{name}normal ({score:.1f}× its limit)"
    up, down = MOVES.get(worst, ("moved", "moved"))
    move = up if column.mean >= column.ref_mean else down
    onset = _onset(column, alarms)
    since = ""
    if onset and clock is not None:
        since = f" since {clock.hour_minute(onset)}"
    return f"{name}{score:.1f}× its limit — {move}{since}"


def reading_label(name: str) -> str:
    """A detector's label from its spec (or a shown reading's), for the badge and the tables."""
    if name in SPECS:
        return SPECS[name].label
    return READING_LABELS.get(name, name.replace("_", " "))


def statistics_text(column: ColumnView) -> list[tuple[str, str, str]]:
    """(detector, reading, limit) rows for the detail view: the numbers behind the badge."""
    rows = []
    for detector, value in column.values.items():
        limit = column.thresholds.get(detector)
        spec = SPECS.get(detector)
        signed = spec is not None and spec.signed
        shown = f"{value:+.2f}" if signed else f"{value:.3g}"
        bound = "" if limit is None else (f"±{limit:.2f}" if signed else f"{limit:.3g}")
        rows.append((reading_label(detector), shown, bound))
    return rows


def _small_plot() -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    item = plot.getPlotItem()
    item.hideAxis("left")
    axis = item.getAxis("bottom")
    font = QFont()
    font.setPixelSize(11)
    axis.setStyle(tickFont=font, tickLength=-4)
    axis.setTextPen(theme.MUTED)
    axis.setPen(theme.BORDER)
    plot.setMinimumHeight(60)
    plot.setCursor(Qt.CursorShape.PointingHandCursor)
    return plot


class ChartFrame(QFrame):
    """A titled tile holding one small chart; emits `clicked` with its name."""

    clicked = Signal(str)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setObjectName("tile")
        self.setProperty("drift", False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(0)
        top = QHBoxLayout()
        self.title = QLabel(TITLES.get(name, name))
        self.title.setStyleSheet("font-weight: bold;")
        top.addWidget(self.title, 1)
        self.state = QLabel("")
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.state)
        layout.addLayout(top)
        self.badge = QLabel("")
        self.badge.setWordWrap(True)
        self.badge.setStyleSheet(f"color: {theme.MUTED}; font-size: {theme.FONT_SMALL}px;")
        layout.addWidget(self.badge)
        self.plot = _small_plot()
        layout.addWidget(self.plot, 1)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_click)

    def _on_plot_click(self, _event: object) -> None:
        self.clicked.emit(self.name)

    def mouseReleaseEvent(self, event) -> None:
        self.clicked.emit(self.name)
        super().mouseReleaseEvent(event)


class FeatureChart(ChartFrame):
    """One input: live histogram over reference, drift badge (UI thread)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reference_curve = pg.PlotCurveItem(
            x=np.array([0.0, 1.0]),
            y=np.array([0.0]),
            stepMode="center",
            fillLevel=0,
            brush=pg.mkBrush(theme.REFERENCE_FILL),
            pen=pg.mkPen(theme.REFERENCE_FILL),
        )
        self.live_curve = pg.PlotCurveItem(
            x=np.array([0.0, 1.0]),
            y=np.array([0.0]),
            stepMode="center",
            pen=pg.mkPen(theme.LIVE_LINE, width=2),
        )
        self.plot.addItem(self.reference_curve)
        self.plot.addItem(self.live_curve)
        self.plot.getPlotItem().vb.disableAutoRange()
        self._edges = np.zeros(0)
        self._live = np.zeros(0)
        self._reference = np.zeros(0)
        self._top = 0.0
        self._state = ""
        self._badge = ""

    def show_column(
        self,
        column: ColumnView,
        alarms: Sequence[AlarmView] = (),
        clock: StationClock | None = None,
    ) -> None:
        edges = column.edges
        edges_changed = not np.array_equal(edges, self._edges)
        if edges_changed:
            self._edges = edges
            self.plot.setXRange(float(edges[0]), float(edges[-1]), padding=0)
        if edges_changed or not np.array_equal(column.reference, self._reference):
            self._reference = column.reference
            self.reference_curve.setData(edges, column.reference)
        if edges_changed or not np.array_equal(column.live, self._live):
            self._live = column.live
            self.live_curve.setData(edges, column.live)
        top = max(
            float(np.max(column.live, initial=0.0)),
            float(np.max(column.reference, initial=0.0)),
            1e-6,
        )
        if top > self._top or top < 0.6 * self._top:
            self._top = top * 1.15
            self.plot.setYRange(0.0, self._top, padding=0)
        self._show_badge(
            badge_text(column, alarms, clock),
            theme.drift_state(column.scores.get(column.worst, 0.0)),
        )

    def _show_badge(self, text: str, state: str) -> None:
        if state != self._state:
            self._state = state
            drift = state == "drift"
            self.setProperty("drift", drift)
            self.style().unpolish(self)
            self.style().polish(self)
            colour = theme.DRIFT_LINE if drift else theme.LIVE_LINE
            self.live_curve.setPen(pg.mkPen(colour, width=3 if drift else 2))
            if drift:
                style = f"background: {theme.DRIFT}; color: #000000;"
            elif state == "watch":
                style = f"color: {theme.TEXT}; border: 1px solid {theme.TEXT};"
            else:
                style = ""
            self.state.setStyleSheet(f"{style} font-weight: bold; padding: 0 6px;")
            self.state.setText(state.upper() if drift else state)
            weight = "bold" if state else "normal"
            self.badge.setStyleSheet(
                f"color: {theme.TEXT if state else theme.MUTED}; font-size: {theme.FONT_SMALL}px; font-weight: {weight};"
            )
        if text != self._badge:
            self._badge = text
            self.badge.setText(text)


class ShareBars:
    """Shares now (dark) beside the reference's (light grey), a pair of bars per label, on
    one plot; only what changed is set again (UI thread)."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        self.reference_bars = pg.BarGraphItem(
            x=[0], height=[0], width=0.4, brush=theme.REFERENCE_FILL, pen=None
        )
        self.live_bars = pg.BarGraphItem(
            x=[0], height=[0], width=0.4, brush=theme.LIVE_LINE, pen=None
        )
        plot.addItem(self.reference_bars)
        plot.addItem(self.live_bars)
        self._labels: tuple[str, ...] = ()
        self._live = np.zeros(0)
        self._reference = np.zeros(0)

    def show(self, labels: tuple[str, ...], live: np.ndarray, reference: np.ndarray) -> None:
        x = np.arange(len(labels), dtype=float)
        if labels != self._labels:
            self._labels = labels
            self.plot.getPlotItem().getAxis("bottom").setTicks([list(enumerate(labels))])
            self.plot.setXRange(-0.6, len(labels) - 0.4, padding=0)
            self.plot.setYRange(0.0, 1.0, padding=0)
        if not np.array_equal(reference, self._reference):
            self._reference = reference
            self.reference_bars.setOpts(x=x - 0.2, height=reference)
        if not np.array_equal(live, self._live):
            self._live = live
            self.live_bars.setOpts(x=x + 0.2, height=live)


class CategoryChart(FeatureChart):
    """A categorical input: its values' shares as bars (`ShareBars`) instead of a histogram,
    and the same badge as any input (UI thread)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.plot.removeItem(self.reference_curve)
        self.plot.removeItem(self.live_curve)
        self.bars = ShareBars(self.plot)

    def show_shares(
        self,
        shares: CategoryShares,
        column: ColumnView,
        alarms: Sequence[AlarmView] = (),
        clock: StationClock | None = None,
    ) -> None:
        self.bars.show(shares.values, shares.live, shares.reference)
        self._show_badge(
            badge_text(column, alarms, clock),
            theme.drift_state(column.scores.get(column.worst, 0.0)),
        )


class ClassMixChart(ChartFrame):
    """The class mix of the window (dark) beside the reference's (light grey) (UI thread)."""

    def __init__(self) -> None:
        super().__init__("class mix")
        self.bars = ShareBars(self.plot)
        self.plot.getPlotItem().vb.disableAutoRange()
        self.badge.setText("grey: reference · dark: now")
        self.title.setText("class mix")

    def show_mix(self, classes: tuple[str, ...], live: np.ndarray, reference: np.ndarray) -> None:
        self.bars.show(classes, live, reference)


# Charts created per turn of the event loop. A pyqtgraph chart takes ~10-20 ms to create (more on
# a busy machine); all 17-33 at once froze the window 0.25-0.7 s when the reference completed.
CHARTS_PER_TURN = 1


class ChartPlace(QWidget):
    """An empty grid cell that asks for the size of the chart `like`: it keeps the place of a
    chart not yet built, so the rows and columns do not move when it comes."""

    def __init__(self, like: QWidget) -> None:
        super().__init__()
        self.like = like

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.like.sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.like.minimumSizeHint()

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return self.like.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self.like.heightForWidth(width)


class FeatureGrid(QWidget):
    """Small multiples of every input, the confidence and the class mix (UI thread). The charts
    are created one per turn of the event loop (`complete` once all exist), so the screen
    never stops while a new set of columns appears."""

    chart_clicked = Signal(str)

    def __init__(self, clock: StationClock | None = None) -> None:
        super().__init__()
        self.clock = clock or StationClock()
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.charts: dict[str, FeatureChart] = {}
        self.class_mix: ClassMixChart | None = None
        self.learning = QLabel("Waiting for the first parts…")
        self.learning.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.learning.setObjectName("title")
        self.grid.addWidget(self.learning, 0, 0)
        self._names: tuple[str, ...] = ()
        self._categorical: set[str] = set()  # inputs shown as category shares
        self.notice = ""  # e.g. the detectors being prepared on first start
        self._to_build: list[tuple[int, str]] = []
        self._places: dict[str, QWidget] = {}  # empty cells of the charts still to build
        self._columns = 1
        self._last: Snapshot | None = None
        self._builder = QTimer(self)
        self._builder.setInterval(0)
        self._builder.timeout.connect(self._build_some)

    @property
    def complete(self) -> bool:
        """True once every chart of the current columns exists."""
        return not self._to_build

    def show_snapshot(self, snapshot: Snapshot) -> None:
        if not snapshot.columns:
            progress = (
                f"Learning reference {100 * snapshot.reference_progress:.0f} %"
                if snapshot.learning
                else "No data"
            )
            notice = f"{self.notice}\n" if self.notice else ""
            self.learning.setText(
                f"{notice}{progress}\nThe charts appear when the reference is complete."
            )
            return
        self._last = snapshot
        names = tuple(c.name for c in snapshot.columns)
        if names != self._names or set(snapshot.categories) != self._categorical:
            self._categorical = set(snapshot.categories)
            self._build(names)
        for column in snapshot.columns:
            chart = self.charts.get(column.name)
            if chart is not None:  # else not created yet: drawn when it is
                self._draw(chart, column, snapshot)
        if self.class_mix is not None and snapshot.classes:
            self.class_mix.show_mix(snapshot.classes, snapshot.class_live, snapshot.class_reference)

    def _build(self, names: tuple[str, ...]) -> None:
        """Lay out the grid for this set of columns; the charts follow, a few per turn."""
        for chart in [*self.charts.values(), self.class_mix, *self._places.values()]:
            if chart is not None:
                self.grid.removeWidget(chart)
                chart.deleteLater()
        self.learning.hide()
        self.charts = {}
        count = len(names) + 1
        columns = (
            3 if count <= 9 else 4 if count <= 12 else 5 if count <= 20 else 6 if count <= 36 else 8
        )
        self._columns = columns
        self._to_build = list(enumerate(names))
        self.class_mix = ClassMixChart()
        self.grid.addWidget(self.class_mix, len(names) // columns, len(names) % columns)
        rows = math.ceil(count / columns)
        for r in range(rows):
            self.grid.setRowStretch(r, 1)
        for c in range(columns):
            self.grid.setColumnStretch(c, 1)
        self._names = names
        self._build_some()
        # An empty cell of the first chart's size holds each other chart's place until it is
        # built: the grid's geometry is final from the first turn, so a new chart never
        # resizes (and repaints) the ones before it.
        like = next(iter(self.charts.values()), self.class_mix)
        self._places = {}
        for i, name in self._to_build:
            self._places[name] = place = ChartPlace(like)
            self.grid.addWidget(place, i // columns, i % columns)
        if self._to_build:
            self._builder.start()

    def _draw(self, chart: FeatureChart, column: ColumnView, snapshot: Snapshot) -> None:
        shares = snapshot.categories.get(column.name)
        if shares is not None and isinstance(chart, CategoryChart):
            chart.show_shares(shares, column, snapshot.alarms, self.clock)
        else:
            chart.show_column(column, snapshot.alarms, self.clock)

    def _build_some(self) -> None:
        columns, built = self._columns, []
        for i, name in self._to_build[:CHARTS_PER_TURN]:
            chart = CategoryChart(name) if name in self._categorical else FeatureChart(name)
            chart.clicked.connect(self.chart_clicked)
            self.charts[name] = chart
            place = self._places.pop(name, None)
            if place is not None:
                self.grid.removeWidget(place)
                place.deleteLater()
            self.grid.addWidget(chart, i // columns, i % columns)
            built.append(name)
        del self._to_build[:CHARTS_PER_TURN]
        if self._last is not None:
            for column in self._last.columns:
                if column.name in built:
                    self._draw(self.charts[column.name], column, self._last)
        if not self._to_build:
            self._builder.stop()
