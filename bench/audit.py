"""Audit-trail and login figures: verifying a long chain, and one PIN check.

`run(quick)` builds a store whose audit trail holds 1,000,000 entries (100,000 when quick) by
bulk insert, times `data.audit.verify_trail` over it (the work of `main.py audit verify`,
budget < 60 s for 1,000,000), and times argon2id PIN checks (budget <= 0.5 s each). Runs on the
caller's thread; writes only to a temporary directory.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlite_utils import Database

from console.auth import HASHER
from data.audit import TRAIL_COLUMNS, chain_rows, verify_trail
from data.schema import GENESIS_HASH, migrate

CHUNK = 100_000


def build_trail(path: Path, n: int) -> None:
    db = Database(sqlite3.connect(path))
    migrate(db)
    conn = db.conn
    prev = GENESIS_HASH
    sql = f"INSERT INTO audit ({', '.join(TRAIL_COLUMNS)}) VALUES ({', '.join('?' * 8)})"
    for start in range(0, n, CHUNK):
        rows = [
            (
                3 * i + 1,
                1_800_000_000.0 + i,
                "ana",
                "operator",
                "override",
                f'{{"meaning":"","new":"dent","old":"ok","reason":"misclassified",'
                f'"station_seq":{i * 10},"target":"P{i:07d}","utc":"2027-01-15T08:00:00Z"}}',
            )
            for i in range(start, min(n, start + CHUNK))
        ]
        chained = chain_rows(rows, prev)
        prev = chained[-1][7]
        with conn:
            conn.executemany(sql, chained)
    conn.close()


def run(quick: bool = False) -> list[dict]:
    n = 100_000 if quick else 1_000_000
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.db"
        started = time.perf_counter()
        build_trail(path, n)
        built = time.perf_counter() - started
        started = time.perf_counter()
        verdict = verify_trail(path)
        seconds = time.perf_counter() - started
        assert verdict.ok and verdict.entries == n
        results.append(
            {
                "bench": "audit_verify",
                "entries": n,
                "seconds": round(seconds, 2),
                "entries_per_second": round(n / seconds),
                "build_seconds": round(built, 1),
                "budget_seconds_per_million": 60,
            }
        )
    stored = HASHER.hash("48213957")
    times = []
    for _ in range(5 if quick else 20):
        started = time.perf_counter()
        HASHER.verify(stored, "48213957")
        times.append(time.perf_counter() - started)
    results.append(
        {
            "bench": "pin_check",
            "checks": len(times),
            "median_seconds": round(statistics.median(times), 3),
            "max_seconds": round(max(times), 3),
            "budget_seconds": 0.5,
        }
    )
    return results


if __name__ == "__main__":
    import json
    import sys

    for row in run("--quick" in sys.argv):
        print(json.dumps(row))
