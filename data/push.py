"""One outbox batch into the plant's PostgreSQL, and the session that takes it (sync thread).

`open_session` readies a fresh connection of the plant sync (data/sync.py): the schema checked,
the station's `linewatch.sync_state` row there, its high-water mark read back (refused when the
plant has more of this station than the store: a new store under an old id) and any gap below
it found, so that the mark is lowered and the missing rows are sent again. `insert_batch` writes
one batch inside the caller's transaction: the records by binary COPY straight into
`linewatch.records` (by COPY into a temporary table and `INSERT ... ON CONFLICT DO NOTHING`
when some are there already, as after a gap), the other kinds by batched inserts that skip what
exists. A row PostgreSQL refuses for a reason other than connectivity is found by splitting the
batch and listed in `linewatch.refused`; `quarantine` keeps it locally with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from console.records import Rejected
from data import central
from data.central import CentralSchemaError
from data.outbox import OutboxBatch, row_json

# Errors after which the outcome of what was sent is unknown: reconnect, then replay.
CONNECTIVITY = (psycopg.OperationalError, psycopg.InterfaceError)
# SQLSTATEs that say the central schema, not a row, is wrong: never quarantine for these.
SCHEMA_STATES = {"42P01", "42703", "3F000", "42883", "42501"}
# Binary COPY wire types of an outbox record row (data/outbox.py): the timestamp goes as its
# int64 wire value and the features as jsonb's wire bytes, both made in bulk by the reader.
RECORD_TYPES = [
    "int8", "int8", "text", "text", "text", "text", "text", "float8", "bytea", "text", "text",
    "text",
]  # fmt: skip
RECORD_COLUMNS = "seq, ts, ts_text, part, batch, model, class, conf, features, image, label, origin"
STAGE_COLUMNS = (
    "seq bigint, ts timestamptz, ts_text text, part text, batch text, model text, class text,"
    " conf double precision, features jsonb, image text, label text, origin text"
)
COPY_RECORDS = f"COPY linewatch.records (station, {RECORD_COLUMNS}) FROM STDIN (FORMAT BINARY)"
COPY_STAGE = f"COPY pg_temp.lw_stage ({RECORD_COLUMNS}) FROM STDIN (FORMAT BINARY)"
INSERT_RECORDS = (
    f"INSERT INTO linewatch.records (station, {RECORD_COLUMNS}) SELECT %s, {RECORD_COLUMNS}"
    " FROM pg_temp.lw_stage ON CONFLICT DO NOTHING"
)
INSERT_OTHERS = {
    "override": "INSERT INTO linewatch.overrides (station, seq, ts, part, old_class, old_conf,"
    " new_class, reason, note, user_name, role, model) VALUES (%s, %s, to_timestamp(%s), %s, %s,"
    " %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "alarm": "INSERT INTO linewatch.alarm_journal (station, seq, ts, alarm, source, detector,"
    " state, priority, value, user_name, note) VALUES (%s, %s, to_timestamp(%s), %s, %s, %s, %s,"
    " %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "incident": "INSERT INTO linewatch.incidents (station, seq, ts, incident, status, severity,"
    " owner, summary, snapshot) VALUES (%s, %s, to_timestamp(%s), %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING",
}
INSERT_AUDIT = (
    "INSERT INTO linewatch.audit (station, seq, ts, at_epoch, user_name, role, action, detail,"
    " prev_hash, hash) VALUES (%s, %s, to_timestamp(%s), %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING"
)
INSERT_REFUSED = (
    "INSERT INTO linewatch.refused (station, seq, kind, reason) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT DO NOTHING"
)
MISSING_REASON = "not in the local store any more (purged before the plant database had it)"

Events = Callable[[str, str], None]
Refused = tuple[str, tuple, str]  # (kind, outbox row, reason)


class SyncRefused(RuntimeError):
    """The plant database cannot take this station's rows until someone acts (named in text)."""


def central_high_water(conn: psycopg.Connection, station: str, lock: bool = False) -> int:
    """The station's high-water mark in the plant database (`lock`: under a row lock)."""
    row = conn.execute(
        "SELECT high_water FROM linewatch.sync_state WHERE station = %s"
        + (" FOR UPDATE" if lock else ""),
        (station,),
    ).fetchone()
    return int(row[0]) if row else 0


def set_high_water(conn: psycopg.Connection, station: str, high_water: int) -> None:
    conn.execute(
        "UPDATE linewatch.sync_state SET high_water = %s, updated_at = now() WHERE station = %s",
        (high_water, station),
    )


def open_session(
    conn: psycopg.Connection, station: str, verified: int, last_seq: int, event: Events
) -> int:
    """Ready a fresh connection; returns the high-water mark to push from (a gap lowers it)."""
    central.check_schema(conn)
    conn.execute(
        "INSERT INTO linewatch.sync_state (station, high_water) VALUES (%s, 0)"
        " ON CONFLICT DO NOTHING",
        (station,),
    )
    hw = central_high_water(conn, station)
    if hw > last_seq:
        raise SyncRefused(
            f"the plant database has seq {hw} of station {station!r} but this store ends at "
            f"{last_seq}: a new store under an old station id? Give the station a new "
            "[station] id"
        )
    gap = central.first_gap(conn, station, min(verified, hw), hw)
    if gap is not None:
        with conn.transaction():
            set_high_water(conn, station, gap - 1)
        event("gap", f"seq {gap}..{hw} incomplete centrally: refilling")
        hw = gap - 1
    # Made once per connection, outside any transaction, so no rollback can drop it.
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS lw_stage ({STAGE_COLUMNS}) ON COMMIT DELETE ROWS"
    )
    return hw


def insert_batch(
    conn: psycopg.Connection, station: str, batch: OutboxBatch, event: Events
) -> list[Refused]:
    """Write the batch; rows refused alone (not for connectivity) are listed as refused."""
    try:
        with conn.transaction():
            _write(conn, station, batch, event)
        return []
    except CONNECTIVITY:
        raise
    except Exception as error:  # judged below: schema, or one bad row
        state = getattr(getattr(error, "diag", None), "sqlstate", None)
        if state in SCHEMA_STATES:
            raise CentralSchemaError(
                f"the plant database refused the rows ({one_line(error)}): "
                "run main.py sync --init, or check the sync user's rights"
            ) from error
        items = batch.items()
        if len(items) == 1:
            kind, row = items[0]
            reason = one_line(error).replace("\x00", "")
            conn.execute(INSERT_REFUSED, (station, row[0], kind, reason))
            return [(kind, row, reason)]
        half = len(items) // 2
        refused = []
        for part in (items[:half], items[half:]):
            refused += insert_batch(
                conn, station, OutboxBatch.of(batch.after, batch.last, part), event
            )
        return refused


def _write(conn: psycopg.Connection, station: str, batch: OutboxBatch, event: Events) -> None:
    with conn.cursor() as cursor:
        if batch.records and not _copy_direct(conn, station, batch):
            with cursor.copy(COPY_STAGE) as copy:
                copy.set_types(RECORD_TYPES)
                for row in batch.records:
                    copy.write_row(row)
            cursor.execute(INSERT_RECORDS, (station,))
            cursor.execute("TRUNCATE pg_temp.lw_stage")
        for kind, rows in batch.others.items():
            if kind == "audit":
                values = [(station, r[0], r[1], *r[1:]) for r in rows]
                cursor.executemany(INSERT_AUDIT, values)
            else:
                cursor.executemany(INSERT_OTHERS[kind], [(station, *r) for r in rows])
        if batch.missing:
            cursor.executemany(
                INSERT_REFUSED,
                [(station, seq, "missing", MISSING_REASON) for seq in batch.missing],
            )
            event("error", f"{len(batch.missing)} rows purged locally before syncing")


def _copy_direct(conn: psycopg.Connection, station: str, batch: OutboxBatch) -> bool:
    """The fast path: binary COPY straight into linewatch.records. Under the high-water row
    lock no row above the mark exists, except after a gap was found; then COPY meets a key
    it has and the batch goes the staging way (False)."""
    try:
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(COPY_RECORDS) as copy:
            copy.set_types(["text", *RECORD_TYPES])
            for r in batch.records:
                copy.write_row((station, *r))
    except psycopg.errors.UniqueViolation:
        return False
    return True


def quarantined(refused: list[Refused]) -> list[Rejected]:
    """The refused rows as the store's quarantine keeps them (the missing ones have no row)."""
    return [
        Rejected(
            raw=row_json(kind, row),
            reason="refused by the plant database",
            detail=f"seq {row[0]} ({kind}): {reason}",
            source="plant-sync",
        )
        for kind, row, reason in refused
        if kind != "missing"
    ]


def one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
