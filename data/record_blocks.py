"""Delivery blocks: each stored chunk of records kept again as a few contiguous arrays.

The `records` table keeps one row per part (WIRE.md's record, what the plant database receives);
reading a million of them back through sqlite3 costs a Python tuple per row. The writer also
keeps every chunk of records it appends as ONE `record_blocks` row (schema v7): the features as
an n × width little-endian float64 matrix, conf and ts as float64 arrays, class codes as int32
into the block's own class list, and the text columns replay shows (ts_text, part, model, image)
as one string (split by ASCII separators, or JSON when a value is NULL or holds one). Replay reads a run as a few thousand such rows (`read_blocks`) and joins
them with `np.frombuffer`, five to ten times faster than row by row.

The blocks are a local cache of the records table, never its replacement: a store written before
v7, a range with a block missing (purged, or a chunk written row by row) or records of several
feature lists read through the rows as before. `block_row` and `purge_records` run on the store's
writer thread inside its transaction; `read_blocks` on the caller's own read-only connection.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np

from console.records import RecordBatch
from data.schema import FEATURE_DTYPE

INSERT_BLOCK = (
    "INSERT INTO record_blocks (last_seq, first_seq, n, feature_set, features, conf, ts,"
    " classes, class_codes, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
CODE_DTYPE = np.dtype("<i4")
# The text columns' plain form: a marker, then columns and values split by ASCII separators.
PLAIN, COLUMN, FIELD = "\x1d", "\x1e", "\x1f"


def block_row(
    first_seq: int, batch: RecordBatch, classes: list[str], feature_set: int
) -> tuple[Any, ...]:
    """The `record_blocks` row of records first_seq.. (`classes`: each record's class name)."""
    n = len(batch)
    names: dict[str, int] = {}
    codes = np.fromiter((names.setdefault(c, len(names)) for c in classes), CODE_DTYPE, n)
    columns = [
        list(batch.ts_text),
        list(batch.part),
        list(batch.model) if len(batch.model) == n else None,
        list(batch.image) if len(batch.image) == n else None,
    ]
    return (
        first_seq + n - 1,
        first_seq,
        n,
        feature_set,
        np.ascontiguousarray(batch.features, dtype=FEATURE_DTYPE).tobytes(),
        np.ascontiguousarray(batch.conf, dtype=FEATURE_DTYPE).tobytes(),
        np.ascontiguousarray(batch.ts, dtype=FEATURE_DTYPE).tobytes(),
        json.dumps(list(names), separators=(",", ":")),
        codes.tobytes(),
        _text(columns),
    )


def _text(columns: list[list[Any] | None]) -> str:
    """The text columns as one string: separated by control characters when no value is NULL
    or holds one (str.split reads them back ten times faster than JSON), else as JSON."""
    plain = all(
        isinstance(v, str) and FIELD not in v and COLUMN not in v
        for column in columns
        if column is not None
        for v in column
    )
    if not plain:
        return json.dumps(columns, separators=(",", ":"))
    return PLAIN + COLUMN.join(_plain(column) for column in columns)


def _plain(column: list[str] | None) -> str:
    """One column's plain form: "-" when missing, "=" and the value when every record has the
    same (a model name), else "+" and the values."""
    if column is None:
        return "-"
    if column and column.count(column[0]) == len(column):
        return "=" + column[0]
    return "+" + FIELD.join(column)


def _columns(text: str, n: int) -> list[list[Any]]:
    """The four text columns of a block back (a missing column: NULL for every record)."""
    if not text.startswith(PLAIN):
        return [[None] * n if c is None else c for c in json.loads(text)]
    found: list[list[Any]] = []
    for column in text[1:].split(COLUMN):
        kind, values = column[:1], column[1:]
        if kind == "+" and n:
            found.append(values.split(FIELD))
        else:
            found.append([values if kind == "=" else None] * n)
    return found


def read_blocks(
    conn: sqlite3.Connection, first_seq: int, last_seq: int, width: int
) -> tuple[np.ndarray, tuple[str, ...], RecordBatch] | None:
    """(seq, class names, batch) of records first_seq..last_seq from their blocks, exactly as
    the rows hold them; None when the blocks do not tile the range with one feature list (the
    caller reads the rows then). Each block is one delivery: they must match the deliveries."""
    where = "WHERE last_seq >= ? AND first_seq <= ? ORDER BY last_seq"
    try:
        spans = conn.execute(
            f"SELECT first_seq, last_seq, n, feature_set FROM record_blocks {where}",
            (first_seq, last_seq),
        ).fetchall()
    except sqlite3.OperationalError:  # a store before v7 has no blocks
        return None
    delivered = conn.execute(
        f"SELECT first_seq, last_seq FROM record_deliveries {where}", (first_seq, last_seq)
    ).fetchall()
    if not spans or [s[:2] for s in spans] != delivered or len({s[3] for s in spans}) != 1:
        return None
    if any(n != b - a + 1 for a, b, n, _ in spans):
        return None
    blocks = _Blocks(sum(s[2] for s in spans), width)
    rows = conn.execute(
        f"SELECT n, features, conf, ts, classes, class_codes, text FROM record_blocks {where}",
        (first_seq, last_seq),
    )
    for row in rows:  # one block at a time: its bytes are freed as soon as they are copied
        if not blocks.add(*row):
            return None
    seq = np.concatenate([np.arange(a, b + 1, dtype=np.int64) for a, b, _, _ in spans])
    cut = slice(
        int(np.searchsorted(seq, first_seq)), int(np.searchsorted(seq, last_seq, side="right"))
    )
    return seq[cut], tuple(blocks.classes), blocks.batch(cut)


class _Blocks:
    """Blocks copied one after the other into whole columns (one copy of every value)."""

    def __init__(self, total: int, width: int) -> None:
        self.width = width
        self.features = np.empty((total, width), np.float64)
        self.conf = np.empty(total, np.float64)
        self.ts = np.empty(total, np.float64)
        self.codes = np.empty(total, np.int32)
        self.classes: dict[str, int] = {}
        self.text: list[list[Any]] = [[], [], [], []]
        self.at = 0

    def add(
        self, n: int, features: bytes, conf: bytes, ts: bytes, classes: str, codes: bytes,
        text: str,
    ) -> bool:  # fmt: skip
        """Copy one block in; False when it is not the size it says."""
        at, end = self.at, self.at + n
        size = FEATURE_DTYPE.itemsize
        if len(features) != n * self.width * size or len(conf) != n * size or len(ts) != n * size:
            return False
        self.features[at:end] = np.frombuffer(features, FEATURE_DTYPE).reshape(n, self.width)
        self.conf[at:end] = np.frombuffer(conf, FEATURE_DTYPE)
        self.ts[at:end] = np.frombuffer(ts, FEATURE_DTYPE)
        table = self.classes
        remap = np.array([table.setdefault(c, len(table)) for c in json.loads(classes)], np.int32)
        if n:
            self.codes[at:end] = remap[np.frombuffer(codes, CODE_DTYPE)]
        for column, values in zip(self.text, _columns(text, n), strict=True):
            column.extend(values)
        self.at = end
        return True

    def batch(self, cut: slice) -> RecordBatch:
        ts_text, part, model, image = (tuple(column[cut]) for column in self.text)
        return RecordBatch(
            features=self.features[cut],
            class_codes=self.codes[cut],
            conf=self.conf[cut],
            ts=self.ts[cut],
            ts_text=ts_text,
            part=part,
            batch=(),
            model=model,
            image=image,
        )


def purge_records(conn: sqlite3.Connection, high: int, before: float, limit: int) -> int:
    """Delete at most `limit` records synced (seq <= high) and older than `before`, and the
    blocks holding any of them; how many records went (store writer's transaction)."""
    chosen = "SELECT seq FROM records WHERE seq <= ? AND ts < ? ORDER BY seq LIMIT ?"
    purged = conn.execute(f"SELECT max(seq) FROM ({chosen})", (high, before, limit)).fetchone()
    gone = conn.execute(
        f"DELETE FROM records WHERE seq IN ({chosen})", (high, before, limit)
    ).rowcount
    if purged[0] is not None:
        conn.execute("DELETE FROM record_blocks WHERE first_seq <= ?", (int(purged[0]),))
    return int(gone)
