"""Replay: the engine run again over stored records, as the line saw them, or with other settings.

`Replayer` re-runs the same `Engine` code over the records of one station run (one opening of the
store: the engine started afresh then, so replay does too) with the reference that was in force:
learned from the run's first `reference.size` records, or the reference file named in the stored
version (its profile's SHA-256 is checked against the store). Records go in through the same
`Engine.process` as live, in the deliveries they arrived in; the engine watches in micro-batches
counted from the first watched record, so the alarms are the live ones, at the same seq.

`settings` (`--set KEY=VALUE`) change any numeric config key for a what-if. `state_at` gives the
engine's typed read model after any number of the run's records (the charts at a cursor).
Called from whichever thread owns the `Replayer` (the CLI's main thread, the replay view's
worker); it reads the store through its own read-only connections (data/replay.py).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from console.alarms import AlarmEvent
from console.config import Config
from console.detectors.line import LineAlarms
from console.detectors.plant_sync import SyncAlarms
from console.engine import Engine
from console.records import RecordBatch, iso
from console.reference_calibration import WatchFromStore
from console.replay_restart import RunStart, remember_at, run_reference, run_start, runs_between
from console.state import EngineState
from data import replay as stored
from data.reading import StoredRecords, StoreError

CHECKPOINT_PARTS = 5000  # scrubbing back re-runs at most this many parts (short runs)
MAX_CHECKPOINTS = 100  # engine copies kept (long runs space them wider)


class ReplayError(ValueError):
    """A replay that cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Replayed:
    """A replay's outcome: alarm events of the selection (seq counting its records)."""

    events: list[AlarmEvent]
    records: int  # selected records
    run: int
    offset: int  # index of the selection's first record within its run
    reference_version: int | None
    warnings: list[str] = field(default_factory=list)
    engine: Engine | None = None


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """`section.key=value` pairs (`--set`); ReplayError names a malformed one."""
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or "." not in key or not value:
            raise ReplayError(f"--set {pair!r}: write section.key=number, e.g. window.parts=5000")
        found[key.strip()] = value.strip()
    return found


def with_settings(config: Config, settings: dict[str, str]) -> Config:
    """The config with numeric keys changed; ReplayError names an unknown or non-numeric key."""
    for key, text in settings.items():
        section_name, _, name = key.partition(".")
        section: Any = getattr(config, section_name, None)
        if section is None or isinstance(section, (tuple, type)) or not _is_section(section):
            raise ReplayError(f"--set {key}: no config section {section_name!r}")
        if not hasattr(section, name):
            raise ReplayError(f"--set {key}: no key {name!r} in [{section_name}]")
        current = getattr(section, name)
        value = _number_like(current, text, key)
        changed: dict[str, Any] = {section_name: dataclasses.replace(section, **{name: value})}
        config = dataclasses.replace(config, **changed)
    return config


def _is_section(value: Any) -> bool:
    return dataclasses.is_dataclass(value)


def _number_like(current: object, text: str, key: str) -> object:
    try:
        if isinstance(current, bool):
            raise ValueError
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, tuple) and all(isinstance(v, (int, float)) for v in current):
            return tuple(float(v) for v in text.split(","))
    except ValueError:
        pass
    raise ReplayError(f"--set {key}={text}: {key} takes a number (it is {current!r})")


@dataclass(frozen=True)
class Checkpoint:
    """The engine as it was after `position` records (`delivered` deliveries) of the run."""

    position: int
    delivered: int
    events: int
    mapping: np.ndarray
    engine: Engine


def _fresh_locks(engine: Engine) -> dict[int, Any]:
    """Copying an engine copies its state, not the locks that guard it: a new lock each."""
    lock_type = type(threading.Lock())
    return {
        id(value): threading.Lock()
        for owner in (engine.alarms, engine.overrides)
        for value in vars(owner).values()
        if isinstance(value, lock_type)
    }


class Replayer:
    """One station run of a store, re-run through the engine (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        config: Config,
        settings: dict[str, str] | None = None,
        *,
        checkpoints: bool = False,
    ) -> None:
        self.path = str(path)
        if not Path(self.path).exists():
            raise ReplayError(f"no store at {self.path}: give the station config's [store] path")
        self.config = with_settings(config, settings or {})
        self.settings = dict(settings or {})
        self.run: int | None = None
        self.records: StoredRecords | None = None
        self.bounds: np.ndarray = np.zeros(0, np.int64)  # end index of each delivery
        self.events: list[AlarmEvent] = []
        self.engine: Engine | None = None
        self.position = 0  # records of the run fed so far
        self.delivered = 0  # deliveries fed so far
        self.warnings: list[str] = []
        self.reference_row: dict | None = None
        self.checkpoints: list[Checkpoint] = []
        self.reference_checked: object = None  # the profile last checked against the store
        self.keep_checkpoints = checkpoints  # for scrubbing back (the view), not a single pass
        self.mapping = np.zeros(0, np.int32)
        self.start: RunStart | None = None
        self.watch_source = WatchFromStore(self.path)  # the reference's kept calibration

    # --- loading ----------------------------------------------------------------------------

    def open_run(self, run: int, upto_seq: int | None = None) -> None:
        """Load the run's deliveries and records (up to the delivery holding `upto_seq`), and
        start a fresh engine at the run's start."""
        self._load(run, upto_seq)
        self.start = run_start(self.path, run)
        self.reference_row = run_reference(self.path, self.start)
        self.rewind()

    def extend(self, upto_seq: int) -> None:
        """Load more of the open run (up to `upto_seq`), keeping the engine where it is: the
        records already fed come back the same, in the same order."""
        assert self.run is not None
        self._load(self.run, upto_seq)

    def _load(self, run: int, upto_seq: int | None) -> None:
        deliveries = stored.deliveries(self.path, run)
        if upto_seq is not None:
            keep = next((i for i, d in enumerate(deliveries) if d.last_seq >= upto_seq), None)
            if keep is not None:
                # A micro-batch completed after the selection may still hold its last parts.
                extra = self.config.window.batch
                while keep + 1 < len(deliveries) and extra > 0:
                    keep += 1
                    extra -= deliveries[keep].parts
                deliveries = deliveries[: keep + 1]
        if not deliveries:
            raise ReplayError(f"station run {run} stored no records")
        self.run = run
        first, last = deliveries[0].first_seq, deliveries[-1].last_seq
        self.records = stored.engine_records(self.path, first, last)
        self.bounds = np.cumsum([d.parts for d in deliveries])
        if int(self.bounds[-1]) != len(self.records):
            raise ReplayError(
                f"run {run}: the deliveries hold {int(self.bounds[-1])} records, the store "
                f"{len(self.records)} (records missing: run `integrity` checks on the store)"
            )

    def rewind(self) -> None:
        """A fresh engine at the run's start, as the station started."""
        records = self.records
        assert records is not None
        self.events = []
        self.checkpoints = []
        self.engine = Engine(
            self.config, reference_features=records.feature_names, on_event=self.events.append
        )
        self.engine.watch_source = self.watch_source
        self.engine.reader.declare_categorical(records.categorical)  # as the live reader found
        self.position = self.delivered = 0
        self.mapping = np.zeros(0, np.int32)
        if self.start is not None and self.start.restarted:
            remember_at(self.engine, self.path, self.start)  # as the station started again
            if self.engine.profile is not None:
                return
        self._reference_from_file()

    def _reference_from_file(self) -> None:
        row = self.reference_row
        prefix = "reference file "
        if row is None or not str(row["description"]).startswith(prefix):
            return
        path = str(row["description"])[len(prefix) :]
        try:
            with open(path, "rb") as handle:
                lines = handle.readlines()
        except OSError as error:
            raise ReplayError(
                f"reference version {row['version']} came from {path}, which cannot be read "
                f"({error.strerror or error}): put the file back to replay this run"
            ) from error
        assert self.engine is not None
        self.engine.use_reference_lines(lines, str(row["description"]))

    # --- running ----------------------------------------------------------------------------

    def advance(self, upto: int) -> None:
        """Feed the run's records up to index `upto` (whole deliveries, then a part of one)."""
        engine, records = self.engine, self.records
        assert engine is not None and records is not None
        upto = min(upto, len(records))
        if upto < self.position:
            self._restore(upto)
        every = max(CHECKPOINT_PARTS, len(records) // MAX_CHECKPOINTS)
        while self.position < upto:
            end = min(int(self.bounds[self.delivered]), upto)
            self._feed(self.position, end)
            if end == int(self.bounds[self.delivered]):
                self.delivered += 1
                last = self.checkpoints[-1].position if self.checkpoints else 0
                due = self.keep_checkpoints and end - last >= every
                if due and self.engine is not None and self.engine.watch:
                    self._checkpoint()
            self.position = end
        self._check_reference()

    def _checkpoint(self) -> None:
        """Keep a copy of the engine here, so that scrubbing back need not start over."""
        engine = self.engine
        assert engine is not None
        self.checkpoints.append(
            Checkpoint(
                self.position if self.delivered == 0 else int(self.bounds[self.delivered - 1]),
                self.delivered,
                len(self.events),
                self.mapping.copy(),
                copy.deepcopy(engine, _fresh_locks(engine)),
            )
        )

    def _restore(self, upto: int) -> None:
        """Go back to the latest checkpoint at or before `upto` (the run's start if none)."""
        while self.checkpoints and self.checkpoints[-1].position > upto:
            self.checkpoints.pop()
        if not self.checkpoints:
            self.rewind()
            return
        point = self.checkpoints[-1]
        engine = copy.deepcopy(point.engine, _fresh_locks(point.engine))
        del self.events[point.events :]
        engine.annunciator.on_event = self.events.append
        self.engine = engine
        self.position, self.delivered = point.position, point.delivered
        self.mapping = point.mapping.copy()

    def _feed(self, begin: int, end: int) -> None:
        engine, records = self.engine, self.records
        assert engine is not None and records is not None and engine.reader.parser is not None
        batch = records.batch.take(slice(begin, end))
        # Classes enter the engine's table in the order the live parser first met them.
        table = engine.reader.parser.classes
        codes = batch.class_codes
        if codes.size and int(codes.max()) >= self.mapping.size:
            names = records.class_names
            self.mapping = np.concatenate(
                [self.mapping, np.full(len(names) - self.mapping.size, -1, np.int32)]
            )
        if codes.size and (self.mapping[codes] < 0).any():
            _, first = np.unique(codes, return_index=True)
            for code in codes[np.sort(first)].tolist():
                if self.mapping[code] < 0:
                    self.mapping[code] = table.code(records.class_names[code])
        batch = dataclasses.replace(batch, class_codes=self.mapping[codes].astype(np.int32))
        engine.note_rejected([], accepted=len(batch))
        engine.process(batch)

    def _check_reference(self) -> None:
        row, engine = self.reference_row, self.engine
        if row is None or engine is None or engine.profile is None or self.settings:
            return
        if self.reference_checked is engine.profile:
            return
        self.reference_checked = engine.profile
        if engine.profile.sha256 != row["sha256"] and not self.warnings:
            self.warnings.append(
                f"the reference rebuilt here differs from stored version {row['version']} "
                "(its file changed, or the config's [reference] size): alarms may differ"
            )

    def finish(self) -> None:
        """Feed the rest of the loaded records; a last partial micro-batch is watched only
        when the run ended there (as it was live: the station held it)."""
        assert self.records is not None and self.engine is not None
        self.advance(len(self.records))

    def state_at(self, index: int) -> EngineState:
        """The engine's read model after the run's first `index` records (the charts at a
        cursor); moving back re-runs from the run's start."""
        self.advance(index)
        assert self.engine is not None
        last_ts = self.records.batch.ts[index - 1] if self.records and index else 0.0
        return self.engine.state(now=float(last_ts))


def replay(
    path: str | Path,
    config: Config,
    selection: stored.Selection,
    settings: dict[str, str] | None = None,
) -> Replayed:
    """Re-run the detectors over a selection (batch or time range) of stored records, run by
    station run (a restart begins as the station began again): the alarm events at records of
    the selection, `seq` counting its records."""
    try:
        span = stored.selected_seqs(path, selection)
        if span is None:
            raise ReplayError("no stored record matches the selection")
        runs = runs_between(path, *span) or [stored.run_of(path, span[0])]
    except StoreError as error:
        raise ReplayError(str(error)) from error
    parts = [_replay_run(path, config, run, span, settings) for run in runs]
    events, counted = [], 0
    for part in parts:
        events += [dataclasses.replace(e, seq=e.seq + counted) for e in part.events]
        counted += part.records
    return dataclasses.replace(
        parts[0],
        events=events,
        records=counted,
        warnings=[w for part in parts for w in part.warnings],
        engine=parts[-1].engine,
    )


def _replay_run(
    path: str | Path,
    config: Config,
    run: int,
    span: tuple[int, int],
    settings: dict[str, str] | None,
) -> Replayed:
    """One station run's share of a selection (records first..last seq of `span`)."""
    replayer = Replayer(path, config, settings)
    replayer.open_run(run, upto_seq=span[1])
    replayer.finish()
    records = replayer.records
    assert records is not None and replayer.engine is not None
    offset = int(np.searchsorted(records.seq, span[0]))
    last = int(np.searchsorted(records.seq, span[1], side="right")) - 1
    line = line_alarms(replayer.path, run, replayer.bounds)
    every = sorted(
        [e for e in replayer.events if e.event in ("alarm_raised", "alarm_cleared")] + line,
        key=lambda e: e.seq,
    )
    # A line alarm after the selection's last record, when that is the run's last (a source
    # lost as the line stopped), is part of it: live it counted every record before it.
    end = last + 1 if span[1] >= int(records.seq[-1]) else last
    events = [
        dataclasses.replace(event, seq=event.seq - offset)
        for event in every
        if offset <= event.seq <= last or (event in line and event.seq == end)
    ]
    return Replayed(
        events=events,
        records=last - offset + 1,
        run=run,
        offset=offset,
        reference_version=(replayer.reference_row or {}).get("version"),
        warnings=replayer.warnings,
        engine=replayer.engine,
    )


def line_alarms(path: str | Path, run: int, bounds: np.ndarray) -> list[AlarmEvent]:
    """The line's own alarms (a lost source, a stale line, missed parts, a stale plant sync) as
    journalled live: they come from the sources and the clock, not from the records, so replay
    reads them back; `seq` is the number of the run's records delivered before them, `ts` the
    journal's. A run owns the rows after the previous run's last record (a source not yet
    connected at its start, before any record, included), placed by the store's shared seq."""
    every = stored.deliveries(path)
    mine = [d for d in every if d.run == run]
    if not mine:
        return []
    before = [d.last_seq for d in every if d.last_seq < mine[0].first_seq]
    later = any(d.first_seq > mine[-1].last_seq and d.run != run for d in every)
    # The rows after this run's last record belong to the next run's start, if there is one.
    end = mine[-1].last_seq + 1 if later else float("inf")
    rows = stored.journal_between(path, max(before, default=0), end)
    last_seqs = np.array([d.last_seq for d in mine])
    found = []
    names = {spec.name for spec in (*LineAlarms.specs, *SyncAlarms.specs)}
    for row in rows:
        if row["detector"] not in names or row["state"] not in ("raised", "cleared"):
            continue
        i = int(np.searchsorted(last_seqs, row["seq"]))  # deliveries wholly before the row
        seq = int(bounds[min(i, len(bounds)) - 1]) if i else 0
        found.append(
            AlarmEvent(
                f"alarm_{row['state']}", seq, iso(row["at"]), row["alarm"], row["source"],
                row["detector"], row["priority"] or "", float(row["value"] or 0.0),
            )
        )  # fmt: skip
    return found


def selection_batch(records: StoredRecords, begin: int, end: int) -> RecordBatch:
    """Records `begin`..`end` of a loaded run (for views and exports)."""
    return records.batch.take(slice(begin, end))
