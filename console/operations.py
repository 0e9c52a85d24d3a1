"""Operations metrics of the AI-operations playbook, computed from the store over a period.

`operations_metrics(store_path, since, until, config)` reads the store (read-only) and returns
plain JSON-able figures: override rate by class and by shift; data-quality incidents by kind
(quarantined lines by reason, source events); time to acknowledge and to resolve incidents
(MTTA/MTTR) against the playbook's response times; decision cycle time (inspected → final
decision, overrides included); policy exceptions (shelved alarms, fallback periods) and how long
they lasted; alarm-system health (raises per 10 minutes, by priority, repeated alarms); the
intervention cost from the hourly rates in `[costs]`; and the live accuracy (console/accuracy.py)
from labels and overrides with the label-free estimate calibrated on the reference period.
The Metrics view, `main.py report --week` and the weekly review call it; any thread.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from console.accuracy import Calibration, estimate, scores
from console.actions import SEVERITIES
from console.config import Config
from console.incident_record import store_rows as rows

MIN_TRUTHS = 50  # known-truth parts in the reference period before an estimate is shown
SHIFTS = (("early", 6, 14), ("late", 14, 22), ("night", 22, 6))


def shift_of(at: float) -> str:
    hour = int(at // 3600 % 24)
    for name, start, end in SHIFTS:
        if (start <= hour < end) if start < end else (hour >= start or hour < end):
            return name
    return "night"


def operations_metrics(path: str | Path, since: float, until: float, config: Config) -> dict:
    records = rows(
        path,
        "SELECT seq, ts, part, batch, model, class, conf, label FROM records"
        " WHERE ts >= ? AND ts < ? ORDER BY seq",
        (since, until),
    )
    overrides = rows(path, "SELECT * FROM overrides ORDER BY seq")
    inspected = {r["part"]: r for r in records}
    mine = [o for o in overrides if o["part"] in inspected]
    incidents = rows(path, "SELECT * FROM incidents WHERE at < ? ORDER BY seq", (until,))
    journal = rows(
        path, "SELECT * FROM alarm_journal WHERE at >= ? AND at < ? ORDER BY seq", (since, until)
    )
    audit = rows(path, "SELECT at, user_name, action, detail FROM audit ORDER BY seq")
    exceptions = policy_exceptions(journal, audit, since, until)
    handling = incident_times(incidents, config, since)
    return {
        "period": {"since": since, "until": until, "parts": len(records)},
        "overrides": override_rates(records, mine),
        "data_quality": data_quality(path, since, until),
        "incidents": handling,
        "decision_cycle": decision_cycle(inspected, mine),
        "policy_exceptions": exceptions,
        "alarm_health": alarm_health(journal, since, until),
        "cost": intervention_cost(config, len(mine), handling, exceptions),
        "accuracy": live_accuracy(path, records, overrides, config),
        "by_model": by_model(records, mine),
    }


def by_model(records: list[dict], overrides: list[dict]) -> dict:
    """Metrics kept per model version: parts, overrides, mean confidence, labelled accuracy."""
    overridden = {o["part"]: o["new_class"] for o in overrides}
    out: dict[str, dict] = {}
    for name in sorted({r["model"] or "?" for r in records}):
        mine = [r for r in records if (r["model"] or "?") == name]
        known = [(r["class"], overridden.get(r["part"], r["label"])) for r in mine]
        known = [(p, t) for p, t in known if t]
        out[name] = {
            "parts": len(mine),
            "overrides": sum(r["part"] in overridden for r in mine),
            "mean_conf": round(sum(r["conf"] for r in mine) / len(mine), 4),
            "accuracy": scores([p for p, _ in known], [t for _, t in known], ())["accuracy"].wire(),
        }
    return out


def override_rates(records: list[dict], overrides: list[dict]) -> dict:
    by_class = Counter(r["class"] for r in records)
    overridden_class = Counter(o["old_class"] for o in overrides)
    by_shift = Counter(shift_of(r["ts"]) for r in records)
    part_ts = {r["part"]: r["ts"] for r in records}
    overridden_shift = Counter(shift_of(part_ts[o["part"]]) for o in overrides)
    return {
        "total": len(overrides),
        "rate": round(len(overrides) / len(records), 5) if records else 0.0,
        "by_class": {
            c: {
                "overrides": overridden_class[c],
                "parts": n,
                "rate": round(overridden_class[c] / n, 5),
            }
            for c, n in sorted(by_class.items())
        },
        "by_shift": {
            s: {
                "overrides": overridden_shift[s],
                "parts": by_shift[s],
                "rate": round(overridden_shift[s] / by_shift[s], 5) if by_shift[s] else 0.0,
            }
            for s, _, _ in SHIFTS
        },  # fmt: skip
        "by_reason": dict(sorted(Counter(o["reason"] for o in overrides).items())),
    }


def data_quality(path: str | Path, since: float, until: float) -> dict:
    rejected = rows(path, "SELECT reason FROM rejected WHERE at >= ? AND at < ?", (since, until))
    events = rows(path, "SELECT kind, count FROM events WHERE at >= ? AND at < ?", (since, until))
    by_event: Counter[str] = Counter()
    for e in events:
        by_event[e["kind"]] += int(e["count"] or 1)
    return {
        "rejected_by_reason": dict(sorted(Counter(r["reason"] for r in rejected).items())),
        "source_events_by_kind": dict(sorted(by_event.items())),
    }


def incident_times(incidents: list[dict], config: Config, since: float) -> dict:
    """MTTA (open → acknowledged) and MTTR (open → mitigated or closed), minutes, vs the SLA."""
    first: dict[str, dict] = {}
    acked: dict[str, float] = {}
    resolved: dict[str, float] = {}
    for row in incidents:
        first.setdefault(row["incident"], row)
        if row["status"] == "acknowledged":
            acked.setdefault(row["incident"], row["at"])
        if row["status"] in ("mitigated", "closed"):
            resolved.setdefault(row["incident"], row["at"])
    opened = {k: v for k, v in first.items() if v["at"] >= since}
    tta = [(acked[k] - v["at"]) / 60 for k, v in opened.items() if k in acked]
    ttr = [(resolved[k] - v["at"]) / 60 for k, v in opened.items() if k in resolved]
    sla = dict(zip(SEVERITIES, config.people.sla_minutes, strict=False))
    within = [
        k
        for k, v in opened.items()
        if k in acked and (acked[k] - v["at"]) / 60 <= sla.get(v["severity"], 0)
    ]
    return {
        "opened": len(opened),
        "by_severity": dict(sorted(Counter(v["severity"] for v in opened.values()).items())),
        "by_owner": dict(sorted(Counter(v["owner"] for v in opened.values()).items())),
        "mtta_minutes": round(statistics.mean(tta), 2) if tta else None,
        "mttr_minutes": round(statistics.mean(ttr), 2) if ttr else None,
        "acknowledged_within_sla": len(within),
        "unresolved": len([k for k in opened if k not in resolved]),
    }


def decision_cycle(inspected: dict[str, dict], overrides: list[dict]) -> dict:
    """Seconds from inspection to the final decision; a part nobody overrode is final at once."""
    waits = [max(0.0, o["at"] - inspected[o["part"]]["ts"]) for o in overrides]
    return {
        "parts": len(inspected),
        "overridden": len(waits),
        "median_override_seconds": round(statistics.median(waits), 1) if waits else None,
        "max_override_seconds": round(max(waits), 1) if waits else None,
    }


def policy_exceptions(journal: list[dict], audit: list[dict], since: float, until: float) -> dict:
    shelved = [j for j in journal if j["state"] == "shelved"]
    periods, started = [], None
    for row in audit:
        if row["action"] == "fallback" and started is None:
            started = row
        elif row["action"] == "fallback_back" and started is not None:
            if row["at"] >= since and started["at"] < until:
                periods.append(
                    {"from": started["at"], "to": row["at"], "minutes": round((row["at"] - started["at"]) / 60, 2),
                     "by": started["user_name"], "ended_by": row["user_name"]}
                )  # fmt: skip
            started = None
    if started is not None and started["at"] < until:
        periods.append(
            {"from": started["at"], "to": None, "minutes": None, "by": started["user_name"]}
        )
    return {
        "shelved_alarms": len(shelved),
        "shelved_by_alarm": dict(sorted(Counter(j["alarm"] for j in shelved).items())),
        "fallback_periods": periods,
        "fallback_minutes": round(sum(p["minutes"] or 0 for p in periods), 2),
    }


def alarm_health(journal: list[dict], since: float, until: float) -> dict:
    raised = [j for j in journal if j["state"] == "raised"]
    tens = max((until - since) / 600.0, 1.0)
    repeats = Counter(j["alarm"] for j in raised)
    return {
        "raised": len(raised),
        "per_10_minutes": round(len(raised) / tens, 4),
        "by_priority": dict(sorted(Counter(j["priority"] for j in raised).items())),
        "repeated": {a: n for a, n in sorted(repeats.items()) if n >= 2},
    }


def intervention_cost(config: Config, overrides: int, handling: dict, exceptions: dict) -> dict:
    costs = config.costs
    override_hours = overrides * costs.minutes_per_override / 60
    incident_hours = handling["opened"] * costs.minutes_per_incident / 60
    manual_hours = exceptions["fallback_minutes"] / 60
    total = (override_hours + incident_hours) * costs.hourly_rate
    total += manual_hours * costs.manual_inspection_hourly_rate
    return {
        "override_hours": round(override_hours, 2),
        "incident_hours": round(incident_hours, 2),
        "manual_inspection_hours": round(manual_hours, 2),
        "total": round(total, 2),
        "currency": costs.currency,
    }


def live_accuracy(
    path: str | Path, records: list[dict], overrides: list[dict], config: Config
) -> dict:
    """Realized accuracy from labels and overrides; the estimate calibrated on the reference."""
    truth = {o["part"]: o["new_class"] for o in overrides}
    known = [(r["class"], truth.get(r["part"], r["label"])) for r in records]
    known = [(p, t) for p, t in known if t]
    classes = config.station.classes or tuple(sorted({p for p, _ in known}))
    figures = scores([p for p, _ in known], [t for _, t in known], classes)
    out: dict[str, Any] = {
        "accuracy": figures["accuracy"].wire(),
        "per_class": {
            c: {k: r.wire() for k, r in v.items()} for c, v in figures["per_class"].items()
        },
    }
    first = rows(
        path,
        "SELECT part, class, conf, label FROM records ORDER BY seq LIMIT ?",
        (config.reference.size,),
    )
    ref = [
        (r["conf"], r["class"] == truth.get(r["part"], r["label"]))
        for r in first
        if truth.get(r["part"], r["label"])
    ]
    if len(ref) < MIN_TRUTHS or not records:
        out["estimate_note"] = (
            f"{len(ref)} parts of known truth in the reference period; "
            f"{MIN_TRUTHS} needed to calibrate the label-free estimate"
        )
    else:
        calibration = Calibration.fit(np.array([c for c, _ in ref]), np.array([k for _, k in ref]))
        found = estimate(calibration, np.array([r["conf"] for r in records]))
        out["estimate"] = found.wire() | {
            "reference_truths": len(ref),
            "reference_ece": round(calibration.ece, 4),
        }
        realized = figures["accuracy"]
        out["gap"] = round(realized.value - found.adjusted, 4) if realized.n else None
    return json.loads(json.dumps(out))
