"""The audit trail: who did what, written with the action itself, chained, and checked.

An audit entry records one human action or configuration change: who, in which role, what, the
old and new value, the reason, the signature meaning (review, approval, responsibility) when the
action was signed, the station's part seq at that moment and the UTC time. `write_audited` runs
on the store's writer thread INSIDE the transaction of the action (the override, alarm journal,
incident or user row it audits), so an action is never on disk without its entry, nor the reverse.

Each entry's hash covers the previous entry's hash (SHA-256, `data.schema.chain_hash`), so
editing, inserting, deleting or reordering rows breaks the chain at that row. Whoever can write
the file could recompute every hash, though, and deleting the newest rows leaves a valid chain:
so the head is anchored OUTSIDE the file. Every audit row travels in the outbox with its hash
(the plant database holds the chain once sync runs), every export prints the `Anchor` (last seq,
head hash, entry count), and `verify_trail` checks the chain against such an anchor. Pure
functions; the verification reads through its own read-only connection (any thread).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from data.reading import StoreError, open_reader
from data.schema import GENESIS_HASH, audit_entry, canonical_json, chain_hash

MEANINGS = ("review", "approval", "responsibility")
# Tables an audited action may write, and the outbox kind their rows travel as (None: local).
AUDITED_TABLES = {
    "overrides": "override",
    "alarm_journal": "alarm",
    "incidents": "incident",
    "users": None,
}
TRAIL_COLUMNS = ("seq", "at", "user_name", "role", "action", "detail", "prev_hash", "hash")
_dumps = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """What one audit entry says; `old`/`new` are JSON-able values (never a PIN or a hash)."""

    user: str
    role: str
    action: str
    target: str = ""
    old: Any = None
    new: Any = None
    reason: str = ""
    meaning: str = ""  # the signature's meaning when the action was signed
    station_seq: int | None = None  # parts accepted by the station when it happened
    at: float = field(default_factory=time.time)

    def detail(self) -> dict[str, Any]:
        utc = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
        out = {"target": self.target, "old": self.old, "new": self.new, "reason": self.reason}
        out |= {"meaning": self.meaning, "station_seq": self.station_seq, "utc": utc + "Z"}
        return json.loads(canonical_json(out))


@dataclass(frozen=True, slots=True)
class Write:
    """One row an audited action writes: inserted, or (with `key`) updated where key matches."""

    table: str
    row: dict[str, Any]
    key: str = ""


@dataclass(frozen=True, slots=True)
class Anchor:
    """The head of the chain as seen at some moment, kept outside the store file."""

    seq: int
    hash: str
    entries: int

    def wire(self) -> dict[str, Any]:
        return {
            "event": "audit_anchor",
            "seq": self.seq,
            "hash": self.hash,
            "entries": self.entries,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    ok: bool
    first_bad_seq: int | None
    head: Anchor | None

    def wire(self) -> dict[str, Any]:
        return {
            "event": "audit_verify",
            "entries": self.entries,
            "ok": self.ok,
            "first_bad_seq": self.first_bad_seq,
        }


def write_audited(
    conn: sqlite3.Connection,
    writes: Sequence[Write],
    facts: AuditFacts,
    next_seq: Callable[[], int],
    prev_hash: str,
) -> tuple[list[int], str]:
    """Writer thread, inside the action's transaction: its rows, then the chained entry.

    Returns the seqs given (one per outbox row written, the audit entry's last) and the new head.
    """
    seqs: list[int] = []
    for write in writes:
        if write.table not in AUDITED_TABLES:
            raise ValueError(f"table {write.table!r} is not written by audited actions")
        names = list(write.row)
        if write.key:
            sets = ", ".join(f"{n} = ?" for n in names if n != write.key)
            values = [write.row[n] for n in names if n != write.key] + [write.row[write.key]]
            cursor = conn.execute(f"UPDATE {write.table} SET {sets} WHERE {write.key} = ?", values)
            if cursor.rowcount != 1:
                raise ValueError(f"no {write.table} row with {write.key} {write.row[write.key]!r}")
            continue
        kind = AUDITED_TABLES[write.table]
        values = [write.row[n] for n in names]
        if kind is not None:
            seq = next_seq()
            names, values = ["seq", *names], [seq, *values]
            conn.execute("INSERT INTO outbox (seq, kind) VALUES (?, ?)", (seq, kind))
            seqs.append(seq)
        marks = ", ".join("?" * len(names))
        conn.execute(f"INSERT INTO {write.table} ({', '.join(names)}) VALUES ({marks})", values)
    seq = next_seq()
    at, detail = float(facts.at), facts.detail()
    entry = audit_entry(seq, at, facts.user, facts.role, facts.action, detail)
    digest = chain_hash(prev_hash, entry)
    conn.execute(
        "INSERT INTO audit (seq, at, user_name, role, action, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, facts.user, facts.role, facts.action, canonical_json(detail), prev_hash, digest),
    )
    conn.execute("INSERT INTO outbox (seq, kind) VALUES (?, 'audit')", (seq,))
    seqs.append(seq)
    return seqs, digest


def entry_hash(prev_hash: str, row: Sequence[Any]) -> str:
    """The hash a stored row should carry: its canonical text rebuilt without parsing `detail`
    (the stored detail is canonical JSON already); a row whose text is not canonical is checked
    the slow way, so only a real change of content fails."""
    seq, at, user, role, action, detail = row[:6]
    text = (
        f'{{"action":{_dumps(action)},"at":{_dumps(at)},"detail":{detail},'
        f'"role":{_dumps(role)},"seq":{_dumps(seq)},"user_name":{_dumps(user)}}}'
    )
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def chain_rows(rows: Iterable[Sequence[Any]], prev: str = GENESIS_HASH) -> list[tuple]:
    """(seq, at, user, role, action, detail text) rows chained from `prev`: full trail rows.
    For bulk loads (tests, benchmarks); `detail` must be canonical JSON text."""
    out = []
    for row in rows:
        digest = entry_hash(prev, row)
        out.append((*row[:6], prev, digest))
        prev = digest
    return out


def _slow_hash(prev_hash: str, row: Sequence[Any]) -> str | None:
    seq, at, user, role, action, detail = row[:6]
    try:
        return chain_hash(prev_hash, audit_entry(seq, at, user, role, action, json.loads(detail)))
    except (TypeError, ValueError):
        return None


def verify_rows(
    rows: Iterable[Sequence[Any]], anchor: Anchor | None = None, prev: str = GENESIS_HASH
) -> Verdict:
    """Walk rows (TRAIL_COLUMNS order, by seq) from `prev` (the genesis hash for a whole trail);
    with an anchor, the entry at `anchor.seq` must carry `anchor.hash` and be the
    `anchor.entries`-th one walked."""
    entries = 0
    last_seq = -1
    anchored = anchor is None or anchor.entries == 0
    first_bad: int | None = None
    for row in rows:
        seq = row[0]
        entries += 1
        if first_bad is not None:
            continue
        good = (
            isinstance(seq, int)
            and seq > last_seq
            and row[6] == prev
            and (row[7] == entry_hash(prev, row) or row[7] == _slow_hash(prev, row))
        )
        if good and anchor is not None and seq == anchor.seq:
            good = row[7] == anchor.hash and entries == anchor.entries
            anchored = good
        elif good and anchor is not None and not anchored and seq > anchor.seq:
            good = False  # the anchored entry is gone
        if not good:
            first_bad = int(seq) if isinstance(seq, int) else last_seq + 1
            continue
        prev, last_seq = row[7], seq
    if first_bad is None and not anchored:
        first_bad = anchor.seq if anchor is not None else None
    head = Anchor(last_seq, prev, entries) if entries and first_bad is None else None
    return Verdict(entries, first_bad is None, first_bad, head)


def trail_rows(path: str | Path, batch: int = 50_000) -> Iterable[tuple]:
    """The stored audit rows in seq order, streamed from a read-only connection."""
    db = open_reader(path)
    try:
        cursor = db.conn.execute(f"SELECT {', '.join(TRAIL_COLUMNS)} FROM audit ORDER BY seq")
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        db.close()


def verify_trail(path: str | Path, anchor: Anchor | None = None) -> Verdict:
    """`main.py audit verify`: recompute the chain of the store at `path`."""
    try:
        return verify_rows(trail_rows(path), anchor)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot read the audit trail of {path}: {error}") from error


def read_anchor(text: str) -> Anchor:
    """An anchor from the JSON an export printed (`audit_anchor`) or the plant's copy."""
    try:
        data = json.loads(text.strip().splitlines()[-1])
        return Anchor(int(data["seq"]), str(data["hash"]), int(data["entries"]))
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(
            'an anchor is one JSON line {"seq":N,"hash":"...","entries":N} as `audit export` prints'
        ) from error


def export_csv(path: str | Path, out: TextIO) -> Anchor:
    """The trail as CSV (one row per entry, detail unfolded); returns the anchor to print."""
    writer = csv.writer(out)
    detail_keys = ("target", "old", "new", "reason", "meaning", "station_seq", "utc")
    writer.writerow([*TRAIL_COLUMNS[:5], *detail_keys, "prev_hash", "hash"])
    prev, seq, entries = GENESIS_HASH, 0, 0
    for row in trail_rows(path):
        detail = json.loads(row[5])
        values = [detail.get(k) for k in detail_keys]
        values = [canonical_json(v) if isinstance(v, dict | list) else v for v in values]
        writer.writerow([*row[:5], *values, row[6], row[7]])
        prev, seq, entries = row[7], row[0], entries + 1
    return Anchor(seq, prev, entries)


def trail(path: str | Path, limit: int = 1000) -> list[dict[str, Any]]:
    """The newest entries, newest first, detail unfolded (the audit screen)."""
    db = open_reader(path)
    try:
        rows = db.conn.execute(
            f"SELECT {', '.join(TRAIL_COLUMNS)} FROM audit ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        db.close()
    return [dict(zip(TRAIL_COLUMNS, r, strict=True)) | json.loads(r[5]) for r in rows]
