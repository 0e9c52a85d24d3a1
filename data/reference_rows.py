"""Reference versions kept whole: the profile and the records its calibration is rebuilt from.

A reference version is in force until an explicit, audited action puts another in force: the
newest version that has its records in `reference_records` is the one a station uses again at
every start (older profile-only rows, from before this table, cannot be rebuilt and are not).
A request to learn a new reference from the next records waits in `meta` until the learned
version is kept, which clears it in the same transaction. The write functions run on the store's
writer thread inside its transaction; the read functions open their own read connection.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from data.commands import KeepReference
from data.reading import connect

LEARN_REQUEST = "reference_learn_next"


def keep_reference(conn: sqlite3.Connection, command: KeepReference) -> int:
    """The profile and its records as the next version (in force from now on); its number."""
    c = command
    version = int(
        conn.execute("SELECT coalesce(max(version), 0) + 1 FROM reference_profiles").fetchone()[0]
    )
    digest = hashlib.sha256(c.profile.encode("utf-8")).hexdigest()
    conn.execute(
        "INSERT INTO reference_profiles (version, created, description, profile, sha256)"
        " VALUES (?, ?, ?, ?, ?)",
        (version, c.created, c.description, c.profile, digest),
    )
    r = c.records
    conn.execute(
        "INSERT INTO reference_records (version, features, classes, n, matrix, class_codes, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (version, r["features"], r["classes"], int(r["n"]), r["matrix"], r["class_codes"],
         r["ts"]),
    )  # fmt: skip
    if r.get("calibration") is not None:
        conn.execute(
            "INSERT OR REPLACE INTO reference_calibrations (version, key, watch) VALUES (?, ?, ?)",
            (version, r["calibration_key"], r["calibration"]),
        )
    conn.execute("DELETE FROM meta WHERE key = ?", (LEARN_REQUEST,))
    return version


def ask_for_reference(conn: sqlite3.Connection, asked_by: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LEARN_REQUEST, asked_by)
    )


def reference_in_force(path: str | Path, before: float | None = None) -> dict[str, Any] | None:
    """The newest version kept with its records (with its description and hash), or None;
    with `before`, the one in force then (replay of a run that began with a restart)."""
    with _reader(path) as conn:
        row = conn.execute(
            "SELECT r.*, p.description, p.sha256, p.created FROM reference_records r"
            " JOIN reference_profiles p USING (version) WHERE p.created <= ?"
            " ORDER BY r.version DESC LIMIT 1",
            (float("inf") if before is None else before,),
        ).fetchone()
        return dict(row) if row is not None else None


def stored_calibration(path: str | Path, key: str) -> bytes | None:
    """The packed watch kept under `key` (console/reference_calibration.py), or None (none
    kept, or a store from before schema v8)."""
    with _reader(path) as conn:
        try:
            row = conn.execute(
                "SELECT watch FROM reference_calibrations WHERE key = ? LIMIT 1", (key,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        return bytes(row[0]) if row is not None else None


def learning_asked(path: str | Path) -> str:
    """Who asked for a reference learned from the next records ("" when nobody did)."""
    with _reader(path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (LEARN_REQUEST,)).fetchone()
        return str(row[0]) if row is not None else ""


def _reader(path: str | Path) -> closing[sqlite3.Connection]:
    conn = connect(str(path), readonly=True)
    conn.row_factory = sqlite3.Row
    return closing(conn)
