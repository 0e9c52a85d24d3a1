"""Alarms and incidents: the ISA-18.2 alarm table with Acknowledge, the incident list with its
response timers, and the banner that announces a new high or urgent alarm (UI thread).

The table shows `snapshot.alarms` (most urgent first): priority (in its colour, the only colour
on the screen), state, time raised, source, detector, value against limit, message.
Acknowledge (button or F4) acknowledges the selected alarm when this view is on screen, else the
most urgent one waiting, off the UI thread; what it is doing and its result show inline and are
sent to the window's status line (`acknowledged`). Times are in the station's zone. The banner never blocks:
it stays until dismissed or until the alarms view is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.actions import Acknowledge
from console.alarms import AlarmView
from console.runner import Station
from console.snapshot import Snapshot
from widgets import theme
from widgets.bridge import note_error
from widgets.clock import StationClock
from widgets.commands import run_command
from widgets.escalate import due_text, role_label
from widgets.sheet import big_button, caption
from widgets.shelve import ShelveForm
from widgets.table import RowsModel

STATE_TEXT = {
    "unacknowledged": "active, unack.",
    "acknowledged": "active, ack.",
    "returned_unacknowledged": "cleared, unack.",
    "normal": "normal",
    "shelved": "shelved",
    "suppressed": "suppressed",
    "out_of_service": "out of service",
}
BANNER_PRIORITIES = ("high", "urgent")


def alarm_row(alarm: AlarmView, clock: StationClock) -> tuple[str, ...]:
    limit = f" / {alarm.threshold:.3g}" if alarm.threshold else ""
    return (
        alarm.priority.upper(),
        STATE_TEXT.get(alarm.state, alarm.state),
        clock.record_time(alarm.raised_ts, with_date=True),
        alarm.source,
        alarm.detector.replace("_", " "),
        f"{alarm.value:.3g}{limit}",
        alarm.message,
    )


def hidden_row(alarm: AlarmView) -> tuple[str, ...]:
    until = (
        time.strftime("%H:%M", time.localtime(alarm.shelved_until)) if alarm.shelved_until else ""
    )
    return (
        alarm.priority.upper(),
        STATE_TEXT.get(alarm.state, alarm.state),
        alarm.source,
        alarm.detector.replace("_", " "),
        until,
        alarm.shelve_reason,
    )


def needs_ack(alarm: AlarmView) -> bool:
    return alarm.state in ("unacknowledged", "returned_unacknowledged")


def _alarm_colours(alarm: AlarmView | None, column: int) -> tuple[str, str] | None:
    if alarm is None or column != 0:
        return None
    return theme.PRIORITY_COLOURS[alarm.priority], theme.PRIORITY_TEXT[alarm.priority]


def table_view(model: RowsModel, stretch: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(theme.TOUCH)
    view.setAlternatingRowColors(True)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class AlarmsView(QWidget):
    """The alarm table with Acknowledge and the incident list (UI thread)."""

    acknowledged = Signal(str)  # the result, in words

    def __init__(
        self,
        station: Station,
        user: Callable[[], tuple[str, str]],
        clock: StationClock | None = None,
    ) -> None:
        super().__init__()
        self.station = station
        self.user = user
        self.clock = clock or StationClock()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = QLabel("Alarms")
        self.title.setObjectName("title")
        top.addWidget(self.title, 1)
        self.result = QLabel("")
        self.result.setStyleSheet("font-weight: bold;")
        top.addWidget(self.result, 2)
        layout.addLayout(top)
        self.model = RowsModel(
            (
                "priority",
                "state",
                f"raised ({self.clock.record_label})",
                "source",
                "detector",
                "value / limit",
                "message",
            ),
            colours=_alarm_colours,
            bold=lambda alarm: bool(alarm and needs_ack(alarm)),
        )
        self.table = table_view(self.model, 6)
        layout.addWidget(self.table, 3)
        row = QHBoxLayout()
        row.addWidget(caption("Acknowledge with comment (optional)"))
        self.comment = QLineEdit()
        self.comment.setMinimumHeight(theme.TOUCH)
        self.comment.setPlaceholderText("e.g. lens cleaned, watching")
        self.comment.returnPressed.connect(self.acknowledge_selected)
        row.addWidget(self.comment, 1)
        acknowledge = big_button("Acknowledge (F4)")
        acknowledge.clicked.connect(self.acknowledge_selected)
        row.addWidget(acknowledge)
        layout.addLayout(row)
        self.shelve_form = ShelveForm(station, self.selected_alarm)
        layout.addWidget(self.shelve_form)
        # Incidents and the hidden alarms share one tabbed area, their counts on the tabs: on a
        # 1280×800 screen two stacked lists left the active alarms two rows.
        self.lists = QTabWidget()
        self.incidents = RowsModel(
            ("incident", "severity", "goes to", "status", "response", "what is wrong")
        )
        self.incident_table = table_view(self.incidents, 5)
        self.lists.addTab(self.incident_table, "Incidents")
        shelved = QWidget()
        shelved_layout = QHBoxLayout(shelved)
        shelved_layout.setContentsMargins(0, 0, 0, 0)
        self.hidden = RowsModel(("priority", "state", "source", "detector", "until", "reason"))
        self.hidden_table = table_view(self.hidden, 5)
        shelved_layout.addWidget(self.hidden_table, 1)
        self.unshelve_button = big_button("Un-shelve selected")
        self.unshelve_button.clicked.connect(self.unshelve_selected)
        shelved_layout.addWidget(self.unshelve_button, 0, Qt.AlignmentFlag.AlignTop)
        self.lists.addTab(shelved, "Shelved, suppressed, out of service")
        layout.addWidget(self.lists, 1)
        self.busy = False
        self._done_ids: set[str] = set()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        selected = self.selected_alarm()
        alarms = snapshot.alarms
        self.model.set_rows(
            alarms, [a.id for a in alarms], [alarm_row(a, self.clock) for a in alarms]
        )
        if selected is not None:
            row = self.model.row_of(selected)
            if row >= 0:
                self.table.selectRow(row)
            else:
                self.table.clearSelection()
        hidden = self.station.engine.alarms.views(hidden=True)
        self.hidden.set_rows(hidden, [a.id for a in hidden], [hidden_row(a) for a in hidden])
        unack = snapshot.unacknowledged
        self.title.setText(
            f"Alarms: {sum(a.active for a in alarms)} active, {unack} to acknowledge"
        )
        incidents = list(reversed(self.station.incidents))
        still_open = sum(i.status != "closed" for i in incidents)
        tabs = (
            f"Incidents: {still_open} open, {len(incidents)} in all",
            f"Shelved, suppressed, out of service: {len(hidden)}",
        )
        for index, text in enumerate(tabs):
            if self.lists.tabText(index) != text:  # setTabText lays the bar out again every time
                self.lists.setTabText(index, text)
        self.incidents.set_rows(
            incidents,
            [i.id for i in incidents],
            [
                (
                    i.id,
                    i.severity,
                    f"{i.owner} ({role_label(i.role)})",
                    i.status,
                    due_text(i, self.station.clock()),
                    i.summary,
                )
                for i in incidents
            ],
        )

    def selected_alarm(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.model.keys):
            return self.model.keys[rows[0].row()]
        return None

    def acknowledge_selected(self) -> str:
        """The Acknowledge button on this view: the selected alarm, else the most urgent."""
        return self.acknowledge(use_selection=True)

    def acknowledge(self, *, use_selection: bool) -> str:
        """Acknowledge the selected alarm (when `use_selection` and one is selected), else the
        most urgent one waiting; returns what it is doing, in words."""
        if self.busy:
            return "Acknowledge: the previous one is still being saved."
        alarm = self.selected_alarm() if use_selection else None
        if alarm is None:
            waiting = [a for a in self.model.items if needs_ack(a) and a.id not in self._done_ids]
            if not waiting:
                text = "Nothing to acknowledge: no alarm is waiting."
                self._result(text, False)
                return text
            alarm = waiting[0].id
        user, role = self.user()
        command = Acknowledge(alarm=alarm, user=user, role=role, note=self.comment.text())
        self.busy = True
        run_command(
            lambda: self.station.acknowledge(command),
            lambda event: self._acknowledged(event, alarm),
            lambda reason: self._done(f"Not acknowledged {alarm}: {reason}", error=True),
            lambda text: note_error(self.station, "acknowledge", text),
        )
        text = f"Acknowledging {alarm}…"
        self._result(text, False)
        return text

    def _acknowledged(self, event, alarm: str) -> None:  # noqa: ANN001 - console.alarms.AlarmEvent
        self.comment.clear()
        self._done(f"Acknowledged {event.alarm} ({event.user}).", alarm=alarm)

    def unshelve_selected(self) -> None:
        rows = self.hidden_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.hidden.keys):
            self._result("Select a shelved alarm first.", True)
            return
        alarm_id = self.hidden.keys[rows[0].row()]
        run_command(
            lambda: self.station.unshelve(alarm_id),
            lambda event: self._done(f"Un-shelved {event.alarm}: {event.state}."),
            lambda reason: self._done(f"Not un-shelved: {reason}", error=True),
        )

    def _done(self, text: str, error: bool = False, alarm: str = "") -> None:
        self.busy = False
        if alarm:
            self._done_ids.add(alarm)  # until the next snapshot shows it acknowledged
        self._result(text, error)
        self.acknowledged.emit(text)

    def _result(self, text: str, error: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(
            f"font-weight: bold; color: {theme.ERROR if error else theme.TEXT};"
        )


class AlarmBanner(QFrame):
    """A new high or urgent alarm, announced until dismissed; never blocks (UI thread)."""

    show_alarms = Signal()

    def __init__(self, beep: bool = True) -> None:
        super().__init__()
        self.beep = beep
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 4)
        self.text = QLabel("")
        self.text.setStyleSheet(
            f"font-size: {theme.FONT_TITLE}px; font-weight: bold; background: transparent;"
        )
        layout.addWidget(self.text, 1)
        view = big_button("Show alarms (F7)")
        view.clicked.connect(self.show_alarms)
        layout.addWidget(view)
        dismiss = big_button("Dismiss")
        dismiss.clicked.connect(self.hide)
        layout.addWidget(dismiss)
        self._seen: set[tuple[str, str]] = set()
        self.alarm: AlarmView | None = None
        self.hide()

    def check(self, snapshot: Snapshot) -> None:
        """Announce any high/urgent alarm raised since the last look."""
        fresh = [
            a
            for a in snapshot.alarms
            if a.active
            and a.priority in BANNER_PRIORITIES
            and a.state == "unacknowledged"
            and (a.id, a.raised_ts) not in self._seen
        ]
        for alarm in fresh:
            self._seen.add((alarm.id, alarm.raised_ts))
        if not fresh:
            if self.alarm is not None and not any(
                a.id == self.alarm.id and a.active for a in snapshot.alarms
            ):
                self.alarm = None
                self.hide()  # what it announced is gone: no stale "NEW HIGH ALARM"
            return
        alarm = fresh[0]
        self.alarm = alarm
        more = f"  (+{len(fresh) - 1} more)" if len(fresh) > 1 else ""
        self.text.setText(
            f"NEW {alarm.priority.upper()} ALARM  {alarm.source}: {alarm.message or alarm.detector}{more}"
        )
        self.setStyleSheet(
            f"QFrame {{ {theme.priority_style(alarm.priority)} }} QPushButton {{ background: #f2f2f2; color: #1c1c1c; }}"
        )
        self.show()
        if self.beep:
            QApplication.beep()
