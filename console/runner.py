"""The running station: sources → intake → engine thread → snapshots; commands from the UI.

`Station` starts the configured sources (each in its own thread), the store's writer thread and
one engine thread that drains the intake in micro-batches, turns source events into system
events and alarms (a lost source, a stale stream), and publishes a fresh `Snapshot` at most ten
times a second. The UI (or `headless`) reads `station.snapshot` and calls the command methods —
`override`, `acknowledge`, `escalate` — from its own thread; each returns only after the store
has committed, or raises `CommandRefused` with a reason to show. Errors anywhere (a driver, the
store, an exception in the engine loop) become events on screen; the loop keeps running.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable

from console.actions import OVERRIDE_REASONS, Acknowledge, Escalate, Override
from console.alarms import AlarmEvent
from console.config import Config, ConfigError
from console.engine import Engine, iso
from console.headless import (
    STORE_FAILED,
    contain,
    print_system_event,
    report_quarantine,
    store_summary,
)
from console.incidents import Incident, open_incident
from console.intake import Delivery, Intake, SourceEvent
from console.snapshot import Snapshot, take

ROLES_THAT_OVERRIDE = ("operator", "shift_lead", "quality_engineer", "admin")
ROLES_THAT_ACKNOWLEDGE = ("operator", "shift_lead", "quality_engineer", "admin")
SNAPSHOT_PERIOD = 0.1
STORE_NOTE_PERIOD = 5.0  # seconds between events about a store that keeps failing


class CommandRefused(Exception):
    """A command that was not carried out; the message says why, in the operator's words."""


class Station:
    """One station at work: sources, engine thread, store; safe to command from the UI thread."""

    def __init__(
        self,
        config: Config,
        *,
        store_path: str | None = None,
        on_event: Callable[[AlarmEvent], None] | None = None,
        sources: bool = True,
        on_system: Callable[[tuple[float, str, str, str]], None] | None = None,
    ) -> None:
        self.config = config
        self.intake = Intake()
        self.store = None
        self.store_error = ""
        # Set once the store could not be opened or written: `headless` then ends (exit 3).
        self.store_failure = ""
        self._store_failed_seen = 0
        self._store_noted_at = 0.0
        self._not_stored_seen = 0
        self._last_arrival: float | None = None  # monotonic time the last record came in
        self._accepted_seen = 0
        path = config.store.path if store_path is None else store_path
        self._on_event = on_event
        self.engine = Engine(config, on_event=self._event, on_features=self._features_known)
        self.engine.on_system = on_system
        self._store_path = path
        if path and self.engine.features:
            self._open_store(path)
        if config.reference.file:
            self._load_reference(config.reference.file)
        self.sources = []
        if sources:
            self._open_sources()
        self.snapshot: Snapshot = take(self.engine, self._source_status(), self._store_status())
        self.incidents: list[Incident] = []
        self.fallback = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._snapshot_requested = threading.Event()

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        for source in self.sources:
            source.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for source in self.sources:
            try:
                source.stop(timeout=1.0)
            except Exception as error:  # noqa: BLE001 - a failing source must not block shutdown
                self.engine.note_system(
                    "error", getattr(source, "name", "source"), f"stop failed: {error}"
                )
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self.store is not None:
            try:
                self.store.close()
            except Exception as error:  # noqa: BLE001
                print(f"store close failed: {error}", file=sys.stderr)

    def _open_store(self, path: str) -> None:
        try:
            from data.store import StoreWriter

            features = self.engine.features or ()
            self.store = StoreWriter(path, self.config.station.id, features)
            self.engine.store = self.store
        except Exception as error:  # noqa: BLE001 - the line keeps running without a store
            self.store_error = f"store unavailable: {error}"
            self.engine.note_system("system", "store", self.store_error)
            self.store_failure = self.store_error
            self._store_alarm(self.store_error)
            return
        if self.store.set_aside:
            self.engine.note_system("store", "store", self.store.set_aside)
            self._store_alarm(self.store.set_aside)

    def _store_alarm(self, message: str) -> None:
        """A store that fails is a high-priority alarm, never only a line in a log."""
        engine = self.engine
        event = engine.alarms.trip(
            "store",
            "store",
            value=1.0,
            priority="high",
            seq=engine.accepted,
            ts=iso(time.time()),
            message=message,
        )
        if event is not None:
            engine.emit(event)

    def check_store(self) -> None:
        """Turn new write failures into a system event, an alarm and `store_failure`."""
        store = self.store
        if store is None:
            return
        status = store.status
        # A row the store quarantined costs that row (not_stored); a failed write is a failure.
        if status.not_stored > self._not_stored_seen and status.failed == self._store_failed_seen:
            count = status.not_stored - self._not_stored_seen
            text = f"{count} records not stored, quarantined: {status.last_error}"
            self.engine.note_system("quarantine", "store", text)
        self._not_stored_seen = status.not_stored
        if status.failed > self._store_failed_seen:
            self._store_failed_seen = status.failed
            text = (
                f"store write failed, {status.not_stored} records not stored: {status.last_error}"
            )
            now = time.monotonic()
            if now - self._store_noted_at >= STORE_NOTE_PERIOD or not self.store_failure:
                self._store_noted_at = now  # a store that keeps failing: one event a period
                self.engine.note_system("store", "store", text)
            self._store_alarm(text)
            self.store_failure = text

    def _load_reference(self, path: str) -> None:
        """The validation period as the reference; a file that cannot serve is a config error."""
        fix = (
            "give the path of a JSON Lines file of at least 100 reference records, or omit the key"
        )
        try:
            with open(path, "rb") as handle:
                lines = handle.readlines()
            skipped = self.engine.use_reference_lines(lines, f"reference file {path}")
        except OSError as error:
            raise ConfigError(
                "reference.file", f"cannot read {path} ({error.strerror or error})", fix
            ) from error
        except ValueError as error:
            raise ConfigError("reference.file", f"{path}: {error}", fix) from error
        if skipped:
            self.engine.note_system(
                "data", "reference", f"{skipped} malformed lines skipped in {path}"
            )

    def _features_known(self, features: tuple[str, ...]) -> None:
        """A station without a feature list learns it from its first record; the store opens then."""
        if self._store_path and self.store is None:
            self._open_store(self._store_path)

    def _open_sources(self) -> None:
        for index, cfg in enumerate(self.config.source, start=1):
            try:
                if cfg.kind == "simulator":
                    from drivers.simulator import SimulatedSource

                    source = SimulatedSource(cfg, self.intake)
                else:
                    from drivers import open_source

                    source = open_source(cfg, self.intake, self.engine.features)
                self.sources.append(source)
            except Exception as error:  # noqa: BLE001 - one bad source must not stop the others
                name = cfg.name or f"source[{index}]"
                text = f"cannot open {cfg.kind} {cfg.url}: {error}"
                self.engine.note_system("error", name, text)
                event = self.engine.alarms.trip(
                    "source",
                    name,
                    value=1.0,
                    priority="high",
                    seq=0,
                    ts=iso(time.time()),
                    message=text,
                )
                if event is not None:
                    self.engine.emit(event)

    # --- the engine thread ------------------------------------------------------------------

    def _changes(self) -> tuple:
        """What a new snapshot would show differently (besides the clock)."""
        events = self.engine.system_events
        return (
            self.engine.accepted,
            self.engine.lines,
            len(events),
            events[-1][0] if events else 0.0,
        )

    def _run(self) -> None:
        last_snapshot = 0.0
        shown: tuple = ()
        while not self._stop.is_set():
            try:
                for item in self.intake.drain(timeout=0.05):
                    if isinstance(item, Delivery):
                        self._deliver(item)
                    else:
                        self._source_event(item)
                self.check_store()
                self._check_stale()
                now = time.monotonic()
                due = now - last_snapshot >= SNAPSHOT_PERIOD
                # An idle line keeps its snapshot (the screen then skips its redraw), but at
                # least once a second the header's line state and sources are brought up to date.
                if due and self._changes() == shown and now - last_snapshot < 1.0:
                    due = False
                if due or self._snapshot_requested.is_set():
                    self._snapshot_requested.clear()
                    shown = self._changes()
                    self.snapshot = take(
                        self.engine, self._source_status(), self._store_status(), self.fallback
                    )
                    last_snapshot = now
            except Exception as error:  # noqa: BLE001 - never let the line's monitor die
                self.engine.note_system("error", "engine", f"{type(error).__name__}: {error}")
                time.sleep(0.05)

    def _deliver(self, item: Delivery) -> None:
        """One source's delivery; a failure costs the lines that caused it, not the delivery."""
        engine = self.engine
        before = dict(engine.rejected)
        contain(engine, item)
        if engine.accepted != self._accepted_seen:
            self._accepted_seen = engine.accepted
            self._last_arrival = time.monotonic()
        report_quarantine(engine, item.source, before)

    def _event(self, event: AlarmEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _source_event(self, event: SourceEvent) -> None:
        engine = self.engine
        text = f"{event.kind}{f' ({event.count})' if event.count != 1 else ''}{': ' + event.detail if event.detail else ''}"
        engine.note_system(event.kind, event.source, text, event.at)
        if self.store is not None:
            self.store.append_event(event.source, event.kind, event.detail, event.count, event.at)
        seq, ts = engine.accepted, iso(event.at)
        results = []
        if event.kind in ("disconnected", "error", "timeout", "missed_parts"):
            detector = "missed_parts" if event.kind == "missed_parts" else "source"
            results.append(
                engine.alarms.trip(
                    detector,
                    event.source,
                    value=float(event.count),
                    priority="medium",
                    seq=seq,
                    ts=ts,
                    message=text,
                )
            )
            if detector == "missed_parts":
                # Parts already missed cannot come back: the alarm returns to normal at once
                # and waits, unacknowledged, for someone to take note.
                results.append(engine.alarms.reset(detector, event.source, seq=seq, ts=ts))
        elif event.kind in ("connected", "reconnected"):
            results.append(engine.alarms.reset("source", event.source, seq=seq, ts=ts))
        for result in results:
            if result is not None:
                engine.emit(result)

    def _check_stale(self) -> None:
        engine = self.engine
        last = self._last_arrival
        limit = self.config.detection.stale_seconds
        now = time.monotonic()  # a step of the wall clock must not make or hide a stale line
        if last is None:
            return
        if now - last > limit:
            event = engine.alarms.trip(
                "stale",
                "line",
                value=now - last,
                priority="high",
                seq=engine.accepted,
                ts=iso(time.time()),
                message=f"no parts for {now - last:.0f} s",
            )
        else:
            event = engine.alarms.reset("stale", "line", seq=engine.accepted, ts=iso(time.time()))
        if event is not None:
            engine.emit(event)

    def _source_status(self) -> tuple:
        statuses = []
        for source in self.sources:
            try:
                statuses.append(source.status())
            except Exception:  # noqa: BLE001, S112
                continue
        return tuple(statuses)

    def _store_status(self) -> str:
        if self.store is None:
            return self.store_error or "not used"
        try:
            status = self.store.status
            status = status() if callable(status) else status
        except Exception as error:  # noqa: BLE001
            return f"error: {error}"
        if getattr(status, "last_error", None):
            return f"error: {status.last_error}"
        return f"ok, {getattr(status, 'pending_outbox', 0)} to sync"

    def refresh(self, timeout: float = 2.0) -> Snapshot:
        """Ask the engine thread for a fresh snapshot and wait for it (tests, commands)."""
        before = self.snapshot
        self._snapshot_requested.set()
        deadline = time.monotonic() + timeout
        while self.snapshot is before and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.005)
        return self.snapshot

    # --- commands (any thread) --------------------------------------------------------------

    def override(self, command: Override) -> int:
        """Save an override; returns its seq only once it is durable."""
        if command.role not in ROLES_THAT_OVERRIDE:
            raise CommandRefused(f"role {command.role!r} may not override classifications")
        if command.reason not in OVERRIDE_REASONS:
            raise CommandRefused(f"pick a reason: {', '.join(OVERRIDE_REASONS)}")
        if command.new_class == command.old_class:
            raise CommandRefused("the new class is the same as the model's")
        if self.store is None:
            raise CommandRefused(f"not saved: {self.store_error or 'no store configured'}")
        try:
            seq = self.store.save_override(command)
        except Exception as error:  # noqa: BLE001
            self.engine.note_system("error", "store", f"override not saved: {error}")
            raise CommandRefused(f"not saved: {error}") from error
        self.engine.note_override(command.part, command.old_class, command.new_class, command.at)
        self._snapshot_requested.set()
        return seq

    def acknowledge(self, command: Acknowledge) -> AlarmEvent:
        if command.role not in ROLES_THAT_ACKNOWLEDGE:
            raise CommandRefused(f"role {command.role!r} may not acknowledge alarms")
        view = next((v for v in self.engine.alarms.views() if v.id == command.alarm), None)
        if view is None:
            raise CommandRefused(f"no alarm {command.alarm!r}")
        if view.state not in ("unacknowledged", "returned_unacknowledged"):
            raise CommandRefused(f"alarm {view.id} is {view.state}: nothing to acknowledge")
        if self.store is None and self._store_path:
            raise CommandRefused(f"not saved: {self.store_error or 'no store'}")
        if self.store is not None:
            try:  # the durable lane: on disk before the screen says "acknowledged"
                self.store.journal_alarm(
                    view.id,
                    view.source,
                    view.detector,
                    "acknowledged",
                    view.priority,
                    view.value,
                    command.user,
                    command.note,
                    command.at,
                    durable=True,
                )
            except Exception as error:  # noqa: BLE001
                self.engine.note_system("error", "store", f"acknowledgement not saved: {error}")
                raise CommandRefused(f"not saved: {error}") from error
        try:
            event = self.engine.alarms.acknowledge(
                command.alarm, command.user, seq=self.engine.accepted, ts=iso(command.at)
            )
        except (KeyError, ValueError) as error:
            raise CommandRefused(str(error).strip("'\"")) from error
        self._snapshot_requested.set()
        return event

    def escalate(self, command: Escalate) -> Incident:
        try:
            incident = open_incident(command, self.snapshot, self.config.people)
        except ValueError as error:
            raise CommandRefused(str(error)) from error
        if self.store is not None:
            try:
                self.store.save_incident(
                    incident.id,
                    incident.status,
                    incident.severity,
                    incident.owner,
                    incident.summary,
                    {
                        "role": incident.role,
                        "opened_by": incident.opened_by,
                        "due_at": incident.due_at,
                        "alarms": list(incident.alarms),
                        "parts": list(incident.parts),
                        "snapshot": incident.snapshot,
                    },
                    at=incident.opened_at,
                )
            except Exception as error:  # noqa: BLE001
                raise CommandRefused(f"incident not saved: {error}") from error
        self.incidents.append(incident)
        self.engine.note_system(
            "incident",
            incident.role,
            f"{incident.id} ({incident.severity}) to {incident.owner}: {incident.summary}",
        )
        return incident


def route_errors(station: Station) -> None:
    """One error sink: uncaught exceptions in any thread become system events on the station
    (and a line on stderr), never a silent death or a crash of the line's monitor."""

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        where = args.thread.name if args.thread is not None else "thread"
        text = f"{args.exc_type.__name__}: {args.exc_value}"
        station.engine.note_system("error", where, text)
        print(f"linewatch: error in {where}: {text}", file=sys.stderr)

    def main_hook(kind: type[BaseException], value: BaseException, tb: object) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        station.engine.note_system("error", "main", f"{kind.__name__}: {value}")
        print(f"linewatch: error: {kind.__name__}: {value}", file=sys.stderr)

    threading.excepthook = thread_hook
    sys.excepthook = main_hook


def run_headless(config: Config, seconds: float | None) -> int:
    """`main.py headless`: alarm events as JSON Lines on stdout, a summary at the end."""
    out = sys.stdout

    def print_event(event: AlarmEvent) -> None:
        if event.event in ("alarm_raised", "alarm_cleared"):
            out.write(json.dumps(event.wire(), separators=(",", ":")) + "\n")
            out.flush()

    station = Station(config, on_event=print_event, on_system=print_system_event)
    route_errors(station)
    if station.store_failure:
        print(f"main.py: {station.store_failure}", file=sys.stderr)
        return STORE_FAILED
    done = threading.Event()

    def finish(signum: int, frame: object) -> None:  # noqa: ARG001
        done.set()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    started = time.perf_counter()
    station.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    while not done.wait(0.1) and not station.store_failure:
        if deadline is not None and time.monotonic() >= deadline:
            break
    station.stop()
    station.check_store()
    summary = station.engine.summary(time.perf_counter() - started)
    summary.update(store_summary(station.store, station.engine.alarms))
    out.write(json.dumps(summary, separators=(",", ":")) + "\n")
    out.flush()
    if station.store_failure:
        print(f"main.py: {station.store_failure}", file=sys.stderr)
        return STORE_FAILED
    return 0
