"""Recent overrides: every correction stays findable after the part has left the parts list.

`OverrideList` shows the overrides saved at this station, newest first (time, part, model's
class → new class, reason, who, store record), with a search by part id. It starts from the
store (read once, off the UI thread) and grows with each override the sheet saves; a correction
of an override is one more row. Selecting a row and "Correct this override" (or a double tap)
asks the window to open the override sheet for that part. UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.actions import Override
from widgets.alarms import table_view
from widgets.clock import StationClock
from widgets.sheet import big_button
from widgets.table import RowsModel


@dataclass(frozen=True)
class SavedOverride:
    """One stored override as the list shows it."""

    seq: int
    part: str
    old_class: str
    new_class: str
    reason: str
    user: str
    at: float
    note: str = ""

    @classmethod
    def from_command(cls, seq: int, command: Override) -> SavedOverride:
        return cls(
            seq,
            command.part,
            command.old_class,
            command.new_class,
            command.reason,
            command.user,
            command.at,
            command.note,
        )

    @classmethod
    def from_row(cls, row: dict) -> SavedOverride:
        return cls(
            int(row["seq"]),
            str(row["part"]),
            str(row["old_class"]),
            str(row["new_class"]),
            str(row["reason"]),
            str(row.get("user_name") or ""),
            _epoch(row.get("ts")),
            str(row.get("note") or ""),
        )

    def sentence(self) -> str:
        return (
            f"part {self.part}: {self.old_class} → {self.new_class}"
            f" ({self.reason.replace('_', ' ')}) by {self.user}, record #{self.seq}"
        )


def _epoch(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    moment = StationClock("UTC").parse(str(value)) if value else None
    return moment.timestamp() if moment is not None else 0.0


class OverrideList(QWidget):
    """The station's overrides, newest first, searchable by part id (UI thread)."""

    correct_requested = Signal(str)  # part id

    def __init__(self, clock: StationClock) -> None:
        super().__init__()
        self.clock = clock
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.title = QLabel("Recent overrides")
        self.title.setObjectName("title")
        top.addWidget(self.title, 1)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search by part id")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self._show())
        top.addWidget(self.search, 1)
        self.correct = big_button("Correct this override")
        self.correct.clicked.connect(self._correct_selected)
        top.addWidget(self.correct)
        layout.addLayout(top)
        self.model = RowsModel(
            (f"time ({clock.zone_name})", "part", "class", "reason", "by", "record")
        )
        self.table = table_view(self.model, 2)
        self.table.doubleClicked.connect(lambda _index: self._correct_selected())
        layout.addWidget(self.table, 1)
        self.saved: list[SavedOverride] = []

    def load(self, saved: Sequence[SavedOverride]) -> None:
        known = {s.seq for s in self.saved}
        self.saved.extend(s for s in saved if s.seq not in known)
        self.saved.sort(key=lambda s: s.seq)
        self._show()

    def add(self, saved: SavedOverride) -> None:
        self.load([saved])

    def matching(self) -> list[SavedOverride]:
        wanted = self.search.text().strip().upper()
        newest_first = reversed(self.saved)
        return [s for s in newest_first if not wanted or wanted in s.part.upper()]

    def _show(self) -> None:
        shown = self.matching()
        rows = [
            (
                self.clock.wall(s.at),
                s.part,
                f"{s.old_class} → {s.new_class}",
                s.reason.replace("_", " ") + (f" — {s.note}" if s.note else ""),
                s.user,
                f"#{s.seq}",
            )
            for s in shown
        ]
        self.model.set_rows(shown, [s.seq for s in shown], rows)
        total = len(self.saved)
        self.title.setText(
            f"Recent overrides ({len(shown)} of {total})"
            if self.search.text().strip()
            else f"Recent overrides ({total})"
        )

    def _correct_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.model.items):
            self.correct_requested.emit(self.model.items[rows[0].row()].part)
