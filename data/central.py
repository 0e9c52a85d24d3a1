"""The plant's central PostgreSQL: schema `linewatch` (WIRE.md §7), its migrations, and how to reach it.

This module owns the central tables, keyed (station, seq) across all of them, the numbered
migrations that create them (`linewatch.schema_version` holds one row per applied step; every
step runs in one transaction under an advisory lock, so two stations running `sync --init` at
once cannot race), and the connection settings: the URL from `[sync] url`, the password from
`PGPASSWORD`, a `.pgpass` or `[sync] password_file` (never from the config; a password file that
group or others can read is refused), TLS from `sslmode`/`sslrootcert`. Pure functions over a
psycopg connection; whichever thread holds the connection runs them (the sync thread, the CLI).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_dumps

from console.config import ConfigError, Sync, check_sync

SCHEMA = "linewatch"
# Serialises migrations of concurrent `sync --init` runs (any constant unique to Linewatch).
MIGRATION_LOCK = 0x4C494E45
# Server-side limits for our session: an abandoned transaction (our side cut) ends by itself,
# and a lock held by such a transaction is not waited on for ever.
SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=60000 -c lock_timeout=30000"

# Every table that holds outbox rows, with the seq-keyed columns after (station, seq).
OUTBOX_TABLES = ("records", "overrides", "alarm_journal", "incidents", "audit", "refused")

_V1 = """
CREATE TABLE IF NOT EXISTS linewatch.records (
    station text NOT NULL, seq bigint NOT NULL,
    ts timestamptz NOT NULL, ts_text text, part text NOT NULL, batch text, model text,
    class text NOT NULL, conf double precision NOT NULL, features jsonb NOT NULL,
    image text, label text, origin text,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE INDEX IF NOT EXISTS records_station_ts ON linewatch.records (station, ts);
CREATE TABLE IF NOT EXISTS linewatch.overrides (
    station text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL, part text NOT NULL,
    old_class text, old_conf double precision, new_class text NOT NULL, reason text NOT NULL,
    note text, user_name text NOT NULL, role text, model text,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS linewatch.alarm_journal (
    station text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL, alarm text NOT NULL,
    source text, detector text, state text NOT NULL, priority text, value double precision,
    user_name text, note text,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS linewatch.incidents (
    station text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL, incident text NOT NULL,
    status text NOT NULL, severity text, owner text, summary text, snapshot text,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS linewatch.audit (
    station text NOT NULL, seq bigint NOT NULL, ts timestamptz NOT NULL,
    at_epoch double precision NOT NULL, user_name text NOT NULL, role text,
    action text NOT NULL, detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS linewatch.refused (
    station text NOT NULL, seq bigint NOT NULL, kind text NOT NULL, reason text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS linewatch.sync_state (
    station text PRIMARY KEY, high_water bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now());
COMMENT ON COLUMN linewatch.sync_state.high_water IS
    'every seq <= high_water of this station is in one of the outbox tables or in refused';
COMMENT ON COLUMN linewatch.audit.at_epoch IS
    'the entry''s time exactly as its hash covers it (seconds since 1970, float64)';
"""

# Step i (1-based) brings the schema from version i-1 to i. Only ever append.
MIGRATIONS: tuple[str, ...] = (_V1,)
LATEST_VERSION = len(MIGRATIONS)


class CentralSchemaError(RuntimeError):
    """The central schema is missing, or newer than this Linewatch understands."""


def schema_version(conn: psycopg.Connection) -> int:
    """The central schema's version; 0 when `sync --init` never ran."""
    row = conn.execute("SELECT to_regclass('linewatch.schema_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM linewatch.schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection) -> tuple[int, int]:
    """Create or bring the central schema up to date; returns (version before, version now)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS linewatch")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS linewatch.schema_version ("
            " version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    before = schema_version(conn)
    if before > LATEST_VERSION:
        raise CentralSchemaError(
            f"central schema v{before} is newer than this Linewatch (v{LATEST_VERSION})"
        )
    for number in range(before + 1, LATEST_VERSION + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if schema_version(conn) >= number:
                continue  # another station applied it while we waited for the lock
            conn.execute(MIGRATIONS[number - 1])
            conn.execute("INSERT INTO linewatch.schema_version (version) VALUES (%s)", (number,))
    return before, schema_version(conn)


def check_schema(conn: psycopg.Connection) -> None:
    """CentralSchemaError unless the central schema is exactly the one this Linewatch writes."""
    version = schema_version(conn)
    if version == 0:
        raise CentralSchemaError(
            "the plant database has no linewatch schema: run main.py sync --init --config FILE"
        )
    if version < LATEST_VERSION:
        raise CentralSchemaError(
            f"central schema v{version} is older than v{LATEST_VERSION}: "
            "run main.py sync --init --config FILE"
        )
    if version > LATEST_VERSION:
        raise CentralSchemaError(
            f"central schema v{version} is newer than this Linewatch (v{LATEST_VERSION}): "
            "upgrade this station"
        )


# --- reaching the database --------------------------------------------------------------------


def read_password_file(path: str) -> str:
    """The password in `path`; ConfigError when others could read it or it cannot be read."""
    key = "sync.password_file"
    try:
        info = os.stat(path)
    except OSError as error:
        raise ConfigError(
            key, f"cannot read {path} ({error.strerror})", "give the path of an existing file"
        ) from error
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            key,
            f"{path} can be read by group or others (mode {stat.S_IMODE(info.st_mode):04o})",
            f"chmod 600 {path} (readable by the service user only)",
        )
    if info.st_uid != os.geteuid():
        raise ConfigError(
            key,
            f"{path} belongs to uid {info.st_uid}, not to the service user (uid {os.geteuid()})",
            f"chown the file to the user Linewatch runs as and chmod 600 {path}",
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(key, f"cannot read {path} ({error})", "give a UTF-8 text file") from error
    password = text.strip("\r\n")
    if not password:
        raise ConfigError(key, f"{path} is empty", "write the password on the file's first line")
    return password.splitlines()[0]


def connection_options(sync: Sync) -> dict[str, Any]:
    """Keyword arguments for `psycopg.connect`: URL, password source, TLS, timeouts."""
    check_sync(sync)
    options: dict[str, Any] = {
        "conninfo": sync.url,
        "connect_timeout": max(1, round(sync.connect_timeout)),
        "application_name": "linewatch-sync",
        "options": SESSION_OPTIONS,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    if sync.password_file:
        options["password"] = read_password_file(sync.password_file)
    if sync.sslmode:
        options["sslmode"] = sync.sslmode
    if sync.sslrootcert:
        if sync.sslrootcert != "system" and not Path(sync.sslrootcert).is_file():
            raise ConfigError(
                "sync.sslrootcert",
                f"no CA certificate at {sync.sslrootcert}",
                "give the path of the plant CA's certificate (PEM)",
            )
        options["sslrootcert"] = sync.sslrootcert
    return options


def connect(sync: Sync, **extra: Any) -> psycopg.Connection:
    """A new connection to the plant database (OperationalError when it cannot be reached).

    A str given for a json/jsonb value is taken as JSON text already (the sync makes it with
    orjson), not as a string to quote."""
    conn = psycopg.connect(**{**connection_options(sync), **extra})
    set_json_dumps(_json_text, conn)
    return conn


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def endpoint(sync: Sync) -> tuple[str, int] | None:
    """(host, port) of the first TCP address in the URL, to probe whether the server is back."""
    try:
        params = conninfo_to_dict(sync.url)
    except psycopg.ProgrammingError:
        return None
    host = str(params.get("hostaddr") or params.get("host") or "").split(",")[0]
    if not host or host.startswith("/"):
        return None
    port = str(params.get("port") or "5432").split(",")[0]
    return host, int(port)


def count_through(conn: psycopg.Connection, station: str, low: int, high: int) -> int:
    """How many outbox rows of `station` with low < seq <= high the plant database holds."""
    parts = " + ".join(
        f"(SELECT count(*) FROM linewatch.{table} WHERE station = %(s)s"
        " AND seq > %(lo)s AND seq <= %(hi)s)"
        for table in OUTBOX_TABLES
    )
    row = conn.execute(f"SELECT {parts}", {"s": station, "lo": low, "hi": high}).fetchone()
    return int(row[0]) if row else 0


def first_gap(conn: psycopg.Connection, station: str, low: int, high: int) -> int | None:
    """The first seq in (low, high] missing centrally (None when none is), by range counts."""
    if high <= low or count_through(conn, station, low, high) == high - low:
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if count_through(conn, station, low, middle) == middle - low:
            low = middle
        else:
            high = middle
    return high


OnEvent = Callable[[str, str], None]
