"""Alarms and their lifecycle (ISA-18.2), and the journal of every transition.

An `AlarmBook` holds one `Alarm` per (detector, source). Detectors report a score (value over
threshold) each time they are evaluated; the book applies the on-delay (the condition must hold
for that many parts before the alarm is raised), the deadband and the off-delay (it clears only
after the score stayed below 1 − deadband for that many parts), so a condition that hovers at
its threshold does not chatter. States follow ISA-18.2: normal, unacknowledged, acknowledged,
returned-to-normal unacknowledged; shelved, suppressed by design and out of service are reserved
here for the full lifecycle. Every transition is an `AlarmEvent`, which the engine prints,
journals in the store and shows. The engine thread assesses; acknowledgements come from the UI
thread, so the book takes a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum

from console.config import Alarms as AlarmSettings

PRIORITIES = ("low", "medium", "high", "urgent")


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RETURNED_UNACKNOWLEDGED = "returned_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One transition of one alarm, as printed by `analyze` (WIRE.md §5) and journaled."""

    event: str  # alarm_raised | alarm_cleared | alarm_acknowledged
    seq: int
    ts: str
    alarm: str
    source: str
    detector: str
    priority: str
    value: float
    state: str = ""
    user: str = ""
    message: str = ""
    onset: str | None = None

    def wire(self) -> dict:
        """The object `analyze` and `headless` print, keys exactly as WIRE.md §5."""
        value = round(self.value, 6) if self.value == self.value else None
        out = {
            "event": self.event,
            "seq": self.seq,
            "ts": self.ts,
            "alarm": self.alarm,
            "source": self.source,
            "detector": self.detector,
            "priority": self.priority,
            "value": value,
        }
        if self.onset:
            out["onset"] = self.onset
        return out


@dataclass(slots=True)
class Alarm:
    """The current state of one alarm (engine thread, under the book's lock)."""

    id: str
    source: str
    detector: str
    priority: str
    state: AlarmState = AlarmState.NORMAL
    active: bool = False
    value: float = 0.0
    threshold: float = 0.0
    score: float = 0.0
    message: str = ""
    raised_seq: int | None = None
    raised_ts: str = ""
    onset: str | None = None
    acknowledged_by: str = ""
    held: int = 0  # parts the condition has held (on-delay) or been gone (off-delay)
    transitions: int = 0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlarmView:
    """An immutable copy of an alarm for the UI."""

    id: str
    source: str
    detector: str
    priority: str
    state: str
    active: bool
    value: float
    threshold: float
    message: str
    raised_ts: str
    onset: str | None
    acknowledged_by: str


class AlarmBook:
    """All alarms of the station and their lifecycle."""

    def __init__(self, settings: AlarmSettings) -> None:
        self.settings = settings
        self._alarms: dict[str, Alarm] = {}
        self._lock = threading.Lock()

    def assess(
        self,
        detector: str,
        source: str,
        *,
        score: float,
        value: float,
        threshold: float,
        priority: str,
        seq: int,
        ts: str,
        parts: int,
        message: str = "",
        onset: str | None = None,
        on_delay: int | None = None,
        off_delay: int | None = None,
    ) -> AlarmEvent | None:
        """Feed one evaluation; `parts` is how many parts passed since the previous one."""
        alarm_id = f"{detector}:{source}"
        on_delay = self.settings.on_delay_parts if on_delay is None else on_delay
        off_delay = self.settings.off_delay_parts if off_delay is None else off_delay
        with self._lock:
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                if score < 1.0:
                    return None
                alarm = self._alarms[alarm_id] = Alarm(alarm_id, source, detector, priority)
            alarm.value, alarm.threshold, alarm.score = value, threshold, score
            if not alarm.active:
                alarm.held = alarm.held + parts if score >= 1.0 else 0
                if score >= 1.0 and alarm.held >= on_delay:
                    alarm.held = 0
                    return self._raise(alarm, seq, ts, message, onset)
                return None
            if message:
                alarm.message = message
            alarm.held = alarm.held + parts if score < 1.0 - self.settings.deadband else 0
            if alarm.held >= max(off_delay, 1) and score < 1.0 - self.settings.deadband:
                alarm.held = 0
                return self._clear(alarm, seq, ts)
            return None

    def trip(
        self,
        detector: str,
        source: str,
        *,
        value: float,
        priority: str,
        seq: int,
        ts: str,
        message: str,
    ) -> AlarmEvent | None:
        """An instantaneous condition (a lost source, a failed store write): raised now."""
        alarm_id = f"{detector}:{source}"
        with self._lock:
            alarm = self._alarms.setdefault(alarm_id, Alarm(alarm_id, source, detector, priority))
            alarm.value = value
            if alarm.active:
                alarm.message = message
                return None
            return self._raise(alarm, seq, ts, message, None)

    def reset(self, detector: str, source: str, *, seq: int, ts: str) -> AlarmEvent | None:
        """The condition of an instantaneous alarm is gone."""
        with self._lock:
            alarm = self._alarms.get(f"{detector}:{source}")
            if alarm is None or not alarm.active:
                return None
            return self._clear(alarm, seq, ts)

    def acknowledge(self, alarm_id: str, user: str, *, seq: int, ts: str) -> AlarmEvent:
        with self._lock:
            alarm = self._alarms.get(alarm_id)
            if alarm is None:
                raise KeyError(f"no alarm {alarm_id!r}")
            if alarm.state == AlarmState.UNACKNOWLEDGED:
                alarm.state = AlarmState.ACKNOWLEDGED
            elif alarm.state == AlarmState.RETURNED_UNACKNOWLEDGED:
                alarm.state = AlarmState.NORMAL
            else:
                raise ValueError(f"alarm {alarm_id} is {alarm.state.value}: nothing to acknowledge")
            alarm.acknowledged_by = user
            alarm.transitions += 1
            return self._event("alarm_acknowledged", alarm, seq, ts, user=user)

    def restore(self, alarm: Alarm) -> None:
        """An alarm as the journal left it before a restart (no event: it is journaled)."""
        with self._lock:
            self._alarms[alarm.id] = alarm

    def views(self) -> tuple[AlarmView, ...]:
        """Alarms that are active or still need acknowledging, most urgent first."""
        with self._lock:
            shown = [a for a in self._alarms.values() if a.active or a.state != AlarmState.NORMAL]
            rows = tuple(
                AlarmView(
                    a.id,
                    a.source,
                    a.detector,
                    a.priority,
                    a.state.value,
                    a.active,
                    a.value,
                    a.threshold,
                    a.message,
                    a.raised_ts,
                    a.onset,
                    a.acknowledged_by,
                )
                for a in shown
            )
        return tuple(
            sorted(rows, key=lambda v: (-PRIORITIES.index(v.priority), v.raised_ts), reverse=False)
        )

    def scores(self) -> dict[str, float]:
        with self._lock:
            return {a.id: a.score for a in self._alarms.values()}

    def _raise(
        self, alarm: Alarm, seq: int, ts: str, message: str, onset: str | None
    ) -> AlarmEvent:
        alarm.active = True
        alarm.state = AlarmState.UNACKNOWLEDGED
        alarm.raised_seq, alarm.raised_ts = seq, ts
        alarm.message, alarm.onset = message, onset
        alarm.acknowledged_by = ""
        alarm.transitions += 1
        return self._event("alarm_raised", alarm, seq, ts)

    def _clear(self, alarm: Alarm, seq: int, ts: str) -> AlarmEvent:
        alarm.active = False
        alarm.state = (
            AlarmState.NORMAL
            if alarm.state == AlarmState.ACKNOWLEDGED
            else AlarmState.RETURNED_UNACKNOWLEDGED
        )
        alarm.transitions += 1
        return self._event("alarm_cleared", alarm, seq, ts)

    @staticmethod
    def _event(kind: str, alarm: Alarm, seq: int, ts: str, user: str = "") -> AlarmEvent:
        event = AlarmEvent(
            kind,
            seq,
            ts,
            alarm.id,
            alarm.source,
            alarm.detector,
            alarm.priority,
            alarm.value,
            state=alarm.state.value,
            user=user,
            message=alarm.message,
            onset=alarm.onset,
        )
        return replace(event)
