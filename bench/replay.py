"""Replay benchmarks (`main.py bench --only replay`): the quality engineer's side of the store.

A store of N records with 32 features is made the way the line makes it (an engine with its
store, fed in deliveries of 1,000), then, side by side on the same records: `replay` of the whole
run (store read + engine), the store read alone (delivery blocks, and row by row as a store
before schema v7 is read), `analyze` of the same records exported as JSON Lines (parse +
engine), and the engine alone over the records in memory. Then the Replay view: its first open
(which builds its charts), opening a batch of 5,000 (right after the reference, and the run's
last), one scrub step's redraw, and the live ingest rate (engine + store) with and without a
`main.py replay` process reading the same file. Main thread; the view offscreen.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.store import CLASSES, synthetic_batch
from console.config import Config, Reference, Store, Window, default_config
from console.engine import Engine
from console.export import write_jsonl
from console.records import RecordBatch, iso
from console.replay import replay
from data import replay as stored
from data.store import StoreWriter

FEATURES = 32
DELIVERY = 1000
BATCH_PARTS = 5000
ROOT = Path(__file__).resolve().parent.parent


def _records(n: int, seed: int = 3) -> RecordBatch:
    batch = synthetic_batch(n, FEATURES, seed=seed)
    ts = 1_772_430_000.0 + np.arange(n) * 0.5
    return replace(
        batch,
        ts=ts,
        ts_text=tuple(iso(t) for t in ts.tolist()),
        batch=tuple(f"B{i // BATCH_PARTS:05d}" for i in range(n)),
    )


def bench_config(path: str) -> Config:
    base = default_config()
    names = tuple(f"f{k:03d}" for k in range(FEATURES))
    return replace(
        base,
        station=replace(base.station, id="bench", features=names, classes=CLASSES),
        store=Store(path=path),
        reference=Reference(size=10_000),
        window=Window(parts=10_000, batch=100),
    )


def _classes() -> str:
    return "[" + ", ".join(f'"{c}"' for c in CLASSES) + "]"


def make_store(config: Config, records: RecordBatch) -> float:
    """The line's way: engine + store, deliveries of 1,000; returns records/s."""
    writer = StoreWriter(config.store.path, config.station.id, config.station.features)
    engine = Engine(config, store=writer)
    started = time.perf_counter()
    for begin in range(0, len(records), DELIVERY):
        engine.process(records.take(slice(begin, begin + DELIVERY)))
    writer.close()
    return len(records) / (time.perf_counter() - started)


def bench_replay(quick: bool) -> None:
    from bench.suite import heading, line, verdict

    n = 200_000 if quick else 1_000_000
    heading("replay", f"{n:,} stored records, {FEATURES} features, W = 10,000, batches of 100")
    records = _records(n)
    with tempfile.TemporaryDirectory() as tmp:
        config = bench_config(str(Path(tmp) / "line.db"))
        line(
            "store made (engine + store, deliveries of 1,000)",
            f"{make_store(config, records):,.0f} records/s",
        )
        path = config.store.path
        started = time.perf_counter()
        done = replay(path, config, stored.Selection())
        seconds = time.perf_counter() - started
        line(
            f"replay of the whole run ({done.records:,} records, {len(done.events)} events)",
            f"{seconds:.2f} s, {n / seconds:,.0f} records/s",
            f"target <= 5 s (aim 2 s) for 1M: {verdict(seconds * 1_000_000 / n <= 5.0)}",
        )
        for blocks, how in ((True, "delivery blocks, v7"), (False, "row by row, as before v7")):
            started = time.perf_counter()
            stored.engine_records(path, 1, 1 << 62, blocks=blocks)
            read = time.perf_counter() - started
            line(f"  the store read alone ({how})", f"{read:.2f} s, {n / read:,.0f} records/s")
        line(
            "  analyze of the same records (export, then analyze)",
            _analyze(config, path, tmp, n, [e.wire() for e in done.events]),
        )
        started = time.perf_counter()
        engine = Engine(config)
        for begin in range(0, n, DELIVERY):
            engine.process(records.take(slice(begin, begin + DELIVERY)))
        alone = time.perf_counter() - started
        line("  the engine alone, records in memory", f"{alone:.2f} s, {n / alone:,.0f} records/s")
        _view(config, n)
        _ingest_beside_replay(config, tmp)


def _analyze(config: Config, path: str, tmp: str, n: int, expected: list[dict]) -> str:
    from console.cli import main as cli_main

    stream = str(Path(tmp) / "run.jsonl")
    with open(stream, "w", encoding="utf-8") as out:
        write_jsonl(stored.selected_records(path, stored.Selection()), out)
    toml = Path(tmp) / "bench.toml"
    names = ", ".join(f'"{f}"' for f in config.station.features)
    toml.write_text(
        f'[station]\nid = "bench"\nfeatures = [{names}]\nclasses = {_classes()}\n'
        "[reference]\nsize = 10000\n"
        "[window]\nparts = 10000\nbatch = 100\n"
    )
    started = time.perf_counter()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cli_main(["analyze", stream, "--config", str(toml)])
    seconds = time.perf_counter() - started
    alarms = [json.loads(x) for x in printed.getvalue().splitlines()[:-1]]
    same = "same alarms as replay" if alarms == expected else "ALARMS DIFFER from replay"
    return f"{seconds:.2f} s, {n / seconds:,.0f} records/s; {same}"


def _view(config: Config, n: int) -> None:
    from bench.suite import line, verdict

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from widgets.replay import ReplayView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = ReplayView(config.store.path, config)
    view.resize(1920, 1080)
    view.show()
    batches = view.session.batches
    started = time.perf_counter()
    view.open_batch(batches[3].batch)  # the first snapshot with a reference builds the charts
    app.processEvents()
    line(
        "first open in a new view (a later batch; builds its 33 charts once)",
        f"{time.perf_counter() - started:.3f} s",
    )
    for label, batch in (("after the reference", batches[2]), ("the run's last", batches[-1])):
        view.session.replayer = None  # a fresh open: nothing replayed yet
        started = time.perf_counter()
        view.open_batch(batch.batch)
        app.processEvents()
        seconds = time.perf_counter() - started
        line(
            f"open a batch of {batch.parts:,} in the view ({label})",
            f"{seconds:.3f} s",
            f"target <= 0.3 s: {verdict(seconds <= 0.3)}" if label.startswith("after") else "",
        )
    steps = []
    for _ in range(20):
        started = time.perf_counter()
        view.replay.move_to(view.session.cursor + 1)
        app.processEvents()
        steps.append(time.perf_counter() - started)
    step = float(np.median(steps))
    line("scrub step redraw (one part on, charts + parts)", f"{step * 1000:.1f} ms",
         f"target <= 50 ms: {verdict(step <= 0.05)}")  # fmt: skip
    started = time.perf_counter()
    view.replay.move_to(view.session.start + view.session.parts // 2)
    view.replay.move_to(view.session.start + 10)
    app.processEvents()
    line(
        "scrub back half a batch (from the nearest checkpoint)",
        f"{(time.perf_counter() - started) * 1000:.0f} ms",
    )
    view.close()
    del n


def _ingest(config: Config, seconds: float = 5.0) -> float:
    """Records/s the line's engine + store take for `seconds`, into a fresh store file."""
    records = _records(200_000, seed=9)
    writer = StoreWriter(config.store.path, config.station.id, config.station.features)
    engine = Engine(config, store=writer)
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < seconds:
        begin = done % (len(records) - DELIVERY)
        engine.process(records.take(slice(begin, begin + DELIVERY)))
        done += DELIVERY
    writer.flush(timeout=60)
    rate = done / (time.perf_counter() - started)
    writer.close()
    return rate


def _ingest_beside_replay(config: Config, tmp: str) -> None:
    from bench.suite import line

    live = replace(config, store=Store(path=str(Path(tmp) / "live.db")))
    alone = _ingest(live)
    line("live ingest (engine + store), alone", f"{alone:,.0f} records/s")
    toml = Path(tmp) / "replay.toml"
    names = ", ".join(f'"{f}"' for f in config.station.features)
    toml.write_text(
        f'[station]\nid = "bench"\nfeatures = [{names}]\nclasses = {_classes()}\n'
        f'[store]\npath = "{config.store.path}"\n'
        "[reference]\nsize = 10000\n[window]\nparts = 10000\nbatch = 100\n"
    )
    command = [sys.executable, str(ROOT / "main.py"), "replay", "--config", str(toml)]
    loop = f"while true; do {' '.join(command)} > /dev/null; done"
    reader = subprocess.Popen(["sh", "-c", loop], cwd=ROOT, start_new_session=True)
    try:
        time.sleep(1.0)  # let the replay get going
        beside = _ingest(replace(live, store=Store(path=str(Path(tmp) / "live2.db"))))
    finally:
        os.killpg(reader.pid, 15)
        reader.wait()
    line(
        "live ingest while `main.py replay` runs in a loop",
        f"{beside:,.0f} records/s ({beside / alone:.0%} of alone; 2 cores shared)",
    )
