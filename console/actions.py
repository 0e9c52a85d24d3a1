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
# Reasons that only make sense for one side: a part that is no defect, or a defect the model missed.
GOOD_REASONS = ("not_a_defect",)
DEFECT_REASONS = ("missed_defect",)


def good_class(classes: tuple[str, ...]) -> str:
    """The class meaning "no defect": `ok` when the station has it, else its first class."""
    return "ok" if "ok" in classes or not classes else classes[0]


def reason_refusal(new_class: str, reason: str, good: str) -> str | None:
    """Why this reason cannot go with this new class, in the operator's words; None if it fits."""
    words = reason.replace("_", " ")
    if reason in GOOD_REASONS and new_class != good:
        return f"'{words}' does not fit {new_class}: {new_class} is a defect. Pick another reason, or class {good}."
    if reason in DEFECT_REASONS and new_class == good:
        return f"'{words}' does not fit {good}: {good} is no defect. Pick another reason, or a defect class."
    return None


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
