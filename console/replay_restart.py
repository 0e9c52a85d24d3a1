"""Replay of a station run that began with a restart: the engine put back as the station did.

A station that starts on a store already holding records does not learn again: it rebuilds the
reference version in force, refills its rolling window with the last stored records and puts
back the alarms the journal leaves active (console/station_memory.py). Replaying such a run must
begin the same way, from the store as it was when the run began, or it would learn a new
reference from a drifting line and miss (or invent) the alarms the line raised. `RunStart` says
where a run begins, `runs_between` which runs a selection crosses, `run_reference` which stored
version a run's replay checks its reference against, and `remember_at` puts the engine back.
Called by whichever thread owns the `Replayer` (console/replay.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.engine import Engine
from console.reference_keeping import rebuilt
from console.station_memory import restore_alarms, resume_window
from data import replay as stored
from data.reading import alarm_journal
from data.reference_rows import reference_in_force


@dataclass(frozen=True)
class RunStart:
    """Where a station run begins in the store."""

    run: int
    first_seq: int
    at: float  # when its first delivery reached the store
    before: float  # when the previous run's last delivery did (-inf: the store's first run)
    next_at: float  # when the next run's first delivery did (inf: the last run)

    @property
    def restarted(self) -> bool:
        """The station found records in the store when this run began."""
        return self.before > -math.inf


def run_start(path: str | Path, run: int) -> RunStart:
    """Where run `run` begins, from the store's deliveries."""
    deliveries = stored.deliveries(path)
    mine = [d for d in deliveries if d.run == run]
    if not mine:
        return RunStart(run, 0, math.inf, -math.inf, math.inf)
    first = mine[0]
    earlier = [d.at for d in deliveries if d.last_seq < first.first_seq]
    later = [d.at for d in deliveries if d.first_seq > mine[-1].last_seq]
    return RunStart(
        run,
        first.first_seq,
        first.at,
        earlier[-1] if earlier else -math.inf,
        later[0] if later else math.inf,
    )


def runs_between(path: str | Path, first_seq: int, last_seq: int) -> list[int]:
    """The station runs that stored records first_seq..last_seq, in order."""
    found: list[int] = []
    for d in stored.deliveries(path):
        if d.last_seq >= first_seq and d.first_seq <= last_seq and d.run not in found:
            found.append(d.run)
    return found


def run_reference(path: str | Path, start: RunStart) -> dict[str, Any] | None:
    """The stored version a run's replay should rebuild: the one in force when a restarted run
    began, else the first one the run made (learned, or from a reference file)."""
    if start.restarted:
        row = reference_in_force(path, before=start.at)
        if row is not None:
            return row
    rows = stored.references(path)
    of_run = [r for r in rows if r.get("run") == start.run]
    made = [r for r in rows if start.before < float(r["created"]) <= start.next_at]
    found = of_run or made
    return found[0] if found else None


def remember_at(engine: Engine, path: str | Path, start: RunStart) -> int:
    """Put the engine back as the station did when the run began: the reference version then
    in force (its number; 0 when there was none and the run learned its own), the rolling
    window of the records before the run, the alarms the journal then left active."""
    version = 0
    row = reference_in_force(path, before=start.at)
    if row is not None:
        version = int(row["version"])
        engine.use_reference(rebuilt(row, engine.reader), str(row["description"] or ""),
                             version=version)  # fmt: skip
        resume_window(engine, str(path), before_seq=start.first_seq)
    journal = [r for r in alarm_journal(path) if float(r["at"]) < start.at]
    restore_alarms(engine.alarms, journal)
    return version
