"""Incidents: opened by Escalate, routed by the playbook, timed, moved on, escalated by the clock.

An `Incident` holds who raised it, its severity, the playbook role and the named person it goes
to, the response time it owes, and a frozen snapshot of the drift state at the moment it was
raised (drift scores, active alarms, the last parts) so the record stands on its own in an audit.
The playbook (`[[playbook]]` in the station config) maps alarm kinds to levels (role, named
people, response time); without one, a small table routes input drift to the model owner, data
quality to the data owner, the fallback link to the control owner, the rest to the operations
lead. An incident moves open → acknowledged → mitigated → closed (`INCIDENT_FLOW`), with notes
and reassignment; `overdue` says what the clock does to it: an incident still open past its
response time climbs to the next level, an unresolved one is re-notified. Pure functions over
frozen `Incident`s with injected times; the station applies them and the store keeps each state.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace

from console.actions import SEVERITIES, Escalate
from console.config import Escalation, People
from console.detectors import SPECS
from console.snapshot import Snapshot

# The playbook role each kind of alarm goes to: a detector's own, or the control owner for the
# fallback link.
ROUTES = {name: spec.route for name, spec in SPECS.items()} | {"fallback": "control_owner"}


INCIDENT_FLOW = {
    ("open", "acknowledge"): "acknowledged",
    ("acknowledged", "mitigate"): "mitigated",
    ("mitigated", "close"): "closed",
}


@dataclass(frozen=True)
class Level:
    """One step of an escalation path: the playbook role, its named people, the response time."""

    role: str
    people: tuple[str, ...]
    response_seconds: float


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
    level: int = 0
    levels: tuple[Level, ...] = ()
    path: tuple[tuple[float, str, str], ...] = ()  # (time, who, what): the incident's story
    notes: tuple[tuple[float, str, str], ...] = ()  # (time, who, note)
    notified_at: float = 0.0
    renotify_seconds: float = 1800.0

    def remaining(self, now: float | None = None) -> float:
        """Seconds left before the response is overdue (negative when late)."""
        return self.due_at - (time.time() if now is None else now)

    def record(self) -> dict:
        """What the store keeps of this state of the incident (JSON-able)."""
        return {
            "role": self.role,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at,
            "due_at": self.due_at,
            "level": self.level,
            "alarms": list(self.alarms),
            "parts": list(self.parts),
            "path": [list(p) for p in self.path],
            "notes": [list(n) for n in self.notes],
            "snapshot": self.snapshot,
        }


def route(alarms: tuple[str, ...], people: People) -> tuple[str, str]:
    """The playbook role and person an incident goes to, from the alarms it names."""
    for alarm in alarms:
        role = ROUTES.get(alarm.split(":", 1)[0])
        if role:
            return role, getattr(people, role)
    return "operations_lead", people.operations_lead


def escalation_path(
    alarms: tuple[str, ...], severity: str, people: People, playbook: tuple[Escalation, ...] = ()
) -> tuple[tuple[Level, ...], float]:
    """The levels an incident about these alarms climbs, and how often it re-notifies.

    The first playbook entry naming one of the alarms' kinds (detectors) wins, then one for "*";
    without a playbook: the routed role, then the operations lead, then the responsible person.
    """
    sla = people.sla_minutes[SEVERITIES.index(severity)] * 60.0
    kinds = [a.split(":", 1)[0] for a in alarms]
    entry = next((e for k in kinds for e in playbook if k in e.kinds), None)
    entry = entry or next((e for e in playbook if "*" in e.kinds), None)
    if entry is not None:
        levels = tuple(
            Level(
                lv.role,
                lv.people or (getattr(people, lv.role),),
                lv.response_minutes * 60.0 if lv.response_minutes > 0 else sla,
            )
            for lv in entry.level
        )
        return levels, entry.renotify_minutes * 60.0
    role, owner = route(alarms, people)
    path = [Level(role, (owner,), sla), Level("operations_lead", (people.operations_lead,), sla)]
    if people.responsible_person != people.operations_lead:
        path.append(Level("operations_lead", (people.responsible_person,), sla))
    return tuple(path), 1800.0


def open_incident(
    command: Escalate,
    snapshot: Snapshot | None,
    people: People,
    playbook: tuple[Escalation, ...] = (),
) -> Incident:
    if command.severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    if not command.summary.strip():
        raise ValueError("say in a few words what is wrong")
    alarms = command.alarms or tuple(
        a.id for a in (snapshot.alarms if snapshot else ()) if a.active
    )
    parts = command.parts or tuple(p.part for p in (snapshot.recent[:20] if snapshot else ()))
    levels, renotify = escalation_path(alarms, command.severity, people, playbook)
    first = levels[0]
    owner = ", ".join(first.people)
    return Incident(
        id=f"INC-{time.strftime('%Y%m%d', time.gmtime(command.at))}-{uuid.uuid4().hex[:6].upper()}",
        summary=command.summary.strip(),
        severity=command.severity,
        status="open",
        role=first.role,
        owner=owner,
        opened_by=command.user,
        opened_at=command.at,
        due_at=command.at + first.response_seconds,
        alarms=alarms,
        parts=parts,
        snapshot=freeze(snapshot),
        levels=levels,
        path=((command.at, command.user, f"opened, sent to {owner} ({first.role})"),),
        notified_at=command.at,
        renotify_seconds=renotify,
    )


def move(incident: Incident, action: str, user: str, at: float, note: str = "") -> Incident:
    """open → acknowledged → mitigated → closed; anything else is refused (ValueError)."""
    status = INCIDENT_FLOW.get((incident.status, action))
    if status is None:
        raise ValueError(f"incident {incident.id} is {incident.status}: cannot {action}")
    notes = incident.notes + (((at, user, note.strip()),) if note.strip() else ())
    return replace(incident, status=status, path=(*incident.path, (at, user, status)), notes=notes)


def reassign(incident: Incident, owner: str, user: str, at: float, role: str = "") -> Incident:
    if not owner.strip():
        raise ValueError("name the person who takes it over")
    if incident.status == "closed":
        raise ValueError(f"incident {incident.id} is closed")
    role = role or incident.role
    step = (at, user, f"reassigned to {owner.strip()} ({role})")
    return replace(incident, owner=owner.strip(), role=role, path=(*incident.path, step))


def add_note(incident: Incident, note: str, user: str, at: float) -> Incident:
    if not note.strip():
        raise ValueError("write the note first")
    return replace(incident, notes=(*incident.notes, (at, user, note.strip())))


def overdue(incident: Incident, now: float) -> tuple[Incident, str] | None:
    """What the clock does to an incident: escalate an unacknowledged one past its response
    time to the next level, or re-notify an unresolved one; None when nothing is due."""
    if incident.status == "closed":
        return None
    climbs = incident.status == "open" and now >= incident.due_at
    if climbs and incident.level + 1 < len(incident.levels):
        nxt = incident.levels[incident.level + 1]
        owner = ", ".join(nxt.people)
        text = f"escalated to {owner} ({nxt.role}): no response in time"
        changed = replace(
            incident,
            level=incident.level + 1,
            role=nxt.role,
            owner=owner,
            due_at=now + nxt.response_seconds,
            notified_at=now,
            path=(*incident.path, (now, "system", text)),
        )
        return changed, "escalated"
    if incident.renotify_seconds > 0 and now - incident.notified_at >= incident.renotify_seconds:
        text = f"re-notified {incident.owner}: still {incident.status}"
        changed = replace(incident, notified_at=now, path=(*incident.path, (now, "system", text)))
        return changed, "renotified"
    return None


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
