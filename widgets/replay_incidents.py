"""The store's incidents beside the batch list of the Replay view: a click replays one (UI
thread).

Each incident as its last stored state says it (opened, status, severity, what is wrong); a
click opens its range, from its first alarm less the detectors' window to its close
(console/incident_replay.py), as the unit replayed. Reads the store read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from data.reading import incidents
from widgets.alarms import table_view
from widgets.table import RowsModel


def incident_rows(path: str | Path) -> list[dict]:
    """The last stored state of every incident, newest first (the time it was opened kept)."""
    latest: dict[str, dict] = {}
    for row in incidents(path):
        opened = latest.get(row["incident"], row)["at"]
        latest[row["incident"]] = {**row, "opened": opened}
    return sorted(latest.values(), key=lambda r: -float(r["opened"]))


class IncidentList(QFrame):
    """Incidents to replay (UI thread); `on_open(incident_id)` on a click."""

    def __init__(self, on_open: Callable[[str], None]) -> None:
        super().__init__()
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        title = QLabel("Incidents (a click replays from the first alarm to the close)")
        title.setObjectName("title")
        title.setWordWrap(True)
        layout.addWidget(title)
        self.model = RowsModel(("incident", "opened", "status", "what is wrong"))
        self.view = table_view(self.model, 3)
        self.view.setWordWrap(False)
        self.view.clicked.connect(lambda index: on_open(self.model.keys[index.row()]))
        layout.addWidget(self.view, 1)

    def show_incidents(self, path: str | Path) -> None:
        from console.records import iso

        rows = incident_rows(path)
        self.model.set_rows(
            rows,
            [r["incident"] for r in rows],
            [
                (
                    r["incident"],
                    iso(float(r["opened"]))[5:16].replace("T", " "),
                    r["status"],
                    f"{r['severity'] or ''}: {r['summary'] or ''}"[:80],
                )
                for r in rows
            ],
        )
