"""An override the store said was saved survives SIGKILL at any moment, and the file stays sound.

A child process ingests records in bulk and saves overrides one after another, printing each
override's seq only after `save_override` returned; the test kills it at seeded random moments,
over and over on the same file, and checks after every kill.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from data.store import integrity_ok

ROOT = Path(__file__).resolve().parents[1]
KILLS = 100

CHILD = r"""
import sys
sys.modules["pandas"] = None  # sqlite-utils imports pandas when present: slow, and not needed
import threading, time
import numpy as np
from console.actions import Override
from console.records import RecordBatch
from data.store import StoreWriter

path, tag = sys.argv[1], sys.argv[2]
writer = StoreWriter(path, "dur-cam1", ["a", "b", "c", "d"])
n = 100
batch = RecordBatch(
    features=np.random.default_rng().normal(size=(n, 4)),
    class_codes=np.zeros(n, np.int32), conf=np.full(n, 0.5), ts=np.zeros(n),
    ts_text=("t",) * n, part=tuple(f"p{i}" for i in range(n)), batch=(None,) * n, model=(None,) * n,
)

def bulk():
    while True:
        writer.append_records(batch, ["ok"])
        writer.journal_alarm("drift.a", "a", "psi", "unack", "high", 0.3)
        time.sleep(0.005)  # a busy line, not a flood: keeps the shared file small

threading.Thread(target=bulk, daemon=True).start()
print("ready", flush=True)
i = 0
while True:
    part = f"{tag}-{i}"
    seq = writer.save_override(Override(part, "ok", "scratch", "misclassified", "child"))
    sys.stdout.write(f"{seq} {part}\n")
    sys.stdout.flush()
    i += 1
"""


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"child said nothing within {timeout} s"
    return proc.stdout.readline().decode()


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
def test_override_survives_sigkill_at_random_moments(tmp_path):
    path = tmp_path / "durable.db"
    rng = random.Random(20260302)
    reported: dict[int, str] = {}
    kills_while_saving = 0
    for round_ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), f"r{round_}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            # Every tenth kill lands anywhere from start-up (open, migration) on.
            if round_ % 10:
                assert read_line(proc, 30) == "ready\n", proc.stderr.read().decode()
            delay = rng.uniform(0.02, 0.3)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=delay)  # the random kill moment; returns early if it died
            assert proc.returncode is None, proc.stderr.read().decode()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            out = proc.stdout.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        saved_now = 0
        for line in out.split("\n")[:-1]:  # a line the kill cut short was not reported
            if line != "ready":
                seq, part = line.split()
                reported[int(seq)] = part
                saved_now += 1
        kills_while_saving += saved_now > 0
        if not path.exists():
            continue  # killed before the file was created
        assert integrity_ok(path), f"integrity check failed after kill {round_}"
        in_store = saved_overrides(path)
        missing = {seq: part for seq, part in reported.items() if in_store.get(seq) != part}
        assert not missing, f"after kill {round_}: reported saved but not in the store: {missing}"
    assert len(reported) >= KILLS, "the child saved too few overrides to prove anything"
    assert kills_while_saving >= KILLS // 2
