"""The store as the line sees it: opened once the features are known, watched for failed writes.

`StoreHealth` opens the station's store (data/store.py takes its lock and checks its file) and
turns what goes wrong into what people see: a store that cannot be opened, a damaged file moved
aside, or writes that keep failing become a system event and the high-priority `store` alarm
(raised through the engine's line alarms, i.e. the annunciator — never here), and set `failure`,
on which `headless` ends with exit 3. Records the store quarantined row by row cost only those
rows: a `quarantine` event, not a failure. A store that keeps failing makes one event per
`NOTE_PERIOD`. `open` runs on the thread that builds or feeds the station (once), `check` on
the engine thread.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from console.engine import Engine

if TYPE_CHECKING:
    from data.store import StoreWriter

NOTE_PERIOD = 5.0  # seconds between events about a store that keeps failing


class StoreHealth:
    """The station's store, its error text for the header, and whether it failed."""

    def __init__(self, engine: Engine, station: str) -> None:
        self.engine = engine
        self.station = station
        self.store: StoreWriter | None = None
        self.error = ""  # why there is no store, for the header
        self.failure = ""  # set once the store could not be opened or written
        self._failed_seen = 0
        self._not_stored_seen = 0
        self._noted_at = 0.0

    def open(self, path: str) -> StoreWriter | None:
        """Open the store for the engine's features; a failure is an event and an alarm."""
        engine = self.engine
        try:
            from data.store import StoreWriter

            self.store = StoreWriter(path, self.station, engine.features or ())
            engine.store = self.store
        except Exception as error:  # the line keeps running without a store
            self.error = f"store unavailable: {error}"
            engine.note_system("system", "store", self.error)
            self._fail(self.error)
            return None
        if self.store.set_aside:
            engine.note_system("store", "store", self.store.set_aside)
            engine.line_alarms.store_failed(engine.accepted, self.store.set_aside)
        return self.store

    def check(self) -> None:
        """Turn new write failures into a system event, the alarm and `failure`."""
        store = self.store
        if store is None:
            return
        status = store.status
        # A row the store quarantined costs that row (not_stored); a failed write is a failure.
        if status.not_stored > self._not_stored_seen and status.failed == self._failed_seen:
            count = status.not_stored - self._not_stored_seen
            text = f"{count} records not stored, quarantined: {status.last_error}"
            self.engine.note_system("quarantine", "store", text)
        self._not_stored_seen = status.not_stored
        if status.failed > self._failed_seen:
            self._failed_seen = status.failed
            text = (
                f"store write failed, {status.not_stored} records not stored: {status.last_error}"
            )
            now = time.monotonic()
            if now - self._noted_at >= NOTE_PERIOD or not self.failure:
                self._noted_at = now  # a store that keeps failing: one event a period
                self.engine.note_system("store", "store", text)
            self._fail(text)

    def _fail(self, text: str) -> None:
        self.engine.line_alarms.store_failed(self.engine.accepted, text)
        self.failure = text
