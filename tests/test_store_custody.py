"""One writer per store, a health check at open, private file modes, and a headless that says
so when the store cannot be used (exit 3, one line on stderr, an alarm)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.custody import StoreLock, examine_store
from data.store import StoreError, StoreWriter, integrity_ok
from tests.drivers_helpers import record_line
from tests.store_faults import (
    ROOT,
    can_mount,
    folder_source,
    headless,
    json_lines,
    mount_tmpfs,
    start_headless,
    station_toml,
    summary_of,
    unmount,
)

FEATURES = ["brightness", "contrast", "focus"]

HOLDER = r"""
import sys
sys.modules["pandas"] = None
from data.store import StoreWriter
writer = StoreWriter(sys.argv[1], "line1-cam1", ["brightness", "contrast", "focus"])
print("ready", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def store_held(path: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the store open; SIGKILLed at the end (no clean release)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()


def test_a_second_process_is_refused_naming_the_holder_and_a_killed_holder_never_blocks(tmp_path):
    path = tmp_path / "line.db"
    with store_held(path) as child:
        with pytest.raises(StoreError) as refused:
            StoreWriter(path, "line1-cam1", FEATURES)
        assert f"pid {child.pid}" in str(refused.value)
        assert "\n" not in str(refused.value)
    with StoreWriter(path, "line1-cam1", FEATURES) as writer:  # the OS let go of the lock
        assert writer.status.running


def test_headless_on_a_store_in_use_exits_3_with_one_line(tmp_path):
    path = tmp_path / "line.db"
    with store_held(path) as child:
        run = headless(station_toml(tmp_path, path), "--for", "5")
    assert run.returncode == 3
    reason = [line for line in run.stderr.splitlines() if line.startswith("main.py:")]
    assert len(reason) == 1 and f"pid {child.pid}" in reason[0]


def fill_store(path: Path, n: int = 3000) -> None:
    from console.records import RecordParser

    parser = RecordParser(FEATURES)
    batch, _ = parser.parse([record_line(i) for i in range(n)])
    with StoreWriter(path, "line1-cam1", FEATURES) as writer:
        writer.append_records(batch, parser.classes.names)
        writer.flush()


def garbage_header(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(os.urandom(100))


def garbage_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        for offset in range(size // 4, size - 4096, size // 8):
            handle.seek(offset)
            handle.write(b"\xa5" * 2048)


def truncated(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 3 + 17)


@pytest.mark.parametrize("damage", [garbage_header, garbage_middle, truncated])
def test_a_damaged_store_is_set_aside_and_a_fresh_one_started(tmp_path, damage):
    path = tmp_path / "line.db"
    fill_store(path)
    damage(path)
    assert examine_store(str(path))  # quick_check sees it
    original = path.read_bytes()
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"\n".join(record_line(i) for i in range(300)) + b"\n")
    run = headless(station_toml(tmp_path, path, folder_source(folder)), "--for", "4")
    assert run.returncode == 0, run.stderr
    kept = [k for k in tmp_path.glob("line.db.damaged-*") if not k.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].read_bytes() == original  # kept, untouched
    events = json_lines(run.stderr)
    assert any(e.get("source") == "store" and "damaged" in e.get("detail", "") for e in events)
    raised = [e for e in json_lines(run.stdout) if e.get("event") == "alarm_raised"]
    assert any(e["alarm"] == "store:store" and e["priority"] == "high" for e in raised)
    assert integrity_ok(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 300


def test_store_lock_and_wal_files_are_private(tmp_path):
    path = tmp_path / "line.db"
    old = os.umask(0o022)
    try:
        with StoreWriter(path, "line1-cam1", FEATURES) as writer:
            writer.append_event("test", "note")
            writer.flush()
            names = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")]
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in names if p.exists()}
    finally:
        os.umask(old)
    assert len(modes) == 4
    assert set(modes.values()) == {0o600}, modes


def test_lock_file_names_pid_host_and_start(tmp_path):
    lock = StoreLock(str(tmp_path / "x.db"))
    try:
        holder = json.loads((tmp_path / "x.db.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] and holder["since"]
    finally:
        lock.release()


def test_a_missing_directory_ends_headless_with_exit_3(tmp_path):
    run = headless(station_toml(tmp_path, tmp_path / "no" / "such" / "line.db"), "--for", "5")
    assert run.returncode == 3
    lines = [line for line in run.stderr.splitlines() if line.startswith("main.py:")]
    assert len(lines) == 1 and "store" in lines[0]


@pytest.fixture
def mount_point(tmp_path):
    why = can_mount()
    if why:
        print(f"skipped: {why}")
        pytest.skip(why)
    where = tmp_path / "mnt"
    yield where
    unmount(where)


def test_a_read_only_store_ends_headless_with_exit_3(tmp_path, mount_point):
    mount_tmpfs(mount_point, "8m")
    fill_store(mount_point / "line.db", 100)
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
    run = headless(station_toml(tmp_path, mount_point / "line.db"), "--for", "5")
    assert run.returncode == 3
    lines = [line for line in run.stderr.splitlines() if line.startswith("main.py:")]
    assert len(lines) == 1 and "read-only" in lines[0].lower()


def test_a_full_disk_ends_headless_with_exit_3_an_alarm_and_not_stored(tmp_path, mount_point):
    mount_tmpfs(mount_point, "600k")
    folder = tmp_path / "drop"
    folder.mkdir()
    lines = [record_line(i, features={"brightness": 0.5, "contrast": 0.2, "focus": float(i)})
             for i in range(20000)]  # fmt: skip
    (folder / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    config = station_toml(tmp_path, mount_point / "line.db", folder_source(folder))
    run = headless(config, "--for", "60")
    assert run.returncode == 3, run.stderr[-2000:]
    summary = summary_of(run.stdout)
    assert summary["not_stored"] > 0
    raised = [e for e in json_lines(run.stdout) if e.get("event") == "alarm_raised"]
    assert any(e["alarm"] == "store:store" and e["priority"] == "high" for e in raised)
    store_events = [e for e in json_lines(run.stderr) if e.get("source") == "store"]
    assert any("not stored" in e["detail"] for e in store_events)
    assert [line for line in run.stderr.splitlines() if line.startswith("main.py:")]


def test_headless_summary_carries_reference_version_active_alarms_and_not_stored(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"\n".join(record_line(i) for i in range(400)) + b"\n")
    child = start_headless(station_toml(tmp_path, tmp_path / "line.db", folder_source(folder)))
    try:
        out, err = child.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    summary = summary_of(out)
    assert child.returncode == 0, err
    assert summary["not_stored"] == 0
    assert summary["reference_version"] >= 1
    assert isinstance(summary["active_alarms"], list)
