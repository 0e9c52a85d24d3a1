"""Shelving an alarm, signed: reason, how long, the PIN again and what the signature means
(UI thread).

`ShelveForm` sits under the alarm table. The duration and the meaning are big buttons; the PIN
is typed again because shelving hides an alarm from everyone (21 CFR 11.200: a signature needs
the secret each time). `station.shelve` runs off the UI thread; the result, or the refusal
(wrong PIN, the role may not shelve, no reason), shows inline.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from console.runner import Station
from data.audit import MEANINGS
from widgets import theme
from widgets.commands import run_command
from widgets.sheet import big_button, caption

DURATIONS = (15, 30, 60, 240, 480)


class ShelveForm(QFrame):
    """Reason, duration, PIN and meaning for shelving the selected alarm (UI thread)."""

    shelved = Signal(object)  # AlarmEvent

    def __init__(self, station: Station, selected: Callable[[], str | None]) -> None:
        super().__init__()
        self.station = station
        self.selected = selected
        self.setObjectName("sheet")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        row = QHBoxLayout()
        row.addWidget(caption("Shelve selected: reason"))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. lamp being replaced")
        self.reason.setMinimumHeight(theme.TOUCH)
        row.addWidget(self.reason, 2)
        row.addWidget(caption("for (min)"))
        self.durations = QButtonGroup(self)
        for minutes in DURATIONS:
            button = big_button(str(minutes), checkable=True)
            button.setMinimumWidth(theme.TOUCH + 12)
            self.durations.addButton(button, minutes)
            row.addWidget(button)
        self.durations.button(30).setChecked(True)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(caption("signature means"))
        self.meanings = QButtonGroup(self)
        for i, meaning in enumerate(MEANINGS):
            button = big_button(meaning, checkable=True)
            self.meanings.addButton(button, i)
            row.addWidget(button)
        self.meanings.button(MEANINGS.index("responsibility")).setChecked(True)
        row.addSpacing(12)
        row.addWidget(caption("PIN"))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMinimumHeight(theme.TOUCH)
        self.pin.setMaximumWidth(120)
        row.addWidget(self.pin)
        self.sign = big_button("Sign and shelve", name="shelve")
        self.sign.clicked.connect(self.submit)
        row.addWidget(self.sign)
        self.result = QLabel("")  # beside the button it answers, not on a line of its own
        self.result.setWordWrap(True)
        row.addWidget(self.result, 1)
        layout.addLayout(row)

    def pick(self, minutes: int, meaning: str) -> None:
        self.durations.button(minutes).setChecked(True)
        self.meanings.button(MEANINGS.index(meaning)).setChecked(True)

    def submit(self) -> None:
        alarm = self.selected()
        if alarm is None:
            self._show("Select the alarm to shelve first.", True)
            return
        reason, pin = self.reason.text(), self.pin.text()
        minutes = self.durations.checkedId()
        meaning = MEANINGS[self.meanings.checkedId()]
        self.pin.clear()
        run_command(
            lambda: self.station.shelve(alarm, reason, minutes, pin, meaning),
            self._done,
            lambda why: self._show(f"Not shelved: {why}", True),
        )

    def _done(self, event) -> None:  # noqa: ANN001
        self.reason.clear()
        self._show(f"Shelved {event.alarm} until the time shown below, signed.", False)
        self.shelved.emit(event)

    def _show(self, text: str, error: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(
            f"font-weight: bold; color: {theme.ERROR if error else theme.TEXT};"
        )
