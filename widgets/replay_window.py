"""`main.py --replay --config C`: the console opened on a station's store, read-only (UI thread).

No station runs: the window holds only the Replay view (widgets/replay.py) over the store named
by the config's `[store] path`, read through read-only connections, so it may be opened on a
copy of any station's store, or beside the running line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMainWindow

from console.config import Config
from widgets import theme
from widgets.replay import ReplayView


class ReplayWindow(QMainWindow):
    """The Replay view alone, over one store file (UI thread)."""

    def __init__(self, path: str, config: Config) -> None:
        super().__init__()
        self.setWindowTitle(f"Linewatch replay — {config.station.name} — {path} (read-only)")
        self.setStyleSheet(theme.STYLE)
        self.view = ReplayView(path, config)
        self.setCentralWidget(self.view)


def run_replay_console(config: Config) -> int:
    """Open the replay window on `config`'s store; 2 with a reason when there is none."""
    path = config.store.path
    if not path or not Path(path).exists():
        print(f"main.py: no store at {path!r}: give a config whose [store] path exists",
              file=sys.stderr)  # fmt: skip
        return 2
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Linewatch replay")
    window = ReplayWindow(path, config)
    window.resize(1920, 1080)
    window.show()
    return app.exec()
