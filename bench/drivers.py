"""Driver throughput benchmarks: serial over a pty and the local TCP listener, into a real Intake.

`bench_serial` puts the serial driver's read rate next to what a 115,200 baud line can carry at
all; `bench_tcp` measures records per second from several camera connections into the intake.
Both run the real driver in its SourceThread and count what a consumer thread drains, so the
numbers include framing, the intake queue and thread hand-offs. Run:

    uv run python -m drivers.bench_drivers
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

from console.config import Source
from console.intake import Delivery, Intake
from drivers import make_driver
from drivers.base import SourceThread
from drivers.simulator import FEATURES

FEATURE_NAMES = tuple(f.name for f in FEATURES)


def typical_records(n: int) -> list[bytes]:
    """Records shaped like the camera's (8 features, about 300 bytes each)."""
    out = []
    for i in range(n):
        record = {
            "ts": f"2026-03-02T{6 + i // 3_600_000 % 12:02d}:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z",
            "station": "line1-cam1",
            "part": f"P{i:010d}",
            "batch": f"B{i // 1000:05d}",
            "model": "defnet-3.2",
            "class": "ok" if i % 10 else "scratch",
            "conf": round(0.9 + (i % 997) / 10_000, 4),
            "features": {
                name: round(0.5 + ((i * (k + 3)) % 1000) / 1000, 5)
                for k, name in enumerate(FEATURE_NAMES)
            },
        }
        out.append(json.dumps(record, separators=(",", ":")).encode())
    return out


class _Counter:
    """Drains an intake the way the engine would, counting lines."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.lines = 0
        self.first: float | None = None
        self.last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for item in self.intake.drain(timeout=0.01, limit=1024):
                if isinstance(item, Delivery) and item.lines:
                    self.lines += len(item.lines)
                    self.last = time.perf_counter()
                    if self.first is None:
                        self.first = self.last

    def wait(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.lines < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.lines} of {n} records arrived")
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def bench_serial(records: int = 50_000, baudrate: int = 115_200) -> dict:
    """Records/s the serial driver reads from a pty, beside what the real line can carry."""
    lines = typical_records(records)
    data = b"".join(line + b"\n" for line in lines)
    mean_bytes = len(data) / records
    bytes_per_s = baudrate / 10  # 8N1: start + 8 data + stop bits per byte
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    intake = Intake(maxsize=65_536)
    counter = _Counter(intake)
    thread = SourceThread(make_driver(Source(kind="serial", url=path, baudrate=baudrate), intake))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while thread.status().state != "connected":
            if time.monotonic() > deadline:
                raise TimeoutError("serial driver did not connect")
            time.sleep(0.001)
        started = time.perf_counter()
        view = memoryview(data)
        while view:
            view = view[os.write(master, view[:65536]) :]
        counter.wait(records, timeout=120)
        seconds = counter.last - started
    finally:
        thread.stop()
        counter.stop()
        os.close(master)
    line_capacity = bytes_per_s / mean_bytes
    return {
        "records": records,
        "mean_record_bytes": round(mean_bytes, 1),
        "line_bytes_per_s_at_baud": bytes_per_s,
        "line_capacity_records_per_s": round(line_capacity, 1),
        "driver_records_per_s_over_pty": round(records / seconds),
        "driver_mb_per_s_over_pty": round(len(data) / seconds / 1e6, 2),
        "headroom_over_line": round(records / seconds / line_capacity),
    }


def bench_tcp(records: int = 400_000, clients: int = 4) -> dict:
    """Records/s from `clients` camera connections through the TCP driver into an Intake."""
    per_client = records // clients
    lines = typical_records(per_client)
    payload = b"".join(line + b"\n" for line in lines)
    intake = Intake(maxsize=4096)
    counter = _Counter(intake)
    thread = SourceThread(make_driver(Source(kind="tcp", url="tcp://127.0.0.1:0"), intake))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while thread.status().state != "connected":
            if time.monotonic() > deadline:
                raise TimeoutError("tcp driver did not start listening")
            time.sleep(0.001)
        address = thread.driver.address
        senders = []
        for _ in range(clients):
            sock = socket.create_connection(address)
            senders.append(threading.Thread(target=_send_and_close, args=(sock, payload)))
        started = time.perf_counter()
        for sender in senders:
            sender.start()
        counter.wait(per_client * clients, timeout=120)
        seconds = counter.last - started
        for sender in senders:
            sender.join()
    finally:
        thread.stop()
        counter.stop()
    total = per_client * clients
    return {
        "records": total,
        "clients": clients,
        "mean_record_bytes": round(len(payload) / per_client, 1),
        "seconds": round(seconds, 3),
        "records_per_s": round(total / seconds),
        "mb_per_s": round(len(payload) * clients / seconds / 1e6, 1),
        "target_records_per_s": 50_000,
    }


def _send_and_close(sock: socket.socket, payload: bytes) -> None:
    with sock:
        for start in range(0, len(payload), 256 * 1024):
            sock.sendall(payload[start : start + 256 * 1024])


if __name__ == "__main__":
    print(json.dumps({"serial": bench_serial(), "tcp": bench_tcp()}, indent=2))


def bench_tcp_engine(records: int = 200_000) -> dict:
    """End to end: a station listening on TCP, the simulator writing into it, until the engine
    has accepted every record (parse, statistics, detectors; no store)."""
    import socket
    from dataclasses import replace

    from console.config import Reference, Source, Window, demo_config
    from console.runner import Station
    from drivers.simulator import LineSimulator
    from drivers.sink import open_sink

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = Source(kind="tcp", name="camera", url=f"tcp://127.0.0.1:{port}")
    config = replace(
        demo_config(),
        source=(source,),
        reference=Reference(size=10_000),
        window=Window(parts=10_000, batch=100),
    )
    station = Station(config, store_path="")
    station.start()
    try:
        deadline = time.monotonic() + 10
        while not any(s.state == "connected" for s in station.snapshot.sources):
            if time.monotonic() > deadline:
                raise RuntimeError("the TCP source did not start listening")
            time.sleep(0.01)
        chunks = list(LineSimulator("stable", seed=2).chunks(records, 1000))
        sink = open_sink(f"tcp://127.0.0.1:{port}")
        started = time.perf_counter()
        for chunk in chunks:
            sink.write_lines(chunk)
        sink.close()
        deadline = time.monotonic() + 120
        while station.engine.accepted < records and time.monotonic() < deadline:
            time.sleep(0.005)
        seconds = time.perf_counter() - started
    finally:
        station.stop()
    return {
        "records": records,
        "accepted": station.engine.accepted,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        "target_records_per_s": 50_000,
    }
