"""Parts per minute from the records' own times, not from how fast they are read.

A backlog read after a restart arrives far faster than the line made it; the rate the screens
show is the number of parts over the record-time span of the last minute of production. A line
that has sent nothing for a minute (arrival time, monotonic clock) shows 0. Engine thread.
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

SPAN = 60.0


class LineRate:
    """Parts per minute over the last minute of record time."""

    def __init__(self) -> None:
        self._batches: deque[tuple[float, float, int]] = deque()  # first ts, last ts, parts
        self._arrived: float | None = None

    def note(self, ts: np.ndarray, arrived: float | None = None) -> None:
        """A batch of records with these times (epoch seconds) arrived now."""
        finite = ts[np.isfinite(ts)]
        self._arrived = time.monotonic() if arrived is None else arrived
        if finite.size == 0:
            return
        first, last = float(finite.min()), float(finite.max())
        self._batches.append((first, last, int(finite.size)))
        newest = max(b[1] for b in self._batches)
        while self._batches and self._batches[0][1] < newest - SPAN:
            self._batches.popleft()

    def per_minute(self, now: float | None = None) -> float:
        """The rate; `now` on the monotonic clock (0 once nothing arrived for a minute)."""
        now = time.monotonic() if now is None else now
        if not self._batches or self._arrived is None or now - self._arrived > SPAN:
            return 0.0
        newest = max(b[1] for b in self._batches)
        # The batches wholly inside the last minute (at least the newest one).
        recent = [b for b in self._batches if b[0] >= newest - SPAN] or [self._batches[-1]]
        first = min(b[0] for b in recent)
        parts = sum(b[2] for b in recent)
        span = newest - first
        if parts < 2 or not math.isfinite(span):
            return 0.0
        return (parts - 1) * 60.0 / max(span, 1.0)
