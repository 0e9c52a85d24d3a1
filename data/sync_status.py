"""What the screen says about the plant sync: a frozen `SyncStatus` and its words.

The sync thread (data/sync.py) publishes a new `SyncStatus` after every attempt; the Station
puts the latest into each snapshot and the header shows `headline()` and `detail()`. Nothing
here does I/O; any thread may read a status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The plant sync's state at one moment (immutable; safe to hand to the UI)."""

    configured: bool = False
    target: str = ""  # host and database, never credentials
    connected: bool = False
    pending: int = 0  # outbox rows not yet confirmed by the plant database
    oldest_pending_at: float | None = None  # station time of the oldest waiting row
    last_success: float | None = None  # station time of the last confirmed push
    since_success: float | None = None  # seconds since then (or since start), monotonic
    last_error: str = ""
    quarantined: int = 0  # rows the plant database refused, kept locally with the reason
    high_water: int = 0  # every seq <= it is in the plant database
    stale: bool = False  # rows waited longer than [sync] stale_seconds without a push
    taken: float = 0.0  # station time the status was made

    def oldest_pending_age(self) -> float | None:
        if not self.pending or self.oldest_pending_at is None:
            return None
        return max(self.taken - self.oldest_pending_at, 0.0)

    def headline(self) -> str:
        """Short state: 'no sync configured', 'up to date', 'offline · 1,234 waiting', ..."""
        if not self.configured:
            return "no sync configured"
        state = "connected" if self.connected else "offline"
        if self.pending == 0:
            return "up to date" if self.connected else "offline · 0 waiting"
        return f"{state} · {count(self.pending)} waiting"

    def detail(self) -> str:
        """Second line: age of the oldest waiting row, last success, the last error."""
        if not self.configured:
            return "records stay in the local store"
        parts = []
        age = self.oldest_pending_age()
        if age is not None:
            parts.append(f"oldest {duration(age)}")
        if self.last_success is None:
            parts.append("never synced")
        else:
            parts.append(f"last ok {time.strftime('%H:%M', time.localtime(self.last_success))}")
        if self.quarantined:
            parts.append(f"{self.quarantined} refused")
        if self.last_error and not self.connected:
            parts.append(self.last_error)
        return " · ".join(parts)

    @property
    def abnormal(self) -> bool:
        return self.configured and (self.stale or bool(self.quarantined) or not self.connected)


def count(n: int) -> str:
    """'60,012', '1.28 M': short enough for a header tile."""
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.2f} M"


def duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


NOT_CONFIGURED = SyncStatus()
