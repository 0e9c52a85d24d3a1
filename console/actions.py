"""What people do at the console, as typed, immutable commands (DESIGN.md "Core concepts").

The Qt side builds these and hands them to the engine; the engine checks them and the store
makes them durable before anyone is told "saved". Every one names the user and the time.
No thread of its own: plain values, safe to pass between threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# Reason codes shown as big buttons in the override dialog.
OVERRIDE_REASONS = (
    "misclassified",
    "not_a_defect",
    "missed_defect",
    "image_unclear",
    "wrong_part",
    "other",
)
SEVERITIES = ("low", "medium", "high", "urgent")


class CommandRefused(Exception):
    """A command that was not carried out; the message says why, in the operator's words."""


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's correction of one part's classification: a label for the model."""

    part: str
    old_class: str
    new_class: str
    reason: str
    user: str
    role: str = "operator"
    old_conf: float | None = None
    note: str = ""
    model: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """A shift lead (or operator) acknowledges an alarm."""

    alarm: str
    user: str
    role: str = "shift_lead"
    note: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Escalate:
    """Someone says something is wrong: opens an incident with a frozen snapshot."""

    summary: str
    severity: str
    user: str
    role: str = "operator"
    alarms: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class User:
    """A person who may act at the console: role, hashed PIN and badge (console/auth.py)."""

    name: str
    role: str
    pin_hash: str = field(repr=False)
    badge_hash: str = field(default="", repr=False)
    disabled: bool = False
    created: float = 0.0
