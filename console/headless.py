"""What `headless` says besides alarms: system events on stderr, contained deliveries, the summary.

`main.py headless` (console/runner.py) is run by service managers and scripts that read its
streams, so no failure may be silent: every system event (store, source, quarantine, error)
becomes one JSON object a line on stderr (`print_system_event`); a delivery that makes the engine
fail costs the lines that caused it, not the whole delivery (`contain`); the summary line carries
what the store did (`store_summary`). Exit status 3 (`STORE_FAILED`) when the store could not be
opened or written. Runs on the engine thread (`contain`, `report_quarantine`), on whichever
thread notes a system event (`print_system_event`), and on the main thread (`store_summary`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from console.engine import Engine
from console.intake import Delivery
from console.records import Rejected, iso

STORE_FAILED = 3
UNPROCESSABLE = "unprocessable"


def print_system_event(event: tuple[float, str, str, str]) -> None:
    """One system event as one JSON line on stderr (flushed: a service log sees it at once)."""
    at, kind, source, text = event
    line = {"event": "system", "at": iso(at), "kind": kind, "source": source, "detail": text}
    try:
        sys.stderr.write(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: nothing left to tell
        return


def contain(engine: Engine, delivery: Delivery) -> None:
    """Feed a delivery to the engine; should the engine fail on it before taking any of it, the
    lines are fed again one at a time, and only those that fail are lost (quarantined, reported)."""
    lines_before, accepted_before = engine.lines, engine.accepted
    try:
        engine.feed_lines(delivery.lines, delivery.source)
    except Exception as error:  # a bad delivery must not stop the line's monitor
        untouched = engine.lines == lines_before and engine.accepted == accepted_before
        if not untouched:  # the engine took the lines, then failed: say so, count nothing twice
            text = f"{type(error).__name__}: {error}"[:300]
            engine.note_system("error", delivery.source, f"failed while processing: {text}")
        elif len(delivery.lines) < 2:
            _lost(engine, delivery.source, delivery.lines, error)
        else:
            for line in delivery.lines:
                try:
                    engine.feed_lines([line], delivery.source)
                except Exception as line_error:
                    _lost(engine, delivery.source, [line], line_error)
    if delivery.rejected:
        engine.note_rejected(delivery.rejected)


def _lost(engine: Engine, source: str, lines: Any, error: Exception) -> None:
    text = f"{type(error).__name__}: {error}"[:300]
    engine.note_system("error", source, f"{len(lines)} lines not processed: {text}")
    engine.note_rejected([Rejected(bytes(line), UNPROCESSABLE, text, source) for line in lines])


def report_quarantine(engine: Engine, source: str, before: Mapping[str, int]) -> None:
    """One system event for the lines a delivery had rejected, counted by reason."""
    counts = {
        reason: count - before.get(reason, 0)
        for reason, count in engine.rejected.items()
        if count > before.get(reason, 0)
    }
    if counts:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items()))
        total = sum(counts.values())
        engine.note_system("quarantine", source, f"{total} lines rejected ({reasons})")


def store_summary(store: Any, alarms: Any) -> dict[str, Any]:
    """The summary fields of WIRE.md §5 that come from the store and the alarm book."""
    active = [view.id for view in alarms.views() if view.active]
    not_stored = 0
    version = 0
    if store is not None:
        not_stored = int(store.status.not_stored)
        version = _reference_version(store.path)
    return {"reference_version": version, "active_alarms": active, "not_stored": not_stored}


def _reference_version(path: str) -> int:
    from data.reading import StoreError, latest_reference

    try:
        row = latest_reference(path)
    except (StoreError, OSError, Exception):  # a summary field, not a reason to fail
        return 0
    return int(row["version"]) if row else 0
