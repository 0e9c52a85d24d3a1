"""The alarm history: every journaled transition, filtered by time, source, priority, state and
user (UI thread).

Reads the alarm book's journal (`station.engine.alarms.history()`, the transitions since start;
the store's `alarm_journal` keeps them for good) when shown and at each snapshot while visible.
`filter_journal` is the pure filter the screen applies, newest first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.alarm_health import AlarmHealth, health
from console.alarms import PRIORITIES, AlarmState, JournalEntry
from console.runner import Station
from widgets import theme
from widgets.alarms import table_view
from widgets.sheet import caption
from widgets.table import RowsModel

SPANS = (("last hour", 3600.0), ("last shift (8 h)", 8 * 3600.0), ("24 h", 86400.0), ("all", 0.0))
ANY = "any"


def filter_journal(
    entries: Iterable[JournalEntry],
    now: float,
    within: float = 0.0,
    source: str = "",
    priority: str = ANY,
    state: str = ANY,
    user: str = "",
) -> list[JournalEntry]:
    """Entries matching every filter given, newest first (`within` seconds; 0: all)."""
    source, user = source.strip().lower(), user.strip().lower()
    return [
        e
        for e in sorted(entries, key=lambda e: e.at, reverse=True)
        if (not within or now - e.at <= within)
        and (not source or source in e.alarm.lower())
        and (priority == ANY or e.priority == priority)
        and (state == ANY or e.new == state)
        and (not user or user in e.user.lower())
    ]


def health_text(kpi: AlarmHealth) -> str:
    """The alarm-system KPIs in one line (ISA-18.2: about 1 alarm per 10 min is manageable)."""
    mix = ", ".join(f"{p} {kpi.by_priority.get(p, 0)}" for p in reversed(PRIORITIES))
    return (
        f"Alarm system: {kpi.last_10_minutes} alarms in the last 10 min "
        f"(average {kpi.per_10_minutes:.1f} per 10 min) · floods {kpi.floods} · "
        f"chattering {len(kpi.chattering)}{': ' + ', '.join(kpi.chattering) if kpi.chattering else ''}"
        f" · stale {len(kpi.stale)} · by priority: {mix}"
    )


class AlarmHistory(QWidget):
    """The alarm journal as a filtered table (UI thread)."""

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Alarm history")
        self.title.setObjectName("title")
        layout.addWidget(self.title)
        self.health = QLabel("")
        self.health.setWordWrap(True)
        layout.addWidget(self.health)
        row = QHBoxLayout()
        self.span = self._combo([name for name, _ in SPANS], row, "time")
        row.addWidget(caption("source"))
        self.source = QLineEdit()
        self.source.setMinimumHeight(theme.TOUCH)
        row.addWidget(self.source, 1)
        self.priority = self._combo([ANY, *PRIORITIES], row, "priority")
        self.state = self._combo([ANY, *(s.value for s in AlarmState)], row, "state")
        row.addWidget(caption("user"))
        self.user = QLineEdit()
        self.user.setMinimumHeight(theme.TOUCH)
        row.addWidget(self.user, 1)
        layout.addLayout(row)
        for field in (self.source, self.user):
            field.textChanged.connect(lambda _=None: self.refresh())
        self.model = RowsModel(
            ("time", "alarm", "priority", "what", "from", "to", "user", "comment")
        )
        self.table = table_view(self.model, 7)
        layout.addWidget(self.table, 1)

    def _combo(self, items: list[str], row: QHBoxLayout, label: str) -> QComboBox:
        row.addWidget(caption(label))
        combo = QComboBox()
        combo.setMinimumHeight(theme.TOUCH)
        combo.addItems(items)
        combo.currentIndexChanged.connect(lambda _=None: self.refresh())
        row.addWidget(combo)
        return combo

    def show_snapshot(self, _snapshot: object = None) -> None:
        self.refresh()

    def refresh(self) -> None:
        journal = self.station.engine.alarms.history()
        now = self.station.clock()
        self.health.setText(health_text(health(journal, now)))
        rows = filter_journal(
            journal,
            now,
            SPANS[self.span.currentIndex()][1],
            self.source.text(),
            self.priority.currentText(),
            self.state.currentText(),
            self.user.text(),
        )
        self.title.setText(f"Alarm history: {len(rows)} transitions")
        self.model.set_rows(
            rows,
            list(range(len(rows))),
            [
                (
                    time.strftime("%m-%d %H:%M:%S", time.localtime(e.at)),
                    e.alarm,
                    e.priority.upper(),
                    e.trigger.replace("_", " "),
                    e.old.replace("_", " "),
                    e.new.replace("_", " "),
                    e.user,
                    e.comment,
                )
                for e in rows
            ],
        )
