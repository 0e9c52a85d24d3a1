"""The console window and `run_console`, the entry point `main.py` calls (UI thread).

`MainWindow` puts the overview header on top (always visible, with Escalate), the alarm banner
under it, the view switcher (Live F5, Detail F6, Alarms F7, Events F8; Override F2,
Acknowledge F4), the views, and a status line with the latest system event. Override and
Escalate open as sheets over the views, never as modal dialogs. One `SnapshotPump` drives it
all at 10 Hz: each new snapshot updates the header, the banner, the alarm table and the view
on screen; a hidden view catches up when it is shown. An exception while drawing becomes a
system event and the timer keeps running. `run_console` owns the QApplication, the `Station`
and the error hooks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
import traceback

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.config import Config
from console.runner import Station
from console.snapshot import Part, Snapshot
from widgets import theme
from widgets.alarms import AlarmBanner, AlarmsView
from widgets.bridge import SnapshotPump, install_error_hooks, note_error
from widgets.detail import FeatureDetail
from widgets.escalate import EscalateSheet
from widgets.events import EventList, latest_event_text
from widgets.header import OverviewHeader
from widgets.live import FeatureGrid
from widgets.override import OverrideSheet
from widgets.parts import RecentParts, Thumbnails
from widgets.replay import ReplayView
from widgets.sheet import big_button

VIEWS = ("Live", "Detail", "Alarms", "Events")
REPLAY = "Replay"
DEMO_STORE = "linewatch-demo.db"


class MainWindow(QMainWindow):
    """The operator's console for one station (UI thread)."""

    def __init__(self, station: Station, *, start_pump: bool = True, beep: bool = True) -> None:
        super().__init__()
        self.station = station
        config = station.config
        self.setWindowTitle(f"Linewatch — {config.station.name}")
        self.setStyleSheet(theme.STYLE)
        self.setMinimumSize(1200, 720)
        self.snapshot: Snapshot | None = None
        self.refreshes = 0
        self._last_error = ("", 0.0)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = OverviewHeader(config.station.name)
        self.header.escalate_requested.connect(self.open_escalate)
        layout.addWidget(self.header)
        self.banner = AlarmBanner(beep=beep)
        self.banner.show_alarms.connect(lambda: self.show_view("Alarms"))
        layout.addWidget(self.banner)
        layout.addLayout(self._nav())
        self.area = QWidget()
        area_layout = QVBoxLayout(self.area)
        area_layout.setContentsMargins(8, 4, 8, 4)
        self.stack = QStackedWidget()
        area_layout.addWidget(self.stack)
        layout.addWidget(self.area, 1)
        self.status = QLabel("")
        self.status.setObjectName("status")
        layout.addWidget(self.status)
        self.setCentralWidget(central)
        roots = tuple(s.url for s in config.source if s.kind == "folder")
        self.thumbnails = Thumbnails(roots)
        self.grid = FeatureGrid()
        self.grid.chart_clicked.connect(self.open_detail)
        self.parts = RecentParts(self.thumbnails)
        self.parts.override_requested.connect(self.open_override_for)
        self.parts.setMinimumWidth(390)
        self.parts.setMaximumWidth(470)
        live = QWidget()
        live_layout = QHBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(self.grid, 1)
        live_layout.addWidget(self.parts)
        self.detail = FeatureDetail()
        self.alarms = AlarmsView(station, self.current_user)
        self.events = EventList()
        self.pages = {
            "Live": live,
            "Detail": self.detail,
            "Alarms": self.alarms,
            "Events": self.events,
        }
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.override_sheet = OverrideSheet(self.area, station, self.current_user, self.thumbnails)
        self.override_sheet.saved.connect(
            lambda seq, part: self._status_note(f"Override of {part} saved (#{seq}).")
        )
        self.escalate_sheet = EscalateSheet(self.area, station, self.current_user)
        self._add_replay_tab()
        self._shortcuts()
        self.pump = SnapshotPump(station, parent=self)
        self.pump.changed.connect(self.show_snapshot)
        self.show_view("Live")
        if start_pump:
            self.pump.start()

    # --- layout -----------------------------------------------------------------------------

    def _nav(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.nav_row = row
        row.setContentsMargins(8, 6, 8, 0)
        self.view_buttons = QButtonGroup(self)
        self.view_buttons.setExclusive(True)
        self.nav: dict[str, object] = {}
        for i, name in enumerate(VIEWS):
            button = big_button(f"{name} (F{5 + i})", checkable=True)
            button.setMinimumWidth(130)
            button.clicked.connect(lambda _=False, n=name: self.show_view(n))
            self.view_buttons.addButton(button)
            row.addWidget(button)
            self.nav[name] = button
        row.addStretch(1)
        override = big_button("Override part (F2)")
        override.clicked.connect(self.open_override)
        row.addWidget(override)
        acknowledge = big_button("Acknowledge (F4)")
        acknowledge.clicked.connect(self.acknowledge)
        row.addWidget(acknowledge)
        return row

    def _shortcuts(self) -> None:
        keys = {
            Qt.Key.Key_F2: self.open_override,
            Qt.Key.Key_F3: self.open_escalate,
            Qt.Key.Key_F4: self.acknowledge,
        }
        for i, name in enumerate(VIEWS):
            keys[getattr(Qt.Key, f"Key_F{5 + i}")] = lambda n=name: self.show_view(n)
        if REPLAY in self.pages:
            keys[Qt.Key.Key_F9] = lambda: self.show_view(REPLAY)
        for key, action in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(action)

    def _add_replay_tab(self) -> None:
        """Replay (F9): the station's own store, read-only, beside the live views."""
        store = self.station.store
        if store is None:
            return
        self.replay_view = ReplayView(store.path, self.station.config)
        self.pages[REPLAY] = self.replay_view
        self.stack.addWidget(self.replay_view)
        button = big_button(f"{REPLAY} (F9)", checkable=True)
        button.setMinimumWidth(130)
        button.clicked.connect(lambda: self.show_view(REPLAY))
        self.view_buttons.addButton(button)
        self.nav_row.insertWidget(len(VIEWS), button)
        self.nav[REPLAY] = button

    # --- actions ----------------------------------------------------------------------------

    def current_user(self) -> tuple[str, str]:
        return self.header.current_user()

    def show_view(self, name: str) -> None:
        self.override_sheet.close_sheet()
        self.escalate_sheet.close_sheet()
        self.stack.setCurrentWidget(self.pages[name])
        self.nav[name].setChecked(True)  # type: ignore[attr-defined]
        if name == "Alarms":
            self.banner.hide()
        if name == REPLAY:
            self.replay_view.reload()
        if self.snapshot is not None:
            self._draw_page(self.snapshot)

    def open_detail(self, name: str) -> None:
        self.detail.name = name
        self.show_view("Detail")

    def open_override(self) -> None:
        part = self.parts.current_part()
        if part is None:
            self._status_note("No part to override yet.")
            return
        self.open_override_for(part)

    def open_override_for(self, part: Part) -> None:
        self.escalate_sheet.close_sheet()
        classes = (
            self.snapshot.classes if self.snapshot else ()
        ) or self.station.config.station.classes
        self.override_sheet.open_for(part, tuple(classes))

    def open_escalate(self) -> None:
        self.override_sheet.close_sheet()
        self.escalate_sheet.open_form()

    def acknowledge(self) -> None:
        self.alarms.acknowledge_selected()
        if self.stack.currentWidget() is not self.alarms:
            self._status_note("Acknowledging the most urgent alarm — see Alarms (F7).")

    # --- drawing ----------------------------------------------------------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw a new snapshot (the pump calls this at most 10 times a second)."""
        self.snapshot = snapshot
        self.refreshes += 1
        self._guarded("header", self.header.show_snapshot, snapshot)
        self._guarded("banner", self.banner.check, snapshot)
        self._guarded("alarms", self.alarms.show_snapshot, snapshot)
        self._guarded("status", self._show_status, snapshot)
        self._draw_page(snapshot)

    def _draw_page(self, snapshot: Snapshot) -> None:
        page = self.stack.currentWidget()
        if page is self.pages["Live"]:
            self._guarded("live charts", self.grid.show_snapshot, snapshot)
            self._guarded("recent parts", self.parts.show_snapshot, snapshot)
        elif page is self.detail:
            self._guarded("detail", self.detail.show_snapshot, snapshot)
        elif page is self.events:
            self._guarded("events", self.events.show_snapshot, snapshot)

    def _show_status(self, snapshot: Snapshot) -> None:
        text = latest_event_text(snapshot)
        if text != self.status.text():
            self.status.setText(text)

    def _status_note(self, text: str) -> None:
        self.status.setText(text)

    def _guarded(self, what: str, draw, snapshot: Snapshot) -> None:
        try:
            draw(snapshot)
        except Exception as error:  # a drawing error must not stop the display
            message = f"drawing {what}: {type(error).__name__}: {error}"
            last, at = self._last_error
            if message != last or time.monotonic() - at > 10.0:
                self._last_error = (message, time.monotonic())
                traceback.print_exc(file=sys.stderr)
                note_error(self.station, "ui", message)

    def closeEvent(self, event) -> None:
        self.pump.stop()
        super().closeEvent(event)


def demo_store_path() -> str:
    """A fresh store for the demo line: each demo run starts its own simulated history, so the
    previous run's file (and its WAL) is removed rather than left to grow."""
    path = os.path.join(tempfile.gettempdir(), DEMO_STORE)
    for leftover in (path, path + "-wal", path + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(leftover)
    return path


def run_console(config: Config) -> int:
    """Open the console on `config`'s station; returns the exit status when the window closes."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Linewatch")
    store_path = None if config.store.path else demo_store_path()
    station = Station(config, store_path=store_path)
    restore = install_error_hooks(station)
    # Ctrl+C or a service stop closes the window cleanly, so the store is flushed; the pump's
    # timer gives Python the chance to run these handlers while Qt waits.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    station.start()
    try:
        window = MainWindow(station)
        window.resize(1920, 1080)
        screen = app.primaryScreen()
        if screen is not None and screen.availableGeometry().width() < 1920:
            window.showMaximized()
        else:
            window.show()
        return app.exec()
    finally:
        station.stop()
        restore()
