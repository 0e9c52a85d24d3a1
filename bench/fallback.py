"""Fallback to manual inspection: how fast a switch reaches the PLC's coil (target < 500 ms).

A real pymodbus server plays the PLC (tests/drivers_plc.py); the station polls it as its Modbus
source while a simulator floods the store (bulk ingest) and the plant sync points at a port where
nothing listens (the network is down). Each trial switches the fallback on or off as a logged-in
control owner, and counts only when the PLC's own datastore holds the asked state afterwards.
Used by tests/test_fallback.py (every trial confirmed) and by `main.py bench --only fallback`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from console.config import Source, demo_config
from console.runner import Station
from tests.drivers_plc import CLASS_CODES, PlcServer
from tests.postgres_server import free_port


@dataclass
class Trials:
    confirmed: int
    reached: int
    latencies: list[float]
    audited: int

    def figures(self) -> dict:
        ordered = sorted(self.latencies)
        return {
            "trials": len(ordered),
            "confirmed": self.confirmed,
            "coil_reached": self.reached,
            "audited": self.audited,
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
        }


def fallback_line(folder: Path, plc: PlcServer, *, busy: bool, network_down: bool) -> Station:
    """A station on the PLC (and, if `busy`, a fast simulator filling the store)."""
    config = demo_config()
    plc_source = Source(
        kind="modbus",
        name="plc",
        url=f"socket://127.0.0.1:{plc.port}",
        class_codes=CLASS_CODES,
        poll_interval=0.05,
    )
    sources = (plc_source,)
    if busy:
        sources = (replace(config.source[0], rate=3000.0), plc_source)
    sync = config.sync
    if network_down:
        sync = replace(sync, url=f"postgresql://linewatch@127.0.0.1:{free_port()}/linewatch")
    store = replace(config.store, path=str(folder / "line.db"))
    config = replace(config, source=sources, sync=sync, store=store)
    return Station(config)


def run_trials(station: Station, plc: PlcServer, n: int) -> Trials:
    """`n` switches alternating on/off; each checked on the PLC's coil and in the audit trail."""
    session = station.session
    confirmed = reached = 0
    latencies = []
    for trial in range(n):
        on = trial % 2 == 0
        started = time.perf_counter()
        done = station.set_fallback(on, f"trial {trial}", session)
        latencies.append(done.seconds if done.confirmed else time.perf_counter() - started)
        confirmed += done.confirmed
        reached += plc.coil(0) == on
    rows = station.audit_trail(limit=10 * n + 100, session=session)
    audited = sum(1 for r in rows if r.get("action") in ("fallback", "fallback_back"))
    return Trials(confirmed, reached, latencies, audited)


def bench_fallback(quick: bool) -> dict:
    """Trials on a quiet line and on a busy one with the network down; the figures by case."""
    n = 100 if quick else 1000
    return {
        "quiet line": _case(False, n).figures(),
        "busy store, network down": _case(True, n).figures(),
    }


def _case(busy: bool, n: int) -> Trials:
    from tests.drivers_helpers import wait_for

    plc = PlcServer(8)
    with tempfile.TemporaryDirectory() as folder:
        station = fallback_line(Path(folder), plc, busy=busy, network_down=busy)
        station.start()
        try:
            station.first_admin("owner", "123456")
            wait_for(lambda: station.engine.accepted > 10, 60, "parts from the PLC")
            return run_trials(station, plc, n)
        finally:
            station.stop()
            plc.close()
