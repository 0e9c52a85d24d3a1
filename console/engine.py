"""The engine: records in, statistics → detectors → alarms out, in micro-batches.

`Engine` orchestrates: `RecordReader` (console/reader.py) parses lines, `ReferenceLearning`
(console/learning.py) keeps the stream's first records until a reference exists, then a `Watch`
(console/watch.py) created whole from that reference runs the registered detectors; alarms are
raised and cleared only through the `Annunciator` (console/annunciator.py). The arrival rate,
recent parts and overrides are small objects of their own (console/production.py). `state`
publishes the typed read model the snapshot is built from.

One thread drives it: `analyze` calls `feed_lines` from the main thread as fast as it can; the
console and `headless` run an engine thread (console/runner.py) that drains the intake. Operator
commands (override, acknowledge, escalate) may come from other threads; they touch only the alarm
book (locked), the store (its own queue) and `Overrides` (locked).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from console.alarms import AlarmEvent
from console.annunciator import Annunciator, Journal
from console.categorical_watch import keep_categories, watched_config
from console.config import Config
from console.detectors.line import LineAlarms
from console.detectors.plant_sync import SyncAlarms
from console.intake import SourceEvent
from console.learning import ReferenceLearning
from console.line_rate import LineRate
from console.production import ArrivalRate, Overrides, RecentParts
from console.reader import RecordReader
from console.records import RecordBatch, Rejected
from console.reference import ReferenceProfile
from console.reference_keeping import keep_reference, learn_next
from console.state import EngineState, SystemEvent
from console.watch import Watch

IN_FORCE = "a stored reference version is in force; use `main.py reference new --from FILE`"


class Store(Journal, Protocol):
    """What the engine keeps in the store (data.store.StoreWriter has it)."""

    def append_records(self, batch: RecordBatch, class_names: Sequence[str]) -> None: ...

    def append_rejected(self, rejected: Sequence[Rejected]) -> None: ...

    def append_categories(self, categories: Sequence[tuple[str, float, str]]) -> None: ...

    def save_reference(self, profile_json: str, description: str, timeout: float = 5.0) -> int: ...

    def keep_reference(
        self, profile_json: str, description: str, records: Any, audit: Any = None
    ) -> int: ...


class Engine:
    """Statistics, detectors and alarms for one station (one driving thread; see module doc)."""

    def __init__(
        self,
        config: Config,
        *,
        reference: RecordBatch | None = None,
        reference_features: Sequence[str] = (),
        store: Store | None = None,
        on_event: Callable[[AlarmEvent], None] | None = None,
        on_features: Callable[[tuple[str, ...]], None] | None = None,
    ) -> None:
        self.on_system: Callable[[SystemEvent], None] | None = None
        self.config = config
        self.annunciator = Annunciator(config.alarms, on_event)
        self.alarms = self.annunciator.book
        self.reader = RecordReader(
            config.station,
            reference_features,
            on_features,
            future_margin=config.detection.future_margin_seconds,
        )
        self.reader.on_note = self.note_categories
        self.learner = ReferenceLearning(config.reference.size)
        self.watch: Watch | None = None
        # Builds the watch instead of `Watch(...)` when set (console/reference_calibration.py).
        self.watch_source: Callable[[Engine, RecordBatch, str], Watch] | None = None
        self.reference_version = 0  # the stored version in force (0: none stored)
        self.next_reference: ReferenceLearning | None = None  # an explicit request to relearn
        self.next_reference_asked_by = ""
        self.line_rate = LineRate()
        self.line_alarms = LineAlarms(self.annunciator, config.detection.stale_seconds)
        self.sync_alarms = SyncAlarms(self.annunciator)
        self.rate = ArrivalRate()
        self.recent = RecentParts()
        self.overrides = Overrides()
        self.system_events: deque[SystemEvent] = deque(maxlen=200)
        self.accepted = 0  # accepted records: the `seq` of WIRE.md §5
        self.watched = 0  # the seq of the next record the watch will see
        self.held: list[RecordBatch] = []  # accepted, waiting to fill a micro-batch
        self.model_name = ""
        self.started = time.time()
        self._store: Store | None = None
        self.store = store
        if reference is not None and len(reference):
            self.use_reference(reference, "reference file")

    @property
    def store(self) -> Store | None:
        return self._store

    @store.setter
    def store(self, store: Store | None) -> None:
        """The store may open later (once the features are known): journal to it from then."""
        self._store = store
        self.annunciator.store = store

    @property
    def features(self) -> tuple[str, ...]:
        return self.reader.features

    @property
    def profile(self) -> ReferenceProfile | None:
        return self.watch.profile if self.watch else None

    @property
    def learning(self) -> bool:
        return self.watch is None

    @property
    def lines(self) -> int:
        return self.reader.lines

    @property
    def rejected(self) -> Counter[str]:
        return self.reader.rejected

    @property
    def raised(self) -> int:
        return self.annunciator.raised

    # --- input ------------------------------------------------------------------------------

    def feed_lines(self, lines: Sequence[bytes | str], source: str = "") -> list[AlarmEvent]:
        """Parse raw JSON Lines and process the accepted records; returns the alarm events."""
        read = self.reader.read(lines, source)
        if read is None:
            return []
        batch, rejected = read
        self.note_rejected(rejected, accepted=len(batch))
        return self.process(batch)

    def note_rejected(self, rejected: Sequence[Rejected], accepted: int = 0) -> None:
        """Count rejected lines (by reason), keep them in the store, watch their rate."""
        self.reader.count(accepted, rejected)
        if self.store is not None and rejected:
            self.store.append_rejected(rejected)
        if self.watch is not None:
            self.watch.note_lines(accepted, len(rejected))

    def process(self, batch: RecordBatch) -> list[AlarmEvent]:
        """Process accepted records in micro-batches of `window.batch`."""
        n = len(batch)
        if n == 0:
            return []
        if self.store is not None:
            keep_categories(self.store, self.reader)
            self.store.append_records(batch, self.reader.classes)
        self.rate.note(n)
        self.line_rate.note(batch.ts)
        if batch.model and batch.model[-1]:
            self.model_name = batch.model[-1]
        self.recent.note(batch)
        start = 0
        if self.watch is None:
            start = self.learner.take(batch)
            self.accepted += start
            self.watched = self.accepted
            if self.learner.complete:
                reference = self.learner.reference()
                self.use_reference(reference, f"first {len(reference)} records of the stream")
        if start == n:
            return []
        self.accepted += n - start
        watched = batch.take(slice(start, n)) if start else batch
        self.held.append(watched)
        events = self.watch_held()
        if self.next_reference is not None:
            learn_next(self, watched)
        return events

    def watch_held(self, final: bool = False) -> list[AlarmEvent]:
        """Watch the records held so far in full micro-batches of `window.batch`, counted from
        the first watched record, so that what the detectors see depends on the records' seq
        only, never on how the line happened to group them into deliveries: live, `analyze`,
        `replay` and an export analyzed again raise the same alarms at the same seq. A partial
        batch waits for the parts that complete it (`final`: watch it now anyway)."""
        if not self.held:
            return []
        step = self.config.window.batch
        held = RecordBatch.concat(self.held) if len(self.held) > 1 else self.held[0]
        self.held.clear()
        n = len(held)
        whole = n if final else n - n % step
        events: list[AlarmEvent] = []
        for begin in range(0, whole, step):
            events += self.watch_batch(held.take(slice(begin, min(begin + step, whole))))
        if whole < n:
            self.held.append(held.take(slice(whole, n)) if whole else held)
        return events

    def watch_batch(self, batch: RecordBatch) -> list[AlarmEvent]:
        """One micro-batch through the watch (a reference must exist); returns and emits its
        alarm events."""
        assert self.watch is not None, "no reference yet"
        first = self.watched
        self.watched += len(batch)
        self.accepted = max(self.accepted, self.watched)
        self.watch.step(batch, first)
        return self.annunciator.flush()

    # --- reference --------------------------------------------------------------------------

    def use_reference_lines(self, lines: Sequence[bytes | str], description: str) -> int:
        """Take raw JSON Lines of the validation period as the reference (instead of learning
        from the stream's first records). Returns how many lines were skipped as malformed;
        raises ValueError when fewer than 100 valid records remain."""
        batch, rejected = self.reader.read_reference(lines)
        if len(batch) < 100:
            raise ValueError(f"a reference needs at least 100 valid records, found {len(batch)}")
        if self.reference_version and self.watch is not None:  # a stored version is in force
            self.note_system("reference", "reference", f"{description} not used: {IN_FORCE}")
            return len(rejected)
        self.use_reference(batch, description)
        return len(rejected)

    def use_reference_file(self, path: str) -> int:
        """`use_reference_lines` on the lines of a file: OSError if it cannot be read."""
        with open(path, "rb") as handle:
            lines = handle.readlines()
        return self.use_reference_lines(lines, f"reference file {path}")

    def use_reference(
        self,
        reference: RecordBatch,
        description: str,
        *,
        version: int | None = None,
        audit: Any = None,
    ) -> None:
        """Watch against these records from now on (a new watch, created whole); kept in the
        store as a new version in force unless it is the stored `version` put back."""
        if self.watch_source is not None:  # replay: a calibration kept with the version
            self.watch = self.watch_source(self, reference, description)
        else:
            self.watch = Watch(
                watched_config(self.config, self.reader),
                reference,
                self.features,
                self.reader.classes,
                description,
                self.annunciator,
            )
        for warning in self.watch.health.warnings:
            self.note_system("reference", warning.source, warning.message)
        if version is not None:
            self.reference_version = version
        elif self.store is not None:
            self.reference_version = keep_reference(self, reference, description, audit)

    # --- the line, the operators ------------------------------------------------------------

    def emit(self, event: AlarmEvent) -> None:
        """Count, journal and hand on an alarm event."""
        self.annunciator.emit(event)

    def source_event(self, event: SourceEvent, text: str) -> None:
        """A source lost or back, parts missed: the line's alarms (engine thread)."""
        self.line_alarms.source_event(event, self.accepted, text)

    def check_stale(self, now: float) -> None:
        """Raise or clear `stale:line` from the last arrival (engine thread; `now` monotonic)."""
        self.line_alarms.check_stale(self.rate.last_arrival, now, self.accepted)

    def check_sync(self, stale: bool, pending: int, detail: str, now: float) -> None:
        """Raise or clear `sync_stale:plant sync` from the plant sync's status (engine thread)."""
        self.sync_alarms.check(stale, pending, detail, now, self.accepted)

    def note_override(self, part: str, old_class: str, new_class: str, at: float) -> None:
        """Count a saved override (any thread): labels for per-class override rates."""
        self.overrides.note(part, old_class, new_class, at)

    def note_system(self, kind: str, source: str, text: str, at: float | None = None) -> None:
        """A system or data-quality event for the screen's event list (engine thread)."""
        self.system_events.append((time.time() if at is None else at, kind, source, text))
        if self.on_system is not None:
            self.on_system(self.system_events[-1])

    def note_categories(self, source: str, text: str) -> None:
        """An input inferred categorical (console/categories.py): said once on screen."""
        self.note_system("categories", source, text)

    def state(self, now: float | None = None) -> EngineState:
        """The typed read model as of now (call on the engine thread)."""
        return read_state(self, time.time() if now is None else now)

    def summary(self, seconds: float) -> dict[str, Any]:
        return {
            "event": "summary",
            "records": self.accepted,
            "rejected": sum(self.reader.rejected.values()),
            "alarms": self.annunciator.raised,
            "seconds": round(seconds, 3),
        }


def read_state(engine: Engine, now: float) -> EngineState:
    """The engine's typed read model as of `now` (wall clock; engine thread)."""
    # Arrivals are on the monotonic clock; the read model shows them on the wall clock.
    since = time.monotonic()
    last = engine.rate.last_arrival
    watch = engine.watch
    classes = engine.reader.classes
    return EngineState(
        at=now,
        station=engine.config.station.id,
        model=engine.model_name or engine.config.station.model,
        learning=watch is None,
        reference_progress=1.0 if watch is not None else engine.learner.progress,
        records=engine.accepted,
        lines=engine.reader.lines,
        rejected=dict(engine.reader.rejected),
        parts_per_minute=engine.line_rate.per_minute(),
        last_arrival=None if last is None else now - (since - last),
        stale_seconds=engine.config.detection.stale_seconds,
        overrides_last_hour=engine.overrides.since(now - 3600.0),
        override_rate_by_class=(
            engine.overrides.rates(classes, watch.window.class_counts) if watch else {}
        ),
        last_record_ts=watch.last_ts_text if watch else "",
        recent=engine.recent.newest_first(classes, engine.overrides.new_classes()),
        alarms=engine.alarms.views(),
        events=tuple(engine.system_events),
        watch=watch.state() if watch is not None else None,
    )
