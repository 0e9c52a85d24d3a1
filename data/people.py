"""Users in the station's store: read through a read-only connection, changed through the writer.

`StoreDirectory` is the `console.auth.UserDirectory` of a station with a store: a user row and
the audit entry that records the change are written in one transaction by the store writer
(`StoreWriter.audited`); logins and locks are audit entries alone. Reads open their own
read-only connection (any thread); a small cache is dropped on every change made here.
"""

from __future__ import annotations

from console.actions import User
from data.audit import AuditFacts, Write
from data.reading import open_reader


class StoreDirectory:
    """The users table of one store; writes go through its `StoreWriter`."""

    def __init__(self, writer) -> None:  # noqa: ANN001 - data.store.StoreWriter
        self.writer = writer
        self._cache: list[User] | None = None

    def users(self) -> list[User]:
        if self._cache is None:
            db = open_reader(self.writer.path)
            try:
                rows = db.conn.execute(
                    "SELECT name, role, pin_hash, badge_hash, disabled, created FROM users"
                    " ORDER BY name"
                ).fetchall()
            finally:
                db.close()
            self._cache = [User(r[0], r[1], r[2], r[3] or "", bool(r[4]), r[5]) for r in rows]
        return list(self._cache)

    def save(self, user: User, facts: AuditFacts, new: bool) -> None:
        row = {
            "name": user.name,
            "role": user.role,
            "pin_hash": user.pin_hash,
            "badge_hash": user.badge_hash,
            "disabled": int(user.disabled),
            "changed": facts.at,
        }
        if new:
            row["created"] = user.created
        self._cache = None
        self.writer.audited([Write("users", row, key="" if new else "name")], facts)

    def audit(self, facts: AuditFacts) -> None:
        self.writer.audited([], facts)
