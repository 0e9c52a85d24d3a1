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

Layout: data/commands.py has one typed command per kind of write, data/rows.py the rows each
writes, data/writer.py the writer and checkpoint threads, data/schema.py the tables. The read
helpers live in data/reading.py and are re-exported here (`__all__`) for callers' convenience.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.actions import Override
from console.records import RecordBatch, Rejected
from data.audit import AuditFacts, Write
from data.commands import (
    AppendEvent,
    AppendRecords,
    AppendRejected,
    AskForReference,
    Audit,
    Audited,
    Bulk,
    Flush,
    JournalAlarm,
    KeepReference,
    MarkSynced,
    PurgeSynced,
    Request,
    SaveIncident,
    SaveOverride,
    SaveReference,
    Stop,
    Urgent,
)
from data.custody import StoreLock, StoreLocked, examine_store, make_private, set_aside
from data.reading import (
    StoredRecords,
    StoreError,
    alarm_journal,
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
from data.writer import WriterThread

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
    not_stored: int = 0  # accepted records that are not in the store (lost or quarantined)


class StoreWriter:
    """Owns the store's write connection and the writer thread that alone uses it."""

    def __init__(self, path: str | Path, station: str, features: Sequence[str]) -> None:
        self.path = str(path)
        self.station = station
        self.features = tuple(features)
        self.set_aside = ""  # where a damaged file was moved, when one was
        self._categories: list[tuple[str, float, str]] = []  # the engine thread's, until queued
        self._lock = _lock(self.path)
        try:
            self._rows = RowWriter(self._examined(), station, self.features)
        except (sqlite3.Error, SchemaError, OSError) as error:
            self._lock.release()
            raise StoreError(f"cannot open store {self.path}: {error}") from error
        self._writer = WriterThread(self._rows, self.path, MAX_QUEUED_ROWS)
        self._queue = self._writer.queue
        self._closing = False
        self._closed = False

    def _examined(self) -> str:
        """The store's path once its file passed a health check (a damaged one is moved aside
        and a fresh store starts) and is private to its user (caller's thread, at open)."""
        damage = examine_store(self.path)
        if damage:
            moved = set_aside(self.path)
            self.set_aside = f"store {self.path} was damaged ({damage}); kept as {moved}"
        make_private(self.path)
        return self.path

    # ---- public API (any thread) ----

    @property
    def status(self) -> StoreStatus:
        return StoreStatus(
            queued=len(self._queue) + len(self._writer.pending),
            last_commit=self._writer.last_commit,
            last_error=self._writer.last_error,
            pending_outbox=self._rows.last_seq - self._rows.high_water,
            last_seq=self._rows.last_seq,
            records=self._writer.records,
            failed=self._writer.failed,
            running=self._writer.thread.is_alive(),
            not_stored=self._writer.not_stored,
        )

    def append_records(self, batch: RecordBatch, class_names: Sequence[str]) -> None:
        """Queue a batch; `batch.class_codes` index `class_names` (copied now, so it may grow)."""
        if batch.features.shape[1:] != (len(self.features),):
            raise StoreError(
                f"batch has {batch.features.shape[1:]} feature columns, store has "
                f"{len(self.features)}"
            )
        if len(batch):
            categories, self._categories = tuple(self._categories), []
            self._put(AppendRecords(batch, tuple(class_names), categories=categories), len(batch))

    def append_categories(self, categories: Sequence[tuple[str, float, str]]) -> None:
        """The text of categorical codes met: stored with the next records (that hold them)."""
        self._categories.extend(categories)

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
        """Queue an alarm transition the engine saw (operators' actions go through `audited`)."""
        self._put(
            JournalAlarm(
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
        )

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

    def audited(
        self, writes: Sequence[Write], facts: AuditFacts, timeout: float = 5.0
    ) -> list[int]:
        """An action's rows and its chained audit entry in ONE durable transaction; returns the
        seqs given (the audit entry's last). See data/audit.py."""
        return self._call(Audited(tuple(writes), facts), timeout)

    def save_reference(self, profile_json: str, description: str, timeout: float = 5.0) -> int:
        """Store a new reference profile version (durable); returns the version number."""
        return self._call(SaveReference(time.time(), description, profile_json), timeout)

    def keep_reference(
        self,
        profile_json: str,
        description: str,
        records: Mapping[str, Any],
        audit: Audit | None = None,
        timeout: float = 30.0,
    ) -> int:
        """A reference version with the records it was built from, in force from now on (with
        the audit entry of an explicit action, in the same transaction); durable; its version."""
        command = KeepReference(time.time(), description, profile_json, dict(records), audit)
        return int(self._call(command, timeout))

    def ask_for_reference(self, user: str, role: str, detail: Mapping[str, Any]) -> None:
        """Record (durably, audited) that the next records are to be learned as a reference."""
        audit = Audit(time.time(), user, role, "reference_new", dict(detail))
        self._call(AskForReference(audit), 5.0)

    def mark_synced(self, high_water: int, timeout: float = 5.0) -> None:
        """The sync thread says every seq <= high_water reached the plant database."""
        self._call(MarkSynced(int(high_water), time.time()), timeout)

    def purge_synced(
        self,
        records_before: float,
        journal_before: float,
        limit: int = 20000,
        timeout: float = 30.0,
    ) -> int:
        """Delete at most `limit` rows the plant database has (seq <= high water) and that are
        older than the cut-offs: records by `ts`, overrides, alarm journal and incidents by `at`.
        The audit chain stays whole (`audit verify` starts from its genesis). Returns how many
        went; never touches a row not yet synced."""
        command = PurgeSynced(float(records_before), float(journal_before), int(limit))
        return int(self._call(command, timeout))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is committed; StoreError if any of it failed."""
        op = Request()
        self._put(Flush(self._writer.failed, self._writer.not_stored, op))
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
        self._writer.stop(timeout)
        self._closed = True
        self._lock.release()

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


def _lock(path: str) -> StoreLock:
    """This process's lock on the store; StoreError naming the holder or the folder if not."""
    try:
        return StoreLock(path)
    except StoreLocked as error:
        raise StoreError(str(error)) from None
    except OSError as error:
        why = f"{error.strerror or error} (folder {Path(path).parent})"
        raise StoreError(f"cannot open store {path}: {why}") from error


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
