"""System events: lost sources, rejected lines, store trouble, incidents, UI errors (UI thread).

`EventList` shows `snapshot.events` newest first (time in the station's zone, kind, source,
text; saved overrides are events too); `latest_event_text`
gives the one line the window's status line shows. Errors and lost sources are bold; no colour,
since the alarms they raise carry the colour.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from console.snapshot import Snapshot
from widgets.alarms import table_view
from widgets.clock import StationClock
from widgets.table import RowsModel

LOUD_KINDS = (
    "error",
    "disconnected",
    "timeout",
    "crc_error",
    "missed_parts",
    "overflow",
    "incident",
)


def event_row(event: tuple[float, str, str, str], clock: StationClock) -> tuple[str, ...]:
    at, kind, source, text = event
    return (clock.wall(at), kind.replace("_", " "), source, text)


def latest_event_text(snapshot: Snapshot, clock: StationClock) -> str:
    if not snapshot.events:
        return "No system events."
    at, kind, source, text = event_row(snapshot.events[-1], clock)
    return f"Latest event {at}  {kind} · {source}: {text}"


class EventList(QWidget):
    """The station's system events, newest first (UI thread)."""

    def __init__(self, clock: StationClock | None = None) -> None:
        super().__init__()
        self.clock = clock or StationClock()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("System events")
        self.title.setObjectName("title")
        layout.addWidget(self.title)
        self.model = RowsModel(
            (f"time ({self.clock.zone_name})", "kind", "source", "what happened"),
            bold=lambda e: bool(e and e[1] in LOUD_KINDS),
        )
        self.table = table_view(self.model, 3)
        layout.addWidget(self.table, 1)
        self._events: tuple = ()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.events == self._events:
            return
        self._events = snapshot.events
        events = tuple(reversed(snapshot.events))
        self.model.set_rows(
            events, [e[0] for e in events], [event_row(e, self.clock) for e in events]
        )
        self.title.setText(f"System events ({len(events)} kept)")

    def texts(self) -> list[str]:
        return [" ".join(row) for row in self.model.rows]
