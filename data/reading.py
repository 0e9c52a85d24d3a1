"""Reading the station's store: each helper opens its own read-only connection.

Replay, export, sync, the screens' history and the tests read here, never through the writer
(data/store.py), so a reader cannot hold up the line's writes. This module also owns the
connection settings both sides share and `StoreError`. Safe from any thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from console.categories import TEXTS
from console.records import RecordBatch
from data.schema import GENESIS_HASH, audit_entry, chain_hash, unpack_rows


class StoreError(RuntimeError):
    """The store could not do what was asked (not saved, closed, or the file is unusable)."""


@dataclass(frozen=True, slots=True)
class StoredRecords:
    """Records read back from the store: `batch.class_codes` index `class_names`."""

    seq: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    batch: RecordBatch
    # Categorical inputs: feature → code → text (the store's dictionary, console/categories.py)
    categories: dict[str, dict[float, str]] = field(default_factory=dict)

    @property
    def categorical(self) -> tuple[str, ...]:
        """The inputs stored as category codes, in feature order."""
        return tuple(name for name in self.feature_names if name in self.categories)

    def __len__(self) -> int:
        return len(self.seq)


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def open_reader(path: str | Path) -> Database:
    """A read-only connection of the caller's own (replay, export, sync, tests)."""
    path = str(path)
    if not Path(path).exists():
        raise StoreError(f"no store at {path}")
    return Database(connect(path, readonly=True), execute_plugins=False, recursive_triggers=False)


def load_records(path: str | Path, since_seq: int = 0, limit: int | None = None) -> StoredRecords:
    """Records with seq > since_seq in seq order, features decoded to the exact float64 matrix.

    Rows written with an older feature list are mapped by name onto the newest list (extra
    columns appended; NaN where a row had no such feature).
    """
    db = open_reader(path)
    try:
        sets = {
            row[0]: tuple(json.loads(row[1]))
            for row in db.execute("SELECT id, names FROM feature_sets ORDER BY id")
        }
        categories = read_categories(db)
        rows = db.execute(
            "SELECT seq, ts, ts_text, station, part, batch, model, class, conf, feature_set,"
            " features, image, label FROM records WHERE seq > ? ORDER BY seq LIMIT ?",
            (since_seq, -1 if limit is None else limit),
        ).fetchall()
    finally:
        db.close()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 13
    set_ids = columns[9]
    used = sorted(set(set_ids), reverse=True) or sorted(sets, reverse=True)[:1]
    names: list[str] = []
    for set_id in used:
        names.extend(n for n in sets.get(set_id, ()) if n not in names)
    if len(used) <= 1:
        features = unpack_rows(list(columns[10]), len(names))
    else:
        features = np.full((len(rows), len(names)), np.nan)
        ids = np.asarray(set_ids)
        blobs = np.asarray(columns[10], dtype=object)
        for set_id in used:
            where = np.flatnonzero(ids == set_id)
            cols = np.array([names.index(n) for n in sets[set_id]], dtype=np.intp)
            features[np.ix_(where, cols)] = unpack_rows(list(blobs[where]), len(cols))
    table: dict[str, int] = {}
    codes = np.array([table.setdefault(c, len(table)) for c in columns[7]], dtype=np.int32)
    batch = RecordBatch(
        features=features,
        class_codes=codes,
        conf=np.array(columns[8], dtype=np.float64),
        ts=np.array(columns[1], dtype=np.float64),
        ts_text=tuple(columns[2]),
        part=tuple(columns[4]),
        batch=tuple(columns[5]),
        model=tuple(columns[6]),
        image=tuple(columns[11]),
        label=tuple(columns[12]),
        station=tuple(columns[3]),
    )
    return StoredRecords(
        seq=np.array(columns[0], dtype=np.int64),
        feature_names=tuple(names),
        class_names=tuple(table),
        batch=batch,
        categories=categories,
    )


def stored_categorical(path: str | Path) -> tuple[str, ...]:
    """The inputs the store holds text values of (categorical), in no particular order."""
    if not Path(path).is_file():
        return ()
    db = open_reader(path)
    try:
        return tuple(read_categories(db))
    finally:
        db.close()


def read_categories(db: Database) -> dict[str, dict[float, str]]:
    """The store's category dictionary (feature → code → text); also teaches `TEXTS`."""
    found: dict[str, dict[float, str]] = {}
    if "categories" not in db.table_names():
        return found  # a store last opened by an older Linewatch
    for feature, code, name in db.execute("SELECT feature, code, name FROM categories"):
        found.setdefault(feature, {})[float(code)] = TEXTS[float(code)] = name
    return found


def _query(path: str | Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    db = open_reader(path)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()


def overrides(path: str | Path, since_seq: int = 0) -> list[dict[str, Any]]:
    return _query(path, "SELECT * FROM overrides WHERE seq > ? ORDER BY seq", (since_seq,))


def alarm_journal(path: str | Path, since_seq: int = 0) -> list[dict[str, Any]]:
    return _query(path, "SELECT * FROM alarm_journal WHERE seq > ? ORDER BY seq", (since_seq,))


def incidents(path: str | Path, since_seq: int = 0) -> list[dict[str, Any]]:
    return _query(path, "SELECT * FROM incidents WHERE seq > ? ORDER BY seq", (since_seq,))


def rejected_lines(path: str | Path) -> list[dict[str, Any]]:
    return _query(path, "SELECT * FROM rejected ORDER BY id")


def events(path: str | Path) -> list[dict[str, Any]]:
    return _query(path, "SELECT * FROM events ORDER BY id")


def outbox_entries(
    path: str | Path, after_seq: int = 0, limit: int | None = None
) -> list[tuple[int, str]]:
    """(seq, kind) of every outbox row after `after_seq`, records included, in seq order."""
    db = open_reader(path)
    try:
        return [
            (int(seq), kind)
            for seq, kind in db.execute(
                "SELECT seq, 'record' FROM records WHERE seq > ?1"
                " UNION ALL SELECT seq, kind FROM outbox WHERE seq > ?1 ORDER BY 1 LIMIT ?2",
                (after_seq, -1 if limit is None else limit),
            )
        ]
    finally:
        db.close()


def outbox_pending(path: str | Path) -> int:
    """How many seqs have not yet reached the plant database."""
    db = open_reader(path)
    try:
        last = db.execute("SELECT last_seq FROM seq_counter").fetchone()[0]
        high = db.execute("SELECT coalesce(max(high_water), 0) FROM sync_state").fetchone()[0]
        return int(last) - int(high)
    finally:
        db.close()


def integrity_ok(path: str | Path) -> bool:
    """`PRAGMA integrity_check` says ok (False also when the file cannot be read at all)."""
    try:
        db = open_reader(path)
    except StoreError:
        return False
    try:
        return [row[0] for row in db.execute("PRAGMA integrity_check")] == ["ok"]
    except sqlite3.DatabaseError:
        return False
    finally:
        db.close()


def latest_reference(path: str | Path) -> dict[str, Any] | None:
    rows = _query(path, "SELECT * FROM reference_profiles ORDER BY version DESC LIMIT 1")
    return rows[0] if rows else None


def verify_audit_chain(path: str | Path) -> int | None:
    """The seq of the first audit entry whose hash does not follow; None when the chain holds."""
    prev = GENESIS_HASH
    for row in _query(path, "SELECT * FROM audit ORDER BY seq"):
        entry = audit_entry(
            row["seq"], row["at"], row["user_name"], row["role"], row["action"],
            json.loads(row["detail"]),
        )  # fmt: skip
        if row["prev_hash"] != prev or row["hash"] != chain_hash(prev, entry):
            return int(row["seq"])
        prev = row["hash"]
    return None
