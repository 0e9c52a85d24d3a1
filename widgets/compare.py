"""Compare and What-if, the Replay view's second and third pages (UI thread).

Compare: per input, the open batch's histogram (dark line) over the reference's (grey fill) and
another batch's (dashed), side by side on the live view's display bins; a table of drift scores
(KS, PSI, mean shift in reference sd) against the reference for both; class mix and confidence.
What-if: other settings (`section.key=value`, as `main.py replay --set`) → the alarms the batch
would have raised, in a table beside those the line really raised, and on a timeline.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.compare import Comparison
from console.replay import ReplayError, parse_settings
from console.replay_session import ReplaySession, WhatIf
from console.timeline import Marker
from widgets import theme
from widgets.sheet import big_button
from widgets.table import RowsModel
from widgets.timeline import Timeline

REFERENCE_ONLY = "— the reference only —"
DEFAULT_WHAT_IF = "detection.false_alarms_per_year=2"


def _plot(title: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.getPlotItem().hideAxis("left")
    plot.setMinimumHeight(110)
    return plot


class ComparePage(QWidget):
    """The open batch against the reference and another batch (UI thread)."""

    def __init__(self, session: ReplaySession) -> None:
        super().__init__()
        self.session = session
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Compare with:"))
        self.other = QComboBox()
        self.other.setMinimumHeight(48)
        self.other.currentIndexChanged.connect(lambda _: self.refresh())
        row.addWidget(self.other, 1)
        self.legend = QLabel("grey: reference · dark: this batch · dashed: the other batch")
        self.legend.setObjectName("caption")
        row.addWidget(self.legend)
        layout.addLayout(row)
        self.charts = QGridLayout()
        layout.addLayout(self.charts, 3)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.scores = RowsModel(("input", "KS", "PSI", "shift (sd)", "KS ", "PSI ", "shift "))
        table = QTableView()
        table.setModel(self.scores)
        table.verticalHeader().hide()
        layout.addWidget(table, 2)
        self.mix = QLabel("")
        self.mix.setWordWrap(True)
        layout.addWidget(self.mix)
        self.comparison: Comparison | None = None

    def show_batch(self) -> None:
        self.other.blockSignals(True)
        self.other.clear()
        self.other.addItem(REFERENCE_ONLY)
        current = self.session.batch.batch if self.session.batch else ""
        self.other.addItems([b.batch for b in self.session.batches if b.batch != current])
        self.other.blockSignals(False)

    def refresh(self) -> None:
        if self.session.batch is None:
            return
        other = self.other.currentText()
        try:
            comparison = self.session.compare(None if other in ("", REFERENCE_ONLY) else other)
        except ReplayError as error:
            self.mix.setText(str(error))
            return
        self.comparison = comparison
        self._draw(comparison)

    def _draw(self, c: Comparison) -> None:
        columns = 4
        for j, name in enumerate(c.columns):
            plot = self.plots.get(name)
            if plot is None:
                plot = self.plots[name] = _plot(name)
                self.charts.addWidget(plot, j // columns, j % columns)
            plot.clear()
            edges = c.edges[j]
            plot.plot(edges, c.reference[j], stepMode="center", fillLevel=0,
                      brush=theme.REFERENCE_FILL, pen=None)  # fmt: skip
            pens = (pg.mkPen(theme.LIVE_LINE, width=2),
                    pg.mkPen(theme.LIVE_LINE, width=2, style=Qt.PenStyle.DashLine))  # fmt: skip
            for side, pen in zip(c.sides, pens, strict=False):
                plot.plot(edges, side.display[j], stepMode="center", pen=pen)
        this = c.sides[0]
        other = c.sides[1] if len(c.sides) > 1 else None

        def cells(side, j: int) -> tuple[str, str, str]:
            if side is None:
                return ("", "", "")
            shift = side.shift_sd[j]
            return (f"{side.ks[j]:.3f}", f"{side.psi[j]:.3f}",
                    "" if math.isnan(shift) else f"{shift:+.2f}")  # fmt: skip

        rows = [(name, *cells(this, j), *cells(other, j)) for j, name in enumerate(c.columns)]
        self.scores.set_rows(list(c.columns), list(c.columns), rows)
        self.scores.headers = (
            "input", f"KS {this.name}", f"PSI {this.name}", f"shift {this.name} (sd)",
            *((f"KS {other.name}", f"PSI {other.name}", f"shift {other.name}") if other
              else ("", "", "")),
        )  # fmt: skip
        self.scores.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 6)

        def mix(values: dict[str, float]) -> str:
            return ", ".join(
                f"{k} {v:.1%}" for k, v in sorted(values.items(), key=lambda kv: -kv[1])
            )

        text = [f"Class mix — reference: {mix(c.reference_mix)}"]
        for side in c.sides:
            text.append(f"{side.name}: {mix(side.class_mix)}; mean confidence {side.conf_mean:.3f}")
        self.mix.setText("\n".join(text))


class WhatIfPage(QWidget):
    """Other settings over the open batch, beside what really happened (UI thread)."""

    def __init__(self, session: ReplaySession) -> None:
        super().__init__()
        self.session = session
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Settings (key=value, space between):"))
        self.settings = QLineEdit(DEFAULT_WHAT_IF)
        self.settings.setMinimumHeight(48)
        row.addWidget(self.settings, 1)
        self.run = big_button("Run what-if")
        self.run.clicked.connect(self.run_what_if)
        row.addWidget(self.run)
        layout.addLayout(row)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.timeline = Timeline()
        layout.addWidget(self.timeline)
        tables = QHBoxLayout()
        self.live = RowsModel(("part", "alarm", "event", "value"))
        self.other = RowsModel(("part", "alarm", "event", "value"))
        for title, model in (
            ("What happened (this run, up to the batch's end)", self.live),
            ("With these settings", self.other),
        ):
            column = QVBoxLayout()
            label = QLabel(title)
            label.setObjectName("title")
            column.addWidget(label)
            view = QTableView()
            view.setModel(model)
            view.verticalHeader().hide()
            view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
            column.addWidget(view)
            tables.addLayout(column, 1)
        layout.addLayout(tables, 1)
        self.result: WhatIf | None = None

    def show_batch(self) -> None:
        self.result = None
        self.verdict.setText("Change a setting and press Run what-if.")
        self.live.set_rows([], [], [])
        self.other.set_rows([], [], [])
        s = self.session
        self.timeline.show_markers(s.start, s.end, [])

    def run_what_if(self) -> None:
        try:
            settings = parse_settings(self.settings.text().split())
            result = self.session.what_if(settings)
        except ReplayError as error:
            self.verdict.setText(str(error))
            return
        self.result = result
        start = self.session.start
        for model, events in ((self.live, result.live), (self.other, result.other)):
            rows = [(_part_text(e.seq, start), e.alarm, e.event.removeprefix("alarm_"),
                     f"{e.value:.4g}") for e in events]  # fmt: skip
            model.set_rows(events, list(range(len(events))), rows)
        marks = [Marker(e.seq, e.event, e.alarm) for e in result.live]
        self.timeline.show_markers(0, self.session.end, marks)
        self.timeline.what_if = [e.seq for e in result.other if e.event == "alarm_raised"]
        self.timeline.update()
        self.verdict.setText(verdict(result, start))


def _part_text(seq: int, start: int) -> str:
    return f"{seq - start:,}" if seq >= start else f"{seq - start:,} (before)"


def verdict(result: WhatIf, start: int) -> str:
    """When each alarm was first raised, really and with the other settings."""
    live, other = result.first_raised("live"), result.first_raised("other")
    lines = [f"With {' '.join(settings_text(result.settings))} (parts counted from this batch's "
             "first; dashed: what-if):"]  # fmt: skip
    for alarm in sorted(set(live) | set(other), key=lambda a: min(live.get(a, 1 << 62),
                                                                  other.get(a, 1 << 62))):  # fmt: skip
        really = _part_text(live[alarm], start) if alarm in live else "never"
        instead = _part_text(other[alarm], start) if alarm in other else "never"
        lines.append(f"{alarm}: really at part {really}, would have been at {instead}")
    if not live and not other:
        lines.append("no alarm either way")
    return "\n".join(lines)


def settings_text(settings: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in settings.items()]
