"""What a quality engineer asks of a past production: read-only queries for replay and export.

Batches with their time span, parts, class mix, reject rate, alarms, overrides and incidents
(filterable by time, model version and alarm); the records of a batch, a time range or an
incident; the deliveries and station runs the engine saw them in; the journal, overrides, audit
entries and reference versions of a range. Every call opens its OWN read-only connection
(data/reading.py), so a quality engineer replaying never holds up the line's writes. Safe from
any thread.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from console.records import RecordBatch, iso
from data.reading import StoredRecords, StoreError, load_records, open_reader, read_categories
from data.record_blocks import read_blocks
from data.schema import unpack_rows

GOOD_CLASSES = ("ok", "good", "pass")  # any other class sends the part to rejects


@dataclass(frozen=True)
class BatchSummary:
    """One batch (lot, order) as the batch list shows it."""

    batch: str
    first_seq: int
    last_seq: int
    first_ts: str
    last_ts: str
    parts: int
    models: tuple[str, ...]
    class_mix: dict[str, int]
    reject_rate: float
    alarms: int = 0  # raised while the batch ran
    alarm_ids: tuple[str, ...] = ()
    overrides: int = 0
    incidents: int = 0


@dataclass(frozen=True)
class Selection:
    """Which stored records: a batch, a time range of record timestamps (epoch s), or all."""

    batch: str | None = None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Delivery:
    """Records handed to the store together (the engine processed them as one delivery)."""

    first_seq: int
    last_seq: int
    parts: int
    at: float
    run: int


@dataclass(frozen=True)
class Markers:
    """What people and the station did around a range, each row with its wall time `at`."""

    alarms: list[dict[str, Any]] = field(default_factory=list)  # the alarm journal
    overrides: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _rows(path: str | Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    db = open_reader(path)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()


def batches(
    path: str | Path,
    *,
    start: float | None = None,
    end: float | None = None,
    model: str | None = None,
    alarm: str | None = None,
) -> list[BatchSummary]:
    """Every batch in the store in order of its first part, filtered by record time (overlap),
    model version and an alarm (id or detector) raised while it ran."""
    spans = _rows(
        path,
        "SELECT coalesce(batch, '') AS batch, min(seq) AS first_seq, max(seq) AS last_seq,"
        " min(ts) AS t0, max(ts) AS t1, count(*) AS parts,"
        " group_concat(DISTINCT model) AS models"
        " FROM records GROUP BY coalesce(batch, '') ORDER BY first_seq",
    )
    mix = _rows(
        path,
        "SELECT coalesce(batch, '') AS batch, class, count(*) AS n FROM records"
        " GROUP BY coalesce(batch, ''), class",
    )
    by_batch: dict[str, dict[str, int]] = {}
    for row in mix:
        by_batch.setdefault(row["batch"], {})[row["class"]] = int(row["n"])
    deliveries = delivery_times(path)
    marks = markers(path)
    overridden = _overrides_by_batch(path, [o["part"] for o in marks.overrides])
    found = []
    for span in spans:
        if start is not None and span["t1"] < start or end is not None and span["t0"] > end:
            continue
        t_first = at_of(deliveries, span["first_seq"], before=True)
        t_last = at_of(deliveries, span["last_seq"], before=False) + 1e-3
        summary = _summary(
            span,
            by_batch.get(span["batch"], {}),
            [a for a in marks.alarms if a["state"] == "raised" and t_first <= a["at"] <= t_last],
            overridden.get(span["batch"], 0),
            sum(1 for i in marks.incidents if t_first <= i["at"] <= t_last),
        )
        if model is not None and model not in summary.models:
            continue
        ids = summary.alarm_ids
        if alarm is not None and not any(alarm == i or i.startswith(alarm + ":") for i in ids):
            continue
        found.append(summary)
    return found


def _summary(
    span: dict[str, Any],
    classes: dict[str, int],
    raised: list[dict[str, Any]],
    overrides: int,
    incidents: int,
) -> BatchSummary:
    parts = int(span["parts"])
    good = sum(n for c, n in classes.items() if c in GOOD_CLASSES)
    return BatchSummary(
        batch=span["batch"],
        first_seq=int(span["first_seq"]),
        last_seq=int(span["last_seq"]),
        first_ts=_iso(span["t0"]),
        last_ts=_iso(span["t1"]),
        parts=parts,
        models=tuple(sorted(filter(None, (span["models"] or "").split(",")))),
        class_mix=dict(sorted(classes.items(), key=lambda kv: -kv[1])),
        reject_rate=(parts - good) / parts if parts else 0.0,
        alarms=len(raised),
        alarm_ids=tuple(dict.fromkeys(a["alarm"] for a in raised)),
        overrides=overrides,
        incidents=incidents,
    )


def _overrides_by_batch(path: str | Path, parts: list[str]) -> Counter[str]:
    """Overrides per batch of the overridden part (one scan of the records for all of them)."""
    if not parts:
        return Counter()
    unique = sorted(set(parts))
    marks = ",".join("?" * len(unique))
    rows = _rows(
        path,
        f"SELECT part, coalesce(batch, '') AS batch FROM records WHERE part IN ({marks})",
        unique,
    )
    batch_of = {row["part"]: row["batch"] for row in rows}
    return Counter(batch_of.get(part, "") for part in parts)


def _iso(ts: float) -> str:
    return iso(float(ts))


def delivery_times(path: str | Path) -> np.ndarray:
    """(last_seq, at) of every delivery, in seq order, as a 2 × n array."""
    rows = open_reader(path)
    try:
        found = rows.execute("SELECT last_seq, at FROM record_deliveries ORDER BY last_seq")
        table = np.array(found.fetchall(), dtype=np.float64).reshape(-1, 2)
    finally:
        rows.close()
    return table.T


def at_of(deliveries: np.ndarray, seq: int, *, before: bool) -> float:
    """When the delivery holding record `seq` reached the store (the previous one's time when
    `before`: an alarm journalled before the batch's first delivery belongs to the one before)."""
    if deliveries.size == 0:
        return -np.inf if before else np.inf
    i = int(np.searchsorted(deliveries[0], seq))
    if before:
        return float(deliveries[1][i - 1]) if i > 0 else -np.inf
    return float(deliveries[1][i]) if i < deliveries.shape[1] else np.inf


def selected_seqs(path: str | Path, selection: Selection) -> tuple[int, int] | None:
    """The first and last record seq of a selection (None when it holds no record)."""
    where, params = _where(selection)
    rows = _rows(path, f"SELECT min(seq) AS a, max(seq) AS b FROM records WHERE {where}", params)
    if not rows or rows[0]["a"] is None:
        return None
    return int(rows[0]["a"]), int(rows[0]["b"])


def _where(selection: Selection) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1"]
    params: list[Any] = []
    if selection.batch is not None:
        clauses.append("batch = ?")
        params.append(selection.batch)
    if selection.start is not None:
        clauses.append("ts >= ?")
        params.append(selection.start)
    if selection.end is not None:
        clauses.append("ts <= ?")
        params.append(selection.end)
    return " AND ".join(clauses), params


def records(path: str | Path, first_seq: int, last_seq: int) -> StoredRecords:
    """The records with first_seq <= seq <= last_seq, in seq order, values exact."""
    counted = _rows(
        path,
        "SELECT count(*) AS n FROM records WHERE seq BETWEEN ? AND ?",
        (first_seq, last_seq),
    )
    return load_records(path, since_seq=first_seq - 1, limit=int(counted[0]["n"]))


def engine_records(
    path: str | Path, first_seq: int, last_seq: int, *, blocks: bool = True
) -> StoredRecords:
    """What the engine and the part list read of records first_seq..last_seq (no station, batch
    or label: replay needs none of them), from the delivery blocks when they hold the range
    (data/record_blocks.py; `blocks=False`: never), else from the rows. Rows of several feature
    lists go through `records`, which maps them by name."""
    db = open_reader(path)
    try:
        sets = {int(i): tuple(json.loads(names)) for i, names in db.execute(
            "SELECT id, names FROM feature_sets")}  # fmt: skip
        categories = read_categories(db)
        if blocks and len(sets) == 1:
            names = next(iter(sets.values()))
            found = read_blocks(db.conn, first_seq, last_seq, len(names))
            if found is not None:
                return StoredRecords(found[0], names, found[1], found[2], categories)
        rows = db.execute(
            "SELECT seq, ts, ts_text, part, model, class, conf, feature_set, features, image"
            " FROM records WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (first_seq, last_seq),
        ).fetchall()
    finally:
        db.close()
    if not rows:
        return records(path, first_seq, last_seq)
    # One comprehension per column: three times faster than transposing with zip(*rows).
    seq, ts, ts_text, part, model, cls, conf, set_ids, blobs, image = (
        [row[k] for row in rows] for k in range(10)
    )
    used = set(set_ids)
    if len(used) != 1:
        return records(path, first_seq, last_seq)
    names = sets[used.pop()]
    table: dict[str, int] = {}
    codes = np.fromiter((table.setdefault(c, len(table)) for c in cls), np.int32, len(cls))
    batch = RecordBatch(
        features=unpack_rows(blobs, len(names)),
        class_codes=codes,
        conf=np.array(conf, dtype=np.float64),
        ts=np.array(ts, dtype=np.float64),
        ts_text=tuple(ts_text),
        part=tuple(part),
        batch=(),
        model=tuple(model),
        image=tuple(image),
    )
    return StoredRecords(np.array(seq, dtype=np.int64), names, tuple(table), batch, categories)


def selected_records(path: str | Path, selection: Selection) -> StoredRecords:
    """A selection's records; a batch's or range's records may interleave with others', so the
    rows between its first and last seq are filtered to the selection."""
    span = selected_seqs(path, selection)
    if span is None:
        return load_records(path, since_seq=1 << 62, limit=0)
    stored = records(path, *span)
    keep = np.ones(len(stored), bool)
    if selection.batch is not None:
        keep &= np.array([b == selection.batch for b in stored.batch.batch], bool)
    if selection.start is not None:
        keep &= stored.batch.ts >= selection.start
    if selection.end is not None:
        keep &= stored.batch.ts <= selection.end
    return subset(stored, np.flatnonzero(keep))


def subset(stored: StoredRecords, rows: np.ndarray) -> StoredRecords:
    """Some rows of stored records (an index array)."""
    if len(rows) == len(stored):
        return stored
    batch = stored.batch.select(rows)
    return StoredRecords(
        stored.seq[rows], stored.feature_names, stored.class_names, batch, stored.categories
    )


def deliveries(path: str | Path, run: int | None = None) -> list[Delivery]:
    """The deliveries of one station run (all when None), in seq order."""
    sql = "SELECT first_seq, last_seq, parts, at, run FROM record_deliveries"
    params: tuple[Any, ...] = ()
    if run is not None:
        sql += " WHERE run = ?"
        params = (run,)
    db = open_reader(path)
    try:
        rows = db.execute(sql + " ORDER BY last_seq", params).fetchall()
    finally:
        db.close()
    return [Delivery(int(a), int(b), int(n), float(t), int(r)) for a, b, n, t, r in rows]


def run_of(path: str | Path, seq: int) -> int:
    """The station run that stored record `seq`; StoreError when the store does not say (a
    store written before replay existed)."""
    rows = _rows(
        path, "SELECT run FROM record_deliveries WHERE last_seq >= ? ORDER BY last_seq LIMIT 1",
        (seq,),
    )  # fmt: skip
    if not rows:
        raise StoreError(
            f"record {seq} has no delivery: this store predates replay (schema v5), or the "
            "record is still being written"
        )
    return int(rows[0]["run"])


def references(path: str | Path, run: int | None = None) -> list[dict[str, Any]]:
    """Reference versions (of one run when given), oldest first, profile JSON included."""
    if run is None:
        return _rows(path, "SELECT * FROM reference_profiles ORDER BY version")
    return _rows(path, "SELECT * FROM reference_profiles WHERE run = ? ORDER BY version", (run,))


def markers(path: str | Path, start_at: float = -np.inf, end_at: float = np.inf) -> Markers:
    """Journal rows, overrides, incidents, audit entries, reference versions and source events
    with wall time in [start_at, end_at]."""
    lo, hi = float(max(start_at, -1e300)), float(min(end_at, 1e300))
    between = "WHERE at BETWEEN ? AND ? ORDER BY seq"
    return Markers(
        alarms=_rows(path, f"SELECT * FROM alarm_journal {between}", (lo, hi)),
        overrides=_rows(path, f"SELECT * FROM overrides {between}", (lo, hi)),
        incidents=_rows(path, f"SELECT * FROM incidents {between}", (lo, hi)),
        audit=_rows(path, f"SELECT * FROM audit {between}", (lo, hi)),
        references=_rows(
            path,
            "SELECT version, created AS at, description, sha256, run FROM reference_profiles"
            " WHERE created BETWEEN ? AND ? ORDER BY version",
            (lo, hi),
        ),
        events=_rows(path, "SELECT * FROM events WHERE at BETWEEN ? AND ? ORDER BY id", (lo, hi)),
    )


def journal_between(path: str | Path, after_seq: int, before_seq: float) -> list[dict[str, Any]]:
    """Alarm journal rows whose store seq lies strictly between two record seqs: the rows and the
    records share one sequence, so this places a journal row among the records exactly."""
    hi = float(min(before_seq, 2**62))
    return _rows(
        path, "SELECT * FROM alarm_journal WHERE seq > ? AND seq < ? ORDER BY seq",
        (int(after_seq), hi),
    )  # fmt: skip


def incident_span(path: str | Path, incident: str) -> tuple[float, float]:
    """Wall times from the incident's first row to its last (a unit for replay)."""
    rows = _rows(
        path,
        "SELECT min(at) AS a, max(at) AS b FROM incidents WHERE incident = ?",
        (incident,),
    )
    if not rows or rows[0]["a"] is None:
        raise StoreError(f"no incident {incident!r} in the store")
    return float(rows[0]["a"]), float(rows[0]["b"])


def class_mix(stored: StoredRecords) -> Counter[str]:
    names = stored.class_names
    return Counter(names[c] for c in stored.batch.class_codes.tolist())


def snapshot_of(row: dict[str, Any]) -> dict[str, Any]:
    """An incident row's frozen snapshot, decoded."""
    return dict(json.loads(row.get("snapshot") or "{}"))
