"""The local store's schema: numbered migrations, and how values are encoded in its rows.

This module owns the table layout of the station's SQLite file and the step-by-step migrations
that bring any older file up to it (`PRAGMA user_version` = number of steps applied; each step
runs in its own transaction together with the version bump, so a crash mid-migration leaves the
previous version intact). It also owns the encodings shared by the writer and the readers:
feature rows packed as little-endian float64 bytes, canonical JSON, and the audit hash chain.
Pure functions over a `sqlite_utils.Database`; whichever thread holds the connection runs them
(the store writer at start-up, tests).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from sqlite_utils import Database

# Little-endian float64: the BLOB decodes to the exact matrix row on any machine.
FEATURE_DTYPE = np.dtype("<f8")
GENESIS_HASH = "0" * 64
# Non-record rows that travel to the plant database; records are found by their own table.
OUTBOX_KINDS = ("override", "alarm", "incident", "audit")


class SchemaError(RuntimeError):
    """The file's schema cannot be used by this version (newer, or a migration failed)."""


def _v1_core(db: Database) -> None:
    """Records, quarantine, events, the shared sequence, outbox, overrides, alarm journal."""
    _v1_line(db)
    _v1_outbox(db)


def _v1_line(db: Database) -> None:
    """What the line sends: records, quarantined lines, source events."""
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null=["value"])
    db.table("feature_sets").create({"id": int, "names": str}, pk="id", not_null=["names"])
    db.table("records").create(
        {
            "seq": int,
            "ts": float,
            "ts_text": str,
            "station": str,
            "part": str,
            "batch": str,
            "model": str,
            "class": str,
            "conf": float,
            "feature_set": int,
            "features": bytes,
            "image": str,
            "label": str,
        },
        pk="seq",
        not_null=["ts", "part", "class", "conf", "feature_set", "features"],
    )
    db.table("rejected").create(
        {"id": int, "at": float, "source": str, "reason": str, "detail": str, "raw": bytes},
        pk="id",
        not_null=["at", "reason", "raw"],
    )
    db.table("events").create(
        {"id": int, "at": float, "source": str, "kind": str, "detail": str, "count": int},
        pk="id",
        not_null=["at", "kind"],
    )


def _v1_outbox(db: Database) -> None:
    """The shared sequence, the outbox and what travels in it first: overrides, alarms."""
    db.table("seq_counter").create({"id": int, "last_seq": int}, pk="id", not_null=["last_seq"])
    db.execute("INSERT INTO seq_counter (id, last_seq) VALUES (1, 0)")
    db.table("outbox").create({"seq": int, "kind": str}, pk="seq", not_null=["kind"])
    db.table("sync_state").create(
        {"station": str, "high_water": int, "synced_at": float},
        pk="station",
        not_null=["high_water"],
    )
    db.table("overrides").create(
        {
            "seq": int,
            "at": float,
            "part": str,
            "old_class": str,
            "old_conf": float,
            "new_class": str,
            "reason": str,
            "note": str,
            "user_name": str,
            "role": str,
            "model": str,
        },
        pk="seq",
        not_null=["at", "part", "new_class", "reason", "user_name"],
    )
    db.table("alarm_journal").create(
        {
            "seq": int,
            "at": float,
            "alarm": str,
            "source": str,
            "detector": str,
            "state": str,
            "priority": str,
            "value": float,
            "user_name": str,
            "note": str,
        },
        pk="seq",
        not_null=["at", "alarm", "state"],
    )


def _v2_governance(db: Database) -> None:
    """Incidents, the audit chain and versioned reference profiles."""
    db.table("incidents").create(
        {
            "seq": int,
            "at": float,
            "incident": str,
            "status": str,
            "severity": str,
            "owner": str,
            "summary": str,
            "snapshot": str,
        },
        pk="seq",
        not_null=["at", "incident", "status"],
    )
    db.table("audit").create(
        {
            "seq": int,
            "at": float,
            "user_name": str,
            "role": str,
            "action": str,
            "detail": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null=["at", "user_name", "action", "detail", "prev_hash", "hash"],
    )
    db.table("reference_profiles").create(
        {"version": int, "created": float, "description": str, "profile": str, "sha256": str},
        pk="version",
        not_null=["created", "profile", "sha256"],
    )


def _v3_indexes(db: Database) -> None:
    """Look-ups by time (replay), by part (overrides) and by incident id."""
    db.table("records").create_index(["ts"], index_name="records_ts")
    db.table("overrides").create_index(["part"], index_name="overrides_part")
    db.table("alarm_journal").create_index(["at"], index_name="alarm_journal_at")
    db.table("incidents").create_index(["incident"], index_name="incidents_incident")
    db.table("events").create_index(["at"], index_name="events_at")


def _v4_people(db: Database) -> None:
    """The people who may act at this console: role, hashed PIN and badge, enabled or not."""
    db.table("users").create(
        {
            "name": str,
            "role": str,
            "pin_hash": str,
            "badge_hash": str,
            "disabled": int,
            "created": float,
            "changed": float,
        },
        pk="name",
        not_null=["role", "pin_hash", "disabled", "created", "changed"],
    )


def _v5_replay(db: Database) -> None:
    """What replay needs to run the engine again exactly as it ran live: the deliveries the
    records came in (the engine's micro-batches follow them), when each was handed to the store
    (markers of operator actions find their part by it), and the station run (one opening of
    the store) each delivery and reference belongs to."""
    db.table("record_deliveries").create(
        {"last_seq": int, "first_seq": int, "parts": int, "at": float, "run": int},
        pk="last_seq",
        not_null=["first_seq", "parts", "at", "run"],
    )
    db.execute("ALTER TABLE reference_profiles ADD COLUMN run INTEGER")


def _v6_reference_records(db: Database) -> None:
    """The records each reference version was built from (its calibration is rebuilt from them
    exactly at every start): little-endian float64 / int32 arrays, one row per version."""
    db.table("reference_records").create(
        {
            "version": int,
            "features": str,
            "classes": str,
            "n": int,
            "matrix": bytes,
            "class_codes": bytes,
            "ts": bytes,
        },
        pk="version",
        not_null=["features", "classes", "n", "matrix", "class_codes", "ts"],
    )


def _v7_record_blocks(db: Database) -> None:
    """Each delivery's records kept again as contiguous arrays (data/record_blocks.py), so
    replay reads a run as a few thousand rows instead of a million; older records have none."""
    db.table("record_blocks").create(
        {
            "last_seq": int,
            "first_seq": int,
            "n": int,
            "feature_set": int,
            "features": bytes,
            "conf": bytes,
            "ts": bytes,
            "classes": str,
            "class_codes": bytes,
            "text": str,
        },
        pk="last_seq",
        not_null=["first_seq", "n", "feature_set", "features", "conf", "ts", "classes"],
    )


def _v8_reference_calibrations(db: Database) -> None:
    """Each reference version's watch as built live (calibration, primed window), under the key
    of everything it was built from, so replay restores it (console/reference_calibration.py)."""
    db.table("reference_calibrations").create(
        {"version": int, "key": str, "watch": bytes},
        pk="version",
        not_null=["key", "watch"],
    )
    db.table("reference_calibrations").create_index(["key"], index_name="calibrations_key")


def _v9_categories(db: Database) -> None:
    """The text of categorical inputs' values (console/categories.py): the feature blob holds
    each value's code (a pure function of its text), this dictionary its text, per feature."""
    db.execute(
        "CREATE TABLE categories (feature TEXT NOT NULL, code REAL NOT NULL, name TEXT NOT NULL,"
        " PRIMARY KEY (feature, code))"
    )


# Step i (1-based) brings user_version from i-1 to i. Only ever append to this tuple.
MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _v1_core,
    _v2_governance,
    _v3_indexes,
    _v4_people,
    _v5_replay,
    _v6_reference_records,
    _v7_record_blocks,
    _v8_reference_calibrations,
    _v9_categories,
)
LATEST_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, upto: int = LATEST_VERSION) -> int:
    """Apply the missing steps up to `upto`, each atomically; returns the version reached."""
    version = schema_version(db)
    if version > LATEST_VERSION:
        raise SchemaError(
            f"store schema v{version} is newer than this Linewatch understands "
            f"(v{LATEST_VERSION}): upgrade Linewatch or point [store] path at another file"
        )
    for number in range(version + 1, upto + 1):
        step = MIGRATIONS[number - 1]
        try:
            with db.atomic():
                step(db)
                db.execute(f"PRAGMA user_version = {number}")
        except Exception as error:
            raise SchemaError(f"migration {number} ({step.__name__}) failed: {error}") from error
    return max(version, upto)


def pack_rows(matrix: np.ndarray) -> list[bytes]:
    """One BLOB per matrix row: the row's little-endian float64 bytes (`row.tobytes()`)."""
    rows = np.ascontiguousarray(matrix, dtype=FEATURE_DTYPE)
    n, width = rows.shape
    if width == 0:
        return [b""] * n
    blobs = rows.view(np.dtype((np.void, width * FEATURE_DTYPE.itemsize))).ravel().tolist()
    return cast(list[bytes], blobs)  # a void array's items are bytes (the stubs allow tuples)


def unpack_rows(blobs: list[bytes], width: int) -> np.ndarray:
    """The exact float64 matrix back from `pack_rows` BLOBs (all of the same width)."""
    if not blobs:
        return np.empty((0, width), dtype=np.float64)
    matrix = np.frombuffer(b"".join(blobs), dtype=FEATURE_DTYPE).reshape(len(blobs), width)
    return matrix.astype(np.float64)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def audit_entry(
    seq: int, at: float, user: str, role: str, action: str, detail: Any
) -> dict[str, Any]:
    """The fields an audit hash covers (the row minus its hashes)."""
    return {
        "seq": seq,
        "at": at,
        "user_name": user,
        "role": role,
        "action": action,
        "detail": detail,
    }


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """SHA-256 over the previous hash followed by the entry's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


def finite_or_none(value: float | None) -> float | None:
    """SQLite stores NaN as NULL anyway; say so explicitly for scalar columns."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
