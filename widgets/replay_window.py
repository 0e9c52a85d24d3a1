"""The console opened on a store file, read-only: `main.py --replay` and File › Open store (UI
thread).

No station runs: the window holds only the Replay view (widgets/replay.py) over one store file,
read through SQLite's read-only URI mode (data/store_file.py checks the file first), so it may be
opened on a copy of any station's store, or beside the running line. Its header says which store
is open and that it is read-only; a file that cannot be replayed (not a store, a newer schema,
locked, damaged) is answered there in words, and the store open before stays open. File › Open
store is also in the live console's menu (`add_store_menu`), where it opens such a window.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from console.config import Config
from data.reading import StoreError
from data.store_file import StoreFile, explain, look_at
from widgets import theme
from widgets.replay import ReplayView

STORE_FILES = "Linewatch stores (*.db *.sqlite *.sqlite3);;All files (*)"
NO_STORE = "No store open — File › Open store… (Ctrl+O) picks any store file, read-only."


def ask_for_store(parent: QWidget, where: str = "") -> str:
    """The store file a quality engineer picks ("" when they cancel)."""
    chosen, _ = QFileDialog.getOpenFileName(parent, "Open store (read-only)", where, STORE_FILES)
    return chosen


def add_store_menu(window: QMainWindow, config: Config) -> QAction:
    """File › Open store… in a window's menu bar: a store file opened in a replay window."""
    action = QAction("Open store… (read-only)", window)
    action.setShortcut(QKeySequence("Ctrl+O"))
    opened: list[ReplayWindow] = []

    def open_one() -> None:
        path = ask_for_store(window, str(Path(config.store.path or ".").parent))
        if path:
            replay = ReplayWindow(None, config)
            replay.open_store(path)
            replay.resize(window.size())
            replay.show()
            opened.append(replay)  # kept while the console runs

    action.triggered.connect(open_one)
    window.menuBar().addMenu("&File").addAction(action)
    return action


class ReplayWindow(QMainWindow):
    """The Replay view alone, over one store file, read-only (UI thread)."""

    def __init__(self, path: str | None, config: Config) -> None:
        super().__init__()
        self.config = config
        self.setStyleSheet(theme.STYLE)
        self.store: StoreFile | None = None
        self.view: ReplayView | None = None
        central = QWidget()
        self.layout_ = QVBoxLayout(central)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self._header())
        self.placeholder = QLabel("")
        self.layout_.addWidget(self.placeholder, 1)
        self.setCentralWidget(central)
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("Open store… (read-only)", self)
        self.open_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_action.triggered.connect(self._ask)
        menu.addAction(self.open_action)
        close = QAction("Close window", self)
        close.setShortcut(QKeySequence("Ctrl+W"))
        close.triggered.connect(self.close)
        menu.addAction(close)
        self._show_title()
        if path:
            self.open_store(path)

    def _header(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("header")
        row = QHBoxLayout(frame)
        row.setContentsMargins(10, 6, 10, 6)
        self.heading = QLabel(NO_STORE)
        self.heading.setObjectName("title")
        self.problem = QLabel("")
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        column = QVBoxLayout()
        column.addWidget(self.heading)
        column.addWidget(self.problem)
        row.addLayout(column, 1)
        return frame

    def _ask(self) -> None:
        where = str(Path(self.store.path).parent) if self.store else ""
        path = ask_for_store(self, where)
        if path:
            self.open_store(path)

    def open_store(self, path: str) -> bool:
        """Open `path` read-only in the Replay view; False (the reason shown, the store open
        before kept) when it cannot be replayed."""
        try:
            store = look_at(path)
            view = ReplayView(store.path, self.config)
        except StoreError as error:
            return self._refused(str(error))
        except sqlite3.Error as error:  # a damaged page met while listing the batches
            return self._refused(explain(error, path))
        old = self.view or self.placeholder
        self.layout_.replaceWidget(old, view)
        old.deleteLater()
        self.view, self.store = view, store
        self.problem.hide()
        self._show_title()
        return True

    def _refused(self, reason: str) -> bool:
        self.problem.setText(f"Not opened: {reason}")
        self.problem.show()
        return False

    def _show_title(self) -> None:
        store = self.store
        if store is None:
            self.setWindowTitle("Linewatch replay — no store open")
            self.heading.setText(NO_STORE)
            return
        self.setWindowTitle(f"Linewatch replay — {store.path} (read-only)")
        self.heading.setText(f"Store (read-only): {store.heading()}")


def run_replay_console(config: Config, path: str | None = None) -> int:
    """Open the replay window on `path` (default: `config`'s store). 2 with a reason when the
    file cannot be replayed; without any store the window opens empty, File › Open store."""
    path = path or config.store.path or None
    if path:
        try:
            look_at(path)
        except StoreError as error:
            print(f"main.py: {error}", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Linewatch replay")
    window = ReplayWindow(path, config)
    window.resize(1920, 1080)
    window.show()
    return app.exec()
