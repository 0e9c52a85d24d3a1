"""The escalate sheet: say what is wrong, pick a severity, send (UI thread).

Quick picks fill in the usual words (or type your own); severity is four big buttons; Send calls
`station.escalate` off the UI thread, which opens an incident linked to the active alarms and the
last parts with a frozen snapshot of the drift state. The sheet then shows the incident's id,
the playbook role and person it went to, and when they owe a response. A refusal shows inline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from console.actions import SEVERITIES, Escalate
from console.incidents import Incident
from console.runner import Station
from widgets import theme
from widgets.bridge import note_error
from widgets.commands import run_command
from widgets.protocol import decision_protocol
from widgets.sheet import Sheet, big_button, caption

QUICK_PICKS = (
    "Images darker than usual",
    "Images blurry / out of focus",
    "Model wrong on many parts",
    "Many overrides needed",
    "Camera or light problem",
    "Data missing / source down",
)


def role_label(role: str) -> str:
    return role.replace("_", " ")


def due_text(incident: Incident, now: float | None = None) -> str:
    minutes = incident.remaining(now) / 60.0
    clock = time.strftime("%H:%M", time.localtime(incident.due_at))
    if minutes < 0:
        return f"overdue since {clock}"
    return f"respond by {clock} (in {minutes:.0f} min)"


class EscalateSheet(Sheet):
    """Open an incident: what is wrong, how bad; shows who it went to (UI thread)."""

    escalated = Signal(object)  # Incident

    def __init__(self, host, station: Station, user: Callable[[], tuple[str, str]]) -> None:
        super().__init__(host, "Escalate", decision_protocol(station.config))
        self.station = station
        self.user = user
        self.severity = ""
        self.busy = False
        self.body.addWidget(caption("1. What is wrong?"))
        self.summary = QLineEdit()
        self.summary.setPlaceholderText("a few words, or tap a quick pick")
        self.summary.textChanged.connect(lambda _t: self._update_buttons())
        self.body.addWidget(self.summary)
        picks = QGridLayout()
        for i, text in enumerate(QUICK_PICKS):
            button = big_button(text)
            button.clicked.connect(lambda _=False, t=text: self.summary.setText(t))
            picks.addWidget(button, i // 2, i % 2)
        self.body.addLayout(picks)
        self.body.addWidget(caption("2. How bad?"))
        row = QHBoxLayout()
        self.severity_buttons: dict[str, QPushButton] = {}
        for severity in SEVERITIES:
            button = big_button(severity, checkable=True)
            button.setMinimumHeight(theme.TOUCH + 16)
            button.clicked.connect(lambda _=False, s=severity: self.pick_severity(s))
            row.addWidget(button)
            self.severity_buttons[severity] = button
        self.body.addLayout(row)
        self.context = QLabel("")
        self.context.setObjectName("caption")
        self.context.setWordWrap(True)
        self.body.addWidget(self.context)
        self.send_button = big_button("3. Send escalation", name="escalate")
        self.send_button.setMinimumHeight(theme.TOUCH + 16)
        self.send_button.clicked.connect(self.send)
        self.body.addWidget(self.send_button)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setStyleSheet(f"font-size: {theme.FONT_TITLE}px; font-weight: bold;")
        self.body.addWidget(self.result)
        self.body.addStretch(1)
        self.incident: Incident | None = None

    def first_focus(self) -> QWidget:
        return self.summary  # say what is wrong first

    def open_form(self) -> None:
        self.severity = ""
        self.incident = None
        self.summary.clear()
        self._set_result("", "")
        snapshot = self.station.snapshot
        active = [a.id for a in snapshot.alarms if a.active]
        linked = (
            f"{len(active)} active alarm{'s' if len(active) != 1 else ''}"
            if active
            else "no active alarm"
        )
        self.context.setText(
            f"The incident will carry {linked}, the last {min(len(snapshot.recent), 20)} parts and the drift state as of now."
        )
        self._update_buttons()
        self.open_sheet()
        self.summary.setFocus()

    def pick_severity(self, severity: str) -> None:
        self.severity = severity
        self._update_buttons()

    def send(self) -> None:
        if self.busy or not self.severity:
            return
        user, role = self.user()
        command = Escalate(
            summary=self.summary.text(), severity=self.severity, user=user, role=role
        )
        self.busy = True
        self._update_buttons()
        self._set_result("Sending…", "")
        run_command(
            lambda: self.station.escalate(command),
            self._sent,
            self._refused,
            lambda text: note_error(self.station, "escalate", text),
        )

    def _sent(self, incident: Incident) -> None:
        self.busy = False
        self.incident = incident
        self._update_buttons()
        self._set_result(
            f"Incident {incident.id} ({incident.severity}) sent to {incident.owner} ({role_label(incident.role)}); "
            f"{due_text(incident)}.",
            "saved",
        )
        self.escalated.emit(incident)

    def _refused(self, reason: str) -> None:
        self.busy = False
        self._update_buttons()
        self._set_result(f"Not sent: {reason}", "error")

    def _set_result(self, text: str, kind: str) -> None:
        self.result.setText(text)
        colour = theme.ERROR if kind == "error" else theme.TEXT
        self.result.setStyleSheet(
            f"font-size: {theme.FONT_TITLE}px; font-weight: bold; color: {colour};"
        )

    def _update_buttons(self) -> None:
        for severity, button in self.severity_buttons.items():
            button.setChecked(severity == self.severity)
            button.setEnabled(not self.busy)
        self.send_button.setEnabled(
            bool(self.severity) and bool(self.summary.text().strip()) and not self.busy
        )
