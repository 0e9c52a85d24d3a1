"""The driver contract and the thread that runs a driver: open, read batches, close, reconnect.

A `Driver` owns one source's I/O and nothing else: `open()` connects (and says what it opened),
`read_batch(timeout)` returns the record lines and framing rejects that arrived within `timeout`,
`close()` lets go. Framing and parsing live in pure functions beside the drivers (`framing.py`,
`modbus_rtu.decode_registers`); a driver only moves bytes. A driver raises `SourceLost` (or any
`OSError`/`SerialException`) when its peer goes away; it reports everything else it notices
(CRC errors, timeouts, missed parts, client disconnects) as `SourceEvent`s via its `SourceMonitor`.

`SourceThread` runs one driver in its own daemon thread: it hands every batch to the engine's
`Intake`, turns a lost peer into `disconnected`, retries `open()` with exponential backoff (first
retry after 20 ms, capped at 2 s) and reports `connected` / `reconnected` / `stopped`.
`SourceMonitor` keeps the counts and publishes an immutable `SourceStatus` whenever they change;
it is written by the source's thread (and, for a few events, by a caller such as the fallback
switch) and read by anyone.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Protocol

from console.config import Source
from console.intake import Intake, SourceEvent, SourceStatus
from console.records import Rejected

log = logging.getLogger(__name__)

Batch = tuple[list[bytes], list[Rejected]]

# Event kinds that count as trouble in SourceStatus.errors (connected/reconnected/stopped don't).
TROUBLE_KINDS = frozenset(
    ("disconnected", "error", "timeout", "crc_error", "missed_parts", "overflow")
)


class SourceLost(ConnectionError):
    """The source's peer went away (port unplugged, socket closed); the SourceThread reconnects."""


class RunningSource(Protocol):
    """What the console holds for each configured source, whichever driver is behind it."""

    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 2.0) -> None: ...

    def status(self) -> SourceStatus: ...


class SourceMonitor:
    """Counts one source's lines, rejects and events and publishes its SourceStatus (thread-safe)."""

    RATE_WINDOW = 1.0  # seconds over which `rate` is measured

    def __init__(self, name: str, kind: str, url: str, intake: Intake) -> None:
        self.name = name
        self.intake = intake
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._lines = 0
        self._rejected = 0
        self._window_start = time.monotonic()
        self._window_lines = 0
        self._rate = 0.0
        self._last_data: float | None = None
        self._state = "starting"
        self._detail = ""
        self._status = SourceStatus(name=name, kind=kind, url=url)

    def status(self) -> SourceStatus:
        return self._status

    def count(self, kind: str) -> int:
        """How many `kind` events this source has reported (summing their counts)."""
        return self._counts.get(kind, 0)

    def deliver(self, lines: Sequence[bytes], rejected: Sequence[Rejected] = ()) -> None:
        """Hand lines to the engine; blocks briefly when the engine is behind (bounded queue)."""
        if not lines and not rejected:
            return
        self.intake.put(self.name, lines, rejected)
        with self._lock:
            self._lines += len(lines)
            self._rejected += len(rejected)
            self._window_lines += len(lines)
            self._last_data = time.time()
            self._publish()

    def event(self, kind: str, detail: str = "", count: int = 1) -> None:
        self.intake.event(SourceEvent(self.name, kind, detail, count))
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + count
            if kind in TROUBLE_KINDS:
                self._detail = f"{kind}: {detail}" if detail else kind
            self._publish()

    def set_state(self, state: str, detail: str | None = None) -> None:
        with self._lock:
            self._state = state
            if detail is not None:
                self._detail = detail
            self._publish()

    def tick(self) -> None:
        """Refresh the rate when a window has passed, also when nothing arrives."""
        if time.monotonic() - self._window_start >= self.RATE_WINDOW:
            with self._lock:
                self._publish()

    def _publish(self) -> None:
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed >= self.RATE_WINDOW:
            self._rate = self._window_lines / elapsed
            self._window_start = now
            self._window_lines = 0
        errors = tuple(sorted((k, n) for k, n in self._counts.items() if k in TROUBLE_KINDS))
        old = self._status
        self._status = SourceStatus(
            name=old.name,
            kind=old.kind,
            state=self._state,
            url=old.url,
            lines=self._lines,
            rejected=self._rejected,
            rate=self._rate,
            last_data=self._last_data,
            errors=errors,
            detail=self._detail,
        )


class Driver(ABC):
    """One source's I/O (open, read a batch, close); runs only in its SourceThread."""

    kind: ClassVar[str] = ""

    def __init__(self, source: Source, monitor: SourceMonitor) -> None:
        self.source = source
        self.monitor = monitor

    def status(self) -> SourceStatus:
        return self.monitor.status()

    @abstractmethod
    def open(self) -> str:
        """Connect; returns what was opened (e.g. the device behind a by-id link). Raises on failure."""

    @abstractmethod
    def read_batch(self, timeout: float) -> Batch:
        """Lines and framing rejects that arrived within about `timeout` seconds (may be empty)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the port or socket; safe to call twice or after a failed open."""


class SourceThread:
    """Runs one Driver in a daemon thread: reads, delivers, reconnects with backoff, reports."""

    def __init__(
        self,
        driver: Driver,
        *,
        first_retry: float = 0.02,
        max_retry: float = 2.0,
        read_timeout: float = 0.1,
    ) -> None:
        self.driver = driver
        self.monitor = driver.monitor
        self.name = driver.monitor.name
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.read_timeout = read_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the loop to finish and wait up to `timeout` s; the driver is closed by its thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> SourceStatus:
        return self.monitor.status()

    def _run(self) -> None:
        monitor = self.monitor
        driver = self.driver
        ever_connected = False
        try:
            while not self._stop.is_set():
                if not self._connect(ever_connected):
                    break
                ever_connected = True
                self._read_until_lost()
        finally:
            try:
                driver.close()
            except Exception as error:  # the stop must still be reported
                log.exception("source %s: close failed", self.name)
                monitor.event("error", f"while closing: {error!r}")
            monitor.set_state("stopped", "")
            monitor.event("stopped")

    def _connect(self, ever_connected: bool) -> bool:
        """Open with backoff until it works (True) or we are asked to stop (False)."""
        delay = self.first_retry
        failures = reported = 0
        while not self._stop.is_set():
            try:
                opened = self.driver.open()
            except Exception as error:
                self.driver.close()
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    # One event when an outage starts, then one per ten tries carrying the
                    # count, so a long unplug stays visible without flooding the event list.
                    self.monitor.event("error", f"cannot open: {error}", failures - reported)
                    reported = failures
                self.monitor.set_state("reconnecting", f"cannot open: {error}")
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, self.max_retry)
                continue
            self.monitor.set_state("connected", opened)
            self.monitor.event("reconnected" if ever_connected else "connected", opened)
            return True
        return False

    def _read_until_lost(self) -> None:
        driver, monitor = self.driver, self.monitor
        while not self._stop.is_set():
            try:
                lines, rejected = driver.read_batch(self.read_timeout)
            except Exception as error:
                if not isinstance(error, (OSError, SourceLost)) and not _is_serial_error(error):
                    log.exception("source %s: unexpected error while reading", self.name)
                driver.close()
                monitor.set_state("reconnecting", f"lost: {error}")
                monitor.event("disconnected", str(error) or type(error).__name__)
                self._stop.wait(self.first_retry)
                return
            monitor.deliver(lines, rejected)
            monitor.tick()


def _is_serial_error(error: BaseException) -> bool:
    try:
        from serial import SerialException
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return False
    return isinstance(error, SerialException)
