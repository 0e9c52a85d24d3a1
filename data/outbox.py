"""Reading the outbox for the plant sync: the rows of a seq range, shaped for the central tables.

`OutboxReader` holds its own read-only connection to the station's store (never the writer's)
and reads a seq range in one read transaction, so the range's last seq and its rows agree. Records
become rows ready for a binary COPY into the central `records` table: features as a JSON object
name → value (NaN, a missing value, becomes null; numbers keep every bit through the shortest
round-trip text) in jsonb's wire form, times as timestamptz's wire value (microseconds since
2000-01-01 UTC, rounded half to even like Python's datetime). The other outbox kinds (overrides, alarm journal,
incidents, audit) keep their columns. Seqs of the range that the store no longer holds (purged
before the plant had them) are listed as `missing`. Used on the sync thread only.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from data.reading import connect
from data.schema import unpack_rows

# Columns read from each local table, in the order the central INSERTs take them (seq first).
KIND_COLUMNS: dict[str, tuple[str, str]] = {
    "override": (
        "overrides",
        "seq, at, part, old_class, old_conf, new_class, reason, note, user_name, role, model",
    ),
    "alarm": (
        "alarm_journal",
        "seq, at, alarm, source, detector, state, priority, value, user_name, note",
    ),
    "incident": ("incidents", "seq, at, incident, status, severity, owner, summary, snapshot"),
    "audit": ("audit", "seq, at, user_name, role, action, detail, prev_hash, hash"),
}
PG_EPOCH = 946_684_800.0  # 2000-01-01 UTC, where PostgreSQL's timestamps count from
JSONB_VERSION = b"\x01"  # jsonb's binary wire form: a version byte, then the JSON text
RECORD_COLUMNS = (
    "seq, ts, ts_text, station, part, batch, model, class, conf, feature_set, features, image,"
    " label"
)


@dataclass
class OutboxBatch:
    """Outbox rows with after < seq <= last, read in one read transaction."""

    after: int
    last: int
    # (seq, ts_us, ts_text, part, batch, model, class, conf, features_jsonb, image, label, origin)
    records: list[tuple] = field(default_factory=list)
    others: dict[str, list[tuple]] = field(default_factory=dict)  # kind -> rows (seq first)
    missing: list[int] = field(default_factory=list)
    first_at: float | None = None  # station time of the batch's first row

    def __len__(self) -> int:
        return len(self.records) + sum(len(rows) for rows in self.others.values())

    def items(self) -> list[tuple[str, tuple]]:
        """(kind, row) for every row, for splitting a batch to find a refused row."""
        out = [("record", row) for row in self.records]
        for kind, rows in self.others.items():
            out.extend((kind, row) for row in rows)
        out.extend(("missing", (seq,)) for seq in self.missing)
        return out

    @staticmethod
    def of(after: int, last: int, items: list[tuple[str, tuple]]) -> OutboxBatch:
        batch = OutboxBatch(after, last)
        for kind, row in items:
            if kind == "record":
                batch.records.append(row)
            elif kind == "missing":
                batch.missing.append(row[0])
            else:
                batch.others.setdefault(kind, []).append(row)
        return batch


class OutboxReader:
    """The sync thread's own read-only view of the store."""

    def __init__(self, path: str | Path, station: str) -> None:
        self.path = str(path)
        self.station = station
        self._conn: sqlite3.Connection | None = None
        self._sets: dict[int, tuple[str, ...]] = {}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path, readonly=True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def last_seq(self) -> int:
        return int(self._db().execute("SELECT last_seq FROM seq_counter").fetchone()[0])

    def read(self, after: int, limit: int) -> OutboxBatch:
        """Rows with after < seq <= min(after + limit, last_seq)."""
        db = self._db()
        db.execute("BEGIN")
        try:
            last = min(after + limit, self.last_seq())
            batch = OutboxBatch(after, max(last, after))
            if last <= after:
                return batch
            rows = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE seq > ? AND seq <= ? ORDER BY seq",
                (after, last),
            ).fetchall()
            batch.records = self._record_rows(rows)
            kinds = db.execute(
                "SELECT kind, count(*) FROM outbox WHERE seq > ? AND seq <= ? GROUP BY kind",
                (after, last),
            ).fetchall()
            for kind, _count in kinds:
                if kind not in KIND_COLUMNS:
                    continue
                table, columns = KIND_COLUMNS[kind]
                batch.others[kind] = db.execute(
                    f"SELECT {columns} FROM {table} WHERE seq > ? AND seq <= ? ORDER BY seq",
                    (after, last),
                ).fetchall()
        finally:
            db.execute("COMMIT")
        if len(batch) != last - after:
            have = {row[0] for row in batch.records}
            for rows in batch.others.values():
                have.update(row[0] for row in rows)
            batch.missing = [seq for seq in range(after + 1, last + 1) if seq not in have]
        times = [rows[0][1] for rows in batch.others.values() if rows and rows[0][0] == after + 1]
        if batch.records and batch.records[0][0] == after + 1:
            times.append(batch.records[0][1] / 1e6 + PG_EPOCH)
        batch.first_at = float(times[0]) if times else None
        return batch

    def _feature_names(self, set_id: int) -> tuple[str, ...]:
        if set_id not in self._sets:
            for sid, names in self._db().execute("SELECT id, names FROM feature_sets"):
                self._sets[int(sid)] = tuple(json.loads(names))
        return self._sets.get(set_id, ())

    def _record_rows(self, rows: list[tuple]) -> list[tuple]:
        if not rows:
            return []
        by_set: dict[int, list[int]] = defaultdict(list)
        for index, row in enumerate(rows):
            by_set[int(row[9])].append(index)
        features: list[bytes] = [b""] * len(rows)
        for set_id, indexes in by_set.items():
            names = self._feature_names(set_id)
            matrix = unpack_rows([rows[i][10] for i in indexes], len(names))
            for i, values in zip(indexes, matrix.tolist(), strict=True):
                features[i] = JSONB_VERSION + orjson.dumps(dict(zip(names, values, strict=True)))
        seconds = np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows))
        micros = np.round((seconds - PG_EPOCH) * 1e6).astype(np.int64).tolist()
        station = self.station
        return [
            (
                seq,
                micros[i],
                ts_text,
                part,
                batch,
                model,
                cls,
                conf,
                features[i],
                image,
                label,
                origin if origin and origin != station else None,
            )
            for i, (
                seq,
                _ts,
                ts_text,
                origin,
                part,
                batch,
                model,
                cls,
                conf,
                _set,
                _blob,
                image,
                label,
            ) in enumerate(rows)
        ]


def row_json(kind: str, row: tuple[Any, ...]) -> bytes:
    """A refused row, verbatim enough to resend by hand, for the local quarantine."""
    return json.dumps({"kind": kind, "row": list(row)}, ensure_ascii=False, default=str).encode(
        "utf-8", "backslashreplace"
    )
