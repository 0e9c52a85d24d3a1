"""Replay's fast read path: delivery blocks and the reference calibration kept with its version.

A simulated drift is stored the line's way (engine + store, uneven deliveries, an alarm journalled
between them); replay must read the blocks exactly as the rows, restore the kept calibration,
and raise the same alarms as on a store from before schema v7 (no blocks, no calibration), which
must still replay. A forged calibration is never executed, and purged records drop their blocks.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from console.config import Reference, Store, Window, default_config
from console.engine import Engine
from console.replay import Replayer, replay
from console.snapshot import take
from data import replay as stored
from data.record_blocks import read_blocks
from data.store import StoreWriter
from drivers.simulator import LineSimulator, Scenario

PARTS = 4200
CHUNKS = (137, 411, 59, 1003, 263, 17, 891)


def _config(path: Path):
    base = default_config()
    features = LineSimulator().feature_names
    return replace(
        base,
        station=replace(base.station, id="sim-line1", features=tuple(features)),
        store=Store(path=str(path)),
        reference=Reference(size=1500),
        window=Window(parts=1500, batch=50),
    )


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A stored drift: the store's path, its config and the alarms raised live."""
    path = tmp_path_factory.mktemp("blocks") / "line.db"
    config = _config(path)
    writer = StoreWriter(str(path), config.station.id, config.station.features)
    raised: list[dict] = []
    engine = Engine(config, store=writer, on_event=lambda e: raised.append(e.wire()))
    simulator = LineSimulator(Scenario(name="drift", onset_day=1.5, drift_days=0.5), seed=7)
    sent, sizes = 0, iter(CHUNKS * 10)
    while sent < PARTS:
        lines = simulator.lines(min(next(sizes), PARTS - sent))
        engine.feed_lines(lines)
        sent += len(lines)
    writer.flush()
    writer.close()
    alarms = [e for e in raised if e["event"] in ("alarm_raised", "alarm_cleared")]
    return path, config, alarms


def _without_v7(path: Path, copy: Path) -> Path:
    """The same store as a store written before schema v7 would be: no blocks, no calibration."""
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DROP TABLE record_blocks")
        conn.execute("DROP TABLE reference_calibrations")
        conn.execute("DROP TABLE IF EXISTS categories")  # v9, after these
        conn.execute("PRAGMA user_version = 6")
    return copy


def _read_both(path: Path, first: int, last: int):
    fast = stored.engine_records(path, first, last)
    rows = stored.records(path, first, last)
    return fast, rows


def test_the_blocks_hold_exactly_what_the_rows_hold(line):
    path, _, _ = line
    with sqlite3.connect(path) as conn:
        blocks = conn.execute("SELECT count(*) FROM record_blocks").fetchone()[0]
        deliveries = conn.execute("SELECT count(*) FROM record_deliveries").fetchone()[0]
        first, last = conn.execute("SELECT min(seq), max(seq) FROM records").fetchone()
        journalled = conn.execute("SELECT count(*) FROM alarm_journal").fetchone()[0]
        assert read_blocks(conn, first, last, 8) is not None  # the fast path is the one taken
    assert blocks == deliveries > 1 and journalled > 0  # seqs between deliveries, too
    for a, b in ((first, last), (first + 5, last - 7), (first + 300, first + 300)):
        fast, rows = _read_both(path, a, b)
        assert len(fast) == len(rows) > 0
        assert np.array_equal(fast.seq, rows.seq)
        assert np.array_equal(fast.batch.features, rows.batch.features, equal_nan=True)
        for name in ("conf", "ts"):
            assert np.array_equal(getattr(fast.batch, name), getattr(rows.batch, name))
        for name in ("ts_text", "part", "model", "image"):
            assert getattr(fast.batch, name) == getattr(rows.batch, name)
        classes = [fast.class_names[c] for c in fast.batch.class_codes.tolist()]
        assert classes == [rows.class_names[c] for c in rows.batch.class_codes.tolist()]


def test_replay_restores_the_kept_calibration_and_raises_the_live_alarms(line, tmp_path):
    path, config, alarms = line
    assert alarms, "the drift should have raised alarms"
    replayer = Replayer(path, config)
    replayer.open_run(1)
    replayer.finish()
    assert replayer.watch_source.restored == 1
    assert [e.wire() for e in replay(path, config, stored.Selection()).events] == alarms
    old = _without_v7(path, tmp_path / "old.db")
    assert [e.wire() for e in replay(old, config, stored.Selection()).events] == alarms


def test_a_what_if_builds_its_own_calibration(line):
    path, config, _ = line
    replayer = Replayer(path, config, {"detection.false_alarms_per_year": "1"})
    replayer.open_run(1)
    replayer.finish()
    assert replayer.watch_source.restored == 0 and replayer.engine.profile is not None


class _Forged:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_forged_calibration_is_refused_not_run(line, tmp_path):
    path, config, alarms = line
    forged = tmp_path / "forged.db"
    shutil.copy(path, forged)
    marker = tmp_path / "ran"
    with sqlite3.connect(forged) as conn:
        conn.execute(
            "UPDATE reference_calibrations SET watch = ?", (pickle.dumps(_Forged(marker)),)
        )
    replayer = Replayer(forged, config)
    replayer.open_run(1)
    replayer.finish()
    assert replayer.watch_source.restored == 0 and not marker.exists()
    assert [e.wire() for e in replay(forged, config, stored.Selection()).events] == alarms


def test_an_old_store_gets_blocks_for_new_records_and_still_replays(line, tmp_path):
    path, config, _ = line
    old = _without_v7(path, tmp_path / "old.db")
    writer = StoreWriter(str(old), config.station.id, config.station.features)  # migrates
    engine = Engine(config, store=writer)
    engine.feed_lines(LineSimulator(seed=11).lines(300))
    writer.flush()
    writer.close()
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 8
        first, last = conn.execute(
            "SELECT min(first_seq), max(last_seq) FROM record_blocks"
        ).fetchone()
        everything = conn.execute("SELECT min(seq), max(seq) FROM records").fetchone()
    assert last - first + 1 == 300
    for a, b in ((first, last), everything):  # new blocks alone; old rows and new blocks
        fast, rows = _read_both(old, a, b)
        assert np.array_equal(fast.batch.features, rows.batch.features, equal_nan=True)
        assert fast.batch.part == rows.batch.part and np.array_equal(fast.seq, rows.seq)


def test_purged_records_take_their_blocks_with_them(line, tmp_path):
    path, config, _ = line
    copy = tmp_path / "purged.db"
    shutil.copy(path, copy)
    writer = StoreWriter(str(copy), config.station.id, config.station.features)
    with sqlite3.connect(copy) as conn:
        last = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
    writer.mark_synced(last)
    writer.purge_synced(time.time(), 0.0, limit=1000)
    writer.close()
    with sqlite3.connect(copy) as conn:
        oldest = conn.execute("SELECT min(seq) FROM records").fetchone()[0]
        assert conn.execute("SELECT min(first_seq) FROM record_blocks").fetchone()[0] > oldest - 1
    fast, rows = _read_both(copy, oldest, last)
    assert len(fast) == len(rows) and fast.batch.part == rows.batch.part


def test_the_charts_at_a_cursor_are_the_same_with_a_restored_calibration(line, tmp_path):
    path, config, _ = line
    old = _without_v7(path, tmp_path / "old.db")
    shown = []
    for store in (path, old):
        replayer = Replayer(store, config, checkpoints=True)
        replayer.open_run(1)
        replayer.state_at(PARTS)
        replayer.state_at(3001)  # back: from the run's start again (a second restore)
        shown.append((take(replayer.engine, ()), replayer.watch_source.restored))
    (restored, one), (built, none) = shown
    assert one >= 1 and none == 0 and restored.records == built.records == 3001
    for mine, theirs in zip(restored.columns, built.columns, strict=True):
        for field in ("mean", "sd", "p5", "p50", "p95", "low", "high", "missing"):
            assert getattr(mine, field) == getattr(theirs, field), (mine.name, field)
        assert np.array_equal(mine.live, theirs.live) and mine.scores == theirs.scores
    assert np.array_equal(restored.class_live, built.class_live)
