"""An incident as the replay unit: the parts from its first alarm (less a margin) to its close.

An incident is opened by Escalate or by policy, after one or more alarms; a quality engineer
replaying it wants the line from a little before the first of those alarms to the moment the
incident was closed (to the store's last part while it is open). The margin is the detectors'
window (`window.parts`): the parts that made the first alarm. Store rows share one sequence
(records, the alarm journal, incidents): a close's `seq` places it between two records exactly,
an alarm's after the delivery of records it was raised in, so the range opens a window before
that delivery (a window and at most one delivery before the alarm). `incident_range` gives the records' selection (a time range of
record timestamps, as `--from/--to`) and a summary for the batch list's heading. Reads through
read-only connections; the caller's thread runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.config import Config
from data import replay as stored
from data.reading import StoreError, open_reader

CLOSED = ("closed", "resolved")


@dataclass(frozen=True)
class IncidentRange:
    """The records an incident covers, and what the heading says of them."""

    incident: str
    first_seq: int
    last_seq: int
    selection: stored.Selection
    first_alarm: str  # id of the first linked alarm ("" when opened by hand without one)
    closed: bool
    summary: stored.BatchSummary


def incident_range(path: str | Path, config: Config, incident: str) -> IncidentRange:
    """The range to replay for `incident`; StoreError naming it when the store has no such
    incident or no record in its range."""
    rows = _query(path, "SELECT * FROM incidents WHERE incident = ? ORDER BY seq", (incident,))
    if not rows:
        known = [r["incident"] for r in _query(path, "SELECT DISTINCT incident FROM incidents")]
        raise StoreError(
            f"no incident {incident!r} in the store"
            + (f" (it has {', '.join(known[:8])})" if known else " (it has none)")
        )
    linked = set(json.loads(rows[-1]["snapshot"] or "{}").get("alarms", ()))
    opened = int(rows[0]["seq"])
    raised = [
        r
        for r in _query(
            path,
            "SELECT seq, alarm FROM alarm_journal WHERE state = 'raised' AND seq <= ? ORDER BY seq",
            (opened,),
        )  # fmt: skip
        if r["alarm"] in linked
    ]
    start = int(raised[0]["seq"]) if raised else opened
    closing = [r for r in rows if r["status"] in CLOSED]
    end = int(closing[0]["seq"]) if closing else 1 << 62
    # A journal row follows the delivery of records its alarm was raised in: the range opens a
    # window before that delivery's first record, so at least a window before the alarm.
    delivery = _query(
        path,
        "SELECT first_seq FROM record_deliveries WHERE last_seq < ? ORDER BY last_seq DESC LIMIT 1",
        (start,),
    )  # fmt: skip
    opening = int(delivery[0]["first_seq"]) + 1 if delivery and raised else start
    first = _record_before(path, opening, config.window.parts)
    last = _record_before(path, end, 0)
    if first is None or last is None or last[0] < first[0]:
        raise StoreError(f"incident {incident!r}: the store holds no record in its range")
    selection = stored.Selection(start=first[1], end=last[1])
    summary = _summary(path, incident, selection, first[0], last[0])
    return IncidentRange(
        incident,
        first[0],
        last[0],
        selection,
        str(raised[0]["alarm"]) if raised else "",
        bool(closing),
        summary,
    )


def _record_before(path: str | Path, seq: int, back: int) -> tuple[int, float] | None:
    """(seq, ts) of the record `back` records before the last one stored before row `seq`
    (the store's first record when there are fewer)."""
    rows = _query(
        path,
        "SELECT seq, ts FROM records WHERE seq < ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
        (seq, max(back, 0)),
    )
    if not rows:
        rows = _query(
            path, "SELECT seq, ts FROM records WHERE seq < ? ORDER BY seq LIMIT 1", (seq,)
        )
    return (int(rows[0]["seq"]), float(rows[0]["ts"])) if rows else None


def _summary(
    path: str | Path, incident: str, selection: stored.Selection, first: int, last: int
) -> stored.BatchSummary:
    """The range as a row of the batch list (its name: the incident)."""
    records = stored.selected_records(path, selection)
    mix = stored.class_mix(records)
    parts = len(records)
    good = sum(n for c, n in mix.items() if c in stored.GOOD_CLASSES)
    journal = _query(
        path,
        "SELECT alarm FROM alarm_journal WHERE state = 'raised' AND seq BETWEEN ? AND ? ORDER BY seq",
        (first, last),
    )
    part_ids = set(records.batch.part)
    overrides = sum(1 for o in _query(path, "SELECT part FROM overrides") if o["part"] in part_ids)
    ts = records.batch.ts_text
    return stored.BatchSummary(
        batch=f"incident {incident}",
        first_seq=first,
        last_seq=last,
        first_ts=ts[0] if ts else "",
        last_ts=ts[-1] if ts else "",
        parts=parts,
        models=tuple(sorted({m for m in records.batch.model if m})),
        class_mix=dict(mix.most_common()),
        reject_rate=(parts - good) / parts if parts else 0.0,
        alarms=len(journal),
        alarm_ids=tuple(dict.fromkeys(r["alarm"] for r in journal)),
        overrides=overrides,
        incidents=1,
    )


def _query(path: str | Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    db = open_reader(path)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()
