"""Plant sync throughput into PostgreSQL, side by side with a plain COPY of the same rows.

`uv run main.py bench --only sync [--quick]` (or `uv run python -m bench.bench_sync [--quick]`).
Starts its own PostgreSQL (tests/postgres_server.py, fsync on, 127.0.0.1), fills a station store with N records (plus one override, alarm, incident
and audit entry every 10,000), then times `PlantSync.drain` from the store into the central
schema: reading SQLite, features to JSON, binary COPY into a staging table, `INSERT ... ON
CONFLICT DO NOTHING`, the high-water mark, COMMIT per batch, the store's mark. The ceiling is
one binary COPY of the same central rows, built beforehand in memory, into a table shaped like
`linewatch.records` (same types, same key) in one transaction. Target: >= 50,000 records/s.
Main thread only; prints the machine and returns the figures as dicts.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from console.config import Sync
from data import central
from data.outbox import PG_EPOCH, OutboxReader
from data.store import StoreWriter
from data.sync import PlantSync
from tests.postgres_server import PASSWORD, start_server
from tests.sync_helpers import CLASSES, FEATURES, add_journal_rows, make_batch

TARGET = 50_000.0
STATION = "bench-cam1"


def machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for text in handle:
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()},"
        f" python {platform.python_version()}, psycopg {psycopg.__version__}"
    )


def fill_store(path: Path, records: int) -> None:
    with StoreWriter(path, STATION, FEATURES) as store:
        for begin in range(0, records, 5000):
            store.append_records(make_batch(min(5000, records - begin), begin), CLASSES)
            if begin % 10_000 == 0:
                add_journal_rows(store, begin)
        store.flush(timeout=120)


def time_sync(path: Path, settings: Sync) -> tuple[float, int]:
    with StoreWriter(path, STATION, FEATURES) as store, PlantSync(store, settings) as sync:
        started = time.perf_counter()
        ok, reason = sync.drain(timeout=600)
        seconds = time.perf_counter() - started
        if not ok:
            raise RuntimeError(f"sync failed: {reason}")
        return seconds, sync.pushed_rows


def time_plain_copy(path: Path, settings: Sync, records: int) -> float:
    """The ceiling: one binary COPY of the same rows, prepared in memory beforehand."""
    reader = OutboxReader(path, STATION)
    rows = []
    for begin in range(0, records + records // 2000 + 10, 50_000):
        batch = reader.read(begin, 50_000)
        rows.extend(
            (
                STATION,
                r[0],
                datetime.fromtimestamp(r[1] / 1e6 + PG_EPOCH, UTC),
                *r[2:8],
                r[8][1:].decode(),
                *r[9:],
            )
            for r in batch.records
        )
    reader.close()
    with central.connect(settings, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.copy_ceiling")
        conn.execute("CREATE TABLE public.copy_ceiling (LIKE linewatch.records INCLUDING ALL)")
        columns = (
            "station, seq, ts, ts_text, part, batch, model, class, conf, features, image, label,"
            " origin"
        )
        started = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cursor,
            cursor.copy(f"COPY public.copy_ceiling ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(
                ["text", "int8", "timestamptz", "text", "text", "text", "text", "text",
                 "float8", "jsonb", "text", "text", "text"]
            )  # fmt: skip
            for row in rows:
                copy.write_row(row)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE public.copy_ceiling")
    return seconds


def run(quick: bool) -> list[dict]:
    records = 100_000 if quick else 1_000_000
    print(f"\n== sync: outbox → PostgreSQL, {records:,} records (machine: {machine()})", flush=True)
    server = start_server(fsync=True)
    results: list[dict] = []
    try:
        server.wait_ready()
        server.create_database("bench")
        os.environ.setdefault("PGPASSWORD", PASSWORD)
        settings = Sync(url=server.url("bench"), batch_rows=20_000, retention_days=36500)
        with central.connect(settings, autocommit=True) as conn:
            central.migrate(conn)
            version = conn.execute("SHOW server_version").fetchone()[0]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "station.db"
            fill_store(path, records)
            sync_s, rows = time_sync(path, settings)
            copy_s = time_plain_copy(path, settings, records)
        sync_rate, copy_rate = rows / sync_s, records / copy_s
        results = [
            {
                "name": "sync",
                "what": "PlantSync.drain: store → linewatch.records (+ journals), per-batch commit",
                "rows": rows,
                "seconds": round(sync_s, 3),
                "rate": round(sync_rate),
                "target": TARGET,
                "met": sync_rate >= TARGET,
            },
            {
                "name": "sync_copy_ceiling",
                "what": "one binary COPY of the same rows, prepared in memory",
                "rows": records,
                "seconds": round(copy_s, 3),
                "rate": round(copy_rate),
            },
            {"name": "sync_ratio", "ratio": round(sync_rate / copy_rate, 3)},
        ]
        print(f"  PostgreSQL {version}, fsync on, 127.0.0.1")
        print(
            f"  sync           {sync_rate:>10,.0f} records/s  ({rows:,} rows in {sync_s:.1f} s)"
            f"   [target >= {TARGET:,.0f}: {'met' if sync_rate >= TARGET else 'MISSED'}]"
        )
        print(f"  plain COPY     {copy_rate:>10,.0f} records/s  (ceiling)")
        print(f"  ratio          {sync_rate / copy_rate:>10.2f}", flush=True)
    finally:
        server.destroy()
    return results


if __name__ == "__main__":
    run("--quick" in sys.argv[1:])
