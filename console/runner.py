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
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

from console.actions import (
    OVERRIDE_REASONS,
    Acknowledge,
    CommandRefused,
    Escalate,
    Override,
    good_class,
    reason_refusal,
)
from console.alarms import AlarmEvent
from console.auth import Session
from console.config import Config, ConfigError
from console.engine import Engine
from console.fallback import FallbackSwitch
from console.fallback_desk import FallbackDesk
from console.headless import (
    STORE_FAILED,
    contain,
    print_system_event,
    report_quarantine,
    store_summary,
)
from console.incidents import Incident, open_incident
from console.intake import Delivery, Intake, SourceEvent
from console.metrics_desk import MetricsDesk
from console.oversight import Oversight
from console.records import iso
from console.releases import ReleaseDesk
from console.snapshot import Snapshot, take
from console.station_memory import (
    ReferenceCommands,
    in_force,
    remembered_line,
)
from console.store_health import StoreHealth
from console.sync_link import SyncLink
from data.audit import AuditFacts, Write

if TYPE_CHECKING:
    from data.store import StoreWriter
    from drivers.base import RunningSource

SNAPSHOT_PERIOD = 0.1


class Station(ReferenceCommands, Oversight, FallbackDesk, ReleaseDesk, MetricsDesk):
    """One station at work: sources, engine thread, store; safe to command from the UI thread."""

    def __init__(
        self,
        config: Config,
        *,
        store_path: str | None = None,
        on_event: Callable[[AlarmEvent], None] | None = None,
        sources: bool = True,
        clock: Callable[[], float] = time.time,
        on_system: Callable[[tuple[float, str, str, str]], None] | None = None,
    ) -> None:
        self.config = config
        self.intake = Intake()
        path = config.store.path if store_path is None else store_path
        self._on_event = on_event
        self.engine = Engine(config, on_event=self._event, on_features=self._features_known)
        self.engine.on_system = on_system
        self.health = StoreHealth(self.engine, config.station.id)
        self.sync = SyncLink(config.sync, self.engine)
        self._store_path = path
        self.incidents: list[Incident] = self.start_remembering(path)
        self._start_oversight(clock)
        if path and self.engine.features:
            self._open_store(path)
        if config.reference.file and not self.engine.reference_version:
            load_reference(self.engine, config.reference.file)
        self.sources: list[RunningSource] = []
        if sources:
            self._open_sources()
        self.snapshot: Snapshot = take(
            self.engine, source_statuses(self.sources), store_text(self.store, self.health.error)
        )
        self.fallback = False
        self.fallback_switch = FallbackSwitch(config.fallback, plc_links(self.sources))
        self.restore_fallback()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._snapshot_requested = threading.Event()

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        for source in self.sources:
            source.start()
        self._thread.start()
        self.sync.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.notifier.close()
        for source in self.sources:
            try:
                source.stop(timeout=1.0)
            except Exception as error:  # a failing source must not block shutdown
                self.engine.note_system(
                    "error", getattr(source, "name", "source"), f"stop failed: {error}"
                )
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.sync.stop()
        if self.store is not None:
            try:
                self.store.close()
            except Exception as error:
                print(f"store close failed: {error}", file=sys.stderr)

    @property
    def store(self) -> StoreWriter | None:
        return self.health.store

    def _open_store(self, path: str) -> None:
        store = self.health.open(path)
        if store is not None:
            self._use_store_for_people()
            self.remember(path)
            self.sync.attach(store)

    def _features_known(self, features: tuple[str, ...]) -> None:
        """A station without a feature list learns it from its first record; the store opens then."""
        if self._store_path and self.store is None:
            self._open_store(self._store_path)

    def _open_sources(self) -> None:
        for index, cfg in enumerate(self.config.source, start=1):
            try:
                if cfg.kind == "simulator":
                    from drivers.simulator import SimulatedSource

                    source: RunningSource = SimulatedSource(cfg, self.intake)
                else:
                    from drivers import open_source

                    source = open_source(cfg, self.intake, self.engine.features)
                self.sources.append(source)
            except Exception as error:  # one bad source must not stop the others
                name = cfg.name or f"source[{index}]"
                text = f"cannot open {cfg.kind} {cfg.url}: {error}"
                self.engine.note_system("error", name, text)
                self.engine.line_alarms.source_unopened(name, self.engine.accepted, text)

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
                self.jobs.run()
                self.health.check()
                self._check_stale()
                self.tick()
                self.fallback_tick()
                self.release_tick()
                self.metrics_tick()
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
                        self.engine,
                        source_statuses(self.sources),
                        store_text(self.store, self.health.error),
                        self.fallback,
                        sync=self.sync.status,
                        fallback_advice=self.fallback_switch.recommended,
                    )
                    last_snapshot = now
            except Exception as error:  # never let the line's monitor die
                self.engine.note_system("error", "engine", f"{type(error).__name__}: {error}")
                time.sleep(0.05)

    def _deliver(self, item: Delivery) -> None:
        """One source's delivery; a failure costs the lines that caused it, not the delivery."""
        before = dict(self.engine.rejected)
        contain(self.engine, item)
        report_quarantine(self.engine, item.source, before)

    def _event(self, event: AlarmEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _source_event(self, event: SourceEvent) -> None:
        engine = self.engine
        text = f"{event.kind}{f' ({event.count})' if event.count != 1 else ''}{': ' + event.detail if event.detail else ''}"
        engine.note_system(event.kind, event.source, text, event.at)
        if self.store is not None:
            self.store.append_event(event.source, event.kind, event.detail, event.count, event.at)
        engine.source_event(event, text)

    def _check_stale(self) -> None:
        self.engine.check_stale(time.monotonic())  # a step of the wall clock changes nothing
        self.sync.check(time.time())  # the alarm's timestamp

    def refresh(self, timeout: float = 2.0) -> Snapshot:
        """Ask the engine thread for a fresh snapshot and wait for it (tests, commands)."""
        before = self.snapshot
        self._snapshot_requested.set()
        deadline = time.monotonic() + timeout
        while self.snapshot is before and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.005)
        return self.snapshot

    # --- commands (any thread) --------------------------------------------------------------

    def override(self, command: Override, session: Session | None = None) -> int:
        """Save an override (with its audit entry); returns its seq only once it is durable."""
        who = self.people.check(session or self.session, "override")
        command = replace(command, user=who.user, role=who.role)
        if command.reason not in OVERRIDE_REASONS:
            raise CommandRefused(f"pick a reason: {', '.join(OVERRIDE_REASONS)}")
        if command.new_class == command.old_class:
            raise CommandRefused("the new class is the same as the model's")
        misfit = reason_refusal(
            command.new_class,
            command.reason,
            good_class(self.snapshot.classes or self.config.station.classes),
        )
        if misfit:
            raise CommandRefused(misfit)
        if self.store is None:
            raise CommandRefused(f"not saved: {self.health.error or 'no store configured'}")
        c = command
        row = {"at": c.at, "part": c.part, "old_class": c.old_class, "old_conf": c.old_conf}
        row |= {"new_class": c.new_class, "reason": c.reason, "note": c.note}
        row |= {"user_name": c.user, "role": c.role, "model": c.model}
        facts = AuditFacts(
            c.user, c.role, "override", c.part, c.old_class, c.new_class, c.reason,
            station_seq=self.engine.accepted, at=c.at,
        )  # fmt: skip
        seq = self._record([Write("overrides", row)], facts)[0]
        self.engine.note_override(command.part, command.old_class, command.new_class, command.at)
        self._snapshot_requested.set()
        return seq

    def stored_overrides(self) -> list[dict]:
        """Every override in the store, oldest first (any thread: a read connection of its own)."""
        if self.store is None or not self._store_path:
            return []
        from data.reading import overrides

        return overrides(self._store_path)

    def acknowledge(self, command: Acknowledge, session: Session | None = None) -> AlarmEvent:
        """Acknowledge an alarm, with an optional comment; journaled and audited together."""
        who = self.people.check(session or self.session, "acknowledge")
        if self.store is None and self._store_path:
            raise CommandRefused(f"not saved: {self.health.error or 'no store'}")
        try:
            event = self.engine.alarms.acknowledge(
                command.alarm, who.user, seq=self.engine.accepted, ts=iso(command.at),
                comment=command.note,
                commit=lambda e: self._journal(e, "acknowledged", who, command.note, command.at),
            )  # fmt: skip
        except CommandRefused:
            raise
        except (KeyError, ValueError) as error:
            raise CommandRefused(str(error).strip("'\"")) from error
        return event

    def escalate(self, command: Escalate, session: Session | None = None) -> Incident:
        who = self.people.check(session or self.session, "escalate")
        command = replace(command, user=who.user, role=who.role, at=self.clock())
        try:
            incident = open_incident(
                command, self.snapshot, self.config.people, self.config.playbook
            )
        except ValueError as error:
            raise CommandRefused(str(error)) from error
        self._save_incident(incident, who, "incident_open", incident.summary, incident.opened_at)
        self.notifier.send({"event": "incident_opened", "incident": incident.id})
        self.engine.note_system(
            "incident",
            incident.role,
            f"{incident.id} ({incident.severity}) to {incident.owner}: {incident.summary}",
        )
        return incident


def load_reference(engine: Engine, path: str) -> None:
    """The validation period as the reference; a file that cannot serve is a config error."""
    fix = "give the path of a JSON Lines file of at least 100 reference records, or omit the key"
    try:
        skipped = engine.use_reference_file(path)
    except OSError as error:
        raise ConfigError(
            "reference.file", f"cannot read {path} ({error.strerror or error})", fix
        ) from error
    except ValueError as error:
        raise ConfigError("reference.file", f"{path}: {error}", fix) from error
    if skipped:
        engine.note_system("data", "reference", f"{skipped} malformed lines skipped in {path}")


def plc_links(sources: list) -> list:
    """The fallback coil of every source whose driver can write one (Modbus)."""
    links = []
    for source in sources:
        set_fallback = getattr(getattr(source, "driver", None), "set_fallback", None)
        if callable(set_fallback):
            links.append(set_fallback)
    return links


def source_statuses(sources: list) -> tuple:
    """Each source's status; a source that cannot say is left out."""
    statuses = []
    for source in sources:
        try:
            statuses.append(source.status())
        except Exception:  # a failing driver must not stop the snapshot
            continue
    return tuple(statuses)


def store_text(store: StoreWriter | None, error: str) -> str:
    """The store's health in a few words, for the header."""
    if store is None:
        return error or "not used"
    try:
        status = store.status
    except Exception as failure:  # a broken store shows, it does not crash
        return f"error: {failure}"
    if status.last_error:
        return f"error: {status.last_error}"
    return "ok"  # what waits for the plant database is the sync's to say


def route_errors(station: Station) -> None:
    """One error sink: uncaught exceptions in any thread become system events on the station
    (and a line on stderr), never a silent death or a crash of the line's monitor."""

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        where = args.thread.name if args.thread is not None else "thread"
        text = f"{args.exc_type.__name__}: {args.exc_value}"
        station.engine.note_system("error", where, text)
        print(f"linewatch: error in {where}: {text}", file=sys.stderr)

    def main_hook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
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
    print(json.dumps(remembered_line(station.remembered)), file=sys.stderr, flush=True)
    if station.health.failure:
        print(f"main.py: {station.health.failure}", file=sys.stderr)
        return STORE_FAILED
    done = threading.Event()

    def finish(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    started = time.perf_counter()
    station.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    while not done.wait(0.1) and not station.health.failure:
        if deadline is not None and time.monotonic() >= deadline:
            break
    station.stop()
    station.health.check()
    summary = station.engine.summary(time.perf_counter() - started)
    summary.update(store_summary(station.store, station.engine.alarms))
    summary.update(in_force(station.engine))  # the stored version in force
    out.write(json.dumps(summary, separators=(",", ":")) + "\n")
    out.flush()
    if station.health.failure:
        print(f"main.py: {station.health.failure}", file=sys.stderr)
        return STORE_FAILED
    return 0
