"""Alarm-system performance (ISA-18.2 §16.9, EEMUA 191) computed from the alarm journal.

`health` is a pure function over `JournalEntry`s: alarms per 10 minutes (average over the span
and the last 10 minutes), floods (periods with more than 10 alarms in 10 minutes), chattering
alarms (raised 3 or more times within a minute), stale alarms (active for more than 24 hours)
and the priority distribution. Any thread; the history screen calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from console.alarms import JournalEntry, Trigger


@dataclass(frozen=True, slots=True)
class AlarmHealth:
    """Alarm-system performance (ISA-18.2 §16.9 / EEMUA 191) over a journal."""

    alarms: int
    per_10_minutes: float  # average raises per 10 minutes over the span
    last_10_minutes: int
    floods: int  # periods with more than 10 raises in 10 minutes
    chattering: tuple[str, ...]  # alarms raised >= 3 times within a minute
    stale: tuple[str, ...]  # alarms active for more than 24 h
    by_priority: dict[str, int]


def health(journal: Iterable[JournalEntry], now: float) -> AlarmHealth:
    """The KPIs of ISA-18.2 from journal entries (pure)."""
    entries = sorted(journal, key=lambda e: e.at)
    raises = [e for e in entries if e.trigger == Trigger.RAISE]
    times = [e.at for e in raises]
    floods, start, flooding = 0, 0, False
    for end, t in enumerate(times):
        while times[start] < t - 600.0:
            start += 1
        over = end - start + 1 > 10
        if over and not flooding:
            floods += 1
        flooding = over
    per_alarm: dict[str, list[float]] = {}
    for e in raises:
        per_alarm.setdefault(e.alarm, []).append(e.at)
    chattering = tuple(
        sorted(
            alarm
            for alarm, ts in per_alarm.items()
            if any(ts[i + 2] - ts[i] <= 60.0 for i in range(len(ts) - 2))
        )
    )
    active: dict[str, float | None] = {}
    for e in entries:
        if e.trigger == Trigger.RAISE:
            active[e.alarm] = e.at
        elif e.trigger == Trigger.CLEAR:
            active[e.alarm] = None
    stale = tuple(sorted(a for a, t in active.items() if t is not None and now - t > 86_400.0))
    span = (now - times[0]) if times else 0.0
    return AlarmHealth(
        alarms=len(raises),
        per_10_minutes=len(raises) / max(span / 600.0, 1.0),
        last_10_minutes=sum(1 for t in times if now - t <= 600.0),
        floods=floods,
        chattering=chattering,
        stale=stale,
        by_priority=dict(Counter(e.priority for e in raises)),
    )
