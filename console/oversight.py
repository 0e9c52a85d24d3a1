"""Human oversight at the station: login and lock, shelving, incidents that move, fallback,
configuration and user changes — each checked against the permission matrix and audited.

`Oversight` is the part of `console.runner.Station` that deals with people (a mixin, so the
runner's file stays about the engine). Every command takes the acting `Session` (default: the
one logged in at this console), asks `Authenticator.check` (or `.sign` for the commands that
need an e-signature: shelving, incident closure, configuration, a new reference) and writes its
rows together with the audit entry in one store transaction. `tick` runs on the engine thread
about once a second: expired shelving, incidents past their response time (escalated to the next
level, journaled, in the outbox, notified), re-notifications, and alarms left unacknowledged past
their response time (an incident is opened for them by policy). Commands run on the caller's
thread; a refusal raises `CommandRefused` (or one of its named kinds) with the reason to show.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

from console.actions import CommandRefused, Escalate
from console.alarms import AlarmEvent, AlarmRefused, Trigger
from console.auth import Authenticator, MemoryDirectory, Session, Signature
from console.incidents import (
    Incident,
    add_note,
    escalation_path,
    move,
    open_incident,
    overdue,
    reassign,
)
from console.notify import Notifier
from data.audit import Anchor, AuditFacts, Write, export_csv, trail
from data.people import StoreDirectory
from data.schema import canonical_json

TICK_SECONDS = 1.0
# Runtime settings a signed configuration change may set: key → (section, field, type).
SETTINGS = {
    "alarms.on_delay_parts": ("alarms", "on_delay_parts", int),
    "alarms.off_delay_parts": ("alarms", "off_delay_parts", int),
    "alarms.deadband": ("alarms", "deadband", float),
    "alarms.min_active_seconds": ("alarms", "min_active_seconds", float),
    "access.idle_lock_seconds": ("access", "idle_lock_seconds", float),
}


class Oversight:
    """People's commands on a Station (mixin; the Station provides engine, store, config)."""

    people: Authenticator
    session: Session | None
    incidents: list[Incident]

    def _start_oversight(self, clock: Any = time.time) -> None:
        self.clock = clock
        self.people = Authenticator(
            MemoryDirectory(),
            clock=clock,
            idle_lock_seconds=self.config.access.idle_lock_seconds,
            station_seq=lambda: self.engine.accepted,
        )
        self.session = None
        self.engine.alarms.clock = clock
        self.notifier = Notifier(
            self.config.notify.command,
            self.config.notify.timeout_seconds,
            lambda text: self.engine.note_system("error", "notify", text),
        )
        self._last_tick = 0.0
        self._policy_opened: set[str] = set()

    def _use_store_for_people(self) -> None:
        self.people.directory = StoreDirectory(self.store)

    # --- login and lock --------------------------------------------------------------------

    def first_admin(self, name: str, pin: str, badge: str = "") -> Session:
        self.session = self.people.create_first_admin(name, pin, badge)
        return self.session

    def login(self, name: str, pin: str) -> Session:
        """A PIN login at this console; a user switch is a login."""
        self.session = self.people.login(name, pin)
        return self.session

    def badge_login(self, badge: str) -> Session:
        self.session = self.people.badge_login(badge)
        return self.session

    def lock(self, reason: str = "locked") -> None:
        self.people.lock(self.session, reason)
        self.session = None

    def add_user(
        self, name: str, role: str, pin: str, badge: str = "", session: Session | None = None
    ) -> None:
        self.people.add_user(session or self.session, name, role, pin, badge)

    def disable_user(self, name: str, session: Session | None = None) -> None:
        self.people.disable_user(session or self.session, name)

    # --- alarms ----------------------------------------------------------------------------

    def shelve(
        self,
        alarm: str,
        reason: str,
        minutes: float,
        pin: str,
        meaning: str,
        session: Session | None = None,
    ) -> AlarmEvent:
        """Shelve an alarm for `minutes` with a reason; signed (PIN again and a meaning)."""
        signed = self.people.sign(session or self.session, "shelve", pin, meaning)
        now = self.clock()
        try:
            event = self.engine.alarms.shelve(
                alarm, signed.user, reason=reason, until=now + minutes * 60.0, **self._at(now)
            )
        except AlarmRefused as error:
            raise CommandRefused(str(error)) from error
        self._journal(event, "shelved", signed, reason, now, new={"until": now + minutes * 60})
        return event

    def unshelve(self, alarm: str, session: Session | None = None) -> AlarmEvent:
        who = self.people.check(session or self.session, "shelve")
        now = self.clock()
        try:
            event = self.engine.alarms.unshelve(alarm, who.user, **self._at(now))
        except AlarmRefused as error:
            raise CommandRefused(str(error)) from error
        self._journal(event, "unshelved", who, "", now)
        return event

    def set_alarm_service(
        self, alarm: str, trigger: Trigger, reason: str, session: Session | None = None
    ) -> AlarmEvent:
        """Suppress by design, take out of service, or bring back: a configuration change."""
        who = self.people.check(session or self.session, "configuration")
        if not reason.strip():
            raise CommandRefused("say why")
        now = self.clock()
        try:
            event = self.engine.alarms.set_service(
                alarm, Trigger(trigger), who.user, comment=reason, **self._at(now)
            )
        except (AlarmRefused, ValueError) as error:
            raise CommandRefused(str(error)) from error
        self._journal(event, event.state, who, reason, now)
        return event

    def _journal(
        self,
        event: AlarmEvent,
        state: str,
        who: Session | Signature | _System,
        note: str,
        at: float,
        new: Any = None,
    ) -> list[int]:
        row = {
            "at": at,
            "alarm": event.alarm,
            "source": event.source,
            "detector": event.detector,
            "state": state,
            "priority": event.priority,
            "value": event.value if event.value == event.value else None,
            "user_name": who.user,
            "note": note,
        }
        facts = self._facts(who, f"alarm_{state}", event.alarm, note, at, new=new)
        seqs = self._record([Write("alarm_journal", row)], facts)
        self._snapshot_requested.set()
        return seqs

    # --- incidents -------------------------------------------------------------------------

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
        who: Session | Signature | _System,
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
            "snapshot": _json(incident.record()),
        }
        new = {"status": incident.status, "owner": incident.owner, "level": incident.level}
        facts = self._facts(who, action, incident.id, note, at, old=old, new=new)
        self._record([Write("incidents", row)], facts)
        self.incidents = [incident if i.id == incident.id else i for i in self.incidents]
        if all(i.id != incident.id for i in self.incidents):
            self.incidents.append(incident)
        return incident

    # --- fallback, configuration, reference --------------------------------------------------

    def set_fallback(self, on: bool, reason: str, session: Session | None = None) -> None:
        who = self.people.check(session or self.session, "fallback")
        old, now = self.fallback, self.clock()
        self._record([], self._facts(who, "fallback", "fallback", reason, now, old=old, new=on))
        self.fallback = on
        self._snapshot_requested.set()

    def configure(
        self,
        key: str,
        value: float,
        reason: str,
        pin: str,
        meaning: str,
        session: Session | None = None,
    ) -> None:
        """A signed change of one runtime setting (`SETTINGS`), audited with old and new value."""
        signed = self.people.sign(session or self.session, "configuration", pin, meaning)
        if key not in SETTINGS:
            raise CommandRefused(f"{key} cannot be changed here; one of: {', '.join(SETTINGS)}")
        section, name, kind = SETTINGS[key]
        part = getattr(self.config, section)
        old = getattr(part, name)
        try:
            new_part = dataclasses.replace(part, **{name: kind(value)})
        except (TypeError, ValueError) as error:
            raise CommandRefused(f"{key}: {error}") from error
        now = self.clock()
        self._record([], self._facts(signed, "configuration", key, reason, now, old=old, new=value))
        self.config = dataclasses.replace(self.config, **{section: new_part})
        if section == "alarms":
            self.engine.config = dataclasses.replace(self.engine.config, alarms=new_part)
            self.engine.alarms.settings = new_part
            self.engine.alarms._classes.clear()
        else:
            self.people.idle_lock_seconds = float(value)

    def new_reference(
        self,
        lines: list[bytes],
        description: str,
        pin: str,
        meaning: str,
        session: Session | None = None,
    ) -> None:
        """A signed new reference from reference records; audited with the records' digest."""
        signed = self.people.sign(session or self.session, "new_reference", pin, meaning)
        digest = hashlib.sha256(b"\n".join(lines)).hexdigest()
        try:
            self.engine.use_reference_lines(lines, description)
        except ValueError as error:
            raise CommandRefused(f"not used as reference: {error}") from error
        now = self.clock()
        new = {"records": len(lines), "sha256": digest}
        self._record([], self._facts(signed, "new_reference", description, "", now, new=new))

    def export_audit(self, out_path: str, session: Session | None = None) -> Anchor:
        """The audit trail as CSV (quality engineer, admin); returns the anchor to print."""
        who = self.people.check(session or self.session, "audit")
        if self.store is None:
            raise CommandRefused("no store: there is no audit trail to export")
        now = self.clock()
        try:
            with open(out_path, "w", newline="", encoding="utf-8") as out:
                anchor = export_csv(self.store.path, out)
        except OSError as error:
            raise CommandRefused(f"cannot write {out_path}: {error.strerror or error}") from error
        new = anchor.wire()
        self._record([], self._facts(who, "audit_export", out_path, "", now, new=new))
        return anchor

    def audit_trail(self, limit: int = 500, session: Session | None = None) -> list[dict]:
        self.people.check(session or self.session, "audit")
        return trail(self.store.path, limit) if self.store is not None else []

    # --- the clock (engine thread) ---------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Expired shelving, overdue incidents, re-notification, alarms unacknowledged too long."""
        now = self.clock() if now is None else now
        if now - self._last_tick < TICK_SECONDS:
            return
        self._last_tick = now
        for event in self.engine.alarms.expire_shelving(**self._at(now)):
            self._journal(event, "unshelved", _System(), "shelving expired", now)
        for incident in list(self.incidents):
            due = overdue(incident, now)
            if due is None:
                continue
            changed, what = due
            self._save_incident(changed, _System(), f"incident_{what}", changed.path[-1][2], now)
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
            self._save_incident(incident, _System(), "incident_open", command.summary, now)
            self.engine.note_system("incident", incident.role, f"{incident.id} {command.summary}")
            self.notifier.send(_message(incident, "opened"))

    # --- inside ----------------------------------------------------------------------------

    def _at(self, now: float) -> dict[str, Any]:
        return {"seq": self.engine.accepted, "ts": _iso(now)}

    def _facts(
        self,
        who: Session | Signature | _System,
        action: str,
        target: str,
        reason: str,
        at: float,
        **kw: Any,
    ) -> AuditFacts:
        user, role = who.user, who.role
        meaning = who.meaning if isinstance(who, Signature) else ""
        return AuditFacts(
            user,
            role,
            action,
            target=target,
            reason=reason,
            meaning=meaning,
            station_seq=self.engine.accepted,
            at=at,
            **kw,
        )

    def _record(self, writes: list[Write], facts: AuditFacts) -> list[int]:
        """The action's rows and its audit entry, in one durable transaction."""
        if self.store is None:
            self.people.directory.audit(facts)
            return []
        try:
            return self.store.audited(writes, facts)
        except Exception as error:  # noqa: BLE001 - the store says why; the screen shows it
            self.engine.note_system("error", "store", f"{facts.action} not saved: {error}")
            raise CommandRefused(f"not saved: {error}") from error


@dataclasses.dataclass(frozen=True)
class _System:
    """The station itself as the actor of what the clock does."""

    user: str = "system"
    role: str = "system"


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


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


def _json(value: Any) -> str:
    return canonical_json(value)
