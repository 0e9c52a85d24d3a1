"""A bad line costs one line: the parser refuses what the store or the statistics would refuse,
the store quarantines only the row it still cannot take, and one poison value over TCP or in a
dropped file leaves every other line of the delivery stored."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import data.rows as store_module
from console.records import RecordBatch, RecordParser
from data.reading import events, load_records, rejected_lines
from data.store import StoreError, StoreWriter
from tests.drivers_helpers import record_line, wait_for
from tests.store_faults import (
    ROOT,
    folder_source,
    json_lines,
    start_headless,
    station_toml,
    summary_of,
)

FEATURES = ("brightness", "contrast", "focus")
HUGE = "9" * 400

POISON = {
    "conf_overflow": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X1","class":"ok","conf":' + HUGE + ","
        '"features":{"brightness":0.5}}',
        "non_finite",
    ),
    "feature_overflow": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X2","class":"ok","conf":0.5,'
        '"features":{"brightness":' + HUGE + "}}",
        "non_finite",
    ),
    "lone_surrogate_part": (
        '{"ts":"2026-03-02T06:00:00Z","part":"\\ud800P","class":"ok","conf":0.5,"features":{}}',
        "bad_text",
    ),
    "lone_surrogate_feature_name": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X3","class":"ok","conf":0.5,'
        '"features":{"\\udc00":1}}',
        "bad_text",
    ),
    "control_in_part": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X\\u0007","class":"ok","conf":0.5,"features":{}}',
        "bad_id",
    ),
    "control_in_batch": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X4","batch":"B\\u001b[2J","class":"ok","conf":0.5,'
        '"features":{}}',
        "bad_id",
    ),
    "control_in_station": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X5","station":"s\\n1","class":"ok","conf":0.5,'
        '"features":{}}',
        "bad_id",
    ),
    "control_in_model": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X6","model":"m\\u0000","class":"ok","conf":0.5,'
        '"features":{}}',
        "bad_id",
    ),
    "control_in_class": (
        '{"ts":"2026-03-02T06:00:00Z","part":"X7","class":"o\\u0085k","conf":0.5,"features":{}}',
        "bad_id",
    ),
}


def test_each_poison_value_is_rejected_with_its_reason_and_its_neighbours_pass():
    for name, (line, reason) in POISON.items():
        lines = [record_line(i) for i in range(20)]
        lines.insert(7, line.encode())
        batch, rejected = RecordParser(FEATURES).parse(lines)
        assert len(batch) == 20, name
        assert [r.reason for r in rejected] == [reason], name
        assert rejected[0].raw == line.encode()


# ---- property: what the parser accepts, the store keeps, exactly -----------------------------

text = st.text(st.characters(exclude_categories=()), max_size=8)  # surrogates, controls too
number = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**400), max_value=10**400),
)
record = st.fixed_dictionaries(
    {
        "ts": st.sampled_from(["2026-03-02T06:00:00Z", "2026-03-02T06:00:01.5+01:00"]),
        "part": st.one_of(text, st.sampled_from(["P1", "P2"])),
        "class": st.one_of(text, st.sampled_from(["ok", "scratch"])),
        "conf": st.one_of(number, st.floats(0, 1)),
        "features": st.dictionaries(st.sampled_from(FEATURES), number, max_size=3),
    },
    optional={"batch": text, "station": text, "model": text, "label": text},
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=40))
def test_every_line_the_parser_accepts_is_stored_and_reads_back_equal(records):
    lines = [json.dumps(r).encode() for r in records]  # ensure_ascii: surrogates as \ud800
    parser = RecordParser(FEATURES)
    batch, rejected = parser.parse(lines)
    assert len(batch) + len(rejected) == len(lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.db"
        with StoreWriter(path, "prop-cam", FEATURES) as writer:
            writer.append_records(batch, parser.classes.names)
            writer.flush()
            assert writer.status.not_stored == 0
        stored = load_records(path)
    assert len(stored) == len(batch)
    got = stored.batch
    assert got.part == batch.part and got.ts_text == batch.ts_text
    assert got.batch == batch.batch and got.model == batch.model and got.label == batch.label
    assert got.station == tuple(s or "prop-cam" for s in batch.station)
    classes = [parser.classes.names[c] for c in batch.class_codes]
    assert [stored.class_names[c] for c in got.class_codes] == classes
    np.testing.assert_array_equal(got.conf, batch.conf)
    np.testing.assert_array_equal(got.features, batch.features)  # NaN where NaN


# ---- the store: a refused row, bounded quarantine and events ---------------------------------


def batch_with_bad_row(n: int, bad: int) -> RecordBatch:
    parts = tuple("\ud800P" if i == bad else f"P{i}" for i in range(n))
    return RecordBatch(
        features=np.ones((n, 3)),
        class_codes=np.zeros(n, np.int32),
        conf=np.full(n, 0.5),
        ts=np.zeros(n),
        ts_text=("2026-03-02T06:00:00Z",) * n,
        part=parts,
        batch=(None,) * n,
        model=(None,) * n,
    )


def test_a_row_the_store_refuses_costs_that_row_only(tmp_path):
    path = tmp_path / "s.db"
    with StoreWriter(path, "line1-cam1", FEATURES) as writer:
        writer.append_records(batch_with_bad_row(300, 5), ["ok"])
        with pytest.raises(StoreError, match="1 records not stored"):
            writer.flush()  # a caller that waits is told
        assert writer.status.not_stored == 1
    assert len(load_records(path)) == 299
    (row,) = rejected_lines(path)
    assert row["reason"] == "store_refused" and "P" in row["raw"].decode()


def test_a_rejected_line_keeps_4_kib_its_length_and_hash_and_old_rows_go(tmp_path, monkeypatch):
    from console.records import Rejected

    monkeypatch.setattr(store_module, "REJECTED_KEEP_ROWS", 10)
    monkeypatch.setattr(store_module, "EVENTS_KEEP_ROWS", 5)
    path = tmp_path / "s.db"
    big = b"x" * 60_000
    with StoreWriter(path, "line1-cam1", FEATURES) as writer:
        writer.append_rejected([Rejected(big, "too_long", "60000 bytes", "cam")])
        for i in range(30):
            writer.append_rejected([Rejected(b"junk %d" % i, "not_json", "", "cam")])
            writer.append_event("cam", "note", str(i))
        writer.flush()
    rows = rejected_lines(path)
    assert len(rows) == 10 and rows[-1]["raw"] == b"junk 29"
    assert len(events(path)) == 5
    with StoreWriter(path, "line1-cam1", FEATURES) as writer:
        writer.append_rejected([Rejected(big, "too_long", "60000 bytes", "cam")])
        writer.flush()
    last = rejected_lines(path)[-1]
    assert len(last["raw"]) == 4096
    assert "60000 bytes" in last["detail"] and "sha256 " in last["detail"]


# ---- poison over TCP and in a dropped file, through headless ---------------------------------


def poison_stream(n: int) -> list[bytes]:
    lines = [record_line(i) for i in range(n)]
    for k, (line, _) in enumerate(POISON.values()):
        lines.insert(100 + 150 * k, line.encode())
    return lines


def stored_records(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.Error:
        return -1


def stop(child: subprocess.Popen) -> tuple[str, str]:
    child.send_signal(signal.SIGTERM)
    return child.communicate(timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_one_poison_value_over_tcp_costs_one_line(tmp_path):
    port = free_port()
    store = tmp_path / "line.db"
    source = f'[[source]]\nkind = "tcp"\nname = "cam"\nurl = "tcp://127.0.0.1:{port}"\n'
    child = start_headless(station_toml(tmp_path, store, source))
    try:
        wait_for(lambda: _connects(port), timeout=60, what="listener")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"\n".join(poison_stream(2020)) + b"\n")
        wait_for(lambda: stored_records(store) == 2020, timeout=60, what="2020 records stored")
    finally:
        out, err = stop(child)
    summary = summary_of(out)
    assert child.returncode == 0, err
    assert summary["records"] == 2020 and summary["rejected"] == len(POISON)
    assert summary["not_stored"] == 0
    quarantine = [e for e in json_lines(err) if e.get("kind") == "quarantine"]
    assert sum(int(e["detail"].split()[0]) for e in quarantine) == len(POISON)


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_one_poison_value_in_a_dropped_file_costs_one_line(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"\n".join(poison_stream(1000)) + b"\n")
    store = tmp_path / "line.db"
    child = start_headless(station_toml(tmp_path, store, folder_source(folder)))
    try:
        wait_for(lambda: stored_records(store) == 1000, timeout=60, what="1000 records stored")
    finally:
        out, err = stop(child)
    summary = summary_of(out)
    assert summary["records"] == 1000 and summary["rejected"] == len(POISON), err


def test_analyze_survives_poison_without_a_traceback(tmp_path):
    stream = tmp_path / "s.jsonl"
    stream.write_bytes(b"\n".join(poison_stream(500)) + b"\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "analyze", str(stream)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr
    summary = summary_of(run.stdout)
    assert summary["records"] == 500 and summary["rejected"] == len(POISON)


def test_a_delivery_the_engine_fails_on_costs_only_the_failing_line():
    from dataclasses import replace

    from console.config import default_config
    from console.engine import Engine
    from console.headless import contain
    from console.intake import Delivery

    config = default_config()
    engine = Engine(replace(config, station=replace(config.station, features=FEATURES)))
    real = engine.feed_lines

    def feed(lines, source=""):  # an engine bug that one line triggers
        if any(b"P00000007" in line for line in lines):
            raise RuntimeError("boom")
        return real(lines, source)

    engine.feed_lines = feed
    contain(engine, Delivery("cam", tuple(record_line(i) for i in range(50))))
    assert engine.accepted == 49
    assert engine.rejected == {"unprocessable": 1}
    assert any("1 lines not processed: RuntimeError: boom" in e[3] for e in engine.system_events)
