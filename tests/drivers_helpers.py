"""Shared helpers for the driver tests: waiting on conditions, collecting an Intake, records, ptys."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable

from console.intake import Delivery, Intake, SourceEvent
from console.records import Rejected


def wait_for(
    condition: Callable[[], object], timeout: float = 20.0, what: str = "condition"
) -> object:
    """Poll `condition` until it gives something true, and return that; fail the test after
    `timeout` seconds (the one polling helper of the tests)."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.01)
    return result


def record_line(i: int, *, part_prefix: str = "P", features: dict | None = None) -> bytes:
    """A valid WIRE §1 record (about 230 bytes) with a unique part number."""
    record = {
        "ts": f"2026-03-02T06:{(i // 60) % 60:02d}:{i % 60:02d}.651Z",
        "station": "line1-cam1",
        "part": f"{part_prefix}{i:08d}",
        "batch": "B000",
        "model": "defnet-3.2",
        "class": ("ok", "scratch", "dent")[i % 3],
        "conf": round(0.5 + (i % 5000) / 10000, 4),
        "features": features
        if features is not None
        else {"brightness": 0.58791 + i % 7 / 100, "contrast": 0.27437, "focus": 117.74543},
    }
    return json.dumps(record, separators=(",", ":")).encode()


def part_of(line: bytes) -> str:
    return json.loads(line)["part"]


class IntakeCollector:
    """Drains an Intake in a background thread and keeps everything that arrived."""

    def __init__(self, intake: Intake | None = None) -> None:
        self.intake = intake or Intake(maxsize=65536)
        self.lines: list[bytes] = []
        self.rejected: list[Rejected] = []
        self.events: list[SourceEvent] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-intake", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for item in self.intake.drain(timeout=0.01, limit=4096):
                if isinstance(item, Delivery):
                    self.lines.extend(item.lines)
                    self.rejected.extend(item.rejected)
                else:
                    self.events.append(item)

    def count(self, kind: str) -> int:
        return sum(e.count for e in list(self.events) if e.kind == kind)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for item in self.intake.drain(timeout=0, limit=1 << 30):
            if isinstance(item, Delivery):
                self.lines.extend(item.lines)
                self.rejected.extend(item.rejected)
            else:
                self.events.append(item)


class Pty:
    """A pty pair standing in for a USB serial adapter: the driver opens `path`; we hold the master."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)  # the driver opens the slave by name, like a real port

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def unplug(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def point_link(link: str, target: str) -> None:
    """Re-point a by-id style symlink atomically (what udev does on replug)."""
    temp = f"{link}.new"
    if os.path.lexists(temp):
        os.unlink(temp)
    os.symlink(target, temp)
    os.replace(temp, link)
