"""Incidents that move, and the station's clock for people: the incident desk of the Station.

`IncidentDesk` (a mixin of `console.runner.Station`, under `console.oversight.Oversight`) moves
incidents through open → acknowledged → mitigated → closed (closing is signed), reassigns them
and takes notes, each saved with its audit entry in one transaction. `tick` runs on the engine
thread about once a second: expired shelving, incidents past their response time (escalated to
the next level, journaled, in the outbox, notified), re-notifications, and alarms left
unacknowledged past their response time (an incident is opened for them by policy). Commands run
on the caller's thread; a refusal raises `CommandRefused` with the reason to show.
"""

from __future__ import annotations

from typing import Any

from console.actions import CommandRefused, Escalate
from console.audited import Actor, AuditedActions, SystemActor
from console.auth import Session, Signature
from console.incidents import (
    Incident,
    add_note,
    escalation_path,
    move,
    open_incident,
    overdue,
    reassign,
)
from data.audit import Write
from data.schema import canonical_json

TICK_SECONDS = 1.0


class IncidentDesk(AuditedActions):
    """Incident commands and the clock's duties (mixin; see module doc)."""

    _last_tick: float
    _policy_opened: set[str]

    def incident(self, incident_id: str) -> Incident:
        found = next((i for i in self.incidents if i.id == incident_id), None)
        if found is None:
            raise CommandRefused(f"no incident {incident_id}")
        return found

    def move_incident(
        self,
        incident_id: str,
        action: str,
        note: str = "",
        session: Session | None = None,
        pin: str = "",
        meaning: str = "",
    ) -> Incident:
        """acknowledge | mitigate | close (closing is signed: PIN again and a meaning)."""
        session = session or self.session
        if action == "close":
            who: Session | Signature = self.people.sign(session, "incident", pin, meaning)
        else:
            who = self.people.check(session, "incident")
        now = self.clock()
        try:
            changed = move(self.incident(incident_id), action, who.user, now, note)
        except ValueError as error:
            raise CommandRefused(str(error)) from error
        return self._save_incident(changed, who, f"incident_{action}", note, now)

    def reassign_incident(
        self, incident_id: str, owner: str, role: str = "", session: Session | None = None
    ) -> Incident:
        who = self.people.check(session or self.session, "incident")
        now = self.clock()
        old = self.incident(incident_id)
        try:
            changed = reassign(old, owner, who.user, now, role)
        except ValueError as error:
            raise CommandRefused(str(error)) from error
        return self._save_incident(changed, who, "incident_reassign", "", now, old.owner)

    def note_incident(
        self, incident_id: str, note: str, session: Session | None = None
    ) -> Incident:
        who = self.people.check(session or self.session, "incident")
        now = self.clock()
        try:
            changed = add_note(self.incident(incident_id), note, who.user, now)
        except ValueError as error:
            raise CommandRefused(str(error)) from error
        return self._save_incident(changed, who, "incident_note", note, now)

    def _save_incident(
        self,
        incident: Incident,
        who: Actor,
        action: str,
        note: str,
        at: float,
        old: Any = None,
    ) -> Incident:
        row = {
            "at": at,
            "incident": incident.id,
            "status": incident.status,
            "severity": incident.severity,
            "owner": incident.owner,
            "summary": incident.summary,
            "snapshot": canonical_json(incident.record()),
        }
        new = {"status": incident.status, "owner": incident.owner, "level": incident.level}
        facts = self._facts(who, action, incident.id, note, at, old=old, new=new)
        self._record([Write("incidents", row)], facts)
        self.incidents = [incident if i.id == incident.id else i for i in self.incidents]
        if all(i.id != incident.id for i in self.incidents):
            self.incidents.append(incident)
        return incident

    # --- the clock (engine thread) -----------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Expired shelving, overdue incidents, re-notification, alarms unacknowledged too long."""
        now = self.clock() if now is None else now
        if now - self._last_tick < TICK_SECONDS:
            return
        self._last_tick = now
        for event in self.engine.alarms.expire_shelving(**self._at(now)):
            self._journal(event, "unshelved", SystemActor(), "shelving expired", now)
        for incident in list(self.incidents):
            due = overdue(incident, now)
            if due is None:
                continue
            changed, what = due
            self._save_incident(
                changed, SystemActor(), f"incident_{what}", changed.path[-1][2], now
            )
            self.engine.note_system("incident", changed.role, f"{changed.id} {changed.path[-1][2]}")
            self.notifier.send(_message(changed, what))
        self._open_by_policy(now)

    def _open_by_policy(self, now: float) -> None:
        linked = {a for i in self.incidents if i.status != "closed" for a in i.alarms}
        for alarm in self.engine.alarms.views():
            if alarm.state != "unacknowledged" or alarm.id in linked or not alarm.raised_at:
                continue
            key = f"{alarm.id}@{alarm.raised_at}"
            if key in self._policy_opened:
                continue
            levels, _ = escalation_path(
                (alarm.id,), alarm.priority, self.config.people, self.config.playbook
            )
            if now - alarm.raised_at < levels[0].response_seconds:
                continue
            self._policy_opened.add(key)
            command = Escalate(
                f"{alarm.id} unacknowledged for {(now - alarm.raised_at) / 60:.0f} min",
                alarm.priority,
                "system",
                role="system",
                alarms=(alarm.id,),
                at=now,
            )
            incident = open_incident(
                command, self.snapshot, self.config.people, self.config.playbook
            )
            self._save_incident(incident, SystemActor(), "incident_open", command.summary, now)
            self.engine.note_system("incident", incident.role, f"{incident.id} {command.summary}")
            self.notifier.send(_message(incident, "opened"))


def _message(incident: Incident, what: str) -> dict[str, Any]:
    return {
        "event": f"incident_{what}",
        "incident": incident.id,
        "severity": incident.severity,
        "status": incident.status,
        "owner": incident.owner,
        "role": incident.role,
        "summary": incident.summary,
        "due_at": incident.due_at,
    }
