"""The engine's intake: the one thread-safe door through which sources hand over what they read.

Drivers run in their own threads and `put` raw record lines (JSON Lines bytes, WIRE.md §1; a
driver that reads another framing converts each record into one canonical JSON line) together
with the lines their framing already rejected, and report `SourceEvent`s (connected,
disconnected, errors, missed parts). The engine thread drains the intake in micro-batches and
is the only one to parse, so class codes and counts stay consistent across sources.
The queue is bounded: a source that outruns the engine blocks briefly rather than eating memory.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from console.records import Rejected

# What a source can report about itself; each becomes a data-quality or system event.
EVENT_KINDS = (
    "connected",
    "disconnected",
    "reconnected",
    "error",
    "timeout",
    "crc_error",
    "missed_parts",
    "overflow",
    "stopped",
)


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """Something a source says about itself (not a record): counted, stored, shown."""

    source: str
    kind: str
    detail: str = ""
    count: int = 1
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A batch of raw lines from one source, plus the lines its framing rejected."""

    source: str
    lines: tuple[bytes, ...]
    rejected: tuple[Rejected, ...] = ()
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's health as shown in the console header (immutable; drivers publish new ones)."""

    name: str
    kind: str
    state: str = "starting"  # starting | connected | reconnecting | stopped | failed
    url: str = ""
    lines: int = 0
    rejected: int = 0
    rate: float = 0.0  # lines per second, recent
    last_data: float | None = None  # wall-clock time of the last line
    errors: tuple[tuple[str, int], ...] = ()  # (event kind, count)
    detail: str = ""


class Intake:
    """Bounded queue between source threads (producers) and the engine thread (consumer)."""

    def __init__(self, maxsize: int = 4096) -> None:
        self._queue: queue.Queue[Delivery | SourceEvent] = queue.Queue(maxsize=maxsize)

    def put(self, source: str, lines: Sequence[bytes], rejected: Sequence[Rejected] = ()) -> None:
        if lines or rejected:
            self._queue.put(Delivery(source, tuple(lines), tuple(rejected)))

    def event(self, event: SourceEvent) -> None:
        self._queue.put(event)

    def drain(self, timeout: float = 0.05, limit: int = 256) -> list[Delivery | SourceEvent]:
        """What has arrived, waiting up to `timeout` for the first item."""
        items: list[Delivery | SourceEvent] = []
        try:
            items.append(self._queue.get(timeout=timeout))
            while len(items) < limit:
                items.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return items

    def pending(self) -> int:
        return self._queue.qsize()
