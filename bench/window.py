"""Benchmark of the console window under load: `uv run python -m bench.window [SECONDS]`.

`bench_window` runs a real station (engine thread, store) with 32 inputs (f00..f31), a feeder
thread putting 200 parts a second into its intake, and the real main window offscreen at
1920×1080, and measures: the event loop's latency (a 10 ms probe timer's lateness, p50/p99/max),
the CPU share of the process and of the UI thread (process/thread CPU time over wall time), and
the latency from a record arriving at the intake to its part id being shown in the recent parts
list (p50/p99). A measurement, never a timed test. Runs on the main thread plus the feeder.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

import numpy as np
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from console.config import Config, Reference, Store
from console.config import Station as StationConfig
from console.runner import Station
from widgets.main_window import MainWindow

FEATURES = tuple(f"f{k:02d}" for k in range(32))
CLASSES = ("ok", "scratch", "dent", "stain")


def bench_config(store_path: str) -> Config:
    return Config(
        station=StationConfig(id="bench", name="Bench line", features=FEATURES, classes=CLASSES),
        source=(),
        reference=Reference(size=2000),
        store=Store(path=store_path),
    )


def make_lines(count: int, first: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """(part id, JSON line) for `count` parts with 32 features; ts filled in when sent."""
    rng = np.random.default_rng(seed + first)
    values = rng.normal(0.5, 0.1, (count, len(FEATURES))).round(5).tolist()
    classes = rng.choice(len(CLASSES), count, p=(0.9, 0.05, 0.03, 0.02))
    conf = rng.beta(18, 1.5, count).round(4).tolist()
    out = []
    for i in range(count):
        part = f"B{first + i:08d}"
        record = {
            "ts": "{ts}",
            "part": part,
            "model": "defnet-3.2",
            "class": CLASSES[classes[i]],
            "conf": conf[i],
            "features": dict(zip(FEATURES, values[i], strict=True)),
        }
        out.append((part, json.dumps(record, separators=(",", ":")).encode()))
    return out


def _stamp(line: bytes) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return line.replace(b"{ts}", now.encode(), 1)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_window(seconds: float = 20.0, rate: float = 200.0) -> dict:
    """Run the window under a 200 parts/s, 32-input load for `seconds`; returns the numbers."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        station = Station(bench_config(os.path.join(tmp, "bench.db")), sources=False)
        station.first_admin("bench", "1234")  # the console, not the login screen
        station.start()
        try:
            return _measure(app, station, seconds, rate)
        finally:
            station.stop()


def _measure(app: QApplication, station: Station, seconds: float, rate: float) -> dict:
    reference = make_lines(2000, 0)
    for begin in range(0, len(reference), 200):
        station.intake.put("bench", [_stamp(line) for _, line in reference[begin : begin + 200]])
    deadline = time.monotonic() + 60
    while station.snapshot.learning and time.monotonic() < deadline:
        time.sleep(0.05)
    window = MainWindow(station, beep=False)
    window.resize(1920, 1080)
    window.show()
    loop = QEventLoop()
    QTimer.singleShot(500, loop.quit)  # let the charts be built before measuring
    loop.exec()
    lines = make_lines(int(seconds * rate) + int(rate), 10_000)
    sent: dict[str, float] = {}
    shown: dict[str, float] = {}
    stop = threading.Event()

    def feeder() -> None:
        period, step = 0.05, max(1, int(rate * 0.05))
        due = time.monotonic()
        for begin in range(0, len(lines), step):
            if stop.is_set():
                return
            chunk = lines[begin : begin + step]
            at = time.perf_counter()
            for part, _ in chunk:
                sent[part] = at
            station.intake.put("bench", [_stamp(line) for _, line in chunk])
            due += period
            time.sleep(max(0.0, due - time.monotonic()))

    def on_drawn(_snapshot: object) -> None:
        keys = window.parts.model.keys
        if keys and keys[0] in sent and keys[0] not in shown:
            shown[keys[0]] = time.perf_counter() - sent[keys[0]]

    window.pump.changed.connect(on_drawn)  # after the window's own slot: the list is updated
    ticks: list[float] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    thread = threading.Thread(target=feeder, name="feeder", daemon=True)
    wall0, cpu0, ui0 = time.perf_counter(), time.process_time(), time.thread_time()
    refreshes0 = window.refreshes
    thread.start()
    probe.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    wall, cpu, ui = (
        time.perf_counter() - wall0,
        time.process_time() - cpu0,
        time.thread_time() - ui0,
    )
    probe.stop()
    stop.set()
    thread.join(2)
    window.close()
    lateness = [max(0.0, (b - a) - 0.010) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    latency = [v * 1000 for v in shown.values()]
    return {
        "seconds": round(wall, 2),
        "parts_per_second": round(len(sent) / wall, 1),
        "features": len(FEATURES),
        "refreshes_per_second": round((window.refreshes - refreshes0) / wall, 1),
        "event_loop_lateness_ms_p50": round(_percentile(lateness, 50), 2),
        "event_loop_lateness_ms_p99": round(_percentile(lateness, 99), 2),
        "event_loop_lateness_ms_max": round(max(lateness, default=float("nan")), 2),
        "cpu_process_share": round(cpu / wall, 3),
        "cpu_ui_thread_share": round(ui / wall, 3),
        "record_to_screen_ms_p50": round(_percentile(latency, 50), 1),
        "record_to_screen_ms_p99": round(_percentile(latency, 99), 1),
        "latency_samples": len(latency),
    }


if __name__ == "__main__":
    result = bench_window(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
    print(json.dumps(result, indent=2))
