"""Alarms and their lifecycle (ISA-18.2 / IEC 62682), and the journal of every transition.

An `AlarmBook` holds one `Alarm` per (detector, source). Detectors report a score (value over
threshold) each time they are evaluated; the book applies the on-delay (the condition must hold
for that many parts before the alarm is raised), the deadband and the off-delay (it clears only
after the score stayed below 1 − deadband for that many parts), each per alarm class (detector)
where `[[alarms.classes]]` says so. People acknowledge (with an optional comment), shelve (with a
reason and an expiry), un-shelve, suppress by design and take alarms out of service.

    raise       ┌──────────────┐  acknowledge  ┌──────────────┐
  ┌───────────▶ │unacknowledged│ ────────────▶ │ acknowledged │
  │             └──────┬───────┘               └──────┬───────┘
  │ ┌──raise───────────┼──────────┐                   │ clear
  │ │            clear ▼          │                   ▼
 ┌┴─┴─────┐ acknowledge ┌─────────┴──────────┐   ┌────────┐
 │ normal │ ◀────────── │returned, unacknowl.│   │ normal │
 └────────┘             └────────────────────┘   └────────┘
  any of the four ──shelve──▶ shelved ──unshelve / expiry──▶ resume
  any of the four ──suppress──▶ suppressed by design ──unsuppress──▶ resume
  any but out of service ──remove──▶ out of service ──return──▶ resume
  (resume: unacknowledged when the condition is active, else normal; while shelved,
   suppressed or out of service the condition is still tracked, but nothing is annunciated)

`TRANSITIONS` is that diagram as one table. Chattering: a detector alarm raised
`chatter_cycles` times within `chatter_window_seconds` is marked chattering and held raised until
its condition has been gone for `min_active_seconds` (and at least that long after it was
raised), so it stops cycling; each such hold is counted. Time is the injected `clock` when the
station sets one (live: wall clock), otherwise the records' own timestamps (analyze: the output
depends only on the stream). Every transition is journaled (`journal`) with user, time and
comment; console/alarm_health.py computes the alarm-system KPIs from a journal. The engine thread assesses;
people's actions come from other threads, so the book takes a lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum

from console.config import Alarms as AlarmSettings

PRIORITIES = ("low", "medium", "high", "urgent")
JOURNAL_SIZE = 50_000


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RETURNED_UNACKNOWLEDGED = "returned_unacknowledged"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


class Trigger(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"
    ACKNOWLEDGE = "acknowledge"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"
    REMOVE = "remove_from_service"
    RETURN = "return_to_service"


RESUME = "resume"  # unacknowledged when the condition is active, else normal
S, T = AlarmState, Trigger
_ANNUNCIATED = (S.NORMAL, S.UNACKNOWLEDGED, S.ACKNOWLEDGED, S.RETURNED_UNACKNOWLEDGED)
_HIDDEN = (S.SHELVED, S.SUPPRESSED, S.OUT_OF_SERVICE)
# (state, trigger) → next state. A pair not in the table is refused.
TRANSITIONS: dict[tuple[AlarmState, Trigger], AlarmState | str] = {
    (S.NORMAL, T.RAISE): S.UNACKNOWLEDGED,
    (S.RETURNED_UNACKNOWLEDGED, T.RAISE): S.UNACKNOWLEDGED,
    (S.UNACKNOWLEDGED, T.CLEAR): S.RETURNED_UNACKNOWLEDGED,
    (S.ACKNOWLEDGED, T.CLEAR): S.NORMAL,
    (S.UNACKNOWLEDGED, T.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.RETURNED_UNACKNOWLEDGED, T.ACKNOWLEDGE): S.NORMAL,
    **{(s, T.SHELVE): S.SHELVED for s in _ANNUNCIATED},
    **{(s, T.SUPPRESS): S.SUPPRESSED for s in _ANNUNCIATED},
    **{(s, T.REMOVE): S.OUT_OF_SERVICE for s in (*_ANNUNCIATED, S.SHELVED, S.SUPPRESSED)},
    (S.SHELVED, T.UNSHELVE): RESUME,
    (S.SUPPRESSED, T.UNSUPPRESS): RESUME,
    (S.OUT_OF_SERVICE, T.RETURN): RESUME,
    **{(s, t): s for s in _HIDDEN for t in (T.RAISE, T.CLEAR)},
}


class AlarmRefused(ValueError):
    """A transition the lifecycle does not allow (e.g. acknowledging an acknowledged alarm)."""


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One transition of one alarm, as printed by `analyze` (WIRE.md §5) and journaled."""

    event: str  # alarm_raised | alarm_cleared | alarm_acknowledged | alarm_shelved | ...
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


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One transition in the alarm journal (ISA-18.2 §16: who, when, what)."""

    at: float
    alarm: str
    trigger: str
    old: str
    new: str
    priority: str
    user: str = ""
    comment: str = ""
    seq: int = 0


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
    comment: str = ""
    held: int = 0  # parts the condition has held (on-delay) or been gone (off-delay)
    transitions: int = 0
    shelved_until: float | None = None
    shelve_reason: str = ""
    raised_at: float = 0.0
    condition_at: float = 0.0  # last time the condition was present
    raises: deque = field(default_factory=lambda: deque(maxlen=16))
    chattering: bool = False
    chatter_holds: int = 0
    extra: dict = field(default_factory=dict)


ALARM_FIELDS = tuple(f.name for f in fields(Alarm))


@contextmanager
def restored_on_error(alarm: Alarm, journal: deque) -> Iterator[None]:
    """`alarm` and `journal` as they were before the block, when the block raises."""
    before, entries = replace(alarm), len(journal)
    try:
        yield
    except BaseException:
        for name in ALARM_FIELDS:
            setattr(alarm, name, getattr(before, name))
        while len(journal) > entries:
            journal.pop()
        raise


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
    comment: str = ""
    shelved_until: float | None = None
    shelve_reason: str = ""
    chattering: bool = False
    chatter_holds: int = 0
    raised_at: float = 0.0


def parse_ts(ts: str) -> float:
    try:
        return datetime.fromisoformat(ts).timestamp()
    except (TypeError, ValueError):
        return 0.0


class AlarmClasses:
    """Per-detector on-delay, off-delay and deadband: `[[alarms.classes]]` over the defaults."""

    def __init__(self, settings: AlarmSettings) -> None:
        self.settings = settings
        self._known: dict[str, tuple[int, int, float]] = {}

    def delays(self, detector: str) -> tuple[int, int, float]:
        """(on-delay parts, off-delay parts, deadband) of a detector's alarm class."""
        known = self._known.get(detector)
        if known is None:
            s = self.settings
            entry = next((c for c in s.classes if c.detector == detector), None)
            known = (s.on_delay_parts, s.off_delay_parts, s.deadband)
            if entry is not None:
                known = (
                    entry.on_delay_parts if entry.on_delay_parts >= 0 else known[0],
                    entry.off_delay_parts if entry.off_delay_parts >= 0 else known[1],
                    entry.deadband if entry.deadband >= 0 else known[2],
                )
            self._known[detector] = known
        return known


class AlarmBook:
    """All alarms of the station and their lifecycle."""

    def __init__(self, settings: AlarmSettings, clock: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.journal: deque[JournalEntry] = deque(maxlen=JOURNAL_SIZE)
        self._alarms: dict[str, Alarm] = {}
        self._lock = threading.Lock()
        self._classes = AlarmClasses(settings)

    def use_settings(self, settings: AlarmSettings) -> None:
        """New delays and deadband (a signed configuration change): per-class values re-read."""
        with self._lock:
            self.settings = settings
            self._classes = AlarmClasses(settings)

    def delays(self, detector: str) -> tuple[int, int, float]:
        """(on-delay parts, off-delay parts, deadband) of a detector's alarm class."""
        return self._classes.delays(detector)

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
        class_on, class_off, deadband = self.delays(detector)
        on_delay = class_on if on_delay is None else on_delay
        off_delay = class_off if off_delay is None else off_delay
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
            if alarm.chattering and score >= 1.0:
                alarm.condition_at = self._now(ts)
            alarm.held = alarm.held + parts if score < 1.0 - deadband else 0
            if alarm.held >= max(off_delay, 1) and score < 1.0 - deadband:
                if alarm.chattering and not self._hold_over(alarm, ts):
                    return None
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
            return self._raise(alarm, seq, ts, message, None, chatter=False)

    def reset(self, detector: str, source: str, *, seq: int, ts: str) -> AlarmEvent | None:
        """The condition of an instantaneous alarm is gone."""
        with self._lock:
            alarm = self._alarms.get(f"{detector}:{source}")
            if alarm is None or not alarm.active:
                return None
            return self._clear(alarm, seq, ts)

    # --- people's actions (any thread) -----------------------------------------------------

    def acknowledge(
        self, alarm_id: str, user: str, *, seq: int, ts: str, comment: str = "",
        commit: Callable[[AlarmEvent], object] | None = None,
    ) -> AlarmEvent:  # fmt: skip
        """`commit(event)`, the durable write, runs under the lock; if it raises, nothing moved."""
        with self._lock, restored_on_error(alarm := self._get(alarm_id), self.journal):
            self._move(alarm, T.ACKNOWLEDGE, ts, user, comment, seq)
            alarm.acknowledged_by, alarm.comment = user, comment
            event = self._event("alarm_acknowledged", alarm, seq, ts, user=user)
            if commit is not None:
                commit(event)
        return event

    def shelve(
        self, alarm_id: str, user: str, *, reason: str, until: float, seq: int, ts: str
    ) -> AlarmEvent:
        """Hide an alarm until `until` (clock time) for a stated reason."""
        if not reason.strip():
            raise AlarmRefused("say why the alarm is shelved")
        if until <= self._now(ts):
            raise AlarmRefused("the shelving must end in the future")
        with self._lock:
            alarm = self._get(alarm_id)
            self._move(alarm, T.SHELVE, ts, user, reason, seq)
            alarm.shelved_until, alarm.shelve_reason = until, reason.strip()
            return self._event("alarm_shelved", alarm, seq, ts, user=user)

    def unshelve(self, alarm_id: str, user: str, *, seq: int, ts: str) -> AlarmEvent:
        with self._lock:
            return self._unshelve(self._get(alarm_id), user, seq, ts, "")

    def expire_shelving(self, *, seq: int, ts: str) -> list[AlarmEvent]:
        """Un-shelve every alarm whose shelving has run out (engine thread, each pass)."""
        now = self._now(ts)
        with self._lock:
            due = [
                a
                for a in self._alarms.values()
                if a.state == S.SHELVED and a.shelved_until is not None and a.shelved_until <= now
            ]
            return [self._unshelve(a, "system", seq, ts, "shelving expired") for a in due]

    def set_service(
        self, alarm_id: str, trigger: Trigger, user: str, *, seq: int, ts: str, comment: str = ""
    ) -> AlarmEvent:
        """Suppress by design / unsuppress / remove from service / return to service."""
        if trigger not in (T.SUPPRESS, T.UNSUPPRESS, T.REMOVE, T.RETURN):
            raise AlarmRefused(f"{trigger} is not a service change")
        with self._lock:
            alarm = self._get(alarm_id)
            self._move(alarm, trigger, ts, user, comment, seq)
            return self._event(f"alarm_{trigger.value}", alarm, seq, ts, user=user)

    # --- views -----------------------------------------------------------------------------

    def views(self, hidden: bool = False) -> tuple[AlarmView, ...]:
        """Alarms that are active or still need acknowledging, most urgent first; with `hidden`,
        the shelved, suppressed and out-of-service ones instead."""
        with self._lock:
            if hidden:
                shown = [a for a in self._alarms.values() if a.state in _HIDDEN]
            else:
                shown = [
                    a
                    for a in self._alarms.values()
                    if a.state not in _HIDDEN and (a.active or a.state != S.NORMAL)
                ]
            rows = tuple(view_of(a) for a in shown)
        return tuple(sorted(rows, key=lambda v: (-PRIORITIES.index(v.priority), v.raised_ts)))

    def scores(self) -> dict[str, float]:
        with self._lock:
            return {a.id: a.score for a in self._alarms.values()}

    def history(self) -> list[JournalEntry]:
        with self._lock:
            return list(self.journal)

    # --- inside (under the lock) -----------------------------------------------------------

    def _now(self, ts: str) -> float:
        return self.clock() if self.clock is not None else parse_ts(ts)

    def _get(self, alarm_id: str) -> Alarm:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise AlarmRefused(f"no alarm {alarm_id!r}")
        return alarm

    def _move(
        self, alarm: Alarm, trigger: Trigger, ts: str, user: str = "", comment: str = "",
        seq: int = 0,
    ) -> AlarmState:  # fmt: skip
        target = TRANSITIONS.get((alarm.state, trigger))
        if target is None:
            what = trigger.value.replace("_", " ")
            raise AlarmRefused(f"alarm {alarm.id} is {alarm.state.value}: cannot {what}")
        if target == RESUME:
            target = S.UNACKNOWLEDGED if alarm.active else S.NORMAL
        old, alarm.state = alarm.state, AlarmState(target)
        alarm.transitions += 1
        self.journal.append(
            JournalEntry(
                self._now(ts),
                alarm.id,
                trigger.value,
                old.value,
                alarm.state.value,
                alarm.priority,
                user,
                comment,
                seq,
            )  # fmt: skip
        )
        return alarm.state

    def _unshelve(self, alarm: Alarm, user: str, seq: int, ts: str, comment: str) -> AlarmEvent:
        self._move(alarm, T.UNSHELVE, ts, user, comment, seq)
        alarm.shelved_until, alarm.shelve_reason = None, ""
        return self._event("alarm_unshelved", alarm, seq, ts, user=user)

    def _hold_over(self, alarm: Alarm, ts: str) -> bool:
        """A chattering alarm may clear once its condition and its raise are old enough."""
        now = self._now(ts)
        least = self.settings.min_active_seconds
        if now - alarm.condition_at >= least and now - alarm.raised_at >= least:
            alarm.chattering = False
            return True
        return False

    def _raise(
        self, alarm: Alarm, seq: int, ts: str, message: str, onset: str | None,
        chatter: bool = True,
    ) -> AlarmEvent:  # fmt: skip
        alarm.active = True
        self._move(alarm, T.RAISE, ts, seq=seq)
        alarm.raised_seq, alarm.raised_ts = seq, ts
        alarm.message, alarm.onset = message, onset
        alarm.acknowledged_by = alarm.comment = ""
        now = self._now(ts)
        alarm.raised_at = alarm.condition_at = now
        if chatter:
            alarm.raises.append(now)
            cycles = self.settings.chatter_cycles
            recent = [t for t in alarm.raises if now - t <= self.settings.chatter_window_seconds]
            if cycles > 0 and len(recent) >= cycles:
                alarm.chattering = True
                alarm.chatter_holds += 1
        return self._event("alarm_raised", alarm, seq, ts)

    def _clear(self, alarm: Alarm, seq: int, ts: str) -> AlarmEvent:
        alarm.active = False
        self._move(alarm, T.CLEAR, ts, seq=seq)
        return self._event("alarm_cleared", alarm, seq, ts)

    @staticmethod
    def _event(kind: str, alarm: Alarm, seq: int, ts: str, user: str = "") -> AlarmEvent:
        return AlarmEvent(
            kind, seq, ts, alarm.id, alarm.source, alarm.detector, alarm.priority, alarm.value,
            state=alarm.state.value, user=user, message=alarm.message, onset=alarm.onset,
        )  # fmt: skip


def view_of(a: Alarm) -> AlarmView:
    """What the screens show of one alarm (a frozen copy, taken under the book's lock)."""
    return AlarmView(
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
        a.comment,
        a.shelved_until,
        a.shelve_reason,
        a.chattering,
        a.chatter_holds,
        a.raised_at,
    )  # fmt: skip
