"""The audited write behind every human action at the station, and the state it needs.

`AuditedActions` is the base of the Station's people mixins (console/incident_desk.py,
console/oversight.py): it builds the audit facts of an action (who, in which role, what, the
signature's meaning, the station's part seq) and writes the action's rows together with its
chained audit entry in ONE store transaction (`StoreWriter.audited`, data/audit.py). Without a
store the entry goes to the people directory in memory. Runs on the caller's thread (commands)
or the engine thread (`tick`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.actions import CommandRefused
from console.alarms import AlarmEvent
from console.auth import Authenticator, Session, Signature
from console.incidents import Incident
from console.notify import Notifier
from data.audit import AuditFacts, Write

if TYPE_CHECKING:
    from console.config import Config
    from console.engine import Engine
    from console.snapshot import Snapshot
    from data.store import StoreWriter


@dataclasses.dataclass(frozen=True)
class SystemActor:
    """The station itself as the actor of what the clock does."""

    user: str = "system"
    role: str = "system"


Actor = Session | Signature | SystemActor


class AuditedActions:
    """What every people mixin of the Station shares (the Station provides engine, store,
    config)."""

    clock: Callable[[], float]
    notifier: Notifier
    people: Authenticator
    session: Session | None
    incidents: list[Incident]
    # provided by the Station
    config: Config
    engine: Engine

    @property
    def store(self) -> StoreWriter | None:  # the Station's (its store health owns it)
        raise NotImplementedError

    snapshot: Snapshot
    fallback: bool
    _snapshot_requested: threading.Event

    def _journal(
        self,
        event: AlarmEvent,
        state: str,
        who: Actor,
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

    def _at(self, now: float) -> dict[str, Any]:
        return {"seq": self.engine.accepted, "ts": iso_ms(now)}

    def _facts(
        self,
        who: Actor,
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
        except Exception as error:  # the store says why; the screen shows it
            self.engine.note_system("error", "store", f"{facts.action} not saved: {error}")
            raise CommandRefused(f"not saved: {error}") from error


def iso_ms(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
