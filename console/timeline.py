"""The replay timeline: where, among a run's parts, things happened and people decided.

Alarm transitions sit at the part the replayed engine raised or cleared them at (their `seq`);
overrides at the part they changed; acknowledgements, incidents, reference versions and audit
entries (logins among them) at the last part that had reached the store when they were written
(the deliveries' hand-over times, data/replay.py). Pure functions; the caller's thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.alarms import AlarmEvent
from data import replay as stored
from data.reading import StoredRecords

MARKER_KINDS = (
    "alarm_raised",
    "alarm_cleared",
    "acknowledged",
    "override",
    "incident",
    "reference",
    "login",
    "audit",
)


@dataclass(frozen=True)
class Marker:
    """One thing on the timeline, at record `index` of the run (0-based)."""

    index: int
    kind: str  # one of MARKER_KINDS
    label: str
    at: float | None = None  # wall clock, when the store knows it
    user: str = ""


def timeline(
    path: str,
    records: StoredRecords,
    deliveries: list[stored.Delivery],
    events: list[AlarmEvent],
) -> list[Marker]:
    """Every marker of a run whose records (from its start) and deliveries are given, in index
    order; `events` are the replayed alarm transitions (seq = index in the run)."""
    found = [
        Marker(e.seq, e.event, f"{e.alarm} {e.event.removeprefix('alarm_')}")
        for e in events
        if e.event in ("alarm_raised", "alarm_cleared")
    ]
    if not deliveries or not len(records):
        return found
    ats = np.array([d.at for d in deliveries])
    ends = np.cumsum([d.parts for d in deliveries])
    last = len(records) - 1

    def at_index(at: float) -> int:
        i = int(np.searchsorted(ats, at, side="right")) - 1
        return 0 if i < 0 else min(int(ends[i]) - 1, last)

    start, end = deliveries[0].at, np.inf
    marks = stored.markers(path, start, end)
    parts = {part: i for i, part in enumerate(records.batch.part)}
    for row in marks.alarms:
        if row["state"] == "acknowledged":
            label = f"{row['alarm']} acknowledged by {row['user_name']}"
            found.append(
                Marker(at_index(row["at"]), "acknowledged", label, row["at"], row["user_name"])
            )
    for row in marks.overrides:
        index = parts.get(row["part"])
        if index is None:
            index = at_index(row["at"])
        label = f"{row['part']}: {row['old_class']} → {row['new_class']} ({row['reason']})"
        found.append(Marker(index, "override", label, row["at"], row["user_name"]))
    for row in marks.incidents:
        label = f"{row['incident']} {row['status']} ({row['severity']}) → {row['owner']}"
        found.append(Marker(at_index(row["at"]), "incident", label, row["at"], row["owner"] or ""))
    for row in marks.references:
        label = f"reference v{row['version']}: {row['description']}"
        found.append(Marker(at_index(row["at"]), "reference", label, row["at"]))
    for row in marks.audit:
        kind = "login" if "login" in str(row["action"]) else "audit"
        label = f"{row['user_name']}: {row['action']}"
        found.append(Marker(at_index(row["at"]), kind, label, row["at"], row["user_name"]))
    found.sort(key=lambda m: (m.index, MARKER_KINDS.index(m.kind)))
    return found
