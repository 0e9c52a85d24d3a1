"""Human oversight at the station: login and lock, users, shelving, suppression, fallback,
configuration, a new reference and the audit export — each checked against the permission
matrix and audited.

`Oversight` is the part of `console.runner.Station` that deals with people (a mixin, so the
runner's file stays about the engine); incidents and the clock's duties are its base
`IncidentDesk` (console/incident_desk.py), the audited write under both is `AuditedActions`
(console/audited.py). Every command takes the acting `Session` (default: the one logged in at
this console), asks `Authenticator.check` (or `.sign` for the commands that need an e-signature:
shelving, incident closure, configuration, a new reference) and writes its rows together with
the audit entry in one store transaction. Commands run on the caller's thread; a refusal raises
`CommandRefused` (or one of its named kinds) with the reason to show.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

from console.actions import CommandRefused
from console.alarms import AlarmEvent, AlarmRefused, Trigger
from console.auth import Authenticator, MemoryDirectory, Session
from console.incident_desk import IncidentDesk
from console.notify import Notifier
from data.audit import Anchor, export_csv, trail
from data.people import StoreDirectory

# Runtime settings a signed configuration change may set: key → (section, field, type).
SETTINGS = {
    "alarms.on_delay_parts": ("alarms", "on_delay_parts", int),
    "alarms.off_delay_parts": ("alarms", "off_delay_parts", int),
    "alarms.deadband": ("alarms", "deadband", float),
    "alarms.min_active_seconds": ("alarms", "min_active_seconds", float),
    "access.idle_lock_seconds": ("access", "idle_lock_seconds", float),
}


class Oversight(IncidentDesk):
    """People's commands on a Station (mixin; the Station provides engine, store, config)."""

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
            self.engine.annunciator.settings = new_part
            self.engine.alarms.use_settings(new_part)
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
