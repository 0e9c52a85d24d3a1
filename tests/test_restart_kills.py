"""`headless` killed at random moments, restarted on the same store each time: the station comes
back as it was.

A drifting line's stream is split into small files; before each round two more files drop into
the watched folder and a `headless` (engine, store, folder source: the whole station) starts on
the same store, says what it restored (its first line on stderr), and is SIGKILLed after a random
short delay. After every kill: the reference version in force never changed and no other was
made, the alarms the new run restored are exactly those the journal left active before its
start, the record count only grew, the outbox sequence has no gap, `PRAGMA integrity_check` is
ok. The runs are forked from one process that has already imported everything (a zygote), so a
round costs the station's start and the kill, not an interpreter start or a compilation.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.alarms import AlarmBook
from console.config import default_config
from console.station_memory import restore_alarms
from data.reading import alarm_journal
from drivers.simulator import write_stream
from tests.drivers_helpers import wait_for
from tests.zygote_helpers import read_line

ROOT = Path(__file__).resolve().parents[1]
KILLS = 100
FILES_PER_ROUND = 2
RECORDS_PER_FILE = 200

ZYGOTE = r"""
import os, sys
sys.modules["pandas"] = None  # sqlite-utils imports pandas when present: slow, and not needed
from console.config import load_config
from console.runner import run_headless
import data.store, drivers, drivers.folder  # what the station would import lazily

config = load_config(sys.argv[1])
# Compile (or load from numba's cache) the engine's kernels once, here, not in every child.
from console.engine import Engine
warm = Engine(config)
with open(sys.argv[2], "rb") as handle:
    warm.feed_lines(handle.readlines()[:5000])
del warm
for line in sys.stdin:
    out_path, err_path = line.split()
    pid = os.fork()
    if pid == 0:
        try:
            out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, 1)
            os.dup2(err, 2)
            code = run_headless(config, None)
        finally:
            os._exit(1)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"reaped {os.waitstatus_to_exitcode(status)}", flush=True)
"""


def query(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def printed_active(restored: dict, out_path: Path) -> set[str]:
    """The alarms the killed run had announced as active (its restored set, then its stdout)."""
    active = set(restored["active_alarms"])
    for line in out_path.read_text().splitlines():
        if not line.endswith("}"):
            continue  # the kill cut it
        event = json.loads(line)
        if event.get("event") == "alarm_raised":
            active.add(event["alarm"])
        elif event.get("event") == "alarm_cleared":
            active.discard(event["alarm"])
    return active


def kept_reference(path: Path) -> int:
    try:
        return int(query(path, "SELECT count(*) FROM reference_records")[0][0])
    except sqlite3.Error:  # not there yet, or still being migrated
        return 0


def journal_active(path: Path) -> set[str]:
    """The alarms the journal leaves active (what a restart must put back)."""
    if not path.exists():
        return set()
    return set(restore_alarms(AlarmBook(default_config().alarms), alarm_journal(path)))


def check_store(path: Path) -> int:
    """Integrity, no seq gap, one reference version; returns the record count."""
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    last = query(path, "SELECT last_seq FROM seq_counter")[0][0]
    used = query(
        path,
        "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM outbox),"
        " max((SELECT coalesce(max(seq), 0) FROM records),"
        " (SELECT coalesce(max(seq), 0) FROM outbox))",
    )[0]
    assert used == (last, last), "seqs must be 1..last_seq without gaps"
    assert query(path, "SELECT version FROM reference_profiles") == [(1,)]
    assert query(path, "SELECT version FROM reference_records") == [(1,)]
    return int(query(path, "SELECT count(*) FROM records")[0][0])


def restored_line(err_path: Path) -> dict | None:
    if not err_path.exists():
        return None
    for line in err_path.read_text().splitlines():
        if line.startswith("{") and line.endswith("}") and '"restored"' in line:
            said = json.loads(line)
            if said.get("event") == "restored":
                return said
    return None


def prepare(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """The config, the store path and the staged files (dropped into the folder round by
    round): a drifting line, 200 records a file."""
    stream = tmp_path / "stream.jsonl"
    total = KILLS * FILES_PER_ROUND * RECORDS_PER_FILE + 3000
    write_stream(str(stream), "drift", total / 5000.0, parts_per_day=5000)
    lines = stream.read_bytes().splitlines(keepends=True)
    staged_dir, folder = tmp_path / "staged", tmp_path / "in"
    staged_dir.mkdir()
    folder.mkdir()
    staged = []
    for number, begin in enumerate(range(0, len(lines), RECORDS_PER_FILE)):
        file = staged_dir / f"part-{number:05d}.jsonl"
        file.write_bytes(b"".join(lines[begin : begin + RECORDS_PER_FILE]))
        staged.append(file)
    store = tmp_path / "station.db"
    config = tmp_path / "station.toml"
    config.write_text(
        '[station]\nid = "sim-line1"\n'
        f'[[source]]\nkind = "folder"\nurl = "{folder}"\npoll_interval = 0.02\nsettle = 0.05\n'
        f'[store]\npath = "{store}"\n[reference]\nsize = 2000\n[window]\nparts = 2000\n'
    )
    return config, store, staged


def drop(staged: list[Path], folder: Path, count: int) -> None:
    for _ in range(min(count, len(staged))):
        file = staged.pop(0)
        os.rename(file, folder / file.name)


def start(zygote: subprocess.Popen, tmp_path: Path, round_: int) -> tuple[int, Path]:
    err_path = tmp_path / f"err-{round_}.txt"
    zygote.stdin.write(f"{tmp_path / f'out-{round_}.txt'} {err_path}\n")
    zygote.stdin.flush()
    return int(read_line(zygote, 60)), err_path


def kill(zygote: subprocess.Popen, pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert read_line(zygote, 60).startswith("reaped")


@pytest.mark.slow
@pytest.mark.timeout(900)  # room for a loaded machine
def test_a_station_killed_at_random_moments_comes_back_as_it_was(tmp_path):
    config, store, staged = prepare(tmp_path)
    folder = tmp_path / "in"
    rng = random.Random(20261130)
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(config), str(tmp_path / "stream.jsonl")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Round 0: a new store learns its reference; killed once version 1 is kept.
        drop(staged, folder, 15)
        pid, _ = start(zygote, tmp_path, 0)
        wait_for(lambda: kept_reference(store), timeout=120, what="the first reference kept")
        kill(zygote, pid)
        records = check_store(store)
        restored_alarms = ahead = 0
        for round_ in range(1, KILLS + 1):
            drop(staged, folder, FILES_PER_ROUND)
            expected = journal_active(store)
            pid, err_path = start(zygote, tmp_path, round_)
            said = wait_for(
                lambda path=err_path: restored_line(path), timeout=120, what="restored line"
            )
            assert said["reference_version"] == 1, f"round {round_}: {said}"
            assert set(said["active_alarms"]) == expected, f"round {round_}"
            restored_alarms += bool(expected)
            time.sleep(rng.uniform(0.0, 0.4))
            kill(zygote, pid)
            # Figure, not a check: an alarm event is printed once queued for the journal, so a
            # kill can fall between the two (the journal, not stdout, is what comes back).
            ahead += printed_active(said, tmp_path / f"out-{round_}.txt") != journal_active(store)
            now = check_store(store)
            assert now >= records, f"round {round_}: records went from {records} to {now}"
            records = now
        assert restored_alarms >= KILLS // 2, "too few rounds had active alarms to keep"
        print(
            f"kills {KILLS + 1}, records {records}, rounds restoring alarms {restored_alarms}, "
            f"kills between an alarm printed and journaled {ahead}, "
            f"journal rows {query(store, 'SELECT count(*) FROM alarm_journal')[0][0]}"
        )
    finally:
        zygote.stdin.close()
        zygote.kill()
        zygote.wait(10)
        zygote.stdout.close()
        zygote.stderr.close()
