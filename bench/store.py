"""Store benchmarks (run by `main.py bench`, never inside timed tests).

`bench_store_write` measures records/s through `StoreWriter` (queue, executemany, commits,
flush). `bench_override_latency` measures how long an operator waits for "saved" while a
background thread ingests records as fast as the writer takes them. Each run uses a fresh file
in a temporary directory; the calling thread drives it and the writer thread does the work.

    uv run python -m data.bench_store
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from console.actions import Override
from console.records import RecordBatch
from data.store import StoreWriter

CLASSES = ("ok", "scratch", "dent", "stain")


def synthetic_batch(n: int, features: int, seed: int = 1, start: int = 0) -> RecordBatch:
    """n plausible records (some NaN) for benchmarks and tests."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, features))
    matrix[rng.random((n, features)) < 0.01] = np.nan
    ts = 1_772_430_000.0 + np.arange(start, start + n) * 0.05
    parts = tuple(f"P{i:08d}" for i in range(start, start + n))
    return RecordBatch(
        features=matrix,
        class_codes=rng.integers(0, len(CLASSES), n).astype(np.int32),
        conf=rng.random(n),
        ts=ts,
        ts_text=tuple(f"2026-03-02T06:00:{i % 60:02d}.000Z" for i in range(n)),
        part=parts,
        batch=("B000",) * n,
        model=("defnet-3.2",) * n,
    )


def _feature_names(features: int) -> list[str]:
    return [f"f{k:03d}" for k in range(features)]


def bench_store_write(n: int = 200_000, features: int = 32, batch_rows: int = 1000) -> dict:
    """Records/s written through StoreWriter in `batch_rows` batches, flush included."""
    batch = synthetic_batch(n, features)
    pieces = [batch.take(slice(i, i + batch_rows)) for i in range(0, n, batch_rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        writer = StoreWriter(path, "bench", _feature_names(features))
        try:
            start = time.perf_counter()
            for piece in pieces:
                writer.append_records(piece, CLASSES)
            writer.flush(timeout=600)
            seconds = time.perf_counter() - start
        finally:
            writer.close()
        size = path.stat().st_size
    return {
        "records": n,
        "features": features,
        "batch_rows": batch_rows,
        "seconds": round(seconds, 3),
        "records_per_s": round(n / seconds),
        "db_bytes": size,
    }


def bench_override_latency(n: int = 300, features: int = 32, batch_rows: int = 1000) -> dict:
    """p50/p99/max ms of save_override while records are ingested continuously."""
    pieces = [synthetic_batch(batch_rows, features, seed=s) for s in range(8)]
    stop = threading.Event()
    ingested = 0

    def ingest() -> None:
        nonlocal ingested
        k = 0
        while not stop.is_set():
            writer.append_records(pieces[k % len(pieces)], CLASSES)
            ingested += batch_rows
            k += 1

    with tempfile.TemporaryDirectory() as tmp:
        writer = StoreWriter(Path(tmp) / "bench.db", "bench", _feature_names(features))
        feeder = threading.Thread(target=ingest, name="bench-ingest", daemon=True)
        latencies = []
        try:
            feeder.start()
            while writer.status.records < 20 * batch_rows:  # the writer is busy before we time
                writer.flush(timeout=60)
            records_before = writer.status.records
            start = time.perf_counter()
            for i in range(n):
                override = Override(f"P{i:08d}", "ok", "scratch", "misclassified", "bench")
                t0 = time.perf_counter()
                writer.save_override(override)
                latencies.append(time.perf_counter() - t0)
            seconds = time.perf_counter() - start
            records_during = writer.status.records - records_before
        finally:
            stop.set()
            feeder.join()
            writer.close()
    ms = np.array(latencies) * 1000.0
    return {
        "overrides": n,
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "records_per_s_during": round(records_during / seconds),
    }


if __name__ == "__main__":
    print(json.dumps({"store_write": bench_store_write()}))
    print(json.dumps({"override_latency": bench_override_latency()}))
