"""What a station remembers across a restart: the reference in force, its alarms, its incidents.

At every start on a store, `remember` puts back, before the first record is read:
- the reference version in force, rebuilt exactly from the records it was built from (kept in
  `reference_records`, data/reference_rows.py), so the station neither relearns nor takes a
  drifting line as its new baseline; a new version comes only from an explicit, audited action
  (`main.py reference new`, the signed `Station.new_reference`) or, on a store without one, the first
  learning;
- the alarms the journal leaves active or unacknowledged, with their acknowledgement state,
  into the alarm book (no event: they are journaled already);
- the incidents whose last recorded state is not closed.
Runs on whichever thread opens the store (the
station's constructor, or the engine thread when the first record names the features).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from console.alarms import Alarm, AlarmBook, AlarmState, put_back
from console.categorical_watch import as_constant
from console.config import Config
from console.engine_jobs import EngineJobs
from console.incidents import Incident, escalation_path
from console.kernels import residuals
from console.learning import ReferenceLearning
from console.records import iso
from console.reference_keeping import AUDITED_BY_CALLER, rebuilt

if TYPE_CHECKING:
    from console.engine import Engine

CLOSED = ("closed", "resolved")


@dataclass(frozen=True)
class Remembered:
    """What a start found in the store (printed by `headless`, shown as a system event)."""

    reference_version: int
    active_alarms: tuple[str, ...]
    incidents: tuple[Incident, ...]
    learning_asked_by: str = ""


def remember(engine: Engine, path: str) -> Remembered:
    """Put back the reference in force, the active alarms and the open incidents of the store."""
    from data.reading import alarm_journal, incidents, stored_categorical
    from data.reference_rows import learning_asked, reference_in_force

    engine.reader.declare_categorical(stored_categorical(path))  # as before the restart
    version = _use_reference_in_force(engine, reference_in_force(path))
    if version:
        resume_window(engine, path)
    asked_by = learning_asked(path)
    if asked_by and engine.watch is not None:
        engine.next_reference = ReferenceLearning(engine.config.reference.size)
        engine.next_reference_asked_by = asked_by
        engine.note_system(
            "reference", "reference", f"learning a new reference (asked by {asked_by})"
        )
    active = restore_alarms(engine.alarms, alarm_journal(path))
    incidents_open = tuple(open_incidents(incidents(path), engine.config))
    return Remembered(version, active, incidents_open, asked_by)


def resume_window(engine: Engine, path: str, before_seq: int | None = None) -> int:
    """The last `window.parts` stored records back in the rolling window and the time buckets,
    as they were before the restart (no detector looks at them: their alarms are journaled);
    returns how many. Without this the window would start again from the reference, and the
    alarms put back would clear on a window that has not yet seen the line again. Replay of a
    restarted run passes `before_seq`, the run's first record: the store as it was then."""
    from data.reading import load_records, open_reader

    watch, size = engine.watch, engine.config.window.parts
    bound = (1 << 62) if before_seq is None else before_seq
    db = open_reader(path)
    try:
        row = db.execute(
            "SELECT seq FROM records WHERE seq < ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (bound, size - 1),
        ).fetchone()
        since = int(row[0]) - 1 if row else 0
        count = db.execute(
            "SELECT count(*) FROM records WHERE seq > ? AND seq < ?", (since, bound)
        ).fetchone()[0]
    finally:
        db.close()
    stored = load_records(path, since_seq=since, limit=int(count))
    if watch is None or not len(stored) or stored.feature_names != engine.features:
        return 0
    batch = stored.batch
    table = engine.reader.parser.classes if engine.reader.parser else None
    if table is None:
        return 0
    codes = np.asarray([table.code(name) for name in stored.class_names], np.int32)
    matrix = np.column_stack([as_constant(batch.features, watch.categorical), batch.conf])
    resid, scaled = np.empty_like(matrix), np.empty_like(matrix)
    profile = watch.profile
    residuals(matrix, batch.ts, profile.phase_mean, profile.phase_sd, watch.units, resid, scaled)
    watch.window.add(matrix, codes[batch.class_codes], batch.ts)
    watch.window.run[:] = 0
    watch.closed += watch.buckets.add(matrix, batch.ts, resid)
    watch.last_ts_text = batch.ts_text[-1]
    return len(batch)


def _use_reference_in_force(engine: Engine, row: Mapping[str, Any] | None) -> int:
    if row is None:
        return 0
    version = int(row["version"])
    try:
        batch = rebuilt(row, engine.reader)
    except ValueError as error:
        engine.note_system(
            "reference", "reference", f"reference version {version} cannot be used: {error}"
        )
        return 0
    engine.use_reference(batch, str(row["description"] or ""), version=version)
    same = engine.profile is not None and engine.profile.sha256 == row["sha256"]
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(row["created"])))
    engine.note_system(
        "reference",
        "reference",
        f"reference version {version} of {when} in force"
        + ("" if same else " (rebuilt profile differs from the stored one)"),
    )
    return version


def restore_alarms(book: AlarmBook, journal: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Replay the journal into the book; the ids of the alarms it leaves active."""
    alarms: dict[str, Alarm] = {}
    for row in journal:
        alarm = alarms.get(row["alarm"])
        if alarm is None:
            alarm = Alarm(row["alarm"], row["source"] or "", row["detector"] or "", row["priority"])
            alarms[alarm.id] = alarm
        _replay(alarm, row)
    kept = [a for a in alarms.values() if a.active or a.state != AlarmState.NORMAL]
    for alarm in kept:
        put_back(book, alarm)
    return tuple(a.id for a in kept if a.active)


HIDDEN = (AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE)


def _replay(alarm: Alarm, row: Mapping[str, Any]) -> None:
    """One journaled transition applied to an alarm. Suppression and out-of-service come back;
    a shelving does not (its end is not in the journal): the alarm is shown again."""
    state, S = row["state"], AlarmState
    value, hidden = row["value"], alarm.state in HIDDEN
    if state == "raised":
        alarm.active = True
        if not hidden:
            alarm.state = S.UNACKNOWLEDGED
        alarm.raised_seq, alarm.raised_ts = int(row["seq"]), iso(float(row["at"]))
        alarm.raised_at = alarm.condition_at = float(row["at"])
        alarm.message, alarm.acknowledged_by = row["note"] or "", ""
        alarm.priority = row["priority"] or alarm.priority
        alarm.value = math.nan if value is None else float(value)
    elif state == "cleared":
        alarm.active = False
        if alarm.state in (S.UNACKNOWLEDGED, S.ACKNOWLEDGED):
            alarm.state = S.NORMAL if alarm.state == S.ACKNOWLEDGED else S.RETURNED_UNACKNOWLEDGED
    elif state == "acknowledged":
        if alarm.state == S.UNACKNOWLEDGED:
            alarm.state = S.ACKNOWLEDGED
        elif alarm.state == S.RETURNED_UNACKNOWLEDGED:
            alarm.state = S.NORMAL
        alarm.acknowledged_by = row["user_name"] or ""
    elif state in ("suppressed", "out_of_service"):
        alarm.state = S(state)
    elif state in ("unshelved", "unacknowledged", "normal") and alarm.state in HIDDEN:
        alarm.state = S.UNACKNOWLEDGED if alarm.active else S.NORMAL


def open_incidents(rows: Sequence[Mapping[str, Any]], config: Config) -> list[Incident]:
    """The last recorded state of each incident that is not closed, oldest first, with its
    escalation path worked out again from the playbook."""
    first: dict[str, float] = {}
    last: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        first.setdefault(row["incident"], float(row["at"]))
        last[row["incident"]] = row
    found = []
    for incident, row in last.items():
        if row["status"] in CLOSED:
            continue
        kept = json.loads(row["snapshot"] or "{}")
        alarms = tuple(kept.get("alarms", ()))
        severity = row["severity"] or "low"
        levels, renotify = escalation_path(alarms, severity, config.people, config.playbook)
        found.append(
            Incident(
                id=incident,
                summary=row["summary"] or "",
                severity=severity,
                status=row["status"],
                role=kept.get("role", ""),
                owner=row["owner"] or "",
                opened_by=kept.get("opened_by", ""),
                opened_at=float(kept.get("opened_at", first[incident])),
                due_at=float(kept.get("due_at", first[incident])),
                alarms=alarms,
                parts=tuple(kept.get("parts", ())),
                snapshot=kept.get("snapshot", {}),
                level=int(kept.get("level", 0)),
                levels=levels,
                path=tuple(tuple(p) for p in kept.get("path", ())),
                notes=tuple(tuple(n) for n in kept.get("notes", ())),
                notified_at=float(row["at"]),
                renotify_seconds=renotify,
            )
        )
    return found


def stored_features(path: str) -> tuple[str, ...]:
    """The features of the store's reference in force (none when it has none or is unreadable:
    opening it for writing will then say what is wrong)."""
    from data.reference_rows import reference_in_force

    if not os.path.isfile(path):
        return ()
    try:
        row = reference_in_force(path)
    except Exception:  # the writer's open reports a damaged or foreign file
        return ()
    return tuple(json.loads(row["features"])) if row else ()


def in_force(engine: Engine) -> dict[str, Any]:
    """The summary fields of WIRE.md §5 about state: the stored reference version in force and
    the alarms active at the end."""
    active = [view.id for view in engine.alarms.views() if view.active]
    return {"reference_version": engine.reference_version, "active_alarms": active}


def remembered_line(remembered: Remembered) -> dict[str, Any]:
    """What `headless` prints on stderr at start: what the store gave back."""
    return {
        "event": "restored",
        "reference_version": remembered.reference_version,
        "active_alarms": list(remembered.active_alarms),
        "incidents": [incident.id for incident in remembered.incidents],
    }


class ReferenceCommands:
    """The station's command to put a new reference in force (mixed into `Station`)."""

    engine: Engine
    incidents: list[Incident]
    remembered = Remembered(0, (), ())

    def start_remembering(self, path: str) -> list[Incident]:
        """Before the store opens: the engine-thread job queue, and the features of the
        reference in force when the config names none (so that the store opens at once)."""
        self.jobs = EngineJobs()
        if path and not self.engine.features:
            self.engine.reader.adopt(stored_features(path))
        return []

    def remember(self, path: str) -> None:
        """The store is open: put back what it remembers (see the module doc)."""
        self.remembered = remember(self.engine, path)
        self.incidents[:0] = self.remembered.incidents


def put_in_force(engine: Engine, jobs: EngineJobs, lines: Sequence[bytes], description: str) -> int:
    """Reference records as the new version in force (on the engine thread), kept whole in the
    store; its version. The caller has checked and audits the action (the signed
    `Station.new_reference`, console/oversight.py); ValueError or RuntimeError if refused."""

    def use() -> int:
        batch, _ = engine.reader.read_reference(lines)
        if len(batch) < 100:
            raise ValueError(f"a reference needs at least 100 valid records, found {len(batch)}")
        engine.use_reference(batch, description, audit=AUDITED_BY_CALLER)
        if engine.store is not None and not engine.reference_version:
            raise RuntimeError("the store did not keep it (see the events)")
        engine.note_system(
            "reference", "reference", f"reference version {engine.reference_version} in force"
        )
        return engine.reference_version

    return int(jobs.call(use))
