"""The store's writer thread: the only user of the write connection (see data/store.py).

`WriterThread` takes work from `WorkQueue` (bulk items in order, bounded by rows; operator
actions first), commits bulk work in transactions of up to `BULK_TXN_ROWS` rows with
`synchronous=NORMAL` and each drain of operator actions with `synchronous=FULL`, each item under
its own savepoint so that one bad item fails alone. A failed write never ends the thread: it is
counted and kept in `last_error`. `Checkpointer` copies the WAL back on its own connection and
thread. Threads: "store-writer" and "store-checkpoint".
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from console.records import RecordBatch, Rejected
from data.commands import AppendRecords, AppendRejected, Bulk, Flush, Request, Stop, Urgent
from data.reading import StoreError, connect
from data.rows import RowWriter

# Rows per executemany: small enough that an override never waits long behind a record batch.
RECORD_CHUNK = 256
# Rows per bulk transaction: a commit writes at most this much, so an override waits little.
BULK_TXN_ROWS = 4096
# Bulk rows between pauses that let the WAL restart (~20 MB of WAL), and the longest pause.
WAL_RESTART_ROWS = 50_000
CHECKPOINT_PAUSE = 0.5
# Reason a record the parser accepted is quarantined with when the store still refuses it.
STORE_REFUSED = "store_refused"


class WorkQueue:
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


class Checkpointer:
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


class WriterThread:
    """Commits queued work on the write connection; the thread "store-writer" alone runs it."""

    def __init__(self, rows: RowWriter, path: str, max_rows: int) -> None:
        self.rows = rows
        self.conn = rows.conn
        self.queue = WorkQueue(max_rows)
        self.pending: deque[Bulk] = deque()
        self.sync_mode = ""
        self.last_commit: float | None = None
        self.last_error = ""
        self.failed = 0
        self.not_stored = 0  # accepted records that are not in the store (lost or quarantined)
        self.records = 0
        self.rows_since_restart = 0
        self._backoff = threading.Event()  # never set: a wait on it is an interruptible pause
        self.checkpointer = Checkpointer(path, self._note_checkpoint_error, self.queue.wake)
        self.thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Wait for the thread to reach the stop marker; then close both connections."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise StoreError(f"store writer did not stop within {timeout} s")
        self.checkpointer.stop()
        self.conn.close()

    def _run(self) -> None:
        stopping = False
        while True:
            try:
                if self.rows_since_restart >= WAL_RESTART_ROWS:
                    self._let_wal_restart()
                # Take new bulk work only once the last is written: the queue stays the bound.
                busy = bool(self.pending)
                urgent, bulk = self.queue.take(0.0 if busy else 0.5, bulk=not busy)
                self.pending.extend(bulk)
                if urgent:
                    self._commit_urgent(urgent)
                if self.pending:
                    stopping = self._commit_bulk() or stopping
                if stopping and not self.pending and not len(self.queue):
                    return
            except Exception as error:  # a bug here must not end the thread
                self._note_failure(f"store writer: {type(error).__name__}: {error}")

    def _set_sync(self, mode: str) -> None:
        if self.sync_mode != mode:
            self.conn.execute(f"PRAGMA synchronous = {mode}")
            self.sync_mode = mode

    def _commit_urgent(self, ops: list[Request]) -> None:
        ops = [op for op in ops if op.claim()]
        if not ops:
            return
        conn = self.conn
        self._set_sync("FULL")
        done: list[tuple[Request, Any]] = []
        rows = self.rows
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
        self.last_commit = time.time()
        for op, result in done:
            op.finish(result)

    def _commit_bulk(self) -> bool:
        """One transaction over queued bulk items, cut short when an operator action waits;
        True once the stop marker was reached."""
        conn = self.conn
        self._set_sync("NORMAL")
        done = _BulkRun()
        not_stored = self.not_stored
        try:
            conn.execute("BEGIN IMMEDIATE")
            start_seq = self.rows.last_seq
            self._write_pending(done)
            if self.rows.last_seq != start_seq:
                conn.execute("UPDATE seq_counter SET last_seq = ?", (self.rows.last_seq,))
            conn.execute("COMMIT")
        except Exception as error:
            # What this transaction held is lost; drop at least one item so a file that keeps
            # failing cannot stall the queue, and back off instead of spinning.
            self._rollback()
            if not done.taken and self.pending:
                item = self.pending.popleft()
                if isinstance(item, Flush | Stop):
                    done.markers.append(item)
                elif isinstance(item, AppendRecords):
                    done.records_taken += len(item.batch)
            self.failed += max(done.taken - len(done.markers), 1)
            self.not_stored = not_stored + done.records_taken
            self.last_error = f"bulk commit: {type(error).__name__}: {error}"
            self._backoff.wait(0.05)
        else:
            self.last_commit = time.time()
            self.records += done.records
            self.rows_since_restart += done.rows
            self.checkpointer.poke()
        for marker in done.markers:
            if isinstance(marker, Flush):
                worse = self.failed > marker.failed or self.not_stored > marker.not_stored
            else:
                worse = False
            marker.request.finish(error=StoreError(self.last_error) if worse else None)
        return any(isinstance(marker, Stop) for marker in done.markers)

    def _write_pending(self, done: _BulkRun) -> None:
        """Write pending bulk items, each under its own savepoint, up to a transaction's size."""
        conn, pending, rows = self.conn, self.pending, self.rows
        while pending and done.rows < BULK_TXN_ROWS and not self.queue.has_urgent():
            item = pending.popleft()
            done.taken += 1
            if isinstance(item, Flush | Stop):
                done.markers.append(item)
                continue
            if isinstance(item, AppendRecords) and len(item.batch) > RECORD_CHUNK:
                pending.appendleft(replace(item, batch=item.batch.take(slice(RECORD_CHUNK, None))))
                item = replace(item, batch=item.batch.take(slice(0, RECORD_CHUNK)))
            if isinstance(item, AppendRecords):
                done.records_taken += len(item.batch)
            saved = rows.saved()
            conn.execute("SAVEPOINT item")
            try:
                written = rows.append(item)
            except Exception as error:
                conn.execute("ROLLBACK TO item")
                rows.restore(saved)
                if isinstance(item, AppendRecords):
                    written = self._write_one_by_one(item, error)
                    done.rows += written
                    done.records += written
                else:
                    self._note_failure(f"{item.name} not stored: {type(error).__name__}: {error}")
            else:
                done.rows += written
                if isinstance(item, AppendRecords):
                    done.records += written
            conn.execute("RELEASE item")

    def _write_one_by_one(self, item: AppendRecords, error: Exception) -> int:
        """A chunk the store refused, retried a row at a time: only the rows that still fail
        are lost to the records table, and they go to the quarantine with the reason."""
        conn, rows, batch = self.conn, self.rows, item.batch
        written = 0
        for i in range(len(batch)):
            row = batch.take(slice(i, i + 1))
            saved = rows.saved()
            conn.execute("SAVEPOINT one")
            try:
                written += rows.append(replace(item, batch=row))
            except Exception as row_error:  # the row goes to the quarantine
                conn.execute("ROLLBACK TO one")
                rows.restore(saved)
                self.not_stored += 1
                detail = f"{type(row_error).__name__}: {row_error}"
                refused = Rejected(_row_text(row), STORE_REFUSED, detail, "store")
                rows.write(AppendRejected((refused,), time.time()))
                self._note_failure(f"record {i} of a chunk not stored: {detail}", count=False)
            conn.execute("RELEASE one")
        if written < len(batch):
            self.last_error = (
                f"{len(batch) - written} records not stored, quarantined as {STORE_REFUSED}:"
                f" {type(error).__name__}: {error}"
            )
        return written

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.rows.load_state()
        except sqlite3.Error as error:
            self._note_failure(f"rollback: {error}", count=False)

    def _let_wal_restart(self) -> None:
        """Pause bulk work until a checkpoint caught up, so the next transaction restarts the WAL.

        SQLite restarts the WAL only when a write transaction begins with every frame copied
        back; back-to-back bulk transactions never give the checkpointer that moment, and the
        WAL would grow without end. Operator actions are still committed during the pause.
        """
        target = self.checkpointer.poke()
        deadline = time.monotonic() + CHECKPOINT_PAUSE
        while self.checkpointer.finished < target and time.monotonic() < deadline:
            urgent, _ = self.queue.take(CHECKPOINT_PAUSE, bulk=False)
            if urgent:
                self._commit_urgent(urgent)
        self.rows_since_restart = 0

    def _note_checkpoint_error(self, message: str) -> None:
        self.last_error = message

    def _note_failure(self, message: str, count: bool = True) -> None:
        self.last_error = message
        if count:
            self.failed += 1


@dataclass
class _BulkRun:
    """What one bulk transaction took from the queue and wrote."""

    taken: int = 0
    rows: int = 0
    records: int = 0
    records_taken: int = 0  # records in the transaction: all lost if it is rolled back
    markers: list[Flush | Stop] = field(default_factory=list)


def _row_text(row: RecordBatch) -> bytes:
    """What a refused record looked like, for the quarantine (not a wire line: it was parsed)."""
    text = repr(
        {"ts": row.ts_text[0], "part": row.part[0], "batch": row.batch[0], "conf": row.conf[0]}
    )
    return text.encode("utf-8", "backslashreplace")


def _name(command: Urgent | None) -> str:
    return command.name if command is not None else "request"
