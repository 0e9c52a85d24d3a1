"""The console window and `run_console`, the entry point `main.py` calls (UI thread).

`MainWindow` puts the overview header on top (always visible, with the user, Lock and
Escalate), the fallback recommendation (widgets/fallback_advice.py, only while a rule holds)
and the alarm banner under it, the view switcher (Live F5, Detail F6, Alarms F7, Events
F8, History F9, Incidents F10, People F11, Replay Ctrl+R on its store, Fallback F12; Override F2, Acknowledge F4), the views, and a status
line with the latest system event. The login/lock screen replaces all of it while nobody is
logged in: at first start (it creates the admin), after Lock, or once the session idled out.
Override and Escalate open as sheets over the views, never as modal dialogs. Every shortcut acts
on what is on screen and says in the status line what it did; that note stays for a while
before the latest system event may replace it. One `SnapshotPump` drives it
all at 10 Hz: each new snapshot updates the header, the banner, the alarm table and the view
on screen; a hidden view catches up when it is shown. An exception while drawing becomes a
system event and the timer keeps running. `run_console` owns the QApplication, the `Station`
and the error hooks; it fits the window to the screen's available area (or full screen with
`[console] fullscreen = true`) and takes the keyboard focus.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut, QWindow
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.actions import Override
from console.config import Config
from console.runner import Station
from console.snapshot import Part, Snapshot
from console.warmup import kernels_cached, load_compiler_registries
from widgets import theme
from widgets.alarms import AlarmBanner, AlarmsView
from widgets.bridge import SnapshotPump, install_error_hooks, note_error
from widgets.clock import StationClock
from widgets.commands import run_command
from widgets.detail import FeatureDetail
from widgets.escalate import EscalateSheet
from widgets.events import EventList, latest_event_text
from widgets.fallback import toggle_fallback
from widgets.fallback_advice import FallbackAdvice
from widgets.header import OverviewHeader
from widgets.history import AlarmHistory
from widgets.incidents import IncidentsView
from widgets.live import FeatureGrid
from widgets.login import LoginScreen
from widgets.metrics import MetricsView
from widgets.override import OverrideSheet
from widgets.overrides import OverrideList, SavedOverride
from widgets.parts import RecentParts, Thumbnails
from widgets.people import PeopleView
from widgets.replay import ReplayView
from widgets.replay_window import add_store_menu
from widgets.sheet import big_button

VIEWS = ("Live", "Detail", "Alarms", "Events", "History", "Incidents", "People", "Metrics")
REPLAY = "Replay"  # Ctrl+R (F12 is the fallback); only when the station has a store
DEMO_STORE = "linewatch-demo.db"
NOTE_SECONDS = 8.0  # how long an action's note holds the status line against system events


# What counts as a touch for the idle lock (mouse, key, finger on a touch screen).
TOUCHES = (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin)


class MainWindow(QMainWindow):
    """The operator's console for one station (UI thread)."""

    def __init__(self, station: Station, *, start_pump: bool = True, beep: bool = True) -> None:
        super().__init__()
        self.station = station
        config = station.config
        self.setWindowTitle(f"Linewatch — {config.station.name}")
        self.setStyleSheet(theme.STYLE)
        self.setMinimumSize(1024, 600)
        self.clock = StationClock.for_config(config)
        self.snapshot: Snapshot | None = None
        self.refreshes = 0
        self._last_error = ("", 0.0)
        self._note_until = 0.0
        self._overridden_parts: dict[str, Part] = {}
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = OverviewHeader(config.station.name, self.clock, bool(config.sync.url))
        self.header.escalate_requested.connect(self.open_escalate)
        layout.addWidget(self.header)
        self.advice = FallbackAdvice(self.toggle_fallback)
        layout.addWidget(self.advice)
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
        self.login_screen = LoginScreen(station)
        self.login_screen.logged_in.connect(self.unlocked)
        self.header.lock_requested.connect(lambda: self.lock("Locked."))
        self.header.fallback_requested.connect(self.toggle_fallback)
        self.screens = QStackedWidget()
        self.screens.addWidget(central)
        self.screens.addWidget(self.login_screen)
        self.console = central
        self.setCentralWidget(self.screens)
        roots = tuple(s.url for s in config.source if s.kind == "folder")
        self.thumbnails = Thumbnails(roots)
        self.grid = FeatureGrid(self.clock)
        self.grid.chart_clicked.connect(self.open_detail)
        self.parts = RecentParts(self.thumbnails, self.clock)
        self.parts.selection_lost.connect(
            lambda part: self._status_note(f"Part {part} left the list; nothing is selected now.")
        )
        self.parts.override_requested.connect(self.open_override_for)
        self.parts.setMinimumWidth(390)
        self.parts.setMaximumWidth(470)
        live = QWidget()
        live_layout = QHBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(self.grid, 1)
        live_layout.addWidget(self.parts)
        self.detail = FeatureDetail(self.clock)
        self.alarms = AlarmsView(station, self.current_user, self.clock)
        self.alarms.acknowledged.connect(self._status_note)
        self.events = EventList(self.clock)
        self.overrides = OverrideList(self.clock)
        self.overrides.correct_requested.connect(self.correct_override)
        events_page = QSplitter(Qt.Orientation.Vertical)
        events_page.addWidget(self.events)
        events_page.addWidget(self.overrides)
        self.history = AlarmHistory(station)
        self.incidents = IncidentsView(station)
        self.people = PeopleView(station)
        self.metrics = MetricsView(station)
        self.alarms.incident_table.doubleClicked.connect(
            lambda index: self.open_incident(self.alarms.incidents.keys[index.row()])
        )
        self.pages = {
            "Live": live,
            "Detail": self.detail,
            "Alarms": self.alarms,
            "Events": events_page,
            "History": self.history,
            "Incidents": self.incidents,
            "People": self.people,
            "Metrics": self.metrics,
        }
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.override_sheet = OverrideSheet(
            self.area,
            station,
            self.current_user,
            self.thumbnails,
            find_part=self.find_part,
            label_of=self.parts.overridden_to,
        )
        self.override_sheet.saved.connect(self._override_saved)
        self.escalate_sheet = EscalateSheet(self.area, station, self.current_user)
        self._add_replay_tab()
        add_store_menu(self, config)  # File › Open store: any store file, read-only
        self.incidents.replay_requested.connect(self.replay_incident)
        self._shortcuts()
        self.pump = SnapshotPump(station, parent=self)
        self.pump.changed.connect(self.show_snapshot)
        self.show_view("Live")
        self._load_overrides()
        self.idle_timer = QTimer(self)
        self.idle_timer.timeout.connect(self.check_idle)
        self.idle_timer.start(1000)
        self._touch_watched: QWindow | None = None
        self.check_idle()
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
            button = big_button(f"{name} (F{5 + i})" if i < 7 else name, checkable=True)
            button.setMinimumWidth(90)
            keyed(button, name)
            button.clicked.connect(lambda _=False, n=name: self.show_view(n))
            self.view_buttons.addButton(button)
            row.addWidget(button)
            self.nav[name] = button
        row.addStretch(1)
        override = big_button("Override part (F2)")
        keyed(override, "Override (F2)")
        override.clicked.connect(self.open_override)
        row.addWidget(override)
        acknowledge = big_button("Acknowledge (F4)")
        acknowledge.clicked.connect(self.acknowledge)
        row.addWidget(acknowledge)
        return row

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Below 1700 px the navigation row shows short labels (keys stay in the tooltips), so
        every button reads in full at 1280 px."""
        wide = event.size().width() >= 1700
        for button in self.findChildren(QPushButton):
            long, short = button.property("long_text"), button.property("short_text")
            if long and short:
                button.setText(long if wide else short)
        super().resizeEvent(event)

    def _shortcuts(self) -> None:
        keys = {
            Qt.Key.Key_F2: self.open_override,
            Qt.Key.Key_F3: self.open_escalate,
            Qt.Key.Key_F4: self.acknowledge,
            Qt.Key.Key_F12: self.toggle_fallback,
        }
        for i, name in enumerate(VIEWS[:7]):  # F12 is the fallback
            keys[getattr(Qt.Key, f"Key_F{5 + i}")] = lambda n=name: self.show_view(n)
        for key, action in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(action)

    def _add_replay_tab(self) -> None:
        """Replay (Ctrl+R): the station's own store, read-only, beside the live views."""
        store = self.station.store
        if store is None:
            return
        self.replay_view = ReplayView(store.path, self.station.config)
        self.pages[REPLAY] = self.replay_view
        self.stack.addWidget(self.replay_view)
        button = big_button(f"{REPLAY} (Ctrl+R)", checkable=True)
        button.setMinimumWidth(90)
        keyed(button, REPLAY)
        if self.width() < 1700:
            button.setText(REPLAY)
        button.clicked.connect(lambda: self.show_view(REPLAY))
        self.view_buttons.addButton(button)
        self.nav_row.insertWidget(len(VIEWS), button)
        self.nav[REPLAY] = button
        shortcut = QShortcut(QKeySequence("Ctrl+R"), self)
        shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
        shortcut.activated.connect(lambda: self.show_view(REPLAY))

    # --- who is at the console -------------------------------------------------------------

    def unlocked(self, session) -> None:  # noqa: ANN001 - console.auth.Session
        self.header.show_user(session.user, session.role)
        self.screens.setCurrentWidget(self.console)

    def lock(self, reason: str) -> None:
        self.station.lock("locked" if reason == "Locked." else "idle")
        self.header.show_user("", "")
        self.login_screen.refresh(reason)
        self.screens.setCurrentWidget(self.login_screen)

    def check_idle(self) -> None:
        """Show the lock screen once the session is gone (locked here, or idle too long)."""
        session = self.station.session
        if self.station.people.is_live(session):
            self.header.show_user(session.user, session.role)
            return
        if self.screens.currentWidget() is not self.login_screen:
            minutes = self.station.people.idle_lock_seconds / 60
            self.lock(f"Locked after {minutes:g} min without a touch." if session else "")

    def showEvent(self, event) -> None:  # noqa: N802
        """Watch the window's own input for the idle lock. Every press and key reaches the native
        window before the widget under it; a filter on the whole application ran Python for each
        of the thousands of events a chart's creation or a repaint sends, and made building a
        chart 65 % slower (13.8 → 22.9 ms)."""
        super().showEvent(event)
        handle = self.windowHandle()
        if handle is not None and handle is not self._touch_watched:
            handle.installEventFilter(self)
            self._touch_watched = handle

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in TOUCHES and (self.screens.currentWidget() is self.console):
            self.station.people.touch(self.station.session)
        return False

    # --- actions ----------------------------------------------------------------------------

    def current_user(self) -> tuple[str, str]:
        return self.header.current_user()

    def show_view(self, name: str) -> None:
        self._note_until = 0.0  # a new view: the status line goes back to the latest event
        self.override_sheet.close_sheet()
        self.escalate_sheet.close_sheet()
        self.stack.setCurrentWidget(self.pages[name])
        self.nav[name].setChecked(True)  # type: ignore[attr-defined]
        # the view in the title: a taskbar, a screen reader and xdotool can tell which is shown
        self.setWindowTitle(f"Linewatch — {self.station.config.station.name} — {name}")
        if name == "Alarms":
            self.banner.hide()
        if name == REPLAY:
            self.replay_view.reload()
        if name == "People":
            self._guarded("people", self.people.show_snapshot, self.snapshot)
        if self.snapshot is not None:
            self._draw_page(self.snapshot)

    def open_detail(self, name: str) -> None:
        self.detail.name = name
        self.show_view("Detail")

    def open_incident(self, incident_id: str) -> None:
        self.incidents.select(incident_id)
        self.show_view("Incidents")

    def replay_incident(self, incident_id: str) -> None:
        """Replay (Ctrl+R) on the incident's range, from its first alarm to its close."""
        if REPLAY not in self.pages:
            self._status_note("Replay needs a store: this station has none.")
            return
        if self.station.store is not None:
            self.station.store.flush()  # the incident's last rows are in the file
        self.show_view(REPLAY)
        self.replay_view.open_incident(incident_id)

    def visible_page(self) -> QWidget:
        return self.stack.currentWidget()

    def open_override(self) -> None:
        """F2: the part selected in the parts list on screen; else ask which part."""
        part = self.parts.current_part() if self.visible_page() is self.pages["Live"] else None
        if part is None:
            self.override_sheet.ask_for_part(self._classes())
            self._status_note("Override: no part selected — type or scan the part id.")
            return
        self.open_override_for(part)

    def open_override_for(self, part: Part) -> None:
        self.escalate_sheet.close_sheet()
        self.override_sheet.open_for(part, self._classes())
        self._status_note(f"Override: part {part.part} opened.")

    def find_part(self, part_id: str) -> Part | None:
        """A part by id: on the parts list, else from this station's overrides."""
        found = self.parts.find(part_id)
        if found is not None:
            return found
        kept = self._overridden_parts.get(part_id.strip().upper())
        if kept is not None:
            return kept
        mine = [s for s in self.overrides.saved if s.part.upper() == part_id.strip().upper()]
        if not mine:
            return None
        first, last = mine[0], mine[-1]
        return Part(
            first.part, first.old_class, math.nan, "", None, None, overridden_to=last.new_class
        )

    def correct_override(self, part_id: str) -> None:
        part = self.find_part(part_id)
        if part is not None:
            self.open_override_for(part)

    def _classes(self) -> tuple[str, ...]:
        classes = (self.snapshot.classes if self.snapshot else ()) or (
            self.station.config.station.classes
        )
        return tuple(classes)

    def _override_saved(self, seq: int, command: Override) -> None:
        saved = SavedOverride.from_command(seq, command)
        part = self.override_sheet.part
        if part is not None and part.part == command.part:
            self._overridden_parts[part.part.upper()] = part  # findable with its picture and time
        self.parts.note_override(command.part, command.new_class)
        self.overrides.add(saved)
        self.station.engine.note_system("override", command.user, saved.sentence())
        self._status_note(f"Override saved: {saved.sentence()}.")

    def _load_overrides(self) -> None:
        def loaded(rows: list) -> None:
            saved = [SavedOverride.from_row(r) for r in rows]
            for s in saved:
                self.parts.overrides[s.part] = s.new_class
            self.overrides.load(saved)

        run_command(
            self.station.stored_overrides,
            loaded,
            lambda reason: note_error(self.station, "overrides", reason),
        )

    def open_escalate(self) -> None:
        self.override_sheet.close_sheet()
        self.escalate_sheet.open_form()
        self._status_note("Escalate: say what is wrong and pick a severity.")

    def toggle_fallback(self) -> None:
        toggle_fallback(self, self.station, self._status_note)

    def acknowledge(self) -> None:
        """F4: on the Alarms view the selected alarm; elsewhere the most urgent one waiting."""
        on_alarms = self.visible_page() is self.alarms
        text = self.alarms.acknowledge(use_selection=on_alarms)
        self._status_note(text)

    def start_after_warmup(self, warmup: subprocess.Popen | None) -> None:
        """Start the station now, or once the kernels are compiled, with a note meanwhile."""
        if warmup is None:
            self.station.start()
            return
        note = "Preparing the detectors: compiling them once for this machine (about 15 s)…"
        self.grid.notice = note
        self.grid.learning.setText(note)
        self.status.setText(note)
        self._note_until = math.inf
        timer = QTimer(self)

        def check() -> None:
            if warmup.poll() is None:
                return
            timer.stop()
            self.grid.notice = ""
            self.station.start()
            self._status_note("Detectors ready.")

        timer.timeout.connect(check)
        timer.start(200)

    # --- drawing ----------------------------------------------------------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw a new snapshot (the pump calls this at most 10 times a second)."""
        self.snapshot = snapshot
        self.refreshes += 1
        self._guarded("header", self.header.show_snapshot, snapshot)
        self._guarded("fallback advice", self.advice.show_snapshot, snapshot)
        self._guarded("lock screen", self.login_screen.advice.show_snapshot, snapshot)
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
        elif page is self.pages["Events"]:
            self._guarded("events", self.events.show_snapshot, snapshot)
        elif page is self.history:
            self._guarded("history", self.history.show_snapshot, snapshot)
        elif page is self.incidents:
            self._guarded("incidents", self.incidents.show_snapshot, snapshot)
        elif page is self.people and self.refreshes % 10 == 0:
            self._guarded("people", self.people.show_snapshot, snapshot)

    def _show_status(self, snapshot: Snapshot) -> None:
        if time.monotonic() < self._note_until:
            return  # an action's note is still being read
        text = latest_event_text(snapshot, self.clock)
        if text != self.status.text():
            self.status.setText(text)

    def _status_note(self, text: str) -> None:
        """Say what an action did; the next system event waits NOTE_SECONDS before replacing it."""
        self.status.setText(text)
        self._note_until = time.monotonic() + NOTE_SECONDS

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
        self.idle_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(event)


def demo_store_path() -> str:
    """A store of its own for this demo run, in a fresh temporary folder: another demo still
    running keeps its own, and nothing of another process is touched."""
    folder = tempfile.mkdtemp(prefix="linewatch-demo-")
    return os.path.join(folder, DEMO_STORE)


def settle_before_showing() -> None:
    """What would otherwise stop the window for a tenth of a second later, done before it shows.

    - Numba's registries: the engine thread's first cached kernel would import numba's whole CPU
      target holding the GIL (100–120 ms, `main.py bench --only window`).
    - The collector: about 200,000 objects (modules, the window) are alive after start-up, and a
      full collection walked them all, in whichever thread allocated at that moment (the store
      writer's took 208 ms, with the GIL). `gc.freeze` leaves them out of every later collection;
      garbage is still freed by reference counting."""
    load_compiler_registries()
    gc.collect()
    gc.freeze()


def start_kernel_warmup() -> subprocess.Popen | None:
    """Compile the engine's kernels in a child process when numba's cache lacks them (first
    start on a machine): the compiler then never holds this interpreter's GIL."""
    if kernels_cached():
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.Popen(
        [sys.executable, "-m", "console.warmup"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def fit_to_screen(window: QMainWindow, available: QRect, fullscreen: bool = False) -> None:
    """Show the window inside the screen's available area (or full screen for a kiosk)."""
    if fullscreen:
        window.setGeometry(available)
        window.showFullScreen()
        return
    width = min(1920, available.width())
    height = min(1080, available.height())
    window.setMinimumSize(min(1024, width), min(600, height))
    window.resize(width, height)
    window.move(available.topLeft())
    if width >= available.width() or height >= available.height():
        window.showMaximized()
    else:
        window.show()


def take_focus(window: QMainWindow) -> None:
    """Keyboard focus at start, also without a window manager (F-keys work before a click)."""
    window.raise_()
    window.activateWindow()
    window.setFocus(Qt.FocusReason.ActiveWindowFocusReason)


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
    try:
        window = MainWindow(station)
        window.start_after_warmup(start_kernel_warmup())
        settle_before_showing()
        screen = app.primaryScreen()
        available = screen.availableGeometry() if screen is not None else QRect(0, 0, 1920, 1080)
        fit_to_screen(window, available, config.console.fullscreen)
        take_focus(window)
        return app.exec()
    finally:
        station.stop()
        restore()
        if store_path is not None:
            shutil.rmtree(os.path.dirname(store_path), ignore_errors=True)


def keyed(button: QPushButton, short: str) -> None:
    """Remember a button's full label (with its key) and a short one for narrow screens."""
    button.setProperty("long_text", button.text())
    button.setProperty("short_text", short)
    button.setToolTip(button.text())
