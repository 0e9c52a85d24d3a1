"""Incidents: the list with response timers, and the selected one's detail — owner, level,
timer, its path (who did what when), notes — with the buttons that move it (UI thread).

Acknowledge, Mitigated, Reassign and Add note go straight to the station; Close is signed (the
PIN again and a meaning). Each runs off the UI thread; refusals show inline. The list and the
timers are redrawn from `station.incidents` at each snapshot, so an escalation by the clock
shows as soon as it happens.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.incident_record import content_hash, export_json
from console.incidents import Incident
from console.runner import Station
from data.audit import MEANINGS
from widgets import theme
from widgets.alarms import table_view
from widgets.commands import run_command
from widgets.escalate import due_text, role_label
from widgets.record_pdf import write_pdf
from widgets.sheet import big_button, caption
from widgets.table import RowsModel


def path_text(incident: Incident) -> str:
    return "\n".join(
        f"{time.strftime('%m-%d %H:%M', time.localtime(at))}  {who}: {what}"
        for at, who, what in incident.path
    )


class IncidentsView(QWidget):
    """Incident list and detail with transition buttons (UI thread)."""

    replay_requested = Signal(str)  # an incident id: replay its range (widgets/replay.py)

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self.current: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Incidents")
        title.setObjectName("title")
        layout.addWidget(title)
        self.model = RowsModel(
            ("incident", "severity", "status", "goes to", "level", "response", "what is wrong")
        )
        self.table = table_view(self.model, 6)
        self.table.clicked.connect(lambda index: self.select(self.model.keys[index.row()]))
        layout.addWidget(self.table, 1)
        self.heading = QLabel("Select an incident.")
        self.heading.setObjectName("title")
        layout.addWidget(self.heading)
        self.timer = QLabel("")
        self.timer.setStyleSheet(f"font-size: {theme.FONT_VALUE}px; font-weight: bold;")
        layout.addWidget(self.timer)
        body = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(caption("Path"))
        self.path = QLabel("")
        self.path.setWordWrap(True)
        left.addWidget(self.path)
        left.addStretch(1)
        body.addLayout(left, 1)
        right = QVBoxLayout()
        right.addWidget(caption("Notes"))
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        right.addWidget(self.notes)
        right.addStretch(1)
        body.addLayout(right, 1)
        layout.addLayout(body, 1)
        row = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (goes with the next step, or Add note)")
        self.note.setMinimumHeight(theme.TOUCH)
        row.addWidget(self.note, 2)
        self.buttons = {}
        for action, text in (("acknowledge", "Acknowledge"), ("mitigate", "Mitigated")):
            button = big_button(text)
            button.clicked.connect(lambda _=False, a=action: self.move(a))
            row.addWidget(button)
            self.buttons[action] = button
        add = big_button("Add note")
        add.clicked.connect(self.add_note)
        row.addWidget(add)
        export = big_button("Export record")
        export.setToolTip("The incident event record as JSON and PDF, beside the store")
        export.clicked.connect(self.export_record)
        row.addWidget(export)
        self.replay = big_button("Replay")
        self.replay.setToolTip("Replay the line from the incident's first alarm to its close")
        self.replay.clicked.connect(
            lambda: self.current and self.replay_requested.emit(self.current)
        )
        row.addWidget(self.replay)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(caption("Reassign to"))
        self.owner = QLineEdit()
        self.owner.setMinimumHeight(theme.TOUCH)
        row.addWidget(self.owner, 1)
        reassign = big_button("Reassign")
        reassign.clicked.connect(self.reassign)
        row.addWidget(reassign)
        row.addSpacing(16)
        row.addWidget(caption("Close, signed: meaning"))
        self.meanings = QButtonGroup(self)
        for i, meaning in enumerate(MEANINGS):
            button = big_button(meaning, checkable=True)
            self.meanings.addButton(button, i)
            row.addWidget(button)
        self.meanings.button(MEANINGS.index("approval")).setChecked(True)
        row.addWidget(caption("PIN"))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMinimumHeight(theme.TOUCH)
        self.pin.setMaximumWidth(120)
        row.addWidget(self.pin)
        close = big_button("Close incident")
        close.clicked.connect(self.close_incident)
        row.addWidget(close)
        self.buttons["close"] = close
        layout.addLayout(row)
        self.result = QLabel("")
        layout.addWidget(self.result)

    def show_snapshot(self, _snapshot: object = None) -> None:
        now = self.station.clock()
        incidents = list(reversed(self.station.incidents))
        self.model.set_rows(
            incidents,
            [i.id for i in incidents],
            [
                (
                    i.id,
                    i.severity,
                    i.status,
                    f"{i.owner} ({role_label(i.role)})",
                    str(i.level + 1),
                    due_text(i, now) if i.status == "open" else "",
                    i.summary,
                )
                for i in incidents
            ],  # fmt: skip
        )
        if self.current is None and incidents:
            self.current = incidents[0].id
        self._show_detail(now)

    def select(self, incident_id: str) -> None:
        self.current = incident_id
        self._show_detail(self.station.clock())

    def _incident(self) -> Incident | None:
        return next((i for i in self.station.incidents if i.id == self.current), None)

    def _show_detail(self, now: float) -> None:
        incident = self._incident()
        if incident is None:
            return
        self.heading.setText(
            f"{incident.id} · {incident.severity} · {incident.status} · {incident.summary}"
        )
        timer = due_text(incident, now) if incident.status == "open" else incident.status
        self.timer.setText(
            f"{incident.owner} ({role_label(incident.role)}), level {incident.level + 1} of "
            f"{max(len(incident.levels), 1)}: {timer}"
        )
        overdue = incident.status == "open" and incident.remaining(now) < 0
        self.timer.setStyleSheet(
            f"font-size: {theme.FONT_VALUE}px; font-weight: bold;"
            + (f" color: {theme.ERROR};" if overdue else "")
        )
        self.path.setText(path_text(incident))
        self.notes.setText(
            "\n".join(
                f"{time.strftime('%m-%d %H:%M', time.localtime(at))}  {who}: {note}"
                for at, who, note in incident.notes
            )
            or "no notes yet"
        )

    def move(self, action: str) -> None:
        if self.current is None:
            return
        incident, note = self.current, self.note.text()
        self._run(lambda: self.station.move_incident(incident, action, note), action)

    def add_note(self) -> None:
        incident, note = self.current, self.note.text()
        if incident is not None:
            self._run(lambda: self.station.note_incident(incident, note), "note")

    def reassign(self) -> None:
        incident, owner = self.current, self.owner.text()
        if incident is not None:
            self._run(lambda: self.station.reassign_incident(incident, owner), "reassign")

    def close_incident(self) -> None:
        if self.current is None:
            return
        incident, note, pin = self.current, self.note.text(), self.pin.text()
        meaning = MEANINGS[self.meanings.checkedId()]
        self.pin.clear()
        self._run(
            lambda: self.station.move_incident(incident, "close", note, pin=pin, meaning=meaning),
            "close",
        )

    def export_record(self) -> None:
        """One click: DIR/ID.json in a worker thread, then DIR/ID.pdf here (Qt's PDF writer)."""
        incident, store = self.current, self.station.store
        if not incident or store is None:
            self._refused("pick an incident (and the station needs its store)")
            return
        folder = Path(store.path).parent / "evidence"

        def done(result) -> None:  # noqa: ANN001
            record, path = result
            pdf = write_pdf(
                f"Incident {incident}", record, content_hash(record), path.with_suffix(".pdf")
            )
            self.result.setText(f"{incident}: record written to {path} and {pdf.name}.")
            self.result.setStyleSheet(f"font-weight: bold; color: {theme.TEXT};")

        store.flush()
        work = lambda: export_json(store.path, incident, self.station.config, folder)  # noqa: E731
        run_command(work, done, self._refused)

    def _run(self, work, what: str) -> None:  # noqa: ANN001
        run_command(work, lambda i: self._done(i, what), self._refused)

    def _done(self, incident: Incident, what: str) -> None:
        self.note.clear()
        self.owner.clear()
        self.result.setText(f"{incident.id}: {what} saved ({incident.status}).")
        self.result.setStyleSheet(f"font-weight: bold; color: {theme.TEXT};")
        self.show_snapshot()

    def _refused(self, reason: str) -> None:
        self.result.setText(f"Not done: {reason}")
        self.result.setStyleSheet(f"font-weight: bold; color: {theme.ERROR};")
