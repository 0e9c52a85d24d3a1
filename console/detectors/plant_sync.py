"""The plant sync's alarm: `sync_stale:plant sync`, raised when rows have waited for the plant's
PostgreSQL longer than `[sync] stale_seconds` and cleared when the sync catches up (data/sync.py
says which; this module only puts it to the annunciator). Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.detectors.base import DetectorSpec
from console.records import iso

if TYPE_CHECKING:
    from console.annunciator import Annunciator

SYNC_STALE = DetectorSpec("sync_stale", "plant sync", "rows", "medium", "data_owner")
SOURCE = "plant sync"


class SyncAlarms:
    """A stale plant sync, put to the annunciator (engine thread)."""

    specs = (SYNC_STALE,)

    def __init__(self, annunciator: Annunciator) -> None:
        self.annunciator = annunciator

    def check(self, stale: bool, pending: int, detail: str, now: float, seq: int) -> None:
        """Raise the alarm while the sync is stale (`pending` rows wait), clear it when not."""
        if stale:
            self.annunciator.trip(
                SYNC_STALE,
                SOURCE,
                value=float(pending),
                seq=seq,
                ts=iso(now),
                message=f"{pending:,} rows waiting for the plant database: {detail}",
            )
        else:
            self.annunciator.reset(SYNC_STALE, SOURCE, seq=seq, ts=iso(now))
