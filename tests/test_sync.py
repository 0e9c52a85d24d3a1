"""The plant sync against a real PostgreSQL: rows arrive exactly once with their values, a re-push
changes nothing, a gap is refilled, refused rows are quarantined, two stations share a database,
clock steps change nothing, and old synced rows are purged only once synced."""

from __future__ import annotations

import os
import threading

import pytest

from console.config import ConfigError, Sync
from data import central
from data.reading import rejected_lines
from data.sync import PlantSync
from tests.drivers_helpers import wait_for
from tests.sync_helpers import (
    CLASSES,
    Plant,
    add_journal_rows,
    assert_central_equals_local,
    assert_records_exact,
    make_batch,
    open_store,
    sync_settings,
)

STATION = "line1-cam1"


def fill(store, n: int, start: int = 0, chunk: int = 1000) -> None:  # noqa: ANN001
    for begin in range(start, start + n, chunk):
        store.append_records(make_batch(min(chunk, start + n - begin), begin), CLASSES)
    store.flush()


def drain(store, settings, **options) -> PlantSync:  # noqa: ANN001
    """Drain the outbox once on this thread; the sync is closed afterwards."""
    with PlantSync(store, settings, **options) as sync:
        ok, reason = sync.drain(timeout=60)
        assert ok, reason
    return sync


def test_drain_delivers_every_row_once_with_exact_values(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    with open_store(path) as store:
        fill(store, 5000)
        for i in range(3):
            add_journal_rows(store, i)
        fill(store, 2000, start=5000)
        store.flush()
        with PlantSync(store, plant.settings) as sync:
            assert sync.drain(timeout=60) == (True, "")
            assert store.status.pending_outbox == 0
            assert sync.status.pending == 0
    assert assert_central_equals_local(plant, path, STATION) == 7012
    assert_records_exact(plant, path, STATION)
    audit = plant.query("SELECT seq, at_epoch, hash, prev_hash, detail FROM linewatch.audit")
    assert len(audit) == 3 and all(len(row[2]) == 64 for row in audit)
    overrides = plant.query(
        "SELECT part, old_class, new_class, reason, user_name FROM linewatch.overrides ORDER BY seq"
    )
    assert overrides[0] == ("P000000000", "ok", "scratch", "misclassified", "anna")


def test_a_second_push_of_the_same_rows_changes_nothing(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    with open_store(path) as store:
        fill(store, 3000)
        add_journal_rows(store, 1)
        drain(store, plant.settings)
        before = plant.query("SELECT count(*), max(synced_at) FROM linewatch.records")
        # Forget locally and centrally that anything was sent: everything goes again.
        with plant.connect() as conn:
            conn.execute("UPDATE linewatch.sync_state SET high_water = 0")
        with PlantSync(store, plant.settings) as again:
            again._verified = 3004  # noqa: SLF001 - skip the gap count: a blind replay of all rows
            assert again.drain(timeout=60)[0]
            assert again.pushed_rows == 3004
    assert plant.query("SELECT count(*), max(synced_at) FROM linewatch.records") == before
    assert_central_equals_local(plant, path, STATION)


def test_a_gap_in_the_plant_database_is_found_at_start_and_refilled(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    with open_store(path) as store:
        fill(store, 4000)
        add_journal_rows(store, 7)
        drain(store, plant.settings)
        with plant.connect() as conn:  # a restore from backup lost some rows, kept the mark
            conn.execute("DELETE FROM linewatch.records WHERE seq BETWEEN 1500 AND 1600")
            conn.execute("DELETE FROM linewatch.audit")
        events = []
        drain(store, plant.settings, on_event=lambda k, t: events.append((k, t)))
        assert ("gap", "seq 1500..4004 incomplete centrally: refilling") in events
    assert_central_equals_local(plant, path, STATION)
    assert_records_exact(plant, path, STATION)


def test_a_row_the_database_refuses_is_quarantined_and_the_rest_flows(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    with open_store(path) as store:
        fill(store, 1500)
        bad = make_batch(1, 1500)
        bad = bad.__class__(
            **{**{f: getattr(bad, f) for f in bad.__dataclass_fields__}, "part": ("P\x00bad",)}
        )
        store.append_records(bad, CLASSES)
        fill(store, 1500, start=1501)
        events = []
        sync = drain(store, plant.settings, on_event=lambda k, t: events.append((k, t)))
        assert sync.status.quarantined == 1
    assert store.status.pending_outbox == 0
    refused = plant.query("SELECT seq, kind, reason FROM linewatch.refused")
    assert [(r[0], r[1]) for r in refused] == [(1501, "record")]
    assert "0x00" in refused[0][2]
    kept = [r for r in rejected_lines(path) if r["source"] == "plant-sync"]
    assert len(kept) == 1 and "seq 1501 (record)" in kept[0]["detail"]
    assert b"P\\u0000bad" in kept[0]["raw"]
    assert any(kind == "quarantine" for kind, _ in events)
    assert_central_equals_local(plant, path, STATION)  # the refused row is accounted for


def test_two_stations_sync_into_one_database_at_once(plant: Plant, tmp_path):
    stores = [open_store(tmp_path / f"s{i}.db", f"line{i}-cam1") for i in (1, 2)]
    syncs = [PlantSync(s, plant.settings, backoff_first=0.01) for s in stores]
    try:
        for sync in syncs:
            sync.start()
        writers = [threading.Thread(target=fill, args=(s, 20_000)) for s in stores]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        for store in stores:
            add_journal_rows(store, 1)
        for store, sync in zip(stores, syncs, strict=True):
            sync.wake()
            wait_for(lambda s=store: s.status.pending_outbox == 0, 120, "both stations synced")
    finally:
        for sync in syncs:
            sync.stop()
        for store in stores:
            store.close()
    for i in (1, 2):
        assert assert_central_equals_local(plant, tmp_path / f"s{i}.db", f"line{i}-cam1") == 20_004


def test_clock_steps_on_the_station_reorder_lose_or_double_nothing(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    offset = [0.0]
    import time as _time

    clock = lambda: _time.time() + offset[0]  # noqa: E731
    settings = sync_settings(plant, batch_rows=500)
    with open_store(path) as store:
        sync = PlantSync(store, settings, clock=clock, backoff_first=0.01)
        sync.start()
        try:
            for step in range(8):
                offset[0] = 3600.0 if step % 2 == 0 else -3600.0
                t0 = clock()  # the station's clock, stepped, stamps the rows
                fill(store, 1500, start=step * 1500)
                store.append_records(make_batch(10, 100_000 + step * 10, t0=t0), CLASSES)
                add_journal_rows(store, step, at=t0)
            store.flush()
            sync.wake()
            wait_for(lambda: store.status.pending_outbox == 0, 120, "sync after clock steps")
            assert not sync.status.stale
        finally:
            sync.stop()
    assert_central_equals_local(plant, path, STATION)
    assert_records_exact(plant, path, STATION)
    order = plant.query(
        "SELECT seq FROM linewatch.alarm_journal WHERE station = %s ORDER BY ts", (STATION,)
    )
    assert sorted(r[0] for r in order) != [r[0] for r in order]  # times went back, seqs did not


def test_retention_purges_only_synced_rows_and_keeps_journals_six_months(plant: Plant, tmp_path):
    path = tmp_path / "station.db"
    day = 86400.0
    now = 1_800_000_000.0
    settings = sync_settings(plant, retention_days=30, journal_retention_days=183)
    with open_store(path) as store:
        store.append_records(make_batch(100, 0, t0=now - 40 * day), CLASSES)
        add_journal_rows(store, 1, at=now - 100 * day)  # journals younger than 183 days
        add_journal_rows(store, 2, at=now - 200 * day)  # older: may go once synced
        store.flush()
        with PlantSync(store, settings, clock=lambda: now) as sync:
            assert sync.purge_now() == 0  # nothing synced yet: nothing may go
            store.append_records(make_batch(100, 100, t0=now - 40 * day), CLASSES)
            store.flush()
            assert sync.drain(timeout=60)[0]
            store.append_records(make_batch(50, 200, t0=now - 40 * day), CLASSES)  # not synced
            store.flush()
            gone = sync.purge_now()
    from data.reading import alarm_journal, incidents, load_records, overrides

    assert len(load_records(path)) == 50  # the 200 synced old records went, not the pending
    assert [o["part"] for o in overrides(path)] == ["P000000001"]
    assert len(alarm_journal(path)) == 1 and len(incidents(path)) == 1
    assert gone == 203
    assert len(plant.query("SELECT 1 FROM linewatch.records")) == 200


def test_no_schema_in_the_plant_database_says_run_init(postgres, monkeypatch, tmp_path):
    postgres.create_database("empty_plant")
    monkeypatch.setenv("PGPASSWORD", "lw-test-secret")
    settings = Sync(url=postgres.url("empty_plant"))
    with open_store(tmp_path / "s.db") as store:
        fill(store, 10)
        with PlantSync(store, settings, backoff_first=0.01) as sync:
            ok, reason = sync.drain(timeout=0.5)
    assert not ok and "sync --init" in reason


def test_init_twice_at_once_is_harmless(plant: Plant):
    results = []

    def init() -> None:
        with plant.connect() as conn:
            results.append(central.migrate(conn))

    threads = [threading.Thread(target=init) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(1, 1)] * 3


def test_a_password_file_others_can_read_is_refused(plant: Plant, tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    secret = tmp_path / "pw"
    secret.write_text("lw-test-secret\n")
    secret.chmod(0o640)
    settings = sync_settings(plant, password_file=str(secret))
    with pytest.raises(ConfigError) as caught:
        central.connection_options(settings)
    assert caught.value.key == "sync.password_file"
    assert "chmod 600" in caught.value.fix
    secret.chmod(0o600)
    with central.connect(settings) as conn:  # the file's password gets through
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"url": "postgresql://u:secret@db/x"}, "sync.url"),
        ({"url": "postgresql://u@db/x", "sslmode": "sometimes"}, "sync.sslmode"),
        (
            {"url": "postgresql://u@db/x", "journal_retention_days": 90},
            "sync.journal_retention_days",
        ),
        ({"url": "postgresql://u@db/x", "batch_rows": 0}, "sync.batch_rows"),
        ({"url": "postgresql://u@db/x", "stale_seconds": -1}, "sync.stale_seconds"),
        ({"url": "postgresql://u@db/x", "password": "x"}, "sync.password"),
    ],
)
def test_bad_sync_keys_name_the_key_and_the_fix(raw, key):
    from console.config import parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config({"sync": raw})
    assert caught.value.key == key and caught.value.fix


def test_sync_status_words():
    from data.sync_status import NOT_CONFIGURED, SyncStatus

    assert NOT_CONFIGURED.headline() == "no sync configured"
    offline = SyncStatus(
        configured=True,
        pending=12_345,
        oldest_pending_at=0.0,
        taken=7500.0,
        last_error="OperationalError: refused",
    )
    assert offline.headline() == "offline · 12,345 waiting"
    assert "oldest 2 h 05 min" in offline.detail() and "never synced" in offline.detail()
    assert offline.abnormal
    fine = SyncStatus(configured=True, connected=True, last_success=0.0)
    assert fine.headline() == "up to date" and not fine.abnormal


def test_pgpass_env_is_used_when_no_password_is_configured(plant: Plant, tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{plant.server.port}:*:postgres:lw-test-secret\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with central.connect(plant.settings) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    assert os.environ.get("PGPASSWORD") is None


def test_backoff_grows_1_6_to_2_times_with_jitter_up_to_two_minutes():
    import random

    from data.sync import Backoff

    rng = random.Random(1)
    backoff = Backoff(first=0.5, cap=120.0)
    waits = [backoff.next(rng) for _ in range(30)]
    ratios = [b / a for a, b in zip(waits, waits[1:], strict=False) if b < 120.0]
    assert waits[0] == 0.5 and all(1.6 <= r <= 2.0 for r in ratios)
    assert len({round(r, 6) for r in ratios}) == len(ratios)  # jitter: no two alike
    assert max(waits) == 120.0 and waits[-1] == 120.0
    backoff.reset()
    assert backoff.next(rng) == 0.5
