"""The station's local store: one writer thread owning the SQLite (WAL) file, plus read helpers.

`StoreWriter` owns the only write connection and the thread that uses it; the engine, the UI
bridge and the sync thread hand it work. Bulk work (records, rejected lines, events, alarm
journal) is queued and committed in one transaction per drain of the queue with
`synchronous=NORMAL`: a power cut may lose the last moments, never corrupt the file. Operator
actions (override, incident, audit, reference, sync mark) jump the queue and are committed on
their own with `synchronous=FULL`; their callers block until COMMIT has returned, so the screen
says "saved" only for what is on disk. A failed write never kills the thread: it is counted and
kept in `status`, and a blocking caller gets a `StoreError`.

Outbox design: every row that must reach the plant database takes its `seq` from ONE counter
(`seq_counter.last_seq`), bumped in the same transaction as the rows it numbers, so seqs are
strictly increasing without gaps even across a crash (a lost transaction loses its seqs too).
Records, the hot path, carry the seq as their INTEGER PRIMARY KEY and need nothing else; the few
other rows (overrides, alarm journal, incidents, audit) also use it as their primary key and add
one `outbox (seq, kind)` row each, so the sync thread walks `records` ∪ `outbox` in seq order.
`sync_state.high_water` says every seq ≤ it reached the plant; with no gaps, pending =
`last_seq - high_water`. Feature rows are BLOBs of little-endian float64 (exact values, NaN
kept); `feature_sets` holds each column order a record was written with.

Readers (replay, export, sync, tests) open their own read-only connections (`open_reader`).
A second, private connection only checkpoints (thread "store-checkpoint"), so that no commit
waits for the WAL to be copied back; it writes no rows.

The read helpers live in data/reading.py and are re-exported here for callers' convenience.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from console.actions import Override
from console.records import RecordBatch, Rejected
from data.custody import StoreLock, StoreLocked, examine_store, make_private, set_aside
from data.reading import (
    StoredRecords,
    StoreError,
    alarm_journal,
    connect,
    events,
    incidents,
    integrity_ok,
    latest_reference,
    load_records,
    open_reader,
    outbox_entries,
    outbox_pending,
    overrides,
    rejected_lines,
    verify_audit_chain,
)
from data.schema import (
    GENESIS_HASH,
    SchemaError,
    audit_entry,
    canonical_json,
    chain_hash,
    finite_or_none,
    migrate,
    pack_rows,
)

# Rows per executemany: small enough that an override never waits long behind a record batch.
RECORD_CHUNK = 256
# Rows per bulk transaction: a commit writes at most this much, so an override waits little.
BULK_TXN_ROWS = 4096
# Records are ~400 bytes: big pages mean fewer WAL frames (syscalls) per record.
PAGE_SIZE = 16384
# The page cache spills to the WAL once this full, which bounds the work left for COMMIT.
CACHE_KIB = 8192
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Bulk rows between pauses that let the WAL restart (~20 MB of WAL), and the longest pause.
WAL_RESTART_ROWS = 50_000
CHECKPOINT_PAUSE = 0.5
# Queued rows before producers wait (backpressure instead of unbounded memory).
MAX_QUEUED_ROWS = 131_072
QUEUE_FULL_TIMEOUT = 30.0

_INSERT_ALARM = (
    "INSERT INTO alarm_journal (seq, at, alarm, source, detector, state, priority,"
    " value, user_name, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Bounds (issue 8): a rejected line keeps at most this many raw bytes (its length and sha256
# go in `detail`); the quarantine and the event list keep their newest rows only.
RAW_KEEP_BYTES = 4096
REJECTED_KEEP_ROWS = 50_000
EVENTS_KEEP_ROWS = 100_000
# Reason a record the parser accepted is quarantined with when the store still refuses it.
STORE_REFUSED = "store_refused"

_INSERT_RECORD = (
    "INSERT INTO records (seq, ts, ts_text, station, part, batch, model, class, conf,"
    " feature_set, features, image, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The writer's health, as shown in the console header (a snapshot; safe to share)."""

    queued: int  # items waiting for the writer
    last_commit: float | None  # wall-clock time of the last successful commit
    last_error: str  # "" when nothing failed yet
    pending_outbox: int  # seqs not yet acknowledged by the plant database
    last_seq: int
    records: int  # records committed since start
    failed: int  # queued items that could not be written (and were dropped)
    running: bool
    not_stored: int = 0  # accepted records that are not in the store (lost or quarantined)


class _Op:
    """A blocking request: the caller waits on `done`; the writer claims it before running it."""

    __slots__ = ("kind", "args", "done", "result", "error", "_state", "_lock")

    def __init__(self, kind: str, args: tuple = ()) -> None:
        self.kind = kind
        self.args = args
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._state = "queued"
        self._lock = threading.Lock()

    def claim(self) -> bool:
        with self._lock:
            if self._state != "queued":
                return False
            self._state = "running"
            return True

    def abandon(self) -> bool:
        with self._lock:
            if self._state != "queued":
                return False
            self._state = "abandoned"
            return True

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class _WorkQueue:
    """Two lanes to the writer: bulk work in order, bounded by rows, and urgent operator actions."""

    def __init__(self, max_rows: int) -> None:
        self._cond = threading.Condition()
        self._bulk: deque[tuple] = deque()
        self._urgent: deque[_Op] = deque()
        self._max_rows = max_rows
        self._rows = 0

    def put_bulk(self, item: tuple, rows: int, timeout: float) -> bool:
        with self._cond:
            if self._rows >= self._max_rows and not self._cond.wait_for(
                lambda: self._rows < self._max_rows, timeout
            ):
                return False
            self._bulk.append(item)
            self._rows += rows
            self._cond.notify_all()
            return True

    def put_urgent(self, op: _Op) -> None:
        with self._cond:
            self._urgent.append(op)
            self._cond.notify_all()

    def take(self, wait: float, bulk: bool = True) -> tuple[list[_Op], list[tuple]]:
        """Urgent ops, and (when `bulk`) all bulk items; waits up to `wait` for anything."""
        with self._cond:
            if not self._urgent and not (bulk and self._bulk):
                self._cond.wait(wait)
            urgent = list(self._urgent)
            self._urgent.clear()
            items: list[tuple] = []
            if bulk and self._bulk:
                items = list(self._bulk)
                self._bulk.clear()
                self._rows = 0
                self._cond.notify_all()
            return urgent, items

    def wake(self) -> None:
        """Wake the writer if it waits in `take` (something other than the queue changed)."""
        with self._cond:
            self._cond.notify_all()

    def has_urgent(self) -> bool:
        return bool(self._urgent)

    def __len__(self) -> int:
        return len(self._bulk) + len(self._urgent)


class _Checkpointer:
    """Copies the WAL back into the file on its own connection and thread (no row writes).

    The writer runs with `wal_autocheckpoint = 0` so that no commit (least of all an
    operator's) waits for a checkpoint; after each bulk commit it pokes this thread, which runs
    a PASSIVE checkpoint: it never blocks the writer, and the WAL restarts from its beginning
    once a checkpoint caught up.
    """

    def __init__(
        self, path: str, on_error: Callable[[str], None], on_done: Callable[[], None]
    ) -> None:
        self._conn = connect(path)
        self._on_error = on_error
        self._on_done = on_done
        self.requested = 0
        self.finished = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="store-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> int:
        """Ask for a checkpoint; returns the number `finished` reaches once it is done."""
        self.requested += 1
        self._wake.set()
        return self.requested

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            target = self.requested
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as error:
                self._on_error(f"checkpoint: {error}")
            self.finished = target
            self._on_done()


class StoreWriter:
    """Owns the store's write connection and the writer thread that alone uses it."""

    def __init__(self, path: str | Path, station: str, features: Sequence[str]) -> None:
        self.path = str(path)
        self.station = station
        self.features = tuple(features)
        self.set_aside = ""  # where a damaged file was moved, when one was
        try:
            self._store_lock = StoreLock(self.path)
        except StoreLocked as error:
            raise StoreError(str(error)) from None
        except OSError as error:
            folder = Path(self.path).parent
            why = f"{error.strerror or error} (folder {folder})"
            raise StoreError(f"cannot open store {self.path}: {why}") from error
        try:
            self._db = self._open()
        except (sqlite3.Error, SchemaError, OSError) as error:
            self._store_lock.release()
            raise StoreError(f"cannot open store {self.path}: {error}") from error
        self._conn = self._db.conn
        self._queue = _WorkQueue(MAX_QUEUED_ROWS)
        self._pending: deque[tuple] = deque()
        self._sync_mode = ""
        self._last_commit: float | None = None
        self._last_error = ""
        self._failed = 0
        self._not_stored = 0
        self._records = 0
        self._rows_since_restart = 0
        self._closing = False
        self._closed = False
        self._backoff = threading.Event()  # never set: a wait on it is an interruptible pause
        self._checkpointer = _Checkpointer(self.path, self._note_checkpoint_error, self._queue.wake)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # ---- start-up (caller's thread, before the writer thread exists) ----

    def _open(self) -> Database:
        damage = examine_store(self.path)
        if damage:
            moved = set_aside(self.path)
            self.set_aside = f"store {self.path} was damaged ({damage}); kept as {moved}"
        make_private(self.path)
        db = Database(connect(self.path), execute_plugins=False)
        conn = db.conn
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new file
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA temp_store = MEMORY")
        migrate(db)
        with db.atomic():
            row = conn.execute("SELECT value FROM meta WHERE key = 'station'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('station', ?)", (self.station,))
            elif row[0] != self.station:
                raise SchemaError(f"it belongs to station {row[0]!r}, not {self.station!r}")
            names = json.dumps(list(self.features))
            row = conn.execute("SELECT id FROM feature_sets WHERE names = ?", (names,)).fetchone()
            if row is None:
                cursor = conn.execute("INSERT INTO feature_sets (names) VALUES (?)", (names,))
                row = (cursor.lastrowid,)
            self._feature_set = int(row[0])
            conn.execute(
                "INSERT OR IGNORE INTO sync_state (station, high_water) VALUES (?, 0)",
                (self.station,),
            )
        self._load_state(conn)
        return db

    def _load_state(self, conn: sqlite3.Connection) -> None:
        """Re-read what the writer keeps in memory (after start-up or a rolled-back write)."""
        self._last_seq = int(conn.execute("SELECT last_seq FROM seq_counter").fetchone()[0])
        row = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self._audit_hash = row[0] if row else GENESIS_HASH
        row = conn.execute(
            "SELECT high_water FROM sync_state WHERE station = ?", (self.station,)
        ).fetchone()
        self._high_water = int(row[0]) if row else 0

    # ---- public API (any thread) ----

    @property
    def status(self) -> StoreStatus:
        return StoreStatus(
            queued=len(self._queue) + len(self._pending),
            last_commit=self._last_commit,
            last_error=self._last_error,
            pending_outbox=self._last_seq - self._high_water,
            last_seq=self._last_seq,
            records=self._records,
            failed=self._failed,
            running=self._thread.is_alive(),
            not_stored=self._not_stored,
        )

    def append_records(self, batch: RecordBatch, class_names: Sequence[str]) -> None:
        """Queue a batch; `batch.class_codes` index `class_names` (copied now, so it may grow)."""
        if batch.features.shape[1:] != (len(self.features),):
            raise StoreError(
                f"batch has {batch.features.shape[1:]} feature columns, store has "
                f"{len(self.features)}"
            )
        if len(batch):
            self._put(("records", batch, tuple(class_names)), len(batch))

    def append_rejected(self, rejected: Sequence[Rejected]) -> None:
        if rejected:
            self._put(("rejected", tuple(rejected), time.time()), len(rejected))

    def append_event(
        self, source: str, kind: str, detail: str = "", count: int = 1, at: float | None = None
    ) -> None:
        self._put(("event", (_now(at), source, kind, detail, count)))

    def journal_alarm(
        self,
        alarm: str,
        source: str,
        detector: str,
        state: str,
        priority: str,
        value: float,
        user: str = "",
        note: str = "",
        at: float | None = None,
        *,
        durable: bool = False,
        timeout: float = 5.0,
    ) -> int | None:
        """Queue an alarm transition; `durable` (an operator's action: acknowledge, shelve)
        takes the operator lane and returns its seq once committed, StoreError otherwise."""
        row = (
            _now(at),
            alarm,
            source,
            detector,
            state,
            priority,
            finite_or_none(value),
            user,
            note,
        )
        if durable:
            return self._call("alarm", (row,), timeout)
        self._put(("alarm", row))
        return None

    def save_override(self, override: Override, timeout: float = 5.0) -> int:
        """Durable (synchronous=FULL) before it returns its seq; StoreError otherwise."""
        o = override
        row = (o.at, o.part, o.old_class, finite_or_none(o.old_conf), o.new_class, o.reason)
        row += (o.note, o.user, o.role, o.model)
        return self._call("override", (row,), timeout)

    def save_incident(
        self,
        incident: str,
        status: str,
        severity: str,
        owner: str,
        summary: str = "",
        snapshot: Mapping[str, Any] | str = "{}",
        at: float | None = None,
        timeout: float = 5.0,
    ) -> int:
        """One state of an incident (each change is a new row); durable before returning seq."""
        text = snapshot if isinstance(snapshot, str) else canonical_json(snapshot)
        row = (_now(at), incident, status, severity, owner, summary, text)
        return self._call("incident", (row,), timeout)

    def audit(
        self,
        user: str,
        role: str,
        action: str,
        detail: Mapping[str, Any],
        at: float | None = None,
        timeout: float = 5.0,
    ) -> int:
        """Append a chained audit entry (durable before returning its seq)."""
        detail = json.loads(canonical_json(detail))  # fail here on what JSON cannot hold
        return self._call("audit", (_now(at), user, role, action, detail), timeout)

    def save_reference(self, profile_json: str, description: str, timeout: float = 5.0) -> int:
        """Store a new reference profile version (durable); returns the version number."""
        return self._call("reference", (time.time(), description, profile_json), timeout)

    def mark_synced(self, high_water: int, timeout: float = 5.0) -> None:
        """The sync thread says every seq <= high_water reached the plant database."""
        self._call("synced", (int(high_water), time.time()), timeout)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is committed; StoreError if any of it failed."""
        op = _Op("flush", (self._failed, self._not_stored))
        self._put(("flush", op))
        if not op.done.wait(timeout):
            raise StoreError(f"store flush did not finish within {timeout} s")
        if op.error is not None:
            raise StoreError(str(op.error)) from op.error

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, stop the thread, close the file. Idempotent."""
        if self._closed:
            return
        op = _Op("stop")
        if not self._closing:
            self._closing = True
            self._queue.put_bulk(("stop", op), 1, QUEUE_FULL_TIMEOUT)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise StoreError(f"store writer did not stop within {timeout} s")
        self._closed = True
        self._checkpointer.stop()
        self._conn.close()
        self._store_lock.release()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _put(self, item: tuple, rows: int = 1) -> None:
        if self._closing:
            raise StoreError("store is closed")
        if not self._queue.put_bulk(item, rows, QUEUE_FULL_TIMEOUT):
            raise StoreError(f"store writer is not keeping up ({self.status.last_error})")

    def _call(self, kind: str, args: tuple, timeout: float) -> Any:
        if self._closing:
            raise StoreError("store is closed")
        op = _Op(kind, args)
        self._queue.put_urgent(op)
        if not op.done.wait(timeout):
            if op.abandon():
                raise StoreError(
                    f"{kind} not saved: the store writer did not take it in {timeout} s"
                )
            if not op.done.wait(timeout):
                raise StoreError(f"{kind} outcome unknown: its commit took more than {timeout} s")
        if op.error is not None:
            raise StoreError(f"{kind} not saved: {op.error}") from op.error
        return op.result

    # ---- the writer thread ----

    def _run(self) -> None:
        stopping = False
        while True:
            try:
                if self._rows_since_restart >= WAL_RESTART_ROWS:
                    self._let_wal_restart()
                # Take new bulk work only once the last is written: the queue stays the bound.
                busy = bool(self._pending)
                urgent, bulk = self._queue.take(0.0 if busy else 0.5, bulk=not busy)
                self._pending.extend(bulk)
                if urgent:
                    self._commit_urgent(urgent)
                if self._pending:
                    stopping = self._commit_bulk() or stopping
                if stopping and not self._pending and not len(self._queue):
                    return
            except Exception as error:  # a bug here must not end the thread
                self._note_failure(f"store writer: {type(error).__name__}: {error}")

    def _set_sync(self, mode: str) -> None:
        if self._sync_mode != mode:
            self._conn.execute(f"PRAGMA synchronous = {mode}")
            self._sync_mode = mode

    def _commit_urgent(self, ops: list[_Op]) -> None:
        ops = [op for op in ops if op.claim()]
        if not ops:
            return
        conn = self._conn
        self._set_sync("FULL")
        done: list[tuple[_Op, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            start_seq = self._last_seq
            for op in ops:
                saved = (self._last_seq, self._audit_hash, self._high_water)
                conn.execute("SAVEPOINT op")
                try:
                    result = self._write_urgent(op)
                except Exception as error:
                    conn.execute("ROLLBACK TO op")
                    self._last_seq, self._audit_hash, self._high_water = saved
                    op.finish(error=error)
                    self._note_failure(f"{op.kind}: {error}", count=False)
                else:
                    done.append((op, result))
                conn.execute("RELEASE op")
            if self._last_seq != start_seq:
                conn.execute("UPDATE seq_counter SET last_seq = ?", (self._last_seq,))
            conn.execute("COMMIT")
        except Exception as error:
            self._rollback()
            for op in ops:
                if not op.done.is_set():
                    op.finish(error=error)
            self._note_failure(f"commit of operator actions: {error}", count=False)
            return
        self._last_commit = time.time()
        for op, result in done:
            op.finish(result)

    def _write_urgent(self, op: _Op) -> Any:
        conn = self._conn
        if op.kind == "reference":
            created, description, profile = op.args
            digest = _sha256(profile)
            cursor = conn.execute(
                "INSERT INTO reference_profiles (version, created, description, profile, sha256)"
                " VALUES ((SELECT coalesce(max(version), 0) + 1 FROM reference_profiles),"
                " ?, ?, ?, ?)",
                (created, description, profile, digest),
            )
            return cursor.lastrowid
        if op.kind == "synced":
            high_water, at = op.args
            if high_water > self._last_seq:
                raise ValueError(f"high water {high_water} beyond last seq {self._last_seq}")
            conn.execute(
                "UPDATE sync_state SET high_water = max(high_water, ?), synced_at = ?"
                " WHERE station = ?",
                (high_water, at, self.station),
            )
            self._high_water = max(self._high_water, high_water)
            return None
        seq = self._next_seq()
        if op.kind == "override":
            (row,) = op.args
            conn.execute(
                "INSERT INTO overrides (seq, at, part, old_class, old_conf, new_class, reason,"
                " note, user_name, role, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, *row),
            )
        elif op.kind == "incident":
            (row,) = op.args
            conn.execute(
                "INSERT INTO incidents (seq, at, incident, status, severity, owner, summary,"
                " snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, *row),
            )
        elif op.kind == "alarm":
            (row,) = op.args
            conn.execute(_INSERT_ALARM, (seq, *row))
        elif op.kind == "audit":
            at, user, role, action, detail = op.args
            digest = chain_hash(self._audit_hash, audit_entry(seq, at, user, role, action, detail))
            conn.execute(
                "INSERT INTO audit (seq, at, user_name, role, action, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at, user, role, action, canonical_json(detail), self._audit_hash, digest),
            )
            self._audit_hash = digest
        else:
            raise ValueError(f"unknown operation {op.kind!r}")
        conn.execute("INSERT INTO outbox (seq, kind) VALUES (?, ?)", (seq, op.kind))
        return seq

    def _next_seq(self) -> int:
        self._last_seq += 1
        return self._last_seq

    def _commit_bulk(self) -> bool:
        """One transaction over queued bulk items, cut short when an operator action waits."""
        conn = self._conn
        pending = self._pending
        self._set_sync("NORMAL")
        markers: list[_Op] = []
        stopping = False
        rows = records = taken = 0
        records_taken = 0
        not_stored = self._not_stored
        try:
            conn.execute("BEGIN IMMEDIATE")
            start_seq = self._last_seq
            while pending and rows < BULK_TXN_ROWS and not self._queue.has_urgent():
                item = pending.popleft()
                taken += 1
                kind = item[0]
                if kind == "flush":
                    markers.append(item[1])
                    continue
                if kind == "stop":
                    markers.append(item[1])
                    stopping = True
                    continue
                if kind == "records" and len(item[1]) > RECORD_CHUNK:
                    batch = item[1]
                    rest = batch.take(slice(RECORD_CHUNK, None))
                    pending.appendleft(("records", rest, item[2]))
                    item = ("records", batch.take(slice(0, RECORD_CHUNK)), item[2])
                if kind == "records":
                    records_taken += len(item[1])
                saved = self._last_seq
                conn.execute("SAVEPOINT item")
                try:
                    written = self._write_bulk(item)
                except Exception as error:
                    conn.execute("ROLLBACK TO item")
                    self._last_seq = saved
                    if kind == "records":
                        written = self._write_records_one_by_one(item[1], item[2], error)
                        rows += written
                        records += written
                    else:
                        self._note_failure(f"{kind} not stored: {type(error).__name__}: {error}")
                else:
                    rows += written
                    if kind == "records":
                        records += written
                conn.execute("RELEASE item")
            if self._last_seq != start_seq:
                conn.execute("UPDATE seq_counter SET last_seq = ?", (self._last_seq,))
            conn.execute("COMMIT")
        except Exception as error:
            # What this transaction held is lost; drop at least one item so a file that keeps
            # failing cannot stall the queue, and back off instead of spinning.
            self._rollback()
            if not taken and pending:
                item = pending.popleft()
                if item[0] in ("flush", "stop"):
                    markers.append(item[1])
                    stopping = stopping or item[0] == "stop"
            self._failed += max(taken - len(markers), 1)
            self._not_stored = not_stored + records_taken
            self._last_error = f"bulk commit: {type(error).__name__}: {error}"
            self._backoff.wait(0.05)
        else:
            self._last_commit = time.time()
            self._records += records
            self._rows_since_restart += rows
            self._checkpointer.poke()
        for marker in markers:
            failed, lost = marker.args if marker.args else (self._failed, self._not_stored)
            worse = self._failed > failed or self._not_stored > lost
            marker.finish(error=StoreError(self._last_error) if worse else None)
        return stopping

    def _write_bulk(self, item: tuple) -> int:
        conn = self._conn
        kind = item[0]
        if kind == "records":
            return self._write_records(item[1], item[2])
        if kind == "rejected":
            rejected, at = item[1], item[2]
            conn.executemany(
                "INSERT INTO rejected (at, source, reason, detail, raw) VALUES (?, ?, ?, ?, ?)",
                [(at, r.source, r.reason, *_kept_raw(r.detail, bytes(r.raw))) for r in rejected],
            )
            _keep_newest(conn, "rejected", REJECTED_KEEP_ROWS)
            return len(rejected)
        if kind == "event":
            conn.execute(
                "INSERT INTO events (at, source, kind, detail, count) VALUES (?, ?, ?, ?, ?)",
                item[1],
            )
            _keep_newest(conn, "events", EVENTS_KEEP_ROWS)
            return 1
        if kind == "alarm":
            seq = self._next_seq()
            conn.execute(_INSERT_ALARM, (seq, *item[1]))
            conn.execute("INSERT INTO outbox (seq, kind) VALUES (?, 'alarm')", (seq,))
            return 1
        raise ValueError(f"unknown bulk item {kind!r}")

    def _write_records(self, batch: RecordBatch, class_names: tuple[str, ...]) -> int:
        n = len(batch)
        first = self._last_seq + 1
        classes = np.asarray(class_names, dtype=object)[batch.class_codes].tolist()
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
            repeat(self._feature_set),
            pack_rows(batch.features),
            batch.image if len(batch.image) == n else repeat(None),
            batch.label if len(batch.label) == n else repeat(None),
            strict=False,
        )
        self._conn.executemany(_INSERT_RECORD, rows)
        self._last_seq += n
        return n

    def _write_records_one_by_one(
        self, batch: RecordBatch, class_names: tuple[str, ...], error: Exception
    ) -> int:
        """A chunk the store refused, retried a row at a time: only the rows that still fail
        are lost to the records table, and they go to the quarantine with the reason."""
        conn = self._conn
        written = 0
        for i in range(len(batch)):
            row = batch.take(slice(i, i + 1))
            saved = self._last_seq
            conn.execute("SAVEPOINT one")
            try:
                written += self._write_records(row, class_names)
            except Exception as row_error:  # noqa: BLE001 - the row goes to the quarantine
                conn.execute("ROLLBACK TO one")
                self._last_seq = saved
                self._not_stored += 1
                detail = f"{type(row_error).__name__}: {row_error}"
                conn.execute(
                    "INSERT INTO rejected (at, source, reason, detail, raw) VALUES (?, ?, ?, ?, ?)",
                    (time.time(), "store", STORE_REFUSED, *_kept_raw(detail, _row_text(row))),
                )
                self._note_failure(f"record {i} of a chunk not stored: {detail}", count=False)
            conn.execute("RELEASE one")
        if written < len(batch):
            self._last_error = (
                f"{len(batch) - written} records not stored, quarantined as {STORE_REFUSED}:"
                f" {type(error).__name__}: {error}"
            )
        return written

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._load_state(self._conn)
        except sqlite3.Error as error:
            self._note_failure(f"rollback: {error}", count=False)

    def _let_wal_restart(self) -> None:
        """Pause bulk work until a checkpoint caught up, so the next transaction restarts the WAL.

        SQLite restarts the WAL only when a write transaction begins with every frame copied
        back; back-to-back bulk transactions never give the checkpointer that moment, and the
        WAL would grow without end. Operator actions are still committed during the pause.
        """
        target = self._checkpointer.poke()
        deadline = time.monotonic() + CHECKPOINT_PAUSE
        while self._checkpointer.finished < target and time.monotonic() < deadline:
            urgent, _ = self._queue.take(CHECKPOINT_PAUSE, bulk=False)
            if urgent:
                self._commit_urgent(urgent)
        self._rows_since_restart = 0

    def _note_checkpoint_error(self, message: str) -> None:
        self._last_error = message

    def _note_failure(self, message: str, count: bool = True) -> None:
        self._last_error = message
        if count:
            self._failed += 1


def _now(at: float | None) -> float:
    return time.time() if at is None else float(at)


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


def _row_text(row: RecordBatch) -> bytes:
    """What a refused record looked like, for the quarantine (not a wire line: it was parsed)."""
    text = repr(
        {"ts": row.ts_text[0], "part": row.part[0], "batch": row.batch[0], "conf": row.conf[0]}
    )
    return text.encode("utf-8", "backslashreplace")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "StoreError",
    "StoreStatus",
    "StoreWriter",
    "StoredRecords",
    "alarm_journal",
    "events",
    "incidents",
    "integrity_ok",
    "latest_reference",
    "load_records",
    "open_reader",
    "outbox_entries",
    "outbox_pending",
    "overrides",
    "rejected_lines",
    "verify_audit_chain",
]
