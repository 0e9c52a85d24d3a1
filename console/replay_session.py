"""A quality engineer's replay session: the model behind the Replay view, without Qt.

`ReplaySession` lists the store's batches, opens one (the engine re-run over its station run up
to the batch's end, so its alarms and the timeline's markers are known), moves a cursor part by
part and gives the snapshot the live charts draw at the cursor (the same `take` as live, over the
replaying engine's state), the parts up to the cursor with their overrides, how far a playback
tick moves at a given speed, a comparison with the reference and another batch, and a what-if.
Owned by one thread at a time (the UI thread in the view, the caller in tests and benchmarks);
every read goes through the store's own read-only connections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from console.alarms import AlarmEvent
from console.compare import Comparison, compare
from console.config import Config
from console.incident_replay import incident_range
from console.replay import Replayer, ReplayError
from console.snapshot import Part, Snapshot, take
from console.timeline import Marker, timeline
from data import replay as stored
from data.reading import StoreError, overrides

PARTS_SHOWN = 20
RAISED_OR_CLEARED = ("alarm_raised", "alarm_cleared")


@dataclass(frozen=True)
class WhatIf:
    """What really happened in a run up to the batch's end, beside what other settings would
    have done (`seq` of both: the part's index in the run)."""

    settings: dict[str, str]
    live: list[AlarmEvent]
    other: list[AlarmEvent]

    def first_raised(self, which: str) -> dict[str, int]:
        """Alarm id → the part at which it was first raised."""
        found: dict[str, int] = {}
        for event in self.live if which == "live" else self.other:
            if event.event == "alarm_raised":
                found.setdefault(event.alarm, event.seq)
        return found


class ReplaySession:
    """Batches of a store, one of them open at a cursor (see the module docstring)."""

    def __init__(self, path: str, config: Config) -> None:
        self.path = path
        self.config = config
        self.batches: list[stored.BatchSummary] = stored.batches(path)
        self.replayer: Replayer | None = None
        self.batch: stored.BatchSummary | None = None
        self.selection = stored.Selection()
        self.start = self.end = self.cursor = 0  # run indices: [start, end) is the batch
        self.markers: list[Marker] = []
        self.overridden: dict[str, str] = {}

    def reload(self, **filters: object) -> list[stored.BatchSummary]:
        """The batch list again (the line may have made more), filtered as `stored.batches`."""
        self.batches = stored.batches(self.path, **filters)  # type: ignore[arg-type]
        return self.batches

    def open_batch(self, name: str) -> None:
        """Open a batch: its run replayed to its end, the cursor at its first part."""
        summary = next((b for b in self.batches if b.batch == name), None)
        if summary is None:
            raise ReplayError(f"no batch {name!r} in the store")
        self._open(summary, stored.Selection(batch=name))

    def open_incident(self, incident: str) -> None:
        """Open an incident's range (console/incident_replay.py) as the unit replayed."""
        try:
            found = incident_range(self.path, self.config, incident)
        except StoreError as error:
            raise ReplayError(str(error)) from error
        self._open(found.summary, found.selection)

    def _open(self, summary: stored.BatchSummary, selection: stored.Selection) -> None:
        run = stored.run_of(self.path, summary.first_seq)
        replayer = self.replayer
        if replayer is None or replayer.run != run or replayer.records is None:
            replayer = Replayer(self.path, self.config, checkpoints=True)
            replayer.open_run(run, upto_seq=summary.last_seq)
            self.replayer = replayer
        elif int(replayer.records.seq[-1]) < summary.last_seq:
            replayer.extend(summary.last_seq)  # a later batch of the same run: go on from here
        records = replayer.records
        assert records is not None
        self.batch, self.selection = summary, selection
        self.start = int(np.searchsorted(records.seq, summary.first_seq))
        self.end = int(np.searchsorted(records.seq, summary.last_seq)) + 1
        replayer.advance(self.end)
        deliveries = stored.deliveries(self.path, run)
        marks = timeline(self.path, records, deliveries, list(replayer.events))
        self.markers = [m for m in marks if self.start <= m.index < self.end]
        self.overridden = {o["part"]: o["new_class"] for o in overrides(self.path)}
        self.cursor = self.start

    @property
    def parts(self) -> int:
        return self.end - self.start

    def move_to(self, index: int) -> Snapshot:
        """The cursor at run index `index` (clamped to the batch); the snapshot there."""
        self.cursor = max(self.start, min(int(index), self.end))
        return self.snapshot()

    def snapshot(self) -> Snapshot:
        """What the live view showed after the part before the cursor."""
        replayer = self.replayer
        assert replayer is not None and replayer.records is not None
        replayer.advance(self.cursor)
        engine = replayer.engine
        assert engine is not None
        shown = take(engine, (), "read-only (replay)")
        ts = replayer.records.batch.ts
        return dataclasses.replace(
            shown,
            taken=float(ts[self.cursor - 1]) if self.cursor else shown.taken,
            parts_per_minute=0.0,
            line_state="replay",
            recent=self.parts_at(self.cursor),
        )

    def parts_at(self, index: int, count: int = PARTS_SHOWN) -> tuple[Part, ...]:
        """The parts up to the cursor, newest first, with the overrides made on them."""
        assert self.replayer is not None and self.replayer.records is not None
        records = self.replayer.records
        b = records.batch
        names = records.class_names
        found = []
        for i in range(index - 1, max(index - count, 0) - 1, -1):
            part = b.part[i]
            found.append(
                Part(
                    part,
                    names[int(b.class_codes[i])],
                    float(b.conf[i]),
                    b.ts_text[i],
                    b.image[i] if b.image else None,
                    b.model[i] if b.model else None,
                    overridden_to=self.overridden.get(part),
                )
            )
        return tuple(found)

    def play_step(self, speed: float, seconds: float) -> int:
        """Parts a playback tick of `seconds` moves at `speed` × the line's own time (at least
        one part)."""
        assert self.replayer is not None and self.replayer.records is not None
        ts = self.replayer.records.batch.ts
        now = ts[min(self.cursor, len(ts) - 1)]
        target = int(np.searchsorted(ts, now + speed * seconds, side="right"))
        return max(target - self.cursor, 1)

    def compare(self, other: str | None = None) -> Comparison:
        """The open batch against the reference and (optionally) another batch."""
        assert self.replayer is not None and self.batch is not None
        engine = self.replayer.engine
        if engine is not None and engine.profile is None:  # a range that began before it
            self.replayer.advance(self.end)
            engine = self.replayer.engine
        if engine is None or engine.profile is None:
            raise ReplayError("no reference yet at this batch: nothing to compare with")
        sides = []
        chosen = [(self.batch.batch, self.selection)]
        if other:
            chosen.append((other, stored.Selection(batch=other)))
        for name, selection in chosen:
            records = stored.selected_records(self.path, selection)
            sides.append((name, records.batch, records.class_names))
        return compare(engine.profile, sides)

    def what_if(self, settings: dict[str, str]) -> WhatIf:
        """The run's alarms up to the open batch's end as the line raised them, and with other
        settings."""
        assert self.replayer is not None and self.replayer.run is not None
        found = []
        for config_settings in ({}, settings):
            again = Replayer(self.path, self.config, config_settings)
            again.open_run(self.replayer.run)
            again.advance(self.end)
            found.append([e for e in again.events if e.event in RAISED_OR_CLEARED])
        return WhatIf(dict(settings), found[0], found[1])
