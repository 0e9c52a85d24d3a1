"""People and evidence: user management (admin) and the audit trail with its CSV export
(quality engineer, admin) (UI thread).

The page asks the core for everything, so a role that may not manage users or read the audit
trail sees the refusal in place of the table — the buttons are not the protection. Adding a
user, disabling one and exporting run off the UI thread; the export prints the chain's anchor
(last seq, head hash, entry count), which belongs outside the store (a file, the plant database).
"""

from __future__ import annotations

import os
import time

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.actions import CommandRefused
from console.auth import ROLES
from console.runner import Station
from widgets import theme
from widgets.alarms import table_view
from widgets.commands import run_command
from widgets.sheet import big_button, caption
from widgets.table import RowsModel

AUDIT_ROWS = 500


class PeopleView(QWidget):
    """Users (admin) and the audit trail (quality engineer, admin) (UI thread)."""

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Users")
        title.setObjectName("title")
        layout.addWidget(title)
        self.users = RowsModel(("name", "role", "state", "since"))
        self.users_table = table_view(self.users, 3)
        layout.addWidget(self.users_table, 1)
        row = QHBoxLayout()
        row.addWidget(caption("New user"))
        self.name = self._field(row, "name")
        self.role = QComboBox()
        self.role.setMinimumHeight(theme.TOUCH)
        for role in ROLES:
            self.role.addItem(role.replace("_", " "), role)
        row.addWidget(self.role)
        self.pin = self._field(row, "PIN (4-12 digits)", secret=True)
        self.badge = self._field(row, "badge (optional)", secret=True)
        add = big_button("Add user")
        add.clicked.connect(self.add_user)
        row.addWidget(add)
        disable = big_button("Disable selected")
        disable.clicked.connect(self.disable_selected)
        row.addWidget(disable)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.audit_title = QLabel("Audit trail")
        self.audit_title.setObjectName("title")
        row.addWidget(self.audit_title, 1)
        self.export_path = self._field(row, "CSV file to write")
        self.export_path.setText(os.path.join(os.path.expanduser("~"), "linewatch-audit.csv"))
        export = big_button("Export CSV")
        export.clicked.connect(self.export)
        row.addWidget(export)
        layout.addLayout(row)
        self.audit = RowsModel(("seq", "time (UTC)", "user", "role", "action", "target", "old → new",
                                "reason", "meaning"))  # fmt: skip
        self.audit_table = table_view(self.audit, 7)
        layout.addWidget(self.audit_table, 2)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)

    def _field(self, row: QHBoxLayout, hint: str, secret: bool = False) -> QLineEdit:
        field = QLineEdit()
        field.setPlaceholderText(hint)
        field.setMinimumHeight(theme.TOUCH)
        if secret:
            field.setEchoMode(QLineEdit.EchoMode.Password)
        row.addWidget(field, 1)
        return field

    def show_snapshot(self, _snapshot: object = None) -> None:
        users = self.station.people.directory.users()
        self.users.set_rows(
            users,
            [u.name for u in users],
            [
                (
                    u.name,
                    u.role.replace("_", " "),
                    "disabled" if u.disabled else "active",
                    time.strftime("%Y-%m-%d", time.localtime(u.created)),
                )
                for u in users
            ],  # fmt: skip
        )
        try:
            entries = self.station.audit_trail(AUDIT_ROWS)
        except CommandRefused as error:
            self.audit_title.setText(f"Audit trail: {error}")
            self.audit.set_rows([], [], [])
            return
        self.audit_title.setText(f"Audit trail: newest {len(entries)} entries")
        self.audit.set_rows(
            entries,
            [e["seq"] for e in entries],
            [
                (
                    str(e["seq"]),
                    e.get("utc", ""),
                    e["user_name"],
                    e["role"],
                    e["action"],
                    e.get("target", ""),
                    _change(e),
                    e.get("reason", ""),
                    e.get("meaning", ""),
                )
                for e in entries
            ],  # fmt: skip
        )

    def add_user(self) -> None:
        name, role, pin, badge = (
            self.name.text(),
            self.role.currentData(),
            self.pin.text(),
            self.badge.text(),
        )
        self.pin.clear()
        self.badge.clear()
        self._run(lambda: self.station.add_user(name, role, pin, badge), f"Added {name}.")

    def disable_selected(self) -> None:
        rows = self.users_table.selectionModel().selectedRows()
        if not rows:
            self._show("Select a user first.", True)
            return
        name = self.users.keys[rows[0].row()]
        self._run(lambda: self.station.disable_user(name), f"Disabled {name}.")

    def export(self) -> None:
        path = self.export_path.text()
        run_command(
            lambda: self.station.export_audit(path),
            lambda anchor: self._show(
                f"Exported {anchor.entries} entries to {path}. Anchor (keep it apart from the "
                f"station): seq {anchor.seq}, head {anchor.hash}",
                False,
            ),
            lambda why: self._show(f"Not exported: {why}", True),
        )

    def _run(self, work, done_text: str) -> None:  # noqa: ANN001
        run_command(
            work,
            lambda _r: (self._show(done_text, False), self.show_snapshot()),
            lambda why: self._show(f"Not done: {why}", True),
        )

    def _show(self, text: str, error: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(
            f"font-weight: bold; color: {theme.ERROR if error else theme.TEXT};"
        )


def _change(entry: dict) -> str:
    old, new = entry.get("old"), entry.get("new")
    if old is None and new is None:
        return ""
    return f"{'' if old is None else old} → {'' if new is None else new}"
