"""The one place alarms are raised and cleared: detectors' scores, a lost source, a stale line.

`Annunciator` puts every condition to the alarm book (`console/alarms.py`, which applies the
delays and the deadband) with the priority its detector's spec gives, counts what was raised,
journals every transition in the store and hands it to the listener (`analyze` prints it, the
console shows it). Scores assessed during a batch are held until the batch is done (`flush`);
instantaneous conditions (`trip`, `reset`) are emitted at once. `InputAlarms` keeps, per
detector, which inputs have an active alarm, so that a detector can skip a batch cheaply when
nothing is near its threshold. The engine thread assesses, trips and resets; acknowledgements
come from the UI thread through the book, which takes a lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Protocol

import numpy as np

from console.alarms import AlarmBook, AlarmEvent
from console.config import Alarms as AlarmSettings
from console.detectors.base import DetectorSpec
from console.records import parse_timestamp

HOLD_HOURS = 24.0  # a drift alarm stays raised at least this long (records' time)


class Journal(Protocol):
    """Where alarm transitions are kept (data.store.StoreWriter is one)."""

    def journal_alarm(
        self,
        alarm: str,
        source: str,
        detector: str,
        state: str,
        priority: str,
        value: float,
        user: str = "",
        note: str = "",
        at: float | None = None,
    ) -> int | None: ...


class Annunciator:
    """Alarms in, events out: the book, the raised count, the journal and the listener."""

    def __init__(
        self, settings: AlarmSettings, on_event: Callable[[AlarmEvent], None] | None = None
    ) -> None:
        self.book = AlarmBook(settings)
        self.settings = settings
        self.on_event = on_event
        self.store: Journal | None = None
        self.raised = 0
        self._held: list[AlarmEvent] = []

    def assess(
        self,
        spec: DetectorSpec,
        source: str,
        *,
        score: float,
        value: float,
        threshold: float,
        seq: int,
        ts: str,
        parts: int,
        message: str = "",
        onset: str | None = None,
        off_delay: int | None = None,
    ) -> AlarmEvent | None:
        """One evaluation of a detector on one source; a transition is held until `flush`."""
        event = self.book.assess(
            spec.name, source, score=float(score), value=value, threshold=threshold,
            priority=spec.priority, seq=seq, ts=ts, parts=parts, message=message, onset=onset,
            off_delay=off_delay,
        )  # fmt: skip
        if event is not None:
            self._held.append(event)
        return event

    def flush(self) -> list[AlarmEvent]:
        """Emit the transitions held since the last flush in `seq` order (stable: detectors'
        registry order among equals); returns them."""
        events, self._held = sorted(self._held, key=lambda e: e.seq), []
        for event in events:
            self.emit(event)
        return events

    def trip(
        self, spec: DetectorSpec, source: str, *, value: float, seq: int, ts: str, message: str
    ) -> AlarmEvent | None:
        """An instantaneous condition (a lost source, a stale line): raised and emitted now."""
        event = self.book.trip(
            spec.name, source, value=value, priority=spec.priority, seq=seq, ts=ts, message=message
        )
        if event is not None:
            self.emit(event)
        return event

    def reset(self, spec: DetectorSpec, source: str, *, seq: int, ts: str) -> AlarmEvent | None:
        """The condition of an instantaneous alarm is gone: cleared and emitted now."""
        event = self.book.reset(spec.name, source, seq=seq, ts=ts)
        if event is not None:
            self.emit(event)
        return event

    def emit(self, event: AlarmEvent) -> None:
        """Count, journal and hand on one alarm event."""
        if event.event == "alarm_raised":
            self.raised += 1
        if self.store is not None:
            self.store.journal_alarm(
                event.alarm,
                event.source,
                event.detector,
                event.event.removeprefix("alarm_"),
                event.priority,
                event.value,
                event.user,
                event.message,
            )
        if self.on_event is not None:
            self.on_event(event)


class InputAlarms:
    """The alarms of one reference's inputs: which are active, per detector (engine thread)."""

    def __init__(self, annunciator: Annunciator, columns: tuple[str, ...]) -> None:
        self.annunciator = annunciator
        self.columns = columns
        self.near = 1.0 - annunciator.settings.deadband
        self._masks: dict[str, np.ndarray] = {}
        self._active: Counter[str] = Counter()
        for view in annunciator.book.views():  # alarms put back after a restart
            if view.active:
                self._active[view.detector] += 1
                if view.source in columns:
                    self._mask_of(view.detector)[columns.index(view.source)] = True
        self._raised: dict[tuple[str, int], float] = {}  # drift alarms: when raised (epoch s)

    def active(self, spec: DetectorSpec) -> int:
        """How many alarms of this detector are active (inputs, or the line)."""
        return self._active[spec.name]

    def candidates(
        self, spec: DetectorSpec, score: np.ndarray, hit: np.ndarray | None = None
    ) -> list[int]:
        """Columns worth a look: near or over the threshold, or with this alarm active."""
        if hit is None and not self._active[spec.name] and score.size and score.max() < self.near:
            return []  # the usual case, in one numpy call (a NaN score takes the long way)
        near = score >= self.near
        if hit is not None:
            near |= hit
        return np.flatnonzero(near | self._mask(spec)).tolist()

    def column(
        self,
        spec: DetectorSpec,
        column: int,
        *,
        score: float,
        value: float,
        threshold: float,
        seq: int,
        ts: str,
        parts: int,
        message: str,
        onset: str | None = None,
        off_delay: int | None = None,
    ) -> None:
        """Assess one input. A drift alarm, once raised, is held for `HOLD_HOURS` of the
        records' time even if its statistic dips (no flapping while a drift persists); after
        that it clears through the deadband and off-delay as usual."""
        if spec.drift and score < self.near and self._mask(spec)[column]:
            raised = self._raised.get((spec.name, column))
            if raised is not None and parse_timestamp(ts) - raised < HOLD_HOURS * 3600.0:
                score = self.near
        event = self.annunciator.assess(
            spec, self.columns[column], score=score, value=value, threshold=threshold, seq=seq,
            ts=ts, parts=parts, message=message, onset=onset, off_delay=off_delay,
        )  # fmt: skip
        if event is not None:
            mask = self._mask(spec)
            mask[column] = event.event == "alarm_raised"
            self._active[spec.name] = int(mask.sum())
            if spec.drift and mask[column]:
                self._raised[(spec.name, column)] = parse_timestamp(ts)

    def line(
        self,
        spec: DetectorSpec,
        source: str,
        *,
        score: float,
        value: float,
        threshold: float,
        seq: int,
        ts: str,
        parts: int,
        message: str,
    ) -> None:
        """Assess an alarm of the line as a whole (class mix, rejected lines)."""
        event = self.annunciator.assess(
            spec, source, score=score, value=value, threshold=threshold, seq=seq, ts=ts,
            parts=parts, message=message,
        )  # fmt: skip
        if event is not None:
            self._active[spec.name] = int(event.event == "alarm_raised")

    def _mask(self, spec: DetectorSpec) -> np.ndarray:
        return self._mask_of(spec.name)

    def _mask_of(self, name: str) -> np.ndarray:
        mask = self._masks.get(name)
        if mask is None:
            mask = self._masks[name] = np.zeros(len(self.columns), bool)
        return mask
