"""The weekly operations review (the AI-operations playbook's governance rhythm): the seven days
ending on a date, from the store — drift, incidents, interventions, overrides by class, SLA
performance, and the inputs and models that needed repeated intervention, with the operations
metrics of console/operations.py. `main.py report --week` writes it as JSON (deterministic)
and PDF; any thread.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from pathlib import Path
from typing import Any

from console.config import Config
from console.detectors import SPECS
from console.incident_record import utc, write_canonical
from console.operations import operations_metrics, rows

DAY = 86400.0


def week_ending(path: str | Path, ending: str | None) -> float:
    """End of the period (exclusive): midnight after DATE, or after the last stored part."""
    if ending:
        try:
            day = time.strptime(ending, "%Y-%m-%d")
        except ValueError as error:
            raise ValueError(f"--ending {ending!r}: use a date like 2026-11-30") from error
        return calendar.timegm(day) + DAY
    last = rows(path, "SELECT max(ts) AS ts FROM records")[0]["ts"]
    if last is None:
        raise ValueError("the store has no production yet: give --ending DATE")
    return (float(last) // DAY + 1) * DAY


def weekly_review(path: str | Path, until: float, config: Config) -> dict[str, Any]:
    since = until - 7 * DAY
    metrics = operations_metrics(path, since, until, config)
    journal = rows(
        path, "SELECT * FROM alarm_journal WHERE at >= ? AND at < ? ORDER BY seq", (since, until)
    )
    drift = [
        j for j in journal
        if j["state"] == "raised" and (s := SPECS.get(j["detector"])) is not None and s.drift
    ]  # fmt: skip
    inputs = Counter(j["source"] for j in drift)
    states = rows(path, "SELECT * FROM incidents WHERE at < ? ORDER BY seq", (until,))
    latest: dict[str, dict] = {}
    for row in states:
        latest[row["incident"]] = row
    models = rows(
        path,
        "SELECT o.model AS model, count(*) AS n FROM overrides o WHERE o.at >= ? AND o.at < ?"
        " GROUP BY o.model ORDER BY o.model",
        (since, until),
    )
    return {
        "report": "linewatch weekly operations review",
        "station": {"id": config.station.id, "name": config.station.name},
        "week": {"from": utc(since), "to": utc(until)},
        "drift": {
            "alarms_raised": len(drift),
            "by_input": dict(sorted(inputs.items())),
            "by_detector": dict(sorted(Counter(j["detector"] for j in drift).items())),
        },
        "incidents": [
            {
                "id": k,
                "status": v["status"],
                "severity": v["severity"],
                "owner": v["owner"],
                "summary": v["summary"],
            }
            for k, v in sorted(latest.items())
        ],  # fmt: skip
        "interventions": {
            "overrides": metrics["overrides"]["total"],
            "fallback_periods": len(metrics["policy_exceptions"]["fallback_periods"]),
            "shelved_alarms": metrics["policy_exceptions"]["shelved_alarms"],
        },
        "overrides_by_class": metrics["overrides"]["by_class"],
        "sla": metrics["incidents"],
        "repeated_intervention": {
            "inputs": {k: n for k, n in sorted(inputs.items()) if n >= 2},
            "alarms": metrics["alarm_health"]["repeated"],
            "models_overridden": {m["model"] or "?": m["n"] for m in models},
        },
        "metrics": metrics,
    }


def write_review(
    path: str | Path, ending: str | None, config: Config, out_dir: str | Path
) -> tuple[dict[str, Any], Path]:
    until = week_ending(path, ending)
    review = weekly_review(path, until, config)
    name = f"week-{time.strftime('%Y-%m-%d', time.gmtime(until - DAY))}"
    return review, write_canonical(review, out_dir, name)
