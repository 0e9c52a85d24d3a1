"""The station's link to the plant sync: the `PlantSync` thread (data/sync.py) that forwards the
store's outbox to the plant's PostgreSQL when `[sync] url` is set, started and stopped with the
station, its status for the snapshot, and its staleness put to the engine's alarms.

`attach` runs when the store opens (the station's start, or the engine thread on the first
record); `check` and `status` run on the engine thread; the sync's own news comes from its
thread and becomes a system event on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.config import Sync
from data.sync_status import NOT_CONFIGURED, SyncStatus

if TYPE_CHECKING:
    from console.engine import Engine
    from data.store import StoreWriter
    from data.sync import PlantSync


class SyncLink:
    """The plant sync of one station, if it has one."""

    def __init__(self, settings: Sync, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.sync: PlantSync | None = None
        self._started = False

    def attach(self, store: StoreWriter) -> None:
        """The store is open: the sync reads its outbox (started now if the station runs)."""
        if not self.settings.url or self.sync is not None:
            return
        # Here, not at the top: only a station with a plant database loads psycopg (libpq).
        from data.sync import PlantSync

        self.sync = PlantSync(store, self.settings, on_event=self._event)
        if self._started:  # the store opened late, on the first record
            self.sync.start()

    def start(self) -> None:
        self._started = True
        if self.sync is not None:
            self.sync.start()

    def stop(self) -> None:
        if self.sync is not None:
            self.sync.stop()

    @property
    def status(self) -> SyncStatus:
        return NOT_CONFIGURED if self.sync is None else self.sync.status

    def check(self, now: float) -> None:
        """A stale sync (rows waiting longer than [sync] stale_seconds) is an alarm; the engine
        raises and clears it (engine thread)."""
        if self.sync is None:
            return
        status = self.sync.status
        self.engine.check_sync(status.stale, status.pending, status.detail(), now)

    def _event(self, kind: str, text: str) -> None:
        """The plant sync's news (sync thread) as a system event on screen."""
        self.engine.note_system("sync" if kind != "error" else "error", "plant sync", text)
