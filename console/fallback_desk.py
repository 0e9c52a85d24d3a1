"""The fallback commands of the Station: switch to manual inspection, switch back, and the
config's fallback rules checked on the engine thread.

`FallbackDesk` is a mixin of `console.runner.Station` beside `Oversight`. Switching on is open to
every role that may give the "fallback" command (operators too: it is the "stop"); switching back
needs "fallback_back" (shift lead, control owner). The coil is written and read back FIRST
(console/fallback.py), then the action is audited in the store (and so reaches the outbox for the
plant) — a busy store or a dead network never delays the line. Runs on the caller's thread; the
rules on the engine thread (`fallback_tick`).
"""

from __future__ import annotations

import contextlib

from console.actions import CommandRefused
from console.audited import Actor, AuditedActions, SystemActor
from console.auth import Session
from console.fallback import FallbackSwitch, Switched
from console.incident_record import store_rows

RULE_SECONDS = 1.0


class FallbackDesk(AuditedActions):
    """Fallback commands (mixin; the Station provides engine, store, config, people)."""

    fallback_switch: FallbackSwitch
    _fallback_checked: float = 0.0
    _fallback_noted: frozenset[str] = frozenset()

    def set_fallback(self, on: bool, reason: str, session: Session | None = None) -> Switched:
        """Route parts to manual inspection (`on`) or back to the model; role-checked, audited."""
        who = self.people.check(session or self.session, "fallback" if on else "fallback_back")
        if not on and not reason.strip():
            raise CommandRefused("say why the model may inspect again")
        return self._apply_fallback(who, on, reason)

    def _apply_fallback(self, who: Actor, on: bool, reason: str) -> Switched:
        old = self.fallback
        done = self.fallback_switch.switch(on)
        self.fallback = on
        self._snapshot_requested.set()
        now = self.clock()
        state = "ON: parts to manual inspection" if on else "off: the model inspects again"
        how = "PLC confirmed" if done.confirmed else done.detail
        self.engine.note_system("fallback", who.user, f"fallback {state} ({how})")
        if not done.confirmed:
            self.engine.note_system("error", "fallback", done.detail)
        self.notifier.send({"event": "fallback", "on": on, "by": who.user, "via": done.via})
        action = "fallback" if on else "fallback_back"
        facts = self._facts(who, action, "fallback", reason, now, old=old, new=done.wire())
        # The line is already switched: a store that fails is shown (by _record), not raised.
        with contextlib.suppress(CommandRefused):
            self._record([], facts)
        return done

    def restore_fallback(self) -> None:
        """After a restart the fallback is what the audit trail last says (the PLC holds its
        coil by itself; nothing is written here)."""
        if self.store is None:
            return
        last = store_rows(
            self.store.path,
            "SELECT action FROM audit WHERE action IN ('fallback', 'fallback_back')"
            " ORDER BY seq DESC LIMIT 1",
        )
        self.fallback = self.fallback_switch.active = bool(last) and last[0]["action"] == "fallback"

    def fallback_tick(self, now: float | None = None) -> None:
        """The config's fallback rules: recommend (a system event once per alarm, the screen's
        banner while the rule holds), or switch where the control owner enabled it."""
        now = self.clock() if now is None else now
        if now - self._fallback_checked < RULE_SECONDS:
            return
        self._fallback_checked = now
        due = self.fallback_switch.due_rules(self.engine.alarms.views(), now)
        advice = ""
        for rule_due in due:
            if self.fallback:
                break
            if rule_due.rule.switch:
                self._apply_fallback(SystemActor(), True, rule_due.text())
                break
            advice = advice or rule_due.text()
            if rule_due.alarm not in self._fallback_noted:
                self._fallback_noted = self._fallback_noted | {rule_due.alarm}
                self.engine.note_system("fallback", "rule", rule_due.text())
        # The banner stays while a rule still holds; acknowledging the alarm clears it.
        if advice != self.fallback_switch.recommended and not self.fallback:
            self.fallback_switch.recommended = advice
            self._snapshot_requested.set()
