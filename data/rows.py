"""The rows each store command writes, and the counters the writer keeps in memory.

`RowWriter` opens and migrates the file, then, on the writer thread only, turns each command of
data/commands.py into its rows, dispatched on the command's type (`write`). It keeps the one seq
counter every outbox row is numbered from, the audit chain's last hash and the sync high-water
mark, and re-reads them from the file after a rolled-back transaction (`load_state`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from functools import singledispatchmethod
from itertools import repeat

import numpy as np
from sqlite_utils import Database

from data.audit import write_audited
from data.commands import (
    AppendEvent,
    AppendRecords,
    AppendRejected,
    AskForReference,
    Audit,
    Audited,
    Bulk,
    JournalAlarm,
    KeepReference,
    MarkSynced,
    PurgeSynced,
    SaveIncident,
    SaveOverride,
    SaveReference,
)
from data.reading import connect
from data.record_blocks import INSERT_BLOCK, block_row, purge_records
from data.reference_rows import ask_for_reference, keep_reference
from data.schema import (
    GENESIS_HASH,
    SchemaError,
    audit_entry,
    canonical_json,
    chain_hash,
    migrate,
    pack_rows,
)

# Records are ~400 bytes: big pages mean fewer WAL frames (syscalls) per record.
PAGE_SIZE = 16384
# The page cache spills to the WAL once this full, which bounds the work left for COMMIT.
CACHE_KIB = 8192
WAL_SIZE_LIMIT = 64 * 1024 * 1024

# Bounds (issue 8): a rejected line keeps at most this many raw bytes (its length and sha256
# go in `detail`); the quarantine and the event list keep their newest rows only.
RAW_KEEP_BYTES = 4096
REJECTED_KEEP_ROWS = 50_000
EVENTS_KEEP_ROWS = 100_000

_INSERT_ALARM = (
    "INSERT INTO alarm_journal (seq, at, alarm, source, detector, state, priority,"
    " value, user_name, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CATEGORY = "INSERT OR IGNORE INTO categories (feature, code, name) VALUES (?, ?, ?)"
_INSERT_RECORD = (
    "INSERT INTO records (seq, ts, ts_text, station, part, batch, model, class, conf,"
    " feature_set, features, image, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_DELIVERY = (
    "INSERT INTO record_deliveries (last_seq, first_seq, parts, at, run) VALUES (?, ?, ?, ?, ?)"
)


class RowWriter:
    """The store's write connection and in-memory counters (writer thread after start-up)."""

    def __init__(self, path: str, station: str, features: tuple[str, ...]) -> None:
        self.station = station
        self.db = Database(connect(path), execute_plugins=False)
        self.conn = self.db.conn
        self.feature_set = self._open(features)
        self.run = self._next_run()
        self.last_seq = 0
        self.audit_hash = GENESIS_HASH
        self.high_water = 0
        self.load_state()

    def _open(self, features: tuple[str, ...]) -> int:
        conn = self.conn
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new file
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA temp_store = MEMORY")
        migrate(self.db)
        with self.db.atomic():
            row = conn.execute("SELECT value FROM meta WHERE key = 'station'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('station', ?)", (self.station,))
            elif row[0] != self.station:
                raise SchemaError(f"it belongs to station {row[0]!r}, not {self.station!r}")
            names = json.dumps(list(features))
            row = conn.execute("SELECT id FROM feature_sets WHERE names = ?", (names,)).fetchone()
            if row is None:
                cursor = conn.execute("INSERT INTO feature_sets (names) VALUES (?)", (names,))
                row = (cursor.lastrowid,)
            conn.execute(
                "INSERT OR IGNORE INTO sync_state (station, high_water) VALUES (?, 0)",
                (self.station,),
            )
        return int(row[0])

    def _next_run(self) -> int:
        """This opening of the store is the station's next run (replay restarts the engine at
        each run, as the station did)."""
        row = self.conn.execute(
            "SELECT max(coalesce((SELECT max(run) FROM record_deliveries), 0),"
            " coalesce((SELECT max(run) FROM reference_profiles), 0))"
        ).fetchone()
        return int(row[0]) + 1

    def load_state(self) -> None:
        """Re-read what the writer keeps in memory (after start-up or a rolled-back write)."""
        conn = self.conn
        self.last_seq = int(conn.execute("SELECT last_seq FROM seq_counter").fetchone()[0])
        row = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.audit_hash = row[0] if row else GENESIS_HASH
        row = conn.execute(
            "SELECT high_water FROM sync_state WHERE station = ?", (self.station,)
        ).fetchone()
        self.high_water = int(row[0]) if row else 0

    def saved(self) -> tuple[int, str, int]:
        """The counters, to put back if a write is rolled back to its savepoint."""
        return self.last_seq, self.audit_hash, self.high_water

    def restore(self, saved: tuple[int, str, int]) -> None:
        self.last_seq, self.audit_hash, self.high_water = saved

    def next_seq(self) -> int:
        self.last_seq += 1
        return self.last_seq

    def _outbox(self, seq: int, kind: str) -> None:
        self.conn.execute("INSERT INTO outbox (seq, kind) VALUES (?, ?)", (seq, kind))

    def append(self, item: Bulk) -> int:
        """Write one bulk command's rows; returns how many."""
        written = self.write(item)
        return written if isinstance(written, int) else 0

    @singledispatchmethod
    def write(self, command: object) -> int | list[int] | None:
        """Write one command's rows (inside the caller's transaction). Bulk commands return the
        rows written, operator actions their seq (a reference: its version; an audited action: the
        seqs it gave, the audit entry's last)."""
        raise ValueError(f"unknown store command {type(command).__name__}")

    @write.register
    def _(self, command: AppendRecords) -> int:
        batch = command.batch
        n = len(batch)
        first = self.last_seq + 1
        classes = np.asarray(command.class_names, dtype=object)[batch.class_codes].tolist()
        stations: Iterable[str | None] = repeat(self.station)
        if len(batch.station) == n and any(batch.station):
            stations = [s or self.station for s in batch.station]
        rows = zip(
            range(first, first + n),
            batch.ts.tolist(),
            batch.ts_text,
            stations,
            batch.part,
            batch.batch,
            batch.model,
            classes,
            batch.conf.tolist(),
            repeat(self.feature_set),
            pack_rows(batch.features),
            batch.image if len(batch.image) == n else repeat(None),
            batch.label if len(batch.label) == n else repeat(None),
            strict=False,
        )
        self.conn.executemany(_INSERT_RECORD, rows)
        self.conn.executemany(_INSERT_CATEGORY, command.categories)
        self.last_seq += n
        if n:
            self.conn.execute(_INSERT_DELIVERY, (first + n - 1, first, n, command.at, self.run))
            self.conn.execute(INSERT_BLOCK, block_row(first, batch, classes, self.feature_set))
        return n

    @write.register
    def _(self, command: AppendRejected) -> int:
        self.conn.executemany(
            "INSERT INTO rejected (at, source, reason, detail, raw) VALUES (?, ?, ?, ?, ?)",
            [
                (command.at, r.source, r.reason, *_kept_raw(r.detail, bytes(r.raw)))
                for r in command.rejected
            ],
        )
        _keep_newest(self.conn, "rejected", REJECTED_KEEP_ROWS)
        return len(command.rejected)

    @write.register
    def _(self, command: AppendEvent) -> int:
        c = command
        self.conn.execute(
            "INSERT INTO events (at, source, kind, detail, count) VALUES (?, ?, ?, ?, ?)",
            (c.at, c.source, c.kind, c.detail, c.count),
        )
        _keep_newest(self.conn, "events", EVENTS_KEEP_ROWS)
        return 1

    @write.register
    def _(self, command: JournalAlarm) -> int:
        self._journal(command)
        return 1

    def _journal(self, c: JournalAlarm) -> int:
        seq = self.next_seq()
        self.conn.execute(
            _INSERT_ALARM,
            (seq, c.at, c.alarm, c.source, c.detector, c.state, c.priority, c.value, c.user,
             c.note),
        )  # fmt: skip
        self._outbox(seq, "alarm")
        return seq

    @write.register
    def _(self, command: SaveReference) -> int:
        cursor = self.conn.execute(
            "INSERT INTO reference_profiles (version, created, description, profile, sha256)"
            " VALUES ((SELECT coalesce(max(version), 0) + 1 FROM reference_profiles),"
            " ?, ?, ?, ?)",
            (command.created, command.description, command.profile, _sha256(command.profile)),
        )
        self.conn.execute(
            "UPDATE reference_profiles SET run = ? WHERE rowid = ?", (self.run, cursor.lastrowid)
        )
        return int(cursor.lastrowid or 0)

    @write.register
    def _(self, command: KeepReference) -> int:
        version = keep_reference(self.conn, command)
        if command.audit is not None:
            audit = command.audit
            self.write(replace(audit, detail={**audit.detail, "version": version}))
        return version

    @write.register
    def _(self, command: AskForReference) -> None:
        ask_for_reference(self.conn, command.audit.user)
        self.write(command.audit)
        return None

    @write.register
    def _(self, command: MarkSynced) -> None:
        if command.high_water > self.last_seq:
            raise ValueError(f"high water {command.high_water} beyond last seq {self.last_seq}")
        self.conn.execute(
            "UPDATE sync_state SET high_water = max(high_water, ?), synced_at = ?"
            " WHERE station = ?",
            (command.high_water, command.at, self.station),
        )
        self.high_water = max(self.high_water, command.high_water)
        return None

    @write.register
    def _(self, command: PurgeSynced) -> int:
        conn, high, limit = self.conn, self.high_water, command.limit
        gone = purge_records(conn, high, command.records_before, limit)
        for table in ("overrides", "alarm_journal", "incidents"):
            seqs = conn.execute(
                f"SELECT seq FROM {table} WHERE seq <= ? AND at < ? ORDER BY seq LIMIT ?",
                (high, command.journal_before, max(limit - gone, 0)),
            ).fetchall()
            conn.executemany(f"DELETE FROM {table} WHERE seq = ?", seqs)
            conn.executemany("DELETE FROM outbox WHERE seq = ?", seqs)
            gone += len(seqs)
        return gone

    @write.register
    def _(self, command: SaveOverride) -> int:
        c = command
        seq = self.next_seq()
        self.conn.execute(
            "INSERT INTO overrides (seq, at, part, old_class, old_conf, new_class, reason,"
            " note, user_name, role, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, c.at, c.part, c.old_class, c.old_conf, c.new_class, c.reason, c.note, c.user,
             c.role, c.model),
        )  # fmt: skip
        self._outbox(seq, c.name)
        return seq

    @write.register
    def _(self, command: SaveIncident) -> int:
        c = command
        seq = self.next_seq()
        self.conn.execute(
            "INSERT INTO incidents (seq, at, incident, status, severity, owner, summary,"
            " snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, c.at, c.incident, c.status, c.severity, c.owner, c.summary, c.snapshot),
        )
        self._outbox(seq, c.name)
        return seq

    @write.register
    def _(self, command: Audit) -> int:
        c = command
        seq = self.next_seq()
        digest = chain_hash(
            self.audit_hash, audit_entry(seq, c.at, c.user, c.role, c.action, c.detail)
        )
        self.conn.execute(
            "INSERT INTO audit (seq, at, user_name, role, action, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, c.at, c.user, c.role, c.action, canonical_json(c.detail), self.audit_hash,
             digest),
        )  # fmt: skip
        self.audit_hash = digest
        self._outbox(seq, c.name)
        return seq

    @write.register
    def _(self, command: Audited) -> list[int]:
        seqs, self.audit_hash = write_audited(
            self.conn, command.writes, command.facts, self.next_seq, self.audit_hash
        )
        return seqs


def _kept_raw(detail: str, raw: bytes) -> tuple[str, bytes]:
    """At most RAW_KEEP_BYTES of a rejected line; a longer one keeps its length and hash."""
    if len(raw) <= RAW_KEEP_BYTES:
        return detail, raw
    digest = hashlib.sha256(raw).hexdigest()
    note = f"raw {len(raw)} bytes, sha256 {digest}, first {RAW_KEEP_BYTES} kept"
    return (f"{detail}; {note}" if detail else note), raw[:RAW_KEEP_BYTES]


def _keep_newest(conn: sqlite3.Connection, table: str, keep: int) -> None:
    """Drop all but the newest `keep` rows (ids only grow, so this is one range delete)."""
    conn.execute(f"DELETE FROM {table} WHERE id <= (SELECT max(id) FROM {table}) - ?", (keep,))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
