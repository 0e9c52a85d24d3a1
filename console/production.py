"""What the line produced lately, for the screens: the arrival rate, the last parts and the
operators' overrides. `ArrivalRate` and `RecentParts` are fed by the engine thread; `Overrides`
is written from the UI thread (a saved override) and read by the engine thread, under its lock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Sequence

import numpy as np

from console.records import RecordBatch
from console.state import Part

RECENT_PARTS = 60


class ArrivalRate:
    """Parts per minute from arrival times, over the last minute (monotonic clock: a step of
    the wall clock changes nothing)."""

    def __init__(self) -> None:
        self._arrivals: deque[tuple[float, int]] = deque()
        self.last_arrival: float | None = None

    def note(self, n: int, at: float | None = None) -> None:
        at = time.monotonic() if at is None else at
        self._arrivals.append((at, n))
        self.last_arrival = at
        while self._arrivals and self._arrivals[0][0] < at - 60.0:
            self._arrivals.popleft()

    def per_minute(self, now: float) -> float:
        recent = [(t, n) for t, n in self._arrivals if t >= now - 60.0]
        if not recent:
            return 0.0
        span = max(now - recent[0][0], 1.0)
        return sum(n for _, n in recent) * 60.0 / span


class RecentParts:
    """The last batches; the list of the last 60 parts is built only when someone looks."""

    def __init__(self) -> None:
        self._batches: deque[RecordBatch] = deque(maxlen=RECENT_PARTS)

    def note(self, batch: RecordBatch) -> None:
        self._batches.append(batch)

    def newest_first(self, classes: Sequence[str], overridden: dict[str, str]) -> tuple[Part, ...]:
        """The last 60 parts, newest first, with the class an operator overrode each to."""
        parts: list[Part] = []
        for batch in reversed(self._batches):
            for i in range(len(batch) - 1, -1, -1):
                part = batch.part[i]
                parts.append(
                    Part(
                        part,
                        classes[batch.class_codes[i]],
                        float(batch.conf[i]),
                        batch.ts_text[i],
                        batch.image[i] if batch.image else None,
                        batch.model[i] if batch.model else None,
                        overridden_to=overridden.get(part),
                    )
                )
                if len(parts) == RECENT_PARTS:
                    return tuple(parts)
        return tuple(parts)


class Overrides:
    """Saved overrides: counts for per-class override rates, and each part's new class."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[tuple[float, str, str]] = deque(maxlen=10000)
        self._new_class: dict[str, str] = {}  # part → new class, for the recent parts list

    def note(self, part: str, old_class: str, new_class: str, at: float) -> None:
        """Count a saved override (any thread)."""
        with self._lock:
            self._log.append((at, old_class, new_class))
            self._new_class[part] = new_class
            if len(self._new_class) > 5000:
                self._new_class.pop(next(iter(self._new_class)))

    def since(self, since: float) -> int:
        with self._lock:
            return sum(1 for at, _, _ in self._log if at >= since)

    def new_classes(self) -> dict[str, str]:
        with self._lock:
            return dict(self._new_class)

    def rates(self, classes: Sequence[str], seen: np.ndarray) -> dict[str, float]:
        """Overrides per class among the parts seen (the model's class as given)."""
        with self._lock:
            counts = Counter(old for _, old, _ in self._log)
        return {
            name: counts.get(name, 0) / max(int(seen[i]) if i < seen.size else 0, 1)
            for i, name in enumerate(classes)
        }
