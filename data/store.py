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

import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.actions import Override
from console.records import RecordBatch, Rejected
from data.commands import (
    AppendEvent,
    AppendRecords,
    AppendRejected,
    Audit,
    Bulk,
    Flush,
    JournalAlarm,
    MarkSynced,
    Request,
    SaveIncident,
    SaveOverride,
    SaveReference,
    Stop,
    Urgent,
)
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
from data.rows import RowWriter
from data.schema import SchemaError, canonical_json, finite_or_none

# Rows per executemany: small enough that an override never waits long behind a record batch.
RECORD_CHUNK = 256
# Rows per bulk transaction: a commit writes at most this much, so an override waits little.
BULK_TXN_ROWS = 4096
# Bulk rows between pauses that let the WAL restart (~20 MB of WAL), and the longest pause.
WAL_RESTART_ROWS = 50_000
CHECKPOINT_PAUSE = 0.5
# Queued rows before producers wait (backpressure instead of unbounded memory).
MAX_QUEUED_ROWS = 131_072
QUEUE_FULL_TIMEOUT = 30.0


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


class _WorkQueue:
    """Two lanes to the writer: bulk work in order, bounded by rows, and urgent operator actions."""

    def __init__(self, max_rows: int) -> None:
        self._cond = threading.Condition()
        self._bulk: deque[Bulk] = deque()
        self._urgent: deque[Request] = deque()
        self._max_rows = max_rows
        self._rows = 0

    def put_bulk(self, item: Bulk, rows: int, timeout: float) -> bool:
        with self._cond:
            if self._rows >= self._max_rows and not self._cond.wait_for(
                lambda: self._rows < self._max_rows, timeout
            ):
                return False
            self._bulk.append(item)
            self._rows += rows
            self._cond.notify_all()
            return True

    def put_urgent(self, op: Request) -> None:
        with self._cond:
            self._urgent.append(op)
            self._cond.notify_all()

    def take(self, wait: float, bulk: bool = True) -> tuple[list[Request], list[Bulk]]:
        """Urgent ops, and (when `bulk`) all bulk items; waits up to `wait` for anything."""
        with self._cond:
            if not self._urgent and not (bulk and self._bulk):
                self._cond.wait(wait)
            urgent = list(self._urgent)
            self._urgent.clear()
            items: list[Bulk] = []
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
        try:
            self._rows = RowWriter(self.path, station, self.features)
        except (sqlite3.Error, SchemaError, OSError) as error:
            raise StoreError(f"cannot open store {self.path}: {error}") from error
        self._conn = self._rows.conn
        self._queue = _WorkQueue(MAX_QUEUED_ROWS)
        self._pending: deque[Bulk] = deque()
        self._sync_mode = ""
        self._last_commit: float | None = None
        self._last_error = ""
        self._failed = 0
        self._records = 0
        self._rows_since_restart = 0
        self._closing = False
        self._closed = False
        self._backoff = threading.Event()  # never set: a wait on it is an interruptible pause
        self._checkpointer = _Checkpointer(self.path, self._note_checkpoint_error, self._queue.wake)
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # ---- public API (any thread) ----

    @property
    def status(self) -> StoreStatus:
        return StoreStatus(
            queued=len(self._queue) + len(self._pending),
            last_commit=self._last_commit,
            last_error=self._last_error,
            pending_outbox=self._rows.last_seq - self._rows.high_water,
            last_seq=self._rows.last_seq,
            records=self._records,
            failed=self._failed,
            running=self._thread.is_alive(),
        )

    def append_records(self, batch: RecordBatch, class_names: Sequence[str]) -> None:
        """Queue a batch; `batch.class_codes` index `class_names` (copied now, so it may grow)."""
        if batch.features.shape[1:] != (len(self.features),):
            raise StoreError(
                f"batch has {batch.features.shape[1:]} feature columns, store has "
                f"{len(self.features)}"
            )
        if len(batch):
            self._put(AppendRecords(batch, tuple(class_names)), len(batch))

    def append_rejected(self, rejected: Sequence[Rejected]) -> None:
        if rejected:
            self._put(AppendRejected(tuple(rejected), time.time()), len(rejected))

    def append_event(
        self, source: str, kind: str, detail: str = "", count: int = 1, at: float | None = None
    ) -> None:
        self._put(AppendEvent(_now(at), source, kind, detail, count))

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
    ) -> None:
        self._put(
            JournalAlarm(
                _now(at), alarm, source, detector, state, priority, finite_or_none(value), user,
                note,
            )
        )  # fmt: skip

    def save_override(self, override: Override, timeout: float = 5.0) -> int:
        """Durable (synchronous=FULL) before it returns its seq; StoreError otherwise."""
        o = override
        command = SaveOverride(
            o.at, o.part, o.old_class, finite_or_none(o.old_conf), o.new_class, o.reason, o.note,
            o.user, o.role, o.model,
        )  # fmt: skip
        return self._call(command, timeout)

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
        command = SaveIncident(_now(at), incident, status, severity, owner, summary, text)
        return self._call(command, timeout)

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
        return self._call(Audit(_now(at), user, role, action, dict(detail)), timeout)

    def save_reference(self, profile_json: str, description: str, timeout: float = 5.0) -> int:
        """Store a new reference profile version (durable); returns the version number."""
        return self._call(SaveReference(time.time(), description, profile_json), timeout)

    def mark_synced(self, high_water: int, timeout: float = 5.0) -> None:
        """The sync thread says every seq <= high_water reached the plant database."""
        self._call(MarkSynced(int(high_water), time.time()), timeout)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is committed; StoreError if any of it failed."""
        op = Request()
        self._put(Flush(self._failed, op))
        if not op.done.wait(timeout):
            raise StoreError(f"store flush did not finish within {timeout} s")
        if op.error is not None:
            raise StoreError(str(op.error)) from op.error

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, stop the thread, close the file. Idempotent."""
        if self._closed:
            return
        if not self._closing:
            self._closing = True
            self._queue.put_bulk(Stop(Request()), 1, QUEUE_FULL_TIMEOUT)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise StoreError(f"store writer did not stop within {timeout} s")
        self._closed = True
        self._checkpointer.stop()
        self._conn.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _put(self, item: Bulk, rows: int = 1) -> None:
        if self._closing:
            raise StoreError("store is closed")
        if not self._queue.put_bulk(item, rows, QUEUE_FULL_TIMEOUT):
            raise StoreError(f"store writer is not keeping up ({self.status.last_error})")

    def _call(self, command: Urgent, timeout: float) -> Any:
        if self._closing:
            raise StoreError("store is closed")
        kind = command.name
        op = Request(command)
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

    def _commit_urgent(self, ops: list[Request]) -> None:
        ops = [op for op in ops if op.claim()]
        if not ops:
            return
        conn = self._conn
        self._set_sync("FULL")
        done: list[tuple[Request, Any]] = []
        rows = self._rows
        try:
            conn.execute("BEGIN IMMEDIATE")
            start_seq = rows.last_seq
            for op in ops:
                saved = rows.saved()
                conn.execute("SAVEPOINT op")
                try:
                    result = rows.write(op.command)
                except Exception as error:
                    conn.execute("ROLLBACK TO op")
                    rows.restore(saved)
                    op.finish(error=error)
                    self._note_failure(f"{_name(op.command)}: {error}", count=False)
                else:
                    done.append((op, result))
                conn.execute("RELEASE op")
            if rows.last_seq != start_seq:
                conn.execute("UPDATE seq_counter SET last_seq = ?", (rows.last_seq,))
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

    def _commit_bulk(self) -> bool:
        """One transaction over queued bulk items, cut short when an operator action waits;
        True once the stop marker was reached."""
        conn = self._conn
        self._set_sync("NORMAL")
        done = _BulkRun()
        try:
            conn.execute("BEGIN IMMEDIATE")
            start_seq = self._rows.last_seq
            self._write_pending(done)
            if self._rows.last_seq != start_seq:
                conn.execute("UPDATE seq_counter SET last_seq = ?", (self._rows.last_seq,))
            conn.execute("COMMIT")
        except Exception as error:
            # What this transaction held is lost; drop at least one item so a file that keeps
            # failing cannot stall the queue, and back off instead of spinning.
            self._rollback()
            if not done.taken and self._pending:
                item = self._pending.popleft()
                if isinstance(item, Flush | Stop):
                    done.markers.append(item)
            self._failed += max(done.taken - len(done.markers), 1)
            self._last_error = f"bulk commit: {type(error).__name__}: {error}"
            self._backoff.wait(0.05)
        else:
            self._last_commit = time.time()
            self._records += done.records
            self._rows_since_restart += done.rows
            self._checkpointer.poke()
        for marker in done.markers:
            failed = marker.failed if isinstance(marker, Flush) else self._failed
            error = StoreError(self._last_error) if self._failed > failed else None
            marker.request.finish(error=error)
        return any(isinstance(marker, Stop) for marker in done.markers)

    def _write_pending(self, done: _BulkRun) -> None:
        """Write pending bulk items, each under its own savepoint, up to a transaction's size."""
        conn, pending, rows = self._conn, self._pending, self._rows
        while pending and done.rows < BULK_TXN_ROWS and not self._queue.has_urgent():
            item = pending.popleft()
            done.taken += 1
            if isinstance(item, Flush | Stop):
                done.markers.append(item)
                continue
            if isinstance(item, AppendRecords) and len(item.batch) > RECORD_CHUNK:
                pending.appendleft(replace(item, batch=item.batch.take(slice(RECORD_CHUNK, None))))
                item = replace(item, batch=item.batch.take(slice(0, RECORD_CHUNK)))
            saved = rows.saved()
            conn.execute("SAVEPOINT item")
            try:
                written = rows.write(item) or 0
            except Exception as error:
                conn.execute("ROLLBACK TO item")
                rows.restore(saved)
                self._note_failure(f"{item.name} not stored: {type(error).__name__}: {error}")
            else:
                done.rows += written
                if isinstance(item, AppendRecords):
                    done.records += written
            conn.execute("RELEASE item")

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._rows.load_state()
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


@dataclass
class _BulkRun:
    """What one bulk transaction took from the queue and wrote."""

    taken: int = 0
    rows: int = 0
    records: int = 0
    markers: list[Flush | Stop] = field(default_factory=list)


def _name(command: Urgent | None) -> str:
    return command.name if command is not None else "request"


def _now(at: float | None) -> float:
    return time.time() if at is None else float(at)


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
