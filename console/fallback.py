"""Fallback to manual inspection (the EU AI Act Art. 14(4) "stop"): the switch and its rules.

`FallbackSwitch` asks the line to route parts to manual inspection. Where a PLC link is known
(the Modbus fallback coil, handed in by console/runner.py as plain callables so the core never
imports drivers) it writes the coil and reads it back before anything else happens — the store
and the plant network come after, so neither can delay the line. Without a link, or when the
PLC does not confirm, the answer says so and the screen shows the configured instruction.
`due_rules` reads the alarm book against the `[[fallback.rule]]` entries: a rule recommends the
fallback, or switches it by itself where the control owner set `switch = true`.

Runs on the caller's thread (UI, lock screen, or the engine thread for a rule); the state is
guarded by a lock so two switches never interleave their coil writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.alarms import PRIORITIES, AlarmView
from console.config import Fallback, FallbackRule

# Writes the coil and reads it back: True only when the PLC confirms the asked state.
CoilLink = Callable[[bool], bool]


@dataclass(frozen=True)
class Switched:
    """What one switch did: the state asked, whether the PLC confirmed it, and how fast."""

    on: bool
    via: str  # "plc" (coil confirmed) | "instruction" (no PLC or not confirmed: people act)
    confirmed: bool
    seconds: float
    detail: str = ""

    def wire(self) -> dict:
        return {
            "on": self.on,
            "via": self.via,
            "plc_confirmed": self.confirmed,
            "ms": round(self.seconds * 1000.0, 3),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RuleDue:
    """A fallback rule met by one alarm."""

    alarm: str
    rule: FallbackRule
    minutes: float

    def text(self) -> str:
        verb = "switching to" if self.rule.switch else "consider"
        return (
            f"{self.alarm} ({self.rule.priority}+) unacknowledged {self.minutes:.0f} min: "
            f"{verb} fallback (manual inspection)"
        )


class FallbackSwitch:
    """The fallback state of one station and the PLC links that carry it to the line."""

    def __init__(self, settings: Fallback, links: Sequence[CoilLink] = ()) -> None:
        self.settings = settings
        self.links = list(links)
        self.active = False
        self.since = 0.0
        self.last: Switched | None = None
        self.recommended = ""
        self._lock = threading.Lock()

    def switch(self, on: bool) -> Switched:
        """Write the coil(s) first and read back; the caller audits afterwards."""
        with self._lock:
            started = time.perf_counter()
            confirmed, detail = bool(self.links), ""
            for link in self.links:
                try:
                    ok = link(on)
                except Exception as error:  # a PLC that fails must not stop the switch
                    ok, detail = False, f"{type(error).__name__}: {error}"
                if not ok:
                    confirmed = False
                    detail = detail or "the PLC did not confirm the fallback coil"
            if not self.links:
                detail = "no PLC link: " + self.settings.instruction
            elif not confirmed:
                detail += "; " + self.settings.instruction
            seconds = time.perf_counter() - started
            self.last = Switched(
                on, "plc" if confirmed else "instruction", confirmed, seconds, detail
            )
            if on != self.active:
                self.since = time.time()
            self.active = on
            if on:
                self.recommended = ""
            return self.last

    def due_rules(self, alarms: Sequence[AlarmView], now: float) -> list[RuleDue]:
        """Alarms that meet a rule now (unacknowledged, priority high enough, long enough)."""
        due = []
        for alarm in alarms:
            if alarm.state not in ("unacknowledged", "returned_unacknowledged"):
                continue
            if not alarm.raised_at:
                continue
            minutes = (now - alarm.raised_at) / 60.0
            for rule in self.settings.rule:
                if _matches(rule, alarm) and minutes >= rule.unacknowledged_minutes:
                    due.append(RuleDue(alarm.id, rule, minutes))
                    break
        return due


def _matches(rule: FallbackRule, alarm: AlarmView) -> bool:
    if alarm.priority not in PRIORITIES or rule.priority not in PRIORITIES:
        return False
    if PRIORITIES.index(alarm.priority) < PRIORITIES.index(rule.priority):
        return False
    return "*" in rule.kinds or alarm.detector in rule.kinds
