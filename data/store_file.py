"""Any store file a quality engineer opens for replay: checked, read-only, with a clear answer.

`look_at` opens a file through SQLite's read-only URI mode (`?mode=ro`, data/reading.py) and
says what it is: a Linewatch store (its schema, station, records and time span), or why it
cannot be replayed here, in words that say what to do: no such file, not a SQLite database (a
JSON Lines stream, say), a SQLite file that is not a Linewatch store, a store written by a newer
Linewatch, one older than replay, one locked by another program, a damaged one. `explain` turns
a SQLite error met later (while reading a damaged store) into the same kind of sentence. Nothing
here writes to the file. Safe from any thread.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from data.reading import StoreError, connect
from data.schema import LATEST_VERSION

SQLITE_HEADER = b"SQLite format 3\x00"
REPLAY_SINCE = 5  # schema step that added record_deliveries (data/schema.py `_v5_replay`)
NEEDED = ("records", "record_deliveries", "alarm_journal", "overrides")
LOCK_WAIT_MS = 1500  # how long a look waits for another program's lock


@dataclass(frozen=True)
class StoreFile:
    """A store that can be replayed, as its header line says it."""

    path: str
    schema: int
    stations: tuple[str, ...]
    records: int
    first_ts: float | None
    last_ts: float | None

    def heading(self) -> str:
        """One line for a window's header: which store, and what it holds."""
        station = ", ".join(self.stations) or "no station id"
        return f"{self.path} · {station} · {self.records:,} records"


def look_at(path: str | Path) -> StoreFile:
    """The store at `path`, checked for replay; StoreError with what to do when it cannot be."""
    path = str(Path(path).expanduser())
    file = Path(path)
    if not file.is_file():
        raise StoreError(f"{path}: no such file")
    try:
        with file.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StoreError(f"{path}: cannot be read ({error.strerror or error})") from error
    if head != SQLITE_HEADER:
        raise StoreError(_not_sqlite(path, head))
    try:
        return _checked(path)
    except sqlite3.Error as error:
        raise StoreError(explain(error, path)) from error


def _checked(path: str) -> StoreFile:
    conn = connect(path, readonly=True)
    try:
        conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if schema > LATEST_VERSION:
            raise StoreError(
                f"{path} was written by a newer Linewatch (store schema v{schema}; this one "
                f"reads up to v{LATEST_VERSION}): open it with that version, or export the batch "
                "there (main.py export)"
            )
        if "records" not in tables:
            raise StoreError(
                f"{path} is a SQLite database but not a Linewatch store (it has no records table)"
            )
        if schema < REPLAY_SINCE or not set(NEEDED) <= tables:
            raise StoreError(
                f"{path} is a Linewatch store from before replay (schema v{schema}): a station "
                "of this version migrates it when it opens it; do that on a copy, then open the "
                "copy here"
            )
        count, first, last = conn.execute(
            "SELECT count(*), min(ts), max(ts) FROM records"
        ).fetchone()
        stations = tuple(
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT station FROM records WHERE station IS NOT NULL"
            )
        )
    finally:
        conn.close()
    return StoreFile(path, schema, stations, int(count), first, last)


def _not_sqlite(path: str, head: bytes) -> str:
    if head.lstrip()[:1] in (b"{", b"["):
        return (
            f"{path} is not a Linewatch store: it looks like a JSON Lines stream "
            "(run `main.py analyze` on it)"
        )
    return f"{path} is not a Linewatch store (not a SQLite database)"


def explain(error: BaseException, path: str) -> str:
    """A SQLite error met reading `path`, as a sentence that says what to do."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return (
            f"{path} is locked by another program ({text}): try again when it has finished, "
            "or open a copy of the file"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            f"{path} is damaged ({text}): open a backup or a copy from the plant database; "
            "`sqlite3 FILE .recover` may save what is left"
        )
    if "unable to open" in text:
        return f"{path} cannot be opened read-only ({text}): check the file's permissions"
    return f"{path} cannot be read ({text})"
