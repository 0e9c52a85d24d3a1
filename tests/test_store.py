"""The local store: exact round trips, quarantine, the shared outbox sequence, migrations,
concurrent readers, and failures that are reported instead of swallowed."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest
from sqlite_utils import Database

from console.actions import Override
from console.records import RecordBatch, Rejected
from data import schema
from data.store import (
    StoreError,
    StoreWriter,
    alarm_journal,
    events,
    incidents,
    integrity_ok,
    latest_reference,
    load_records,
    open_reader,
    outbox_entries,
    outbox_pending,
    overrides,
    rejected_lines,
    verify_audit_chain,
)

FEATURES = ("brightness", "contrast", "focus")
CLASSES = ("ok", "scratch", "dent")


def make_batch(n: int, start: int = 0, seed: int = 0) -> RecordBatch:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, len(FEATURES))) * 10.0 ** rng.integers(-300, 300, (n, 1))
    features[rng.random(features.shape) < 0.2] = np.nan
    return RecordBatch(
        features=features,
        class_codes=rng.integers(0, len(CLASSES), n).astype(np.int32),
        conf=rng.random(n),
        ts=1_772_430_000.0 + np.arange(start, start + n) / 7.0,
        ts_text=tuple(f"2026-03-02T06:00:{i % 60:02d}.{i:06d}Z" for i in range(start, start + n)),
        part=tuple(f"P{i:07d}" for i in range(start, start + n)),
        batch=tuple(None if i % 3 else f"B{i // 100}" for i in range(start, start + n)),
        model=("defnet-3.2",) * n,
        image=tuple(f"img/{i}.png" if i % 2 else None for i in range(start, start + n)),
        label=(None,) * n,
        station=tuple(None if i % 4 else "line9-cam2" for i in range(start, start + n)),
    )


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "linewatch.db"


@pytest.fixture
def writer(db_path):
    store = StoreWriter(db_path, "line1-cam1", FEATURES)
    yield store
    store.close()


def all_seqs(path) -> list[int]:
    return [seq for seq, _ in outbox_entries(path)]


def test_records_round_trip_exact_float64_with_nan(writer, db_path):
    batch = make_batch(500)
    special = batch.features.copy()
    special[0] = [-0.0, 5e-324, np.finfo(np.float64).max]
    special[1] = [np.nan, 1.0 / 3.0, -np.finfo(np.float64).tiny]
    batch = RecordBatch(**{**{f: getattr(batch, f) for f in batch.__slots__}, "features": special})
    writer.append_records(batch.take(slice(0, 200)), CLASSES)
    writer.append_records(batch.take(slice(200, None)), CLASSES)
    writer.flush()

    stored = load_records(db_path)
    assert stored.feature_names == FEATURES
    assert stored.seq.tolist() == list(range(1, 501))
    got = stored.batch
    assert got.features.dtype == np.float64
    assert got.features.tobytes() == special.tobytes()  # bit for bit, NaN and -0.0 included
    assert [stored.class_names[c] for c in got.class_codes] == [
        CLASSES[c] for c in batch.class_codes
    ]
    assert got.conf.tolist() == batch.conf.tolist()
    assert got.ts.tolist() == batch.ts.tolist()
    assert got.ts_text == batch.ts_text
    assert got.part == batch.part
    assert got.batch == batch.batch
    assert got.image == batch.image
    assert got.station == tuple(s or "line1-cam1" for s in batch.station)

    later = load_records(db_path, since_seq=490, limit=5)
    assert later.seq.tolist() == [491, 492, 493, 494, 495]
    assert later.batch.features.tobytes() == special[490:495].tobytes()


def test_records_written_with_an_older_feature_list_are_mapped_by_name(db_path):
    with StoreWriter(db_path, "line1-cam1", ("a", "b")) as first:
        first.append_records(
            RecordBatch(
                features=np.array([[1.0, 2.0]]),
                class_codes=np.zeros(1, np.int32),
                conf=np.ones(1),
                ts=np.zeros(1),
                ts_text=("t0",),
                part=("P1",),
                batch=(None,),
                model=(None,),
            ),
            ["ok"],
        )
    with StoreWriter(db_path, "line1-cam1", ("b", "c")) as second:
        second.append_records(
            RecordBatch(
                features=np.array([[3.0, 4.0]]),
                class_codes=np.zeros(1, np.int32),
                conf=np.ones(1),
                ts=np.ones(1),
                ts_text=("t1",),
                part=("P2",),
                batch=(None,),
                model=(None,),
            ),
            ["ok"],
        )
    stored = load_records(db_path)
    assert stored.feature_names == ("b", "c", "a")
    np.testing.assert_array_equal(stored.batch.features, [[2.0, np.nan, 1.0], [3.0, 4.0, np.nan]])


def test_rejected_lines_kept_verbatim_with_reason(writer, db_path):
    lines = [
        Rejected(b'{"ts": NaN}\r\n', "non_finite", "NaN", "serial0"),
        Rejected(b"\xff\xfe not utf8 \x00", "not_utf8", "bad byte", "tcp"),
        Rejected(b"$a,b*00", "bad_checksum", "", "serial1"),
    ]
    writer.append_rejected(lines)
    writer.append_event("serial0", "disconnected", "EIO", count=1, at=12.5)
    writer.flush()
    rows = rejected_lines(db_path)
    assert [(r["raw"], r["reason"], r["detail"], r["source"]) for r in rows] == [
        (line.raw, line.reason, line.detail, line.source) for line in lines
    ]
    assert [(e["source"], e["kind"], e["detail"], e["at"]) for e in events(db_path)] == [
        ("serial0", "disconnected", "EIO", 12.5)
    ]


def test_override_saved_returns_seq_with_its_outbox_row(writer, db_path):
    writer.append_records(make_batch(10), CLASSES)
    writer.flush()  # operator actions jump the queue; here the records went first
    override = Override("P0000003", "ok", "scratch", "missed_defect", "anna", old_conf=0.91)
    seq = writer.save_override(override)
    assert seq == 11  # after the ten records, in the same counter
    (row,) = overrides(db_path)
    assert row["seq"] == seq
    assert (row["part"], row["old_class"], row["new_class"]) == ("P0000003", "ok", "scratch")
    assert (row["reason"], row["user_name"], row["old_conf"]) == ("missed_defect", "anna", 0.91)
    assert (seq, "override") in outbox_entries(db_path)
    assert outbox_pending(db_path) == 11
    assert writer.status.pending_outbox == 11


def test_one_shared_seq_across_tables_strictly_increasing_without_gaps(writer, db_path):
    returned = []
    for i in range(5):
        writer.append_records(make_batch(7, start=7 * i, seed=i), CLASSES)
        writer.journal_alarm("drift.focus", "focus", "psi", "unack", "high", 0.31, at=float(i))
        returned.append(writer.save_override(Override(f"P{i}", "ok", "dent", "other", "bo")))
        returned.append(writer.save_incident(f"INC-{i}", "open", "high", "quality", "focus drift"))
        returned.append(writer.audit("bo", "operator", "override", {"part": f"P{i}"}))
    writer.flush()
    entries = outbox_entries(db_path)
    seqs = [seq for seq, _ in entries]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 5 * (7 + 1 + 3)
    assert returned == sorted(returned) and len(set(returned)) == len(returned)
    kinds = {kind for _, kind in entries}
    assert kinds == {"record", "alarm", "override", "incident", "audit"}
    assert [r["seq"] for r in alarm_journal(db_path)] == [s for s, k in entries if k == "alarm"]
    assert [r["incident"] for r in incidents(db_path)] == [f"INC-{i}" for i in range(5)]
    assert writer.status.last_seq == len(seqs)

    writer.mark_synced(20)
    assert outbox_pending(db_path) == len(seqs) - 20
    assert writer.status.pending_outbox == len(seqs) - 20


def test_audit_entries_chain_by_sha256_and_tampering_is_found(writer, db_path):
    for i in range(4):
        writer.audit("eve", "admin", "threshold", {"old": i, "new": i + 1, "key": "psi"})
    assert verify_audit_chain(db_path) is None
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE audit SET detail = '{\"new\":9}' WHERE seq = 3")
    conn.close()
    assert verify_audit_chain(db_path) == 3


def test_reference_profiles_are_versioned_with_their_hash(writer, db_path):
    assert latest_reference(db_path) is None
    assert writer.save_reference('{"bins": [1]}', "validation period") == 1
    assert writer.save_reference('{"bins": [2]}', "stable week 12") == 2
    latest = latest_reference(db_path)
    assert (latest["version"], latest["description"]) == (2, "stable week 12")
    assert latest["profile"] == '{"bins": [2]}'
    assert latest["sha256"] == schema.hashlib.sha256(b'{"bins": [2]}').hexdigest()


def test_migrations_bring_a_v1_file_up_and_are_idempotent_on_reopen(db_path):
    old = Database(sqlite3.connect(db_path, isolation_level=None), execute_plugins=False)
    old.execute("PRAGMA journal_mode = WAL")
    assert schema.migrate(old, upto=1) == 1
    old.execute(
        "INSERT INTO feature_sets (id, names) VALUES (1, ?)", ('["brightness","contrast","focus"]',)
    )
    old.execute(
        "INSERT INTO records (seq, ts, part, class, conf, feature_set, features)"
        " VALUES (1, 5.0, 'P-old', 'ok', 0.5, 1, ?)",
        (np.array([1.0, np.nan, 3.0]).tobytes(),),
    )
    old.execute("UPDATE seq_counter SET last_seq = 1")
    assert "audit" not in old.table_names()
    old.close()

    with StoreWriter(db_path, "line1-cam1", FEATURES) as writer:
        assert writer.save_override(Override("P-old", "ok", "dent", "other", "kim")) == 2
        writer.audit("kim", "operator", "override", {"part": "P-old"})
    with StoreWriter(db_path, "line1-cam1", FEATURES) as writer:
        assert writer.status.last_seq == 3
    reader = open_reader(db_path)
    assert schema.schema_version(reader) == schema.LATEST_VERSION
    assert {"audit", "incidents", "reference_profiles"} <= set(reader.table_names())
    assert "records_ts" in {index.name for index in reader["records"].indexes}
    reader.close()
    stored = load_records(db_path)
    assert stored.batch.part == ("P-old",)
    np.testing.assert_array_equal(stored.batch.features, [[1.0, np.nan, 3.0]])


def test_a_store_from_a_newer_linewatch_is_refused(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Linewatch"):
        StoreWriter(db_path, "line1-cam1", FEATURES)


def test_a_store_of_another_station_is_refused(db_path):
    StoreWriter(db_path, "line1-cam1", FEATURES).close()
    with pytest.raises(StoreError, match="line1-cam1"):
        StoreWriter(db_path, "line2-cam1", FEATURES)


def test_reader_sees_committed_records_while_the_writer_writes(writer, db_path):
    writer.append_records(make_batch(100), CLASSES)
    writer.flush()
    reader = open_reader(db_path)
    stop = threading.Event()

    def keep_writing() -> None:
        start = 100
        while not stop.is_set():
            writer.append_records(make_batch(200, start=start), CLASSES)
            start += 200

    feeder = threading.Thread(target=keep_writing)
    feeder.start()
    try:
        counts = []
        while len(counts) < 3 or counts[-1] <= counts[0]:
            writer.flush()
            counts.append(reader.execute("SELECT count(*) FROM records").fetchone()[0])
            assert len(counts) < 1000, "reader never saw new rows"
        assert counts == sorted(counts) and counts[0] >= 100
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.conn.execute("DELETE FROM records")
    finally:
        stop.set()
        feeder.join()
        reader.close()
    assert integrity_ok(db_path)


def test_opening_a_store_in_a_missing_directory_raises(tmp_path):
    with pytest.raises(StoreError, match="cannot open store"):
        StoreWriter(tmp_path / "gone" / "linewatch.db", "line1-cam1", FEATURES)


def test_a_failed_bulk_write_is_reported_and_the_writer_goes_on(writer, db_path):
    bad = make_batch(3)
    bad = RecordBatch(
        **{**{f: getattr(bad, f) for f in bad.__slots__}, "class_codes": bad.class_codes + 7}
    )
    writer.append_records(bad, CLASSES)  # codes beyond the class table: the writer cannot map them
    with pytest.raises(StoreError, match="records not stored"):
        writer.flush()
    status = writer.status
    # Retried row by row (issue 8): each row still fails, so each goes to the quarantine.
    assert status.running and status.not_stored == 3
    assert "IndexError" in status.last_error
    writer.append_records(make_batch(4), CLASSES)
    writer.flush()
    assert load_records(db_path).seq.tolist() == [1, 2, 3, 4]  # the failed batch took no seqs
    assert [r["reason"] for r in rejected_lines(db_path)] == ["store_refused"] * 3


def test_a_failed_override_raises_store_error_and_keeps_the_seq_free(writer, db_path):
    intruder = sqlite3.connect(db_path)
    with intruder:  # a row the writer does not know about, on the seq it will use next
        intruder.execute("INSERT INTO overrides (seq, at, part, new_class, reason, user_name)"
                         " VALUES (1, 0, 'X', 'ok', 'other', 'mallory')")  # fmt: skip
    with pytest.raises(StoreError, match="override not saved.*UNIQUE"):
        writer.save_override(Override("P1", "ok", "dent", "other", "kim"))
    assert "UNIQUE" in writer.status.last_error and writer.status.running
    with intruder:
        intruder.execute("DELETE FROM overrides")
    intruder.close()
    assert writer.save_override(Override("P1", "ok", "dent", "other", "kim")) == 1


def test_closed_store_refuses_work(writer):
    writer.close()
    with pytest.raises(StoreError, match="closed"):
        writer.save_override(Override("P1", "ok", "dent", "other", "kim"))
    with pytest.raises(StoreError, match="closed"):
        writer.append_event("x", "error")
    writer.close()  # idempotent
