"""The Replay view: a past batch as the line saw it, for quality engineers (UI thread).

Left, the batch list (filterable by batch, model or alarm; time span, parts, reject rate,
alarms, overrides). Right, three pages for the open batch: Replay (the same live charts as the
Live view, driven by the replaying engine at the cursor; the timeline with its markers; slider,
play/pause at 1× to 1,000× the line's own time, step part by part; the parts up to the cursor
with their overrides), Compare and What-if (widgets/compare.py). Everything reads the store
read-only through `ReplaySession` (console/replay_session.py); nothing here writes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSlider,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import Config
from console.replay import ReplayError
from console.replay_session import ReplaySession
from data import replay as stored
from data.reading import StoreError
from data.store_file import explain
from widgets.compare import ComparePage, WhatIfPage
from widgets.live import FeatureGrid
from widgets.parts import RecentParts, Thumbnails
from widgets.replay_incidents import IncidentList
from widgets.sheet import big_button
from widgets.table import RowsModel
from widgets.timeline import Timeline

SPEEDS = (1, 10, 100, 1000)
TICK_MS = 100


def batch_row(b: stored.BatchSummary) -> tuple[str, ...]:
    return (
        b.batch,
        b.first_ts[:16].replace("T", " "),
        f"{b.parts:,}",
        f"{b.reject_rate:.1%}",
        str(b.alarms),
        str(b.overrides),
    )


class BatchList(QFrame):
    """The store's batches, filterable; a click opens one (UI thread)."""

    def __init__(self, on_open) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.on_open = on_open
        layout = QVBoxLayout(self)
        title = QLabel("Batches")
        title.setObjectName("title")
        layout.addWidget(title)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: batch, model, alarm (e.g. mean_shift), date")
        self.filter.setMinimumHeight(40)
        self.filter.textChanged.connect(self._filter)
        layout.addWidget(self.filter)
        self.model = RowsModel(
            ("batch", "from", "parts", "reject", "alarms", "overrides"),
            colours=lambda b, col: ("#f07800", "#000000") if b and b.alarms and col == 4 else None,
        )
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(34)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.clicked.connect(lambda index: self.on_open(self.model.items[index.row()].batch))
        layout.addWidget(self.view, 1)
        self.batches: list[stored.BatchSummary] = []

    def show_batches(self, batches: list[stored.BatchSummary]) -> None:
        self.batches = batches
        self._filter(self.filter.text())

    def _filter(self, text: str) -> None:
        words = text.lower().split()

        def keep(b: stored.BatchSummary) -> bool:
            hay = " ".join([b.batch, b.first_ts, b.last_ts, *b.models, *b.alarm_ids]).lower()
            return all(w in hay for w in words)

        shown = [b for b in self.batches if keep(b)]
        self.model.set_rows(shown, [b.batch for b in shown], [batch_row(b) for b in shown])


class ReplayPage(QWidget):
    """Charts at the cursor, the timeline, the transport controls and the parts (UI thread)."""

    def __init__(self, session: ReplaySession) -> None:
        super().__init__()
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.grid = FeatureGrid()
        top.addWidget(self.grid, 1)
        roots = tuple(s.url for s in session.config.source if s.kind == "folder")
        self.parts = RecentParts(Thumbnails(roots))
        self.parts.hint.setText("Parts up to the cursor; bold: overridden (the new class shown).")
        self.parts.hold.hide()
        self.parts.setMaximumWidth(430)
        top.addWidget(self.parts)
        layout.addLayout(top, 1)
        self.timeline = Timeline()
        self.timeline.jumped.connect(self.move_to)
        layout.addWidget(self.timeline)
        layout.addLayout(self._transport())
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last_redraw = 0.0

    def _transport(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.back = big_button("◀ part")
        self.back.clicked.connect(lambda: self.move_to(self.session.cursor - 1))
        self.play = big_button("Play", checkable=True)
        self.play.toggled.connect(self._play)
        self.forward = big_button("part ▶")
        self.forward.clicked.connect(lambda: self.move_to(self.session.cursor + 1))
        self.speed = QComboBox()
        self.speed.addItems([f"{s}×" for s in SPEEDS])
        self.speed.setCurrentIndex(2)
        self.speed.setMinimumHeight(48)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumHeight(48)
        self.slider.valueChanged.connect(self.move_to)
        self.where = QLabel("")
        self.where.setMinimumWidth(300)
        for widget in (self.back, self.play, self.forward, self.speed):
            row.addWidget(widget)
        row.addWidget(self.slider, 1)
        row.addWidget(self.where)
        return row

    def show_batch(self) -> None:
        session = self.session
        self.timeline.show_markers(session.start, session.end, session.markers)
        self.slider.blockSignals(True)
        self.slider.setRange(session.start, session.end)
        self.slider.setValue(session.cursor)
        self.slider.blockSignals(False)
        self.move_to(session.start)

    def move_to(self, index: int) -> None:
        """Put the cursor at run index `index` and redraw the charts as of there."""
        started = time.perf_counter()
        snapshot = self.session.move_to(index)
        cursor = self.session.cursor
        self.grid.show_snapshot(snapshot)
        self.parts.show_snapshot(snapshot)
        self.timeline.show_cursor(cursor)
        if self.slider.value() != cursor:
            self.slider.blockSignals(True)
            self.slider.setValue(cursor)
            self.slider.blockSignals(False)
        part = snapshot.recent[0] if snapshot.recent else None
        self.where.setText(
            f"part {cursor - self.session.start:,} of {self.session.parts:,}"
            + (f" · {part.part} · {part.ts[:19].replace('T', ' ')}" if part else "")
        )
        self.last_redraw = time.perf_counter() - started

    def _play(self, playing: bool) -> None:
        self.play.setText("Pause" if playing else "Play")
        if playing:
            self.timer.start()
        else:
            self.timer.stop()

    def _tick(self) -> None:
        session = self.session
        if session.cursor >= session.end:
            self.play.setChecked(False)
            return
        speed = SPEEDS[self.speed.currentIndex()]
        self.move_to(session.cursor + session.play_step(speed, TICK_MS / 1000.0))


class ReplayView(QWidget):
    """Batch list beside the open batch's Replay, Compare and What-if pages (UI thread)."""

    def __init__(self, path: str, config: Config) -> None:
        super().__init__()
        self.session = ReplaySession(path, config)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.batches = BatchList(self.open_batch)
        self.incidents = IncidentList(self.open_incident)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.batches)
        left.addWidget(self.incidents)
        left.setSizes([700, 250])
        left.setMinimumWidth(560)
        left.setMaximumWidth(620)
        layout.addWidget(left)
        right = QVBoxLayout()
        self.heading = QLabel("Pick a batch on the left.")
        self.heading.setObjectName("title")
        right.addWidget(self.heading)
        self.tabs = QTabWidget()
        self.replay = ReplayPage(self.session)
        self.compare = ComparePage(self.session)
        self.what_if = WhatIfPage(self.session)
        self.tabs.addTab(self.replay, "Replay")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.what_if, "What-if")
        self.tabs.currentChanged.connect(lambda _: self._refresh_tab())
        right.addWidget(self.tabs, 1)
        layout.addLayout(right, 1)
        self.batches.show_batches(self.session.batches)
        self.incidents.show_incidents(path)

    def reload(self) -> None:
        self.batches.show_batches(self.session.reload())
        self.incidents.show_incidents(self.session.path)

    def open_batch(self, name: str) -> None:
        self._open(name, lambda: self.session.open_batch(name))

    def open_incident(self, incident: str) -> None:
        """Replay an incident's range (from the Incidents list here or the Incidents view)."""
        self._open(f"incident {incident}", lambda: self.session.open_incident(incident))
        self.batches.view.clearSelection()
        row = self.incidents.model.row_of(incident)
        if row >= 0:
            self.incidents.view.selectRow(row)

    def _open(self, name: str, opening: Callable[[], None]) -> None:
        try:
            opening()
        except (ReplayError, StoreError) as error:
            self.heading.setText(f"Cannot open {name}: {error}")
            return
        except sqlite3.Error as error:  # a damaged store met while reading the batch
            self.heading.setText(f"Cannot open {name}: {explain(error, self.session.path)}")
            return
        b = self.session.batch
        assert b is not None
        name = "I" + b.batch[1:] if b.batch.startswith("incident ") else f"Batch {b.batch}"
        self.heading.setText(
            f"{name}: {b.parts:,} parts, {b.first_ts[:19]} to {b.last_ts[:19]} · "
            f"reject {b.reject_rate:.1%} · {b.alarms} alarms · {b.overrides} overrides"
        )
        self.replay.show_batch()
        self.compare.show_batch()
        self.what_if.show_batch()
        self._refresh_tab()

    def _refresh_tab(self) -> None:
        if self.session.batch is None:
            return
        page = self.tabs.currentWidget()
        if page is self.compare:
            self.compare.refresh()
