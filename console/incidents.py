"""Incidents: opened by Escalate, routed by the playbook, timed against their SLA.

An `Incident` holds who raised it, its severity, the playbook role and the named person it goes
to, the response time it owes, and a frozen snapshot of the drift state at the moment it was
raised (drift scores, active alarms, the last parts) so the record stands on its own in an audit.
Routing is a small table: input drift goes to the model owner, data quality to the data owner,
the fallback link to the control owner, everything else to the operations lead. No thread of its
own; the runner creates incidents on the caller's thread and the store makes them durable.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from console.actions import SEVERITIES, Escalate
from console.config import People
from console.detectors import SPECS
from console.snapshot import Snapshot

# The playbook role each kind of alarm goes to: a detector's own, or the control owner for the
# fallback link.
ROUTES = {name: spec.route for name, spec in SPECS.items()} | {"fallback": "control_owner"}


@dataclass(frozen=True)
class Incident:
    id: str
    summary: str
    severity: str
    status: str  # open | acknowledged | mitigated | closed
    role: str
    owner: str
    opened_by: str
    opened_at: float
    due_at: float
    alarms: tuple[str, ...]
    parts: tuple[str, ...]
    snapshot: dict = field(default_factory=dict)

    def remaining(self, now: float | None = None) -> float:
        """Seconds left before the response is overdue (negative when late)."""
        return self.due_at - (time.time() if now is None else now)


def route(alarms: tuple[str, ...], people: People) -> tuple[str, str]:
    """The playbook role and person an incident goes to, from the alarms it names."""
    for alarm in alarms:
        role = ROUTES.get(alarm.split(":", 1)[0])
        if role:
            return role, getattr(people, role)
    return "operations_lead", people.operations_lead


def open_incident(command: Escalate, snapshot: Snapshot | None, people: People) -> Incident:
    if command.severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    if not command.summary.strip():
        raise ValueError("say in a few words what is wrong")
    alarms = command.alarms or tuple(
        a.id for a in (snapshot.alarms if snapshot else ()) if a.active
    )
    parts = command.parts or tuple(p.part for p in (snapshot.recent[:20] if snapshot else ()))
    role, owner = route(alarms, people)
    sla = people.sla_minutes[SEVERITIES.index(command.severity)] * 60.0
    return Incident(
        id=f"INC-{time.strftime('%Y%m%d', time.gmtime(command.at))}-{uuid.uuid4().hex[:6].upper()}",
        summary=command.summary.strip(),
        severity=command.severity,
        status="open",
        role=role,
        owner=owner,
        opened_by=command.user,
        opened_at=command.at,
        due_at=command.at + sla,
        alarms=alarms,
        parts=parts,
        snapshot=freeze(snapshot),
    )


def freeze(snapshot: Snapshot | None) -> dict:
    """The drift state worth keeping with an incident, as plain JSON-able values."""
    if snapshot is None:
        return {}
    return {
        "taken": snapshot.taken,
        "station": snapshot.station,
        "model": snapshot.model,
        "health": snapshot.health,
        "records": snapshot.records,
        "drift": {
            c.name: {k: round(v, 4) for k, v in c.scores.items()}
            | {"mean": c.mean, "ref_mean": c.ref_mean}
            for c in snapshot.columns
        },
        "alarms": [
            {
                "alarm": a.id,
                "state": a.state,
                "priority": a.priority,
                "value": a.value,
                "raised": a.raised_ts,
                "onset": a.onset,
            }
            for a in snapshot.alarms
        ],
        "parts": [
            {"part": p.part, "class": p.cls, "conf": p.conf, "ts": p.ts}
            for p in snapshot.recent[:20]
        ],
    }
