"""Alarms of the line as a whole, from what the sources and the clock say rather than from the
records: `stale` (no parts for `detection.stale_seconds`), `source` (a source disconnected,
failed or timed out; cleared when it reconnects) and `missed_parts` (a source reports parts it
could not read: raised and returned to normal at once, waiting to be acknowledged) and `store`
(the store could not be opened or written: console/store_health.py says when). Raised and
cleared through the annunciator like every other alarm. Engine thread.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console.detectors.base import DetectorSpec
from console.intake import SourceEvent
from console.records import iso

if TYPE_CHECKING:
    from console.annunciator import Annunciator

STALE = DetectorSpec("stale", "no data", "s", "high", "operations_lead")
SOURCE = DetectorSpec("source", "source", "events", "medium", "operations_lead")
MISSED_PARTS = DetectorSpec("missed_parts", "missed parts", "parts", "medium", "data_owner")
STORE = DetectorSpec("store", "store", "events", "high", "data_owner")

LOST = ("disconnected", "error", "timeout", "missed_parts")
BACK = ("connected", "reconnected")


class LineAlarms:
    """Stale line, lost sources and missed parts, put to the annunciator (engine thread)."""

    specs = (STALE, SOURCE, MISSED_PARTS, STORE)

    def __init__(self, annunciator: Annunciator, stale_seconds: float) -> None:
        self.annunciator = annunciator
        self.stale_seconds = stale_seconds

    def source_event(self, event: SourceEvent, seq: int, text: str) -> None:
        """A source's event: a loss raises its alarm, a reconnection clears it."""
        ts = iso(event.at)
        if event.kind in LOST:
            spec = MISSED_PARTS if event.kind == "missed_parts" else SOURCE
            self.annunciator.trip(
                spec, event.source, value=float(event.count), seq=seq, ts=ts, message=text
            )
            if spec is MISSED_PARTS:
                # Parts already missed cannot come back: the alarm returns to normal at once
                # and waits, unacknowledged, for someone to take note.
                self.annunciator.reset(spec, event.source, seq=seq, ts=ts)
        elif event.kind in BACK:
            self.annunciator.reset(SOURCE, event.source, seq=seq, ts=ts)

    def source_unopened(self, source: str, seq: int, text: str) -> None:
        """A configured source that could not even be opened: its alarm, raised now."""
        self.annunciator.trip(SOURCE, source, value=1.0, seq=seq, ts=iso(time.time()), message=text)

    def store_failed(self, seq: int, text: str) -> None:
        """The store could not be opened or written: an alarm, never only a line in a log."""
        self.annunciator.trip(STORE, "store", value=1.0, seq=seq, ts=iso(time.time()), message=text)

    def check_stale(self, last_arrival: float | None, now: float, seq: int) -> None:
        """Raise `stale:line` when no part arrived for too long; clear it when parts come.
        `last_arrival` and `now` are monotonic: a step of the wall clock makes no stale line."""
        if last_arrival is None:
            return
        quiet = now - last_arrival
        ts = iso(time.time())
        if quiet > self.stale_seconds:
            self.annunciator.trip(
                STALE, "line", value=quiet, seq=seq, ts=ts, message=f"no parts for {quiet:.0f} s"
            )
        else:
            self.annunciator.reset(STALE, "line", seq=seq, ts=ts)
