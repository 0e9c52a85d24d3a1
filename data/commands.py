"""The store's writes as typed commands: one frozen dataclass per kind of write.

`StoreWriter` (data/store.py) turns each public call into one of these and queues it; the writer
thread hands it to `RowWriter.write` (data/rows.py), which dispatches on its type. Bulk commands
go in order through the bounded queue and are committed in batches (`synchronous=NORMAL`);
operator actions (`SaveOverride`, `SaveIncident`, `Audit`, `Audited`, `SaveReference`,
`MarkSynced`, `PurgeSynced`) jump the queue and are committed on their own
(`synchronous=FULL`) while their caller waits. `Flush` and `Stop` are markers in the bulk lane.
Built on the caller's thread, read on the writer's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from console.records import RecordBatch, Rejected
from data.audit import AuditFacts, Write

# --- bulk: queued in order, committed in batches ------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendRecords:
    name: ClassVar[str] = "records"
    batch: RecordBatch
    class_names: tuple[str, ...]  # what `batch.class_codes` index
    at: float = field(default_factory=time.time)  # handed to the store (replay's markers)
    # Categorical codes first met in these records: (feature, code, text), console/categories.py
    categories: tuple[tuple[str, float, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AppendRejected:
    name: ClassVar[str] = "rejected"
    rejected: tuple[Rejected, ...]
    at: float


@dataclass(frozen=True, slots=True)
class AppendEvent:
    name: ClassVar[str] = "event"
    at: float
    source: str
    kind: str
    detail: str
    count: int


@dataclass(frozen=True, slots=True)
class JournalAlarm:
    name: ClassVar[str] = "alarm"
    at: float
    alarm: str
    source: str
    detector: str
    state: str
    priority: str
    value: float | None
    user: str
    note: str


@dataclass(frozen=True, slots=True)
class Flush:
    """Everything queued before it is committed (or failed: more failures than `failed`, or
    more records not stored than `not_stored`: quarantined rows are reported too)."""

    name: ClassVar[str] = "flush"
    failed: int
    not_stored: int
    request: Request


@dataclass(frozen=True, slots=True)
class Stop:
    name: ClassVar[str] = "stop"
    request: Request


Bulk = AppendRecords | AppendRejected | AppendEvent | JournalAlarm | Flush | Stop

# --- operator actions: committed on their own, durable before the caller goes on ----------------


@dataclass(frozen=True, slots=True)
class SaveOverride:
    name: ClassVar[str] = "override"
    at: float
    part: str
    old_class: str
    old_conf: float | None
    new_class: str
    reason: str
    note: str
    user: str
    role: str
    model: str


@dataclass(frozen=True, slots=True)
class SaveIncident:
    name: ClassVar[str] = "incident"
    at: float
    incident: str
    status: str
    severity: str
    owner: str
    summary: str
    snapshot: str  # canonical JSON


@dataclass(frozen=True, slots=True)
class Audit:
    name: ClassVar[str] = "audit"
    at: float
    user: str
    role: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Audited:
    """An action's rows (override, alarm journal, incident, user) and its chained audit entry,
    written in ONE transaction (data/audit.py); its result is the seqs given, the entry's last."""

    name: ClassVar[str] = "audited"
    writes: tuple[Write, ...]
    facts: AuditFacts


@dataclass(frozen=True, slots=True)
class SaveReference:
    name: ClassVar[str] = "reference"
    created: float
    description: str
    profile: str  # JSON


@dataclass(frozen=True, slots=True)
class KeepReference:
    """A reference version put in force: its profile and the records it was built from (plain
    arrays, see data/reference_rows.py), with the audit entry of an explicit action."""

    name: ClassVar[str] = "reference_kept"
    created: float
    description: str
    profile: str  # JSON
    records: dict[str, Any]  # features, classes (JSON text), n, matrix, class_codes, ts (bytes)
    audit: Audit | None = None


@dataclass(frozen=True, slots=True)
class AskForReference:
    """An explicit request to learn a new reference from the next records (kept until done)."""

    name: ClassVar[str] = "reference_asked"
    audit: Audit


@dataclass(frozen=True, slots=True)
class MarkSynced:
    name: ClassVar[str] = "synced"
    high_water: int
    at: float


@dataclass(frozen=True, slots=True)
class PurgeSynced:
    """Delete at most `limit` rows the plant database has (seq <= high water) and older than the
    cut-offs: records by `ts`; overrides, alarm journal and incidents by `at`. Never the audit."""

    name: ClassVar[str] = "purge"
    records_before: float
    journal_before: float
    limit: int


Urgent = (
    SaveOverride
    | SaveIncident
    | Audit
    | Audited
    | SaveReference
    | KeepReference
    | AskForReference
    | MarkSynced
    | PurgeSynced
)


class Request:
    """A blocking request: the caller waits on `done`; the writer claims it before running it."""

    __slots__ = ("command", "done", "result", "error", "_state", "_lock")

    def __init__(self, command: Urgent | None = None) -> None:
        self.command = command
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
