"""The header's plant-sync states side by side, for docs/: `uv run python -m widgets.sync_states`.

Builds one overview header per sync state (none configured, up to date, offline with a backlog,
stale, a refused row) and saves them stacked into `docs/sync-states.png`. Main thread only.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from data.sync_status import NOT_CONFIGURED, SyncStatus
from widgets import theme
from widgets.header import OverviewHeader


def example_states(now: float) -> list[tuple[str, SyncStatus]]:
    """(what the state means, the status) for each state an operator may meet."""
    target = "db.plant.local:5432/linewatch"
    return [
        ("No [sync] in the station config", NOT_CONFIGURED),
        (
            "Connected, nothing waiting",
            SyncStatus(True, target, True, 0, None, now - 2, 2.0, taken=now),
        ),
        (
            "Connected, catching up after an outage",
            SyncStatus(True, target, True, 1_284_000, now - 5400, now - 1, 1.0, taken=now),
        ),
        (
            "Database unreachable for 20 min (not yet stale)",
            SyncStatus(
                True,
                target,
                False,
                60_012,
                now - 1210,
                now - 1200,
                1200.0,
                "OperationalError: connection refused",
                taken=now,
            ),
        ),  # fmt: skip
        (
            "Stale: rows waited longer than [sync] stale_seconds (alarm raised)",
            SyncStatus(
                True,
                target,
                False,
                216_000,
                now - 4 * 3600,
                now - 4 * 3600,
                4 * 3600.0,
                "OperationalError: timeout expired",
                stale=True,
                taken=now,
            ),
        ),  # fmt: skip
        (
            "A row the plant database refused is in the quarantine",
            SyncStatus(True, target, True, 0, None, now - 3, 3.0, quarantined=1, taken=now),
        ),
    ]


def render(out: Path, width: int = 1600) -> Path:
    app = QApplication.instance() or QApplication([])
    page = QWidget()
    page.setStyleSheet(theme.STYLE)
    layout = QVBoxLayout(page)
    now = time.time()
    for meaning, status in example_states(now):
        label = QLabel(meaning)
        label.setStyleSheet("font-size: 14px; padding: 6px 0 0 4px;")
        layout.addWidget(label)
        header = OverviewHeader("line1-cam1")
        header.show_sync(status)
        layout.addWidget(header)
    page.resize(width, page.sizeHint().height())
    page.show()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    page.grab().save(str(out))
    page.close()
    return out


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the entry function, not the import
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs", help="folder for sync-states.png")
    args = parser.parse_args()
    print(render(Path(args.out) / "sync-states.png"))


if __name__ == "__main__":
    main()
