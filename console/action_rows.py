"""What an operator's command leaves in the store: the row that makes an acknowledgement or an
incident durable before the screen says so. Runs on the thread that gives the command (the UI's
or headless's); the store's writer thread commits and the caller waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.actions import Acknowledge
from console.alarms import AlarmView
from console.incidents import Incident

if TYPE_CHECKING:
    from data.store import StoreWriter


def journal_acknowledgement(store: StoreWriter, view: AlarmView, command: Acknowledge) -> None:
    """The acknowledgement in the alarm journal, through the durable lane (StoreError if not)."""
    store.journal_alarm(
        view.id,
        view.source,
        view.detector,
        "acknowledged",
        view.priority,
        view.value,
        command.user,
        command.note,
        command.at,
        durable=True,
    )


def save_incident(store: StoreWriter, incident: Incident) -> None:
    """The incident as opened, with what it was opened on (durable before returning)."""
    store.save_incident(
        incident.id,
        incident.status,
        incident.severity,
        incident.owner,
        incident.summary,
        {
            "role": incident.role,
            "opened_by": incident.opened_by,
            "due_at": incident.due_at,
            "alarms": list(incident.alarms),
            "parts": list(incident.parts),
            "snapshot": incident.snapshot,
        },
        at=incident.opened_at,
    )
