"""An override the store said was saved survives SIGKILL at any moment, and the file stays sound.

A child process ingests records in bulk and saves overrides one after another, printing each
override's seq only after `save_override` returned; the test kills it at seeded random moments,
over and over on the same file, and checks after every kill. The children are forked from one
process that has already imported numpy and the store (a zygote), so a round costs the kill and
the checks, not an interpreter start; each child opens the store itself after the fork.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data.store import integrity_ok
from tests.drivers_helpers import wait_for
from tests.zygote_helpers import read_line

ROOT = Path(__file__).resolve().parents[1]
KILLS = 100

ZYGOTE = r"""
import os, sys
sys.modules["pandas"] = None  # sqlite-utils imports pandas when present: slow, and not needed
import threading, time
import numpy as np
from console.actions import Override
from console.records import RecordBatch
from data.store import StoreWriter

path = sys.argv[1]


def child(tag, out):
    writer = StoreWriter(path, "dur-cam1", ["a", "b", "c", "d"])
    n = 100
    batch = RecordBatch(
        features=np.random.default_rng().normal(size=(n, 4)),
        class_codes=np.zeros(n, np.int32), conf=np.full(n, 0.5), ts=np.zeros(n),
        ts_text=("t",) * n, part=tuple(f"p{i}" for i in range(n)), batch=(None,) * n,
        model=(None,) * n,
    )

    def bulk():
        while True:
            writer.append_records(batch, ["ok"])
            writer.journal_alarm("drift.a", "a", "psi", "unack", "high", 0.3)
            time.sleep(0.005)  # a busy line, not a flood: keeps the shared file small

    threading.Thread(target=bulk, daemon=True).start()
    os.write(out, b"ready\n")
    i = 0
    while True:
        part = f"{tag}-{i}"
        seq = writer.save_override(Override(part, "ok", "scratch", "misclassified", "child"))
        os.write(out, f"{seq} {part}\n".encode())  # one write: a kill cuts it or not
        i += 1


for line in sys.stdin:
    tag, out_path = line.split()
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid == 0:
        try:
            child(tag, out)
        finally:
            os._exit(1)
    os.close(out)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"reaped {os.waitstatus_to_exitcode(status)}", flush=True)
"""


def has_schema(path: Path) -> bool:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.OperationalError as error:
        # Killed while switching a new file to WAL: a hot rollback journal that only a writer
        # (the next child) rolls back; a read-only look cannot, and there is no schema yet.
        assert "readonly" in str(error), error
        return False
    finally:
        conn.close()
    return {"overrides", "outbox", "seq_counter", "records"} <= names


def saved_overrides(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT o.seq, o.part FROM overrides o JOIN outbox b ON b.seq = o.seq"
            " WHERE b.kind = 'override'"
        ).fetchall()
        last = conn.execute("SELECT last_seq FROM seq_counter").fetchone()[0]
        used = conn.execute(
            "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM outbox),"
            " max((SELECT coalesce(max(seq), 0) FROM records),"
            " (SELECT coalesce(max(seq), 0) FROM outbox))"
        ).fetchone()
    finally:
        conn.close()
    assert used == (last, last), "seqs must be 1..last_seq without gaps"
    return dict(rows)


@pytest.mark.slow
@pytest.mark.timeout(900)  # room for a loaded machine
def test_override_survives_sigkill_at_random_moments(tmp_path):
    path = tmp_path / "durable.db"
    rng = random.Random(20260302)
    reported: dict[int, str] = {}
    kills_while_saving = 0
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for round_ in range(KILLS):
            out_path = tmp_path / f"out-{round_}.txt"
            out = kill_one_child(zygote, rng, round_, out_path)
            saved_now = 0
            for line in out.split("\n")[:-1]:  # a line the kill cut short was not reported
                if line != "ready":
                    seq, part = line.split()
                    reported[int(seq)] = part
                    saved_now += 1
            kills_while_saving += saved_now > 0
            if not path.exists() or not has_schema(path):
                assert not reported, f"kill {round_}: the schema is gone after overrides were saved"
                continue  # killed while the first child created the file and its tables
            assert integrity_ok(path), f"integrity check failed after kill {round_}"
            in_store = saved_overrides(path)
            missing = {seq: part for seq, part in reported.items() if in_store.get(seq) != part}
            assert not missing, (
                f"after kill {round_}: reported saved but not in the store: {missing}"
            )
    finally:
        zygote.kill()
        zygote.wait()
        for stream in (zygote.stdin, zygote.stdout, zygote.stderr):
            stream.close()
    assert len(reported) >= KILLS, "the child saved too few overrides to prove anything"
    assert kills_while_saving >= KILLS // 2


def kill_one_child(
    zygote: subprocess.Popen, rng: random.Random, round_: int, out_path: Path
) -> str:
    """Fork a child, SIGKILL it at a random moment, return what it reported before dying."""
    zygote.stdin.write(f"r{round_} {out_path}\n")
    zygote.stdin.flush()
    pid = int(read_line(zygote, 30))
    # Every tenth kill lands anywhere from start-up (open, migration) on.
    if round_ % 10:
        wait_for(
            lambda: out_path.exists() and out_path.read_text().startswith("ready\n"),
            30,
            f"child {round_} to say it is ready",
        )
    time.sleep(rng.uniform(0.02, 0.3))  # the random kill moment (not a wait for a thread)
    os.kill(pid, signal.SIGKILL)
    reaped = read_line(zygote, 30)
    assert reaped == f"reaped {-signal.SIGKILL}\n", f"the child ended on its own: {reaped!r}"
    return out_path.read_text()
