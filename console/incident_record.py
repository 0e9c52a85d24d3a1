"""The incident event record (EU AI Act Art. 12 logging, Art. 73 serious-incident reporting):
everything the store knows about one incident, as one deterministic JSON document.

`incident_record(store_path, incident_id, config)` reads the store (read-only connections) and
returns a dict: the station and line, the batches and parts concerned, the model and
configuration versions with their hashes, the reference in force, the drift state frozen when
the incident was raised and the series of its charts around the incident
(console/incident_charts.py), the alarms with their journal, the overrides, the escalations and who
was notified when, every human action from the audit trail (user, role, reason, signature
meaning), when it became known, the Art. 73 deadline class and due date computed from that
time, the actions taken, and the audit-chain entries that cover it with the chain head.
`canonical(record)` gives the bytes to write: the same store gives the same bytes, so the same
content hash. `listing(store_path)` is `main.py incidents`. Pure reads; any thread.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from console.config import Config
from console.incident_charts import incident_charts, utc
from data.reading import open_reader

# Art. 73: 15 days after the provider/deployer becomes aware (73(2)); 10 days in the event of a
# death (73(4)); 2 days for a widespread infringement or a serious disruption of critical
# infrastructure (73(3)). A station maps its incident severities onto these classes; the
# urgent class is treated as a possible serious disruption, high as the 10-day class.
ART73_DAYS = {"low": 15, "medium": 15, "high": 10, "urgent": 2}
ART73_CLAUSE = {15: "Art. 73(2)", 10: "Art. 73(4)", 2: "Art. 73(3)"}
WINDOW_SECONDS = 3600.0  # overrides and alarms this close to the incident belong to it


def canonical(record: dict[str, Any]) -> bytes:
    """The record's bytes: sorted keys, fixed separators, UTF-8, a final newline."""
    text = json.dumps(record, sort_keys=True, indent=1, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def content_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def listing(store_path: str | Path) -> list[dict[str, Any]]:
    """Each incident in its latest state: `{"event":"incident","id",...}` (WIRE.md §5)."""
    latest: dict[str, dict[str, Any]] = {}
    opened: dict[str, float] = {}
    for row in store_rows(store_path, "SELECT * FROM incidents ORDER BY seq"):
        latest[row["incident"]] = row
        opened.setdefault(row["incident"], row["at"])
    return [
        {
            "event": "incident",
            "id": key,
            "status": row["status"],
            "severity": row["severity"],
            "opened": utc(opened[key]),
            "owner": row["owner"],
        }
        for key, row in latest.items()
    ]


def incident_record(store_path: str | Path, incident_id: str, config: Config) -> dict[str, Any]:
    """The whole event record of one incident; KeyError when the store has no such incident."""
    states = store_rows(
        store_path, "SELECT * FROM incidents WHERE incident = ? ORDER BY seq", (incident_id,)
    )
    if not states:
        raise KeyError(incident_id)
    last = states[-1]
    kept = json.loads(last["snapshot"] or "{}")
    known = float(kept.get("opened_at", states[0]["at"]))
    until = float(last["at"]) + WINDOW_SECONDS
    since = known - WINDOW_SECONDS
    alarms = tuple(kept.get("alarms", ()))
    parts = tuple(kept.get("parts", ()))
    audit = _audit_covering(store_path, incident_id, alarms, parts, since, until)
    return {
        "record": "linewatch incident event record",
        "station": {"id": config.station.id, "name": config.station.name},
        "line": config.station.name,
        "incident": _incident_part(last, kept, states),
        "known_at": utc(known),
        "art73": art73(last["severity"], known),
        "parts": _parts(store_path, parts),
        "batches": sorted({p["batch"] for p in _parts(store_path, parts) if p["batch"]}),
        "models": _models(store_path, parts, config),
        "configuration": _configuration(config),
        "reference": _reference(store_path),
        "charts": incident_charts(store_path, kept, known, config),
        "drift": kept.get("snapshot", {}),
        "alarms": _alarms(store_path, alarms),
        "overrides": _overrides(store_path, parts, since, until),
        "escalations": [
            {"at": utc(at), "by": who, "what": what}
            for at, who, what in kept.get("path", ())
            if what.startswith(("opened", "escalated", "re-notified", "reassigned"))
        ],
        "human_actions": [a for a in audit["entries"] if a["role"] != "system"],
        "actions_taken": [
            {"at": utc(at), "by": who, "what": what} for at, who, what in kept.get("path", ())
        ]
        + [{"at": utc(at), "by": who, "note": note} for at, who, note in kept.get("notes", ())],
        "audit": audit,
    }


def art73(severity: str, known: float) -> dict[str, Any]:
    days = ART73_DAYS.get(severity, 15)
    return {
        "class_days": days,
        "clause": ART73_CLAUSE[days],
        "known_at": utc(known),
        "due": utc(known + days * 86400.0),
    }


def _incident_part(last: dict, kept: dict, states: list[dict]) -> dict[str, Any]:
    return {
        "id": last["incident"],
        "summary": last["summary"],
        "severity": last["severity"],
        "status": last["status"],
        "owner": last["owner"],
        "role": kept.get("role", ""),
        "opened_by": kept.get("opened_by", ""),
        "opened_at": utc(kept.get("opened_at")),
        "due_at": utc(kept.get("due_at")),
        "states": [
            {"at": utc(s["at"]), "status": s["status"], "owner": s["owner"]} for s in states
        ],
    }


def store_rows(path: str | Path, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    db = open_reader(path)
    try:
        return [dict(row) for row in db.query(sql, params)]
    finally:
        db.close()


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"


def _parts(path: str | Path, parts: tuple[str, ...]) -> list[dict[str, Any]]:
    sql = "SELECT part, batch, model, class, conf, label, ts_text FROM records WHERE "
    rows = store_rows(path, sql + _in("part", parts) + " ORDER BY seq", parts)
    return [
        {
            "part": r["part"],
            "batch": r["batch"] or "",
            "model": r["model"],
            "class": r["class"],
            "conf": r["conf"],
            "label": r["label"] or "",
            "ts": r["ts_text"],
        }
        for r in rows
    ]


def _models(path: str | Path, parts: tuple[str, ...], config: Config) -> list[dict[str, Any]]:
    names = sorted({p["model"] for p in _parts(path, parts) if p["model"]} | {config.station.model})
    # The console knows a model by the version string the line sends; its hash names that string.
    return [{"version": n, "sha256": hashlib.sha256(n.encode()).hexdigest()} for n in names]


def _configuration(config: Config) -> dict[str, Any]:
    if config.path and Path(config.path).is_file():
        digest = hashlib.sha256(Path(config.path).read_bytes()).hexdigest()
        return {"file": Path(config.path).name, "sha256": digest}
    text = json.dumps(repr(config)).encode()
    return {"file": "", "sha256": hashlib.sha256(text).hexdigest()}


def _reference(path: str | Path) -> dict[str, Any]:
    rows = store_rows(path, "SELECT version, created, description, sha256 FROM reference_profiles")
    if not rows:
        return {"version": None, "note": "reference learnt from the stream, not stored"}
    row = max(rows, key=lambda r: r["version"])
    return row | {"created": utc(row["created"])}


def _alarms(path: str | Path, alarms: tuple[str, ...]) -> list[dict[str, Any]]:
    sql = "SELECT * FROM alarm_journal WHERE " + _in("alarm", alarms) + " ORDER BY seq"
    journal = store_rows(path, sql, alarms)
    return [
        {
            "alarm": alarm,
            "journal": [
                {k: (utc(r[k]) if k == "at" else r[k]) for k in r if k != "seq"}
                for r in journal
                if r["alarm"] == alarm
            ],
        }
        for alarm in alarms
    ]


def _overrides(path: str | Path, parts: tuple, since: float, until: float) -> list[dict]:
    sql = "SELECT * FROM overrides WHERE (at BETWEEN ? AND ?) OR " + _in("part", parts)
    rows = store_rows(path, sql + " ORDER BY seq", (since, until, *parts))
    return [{k: (utc(r[k]) if k == "at" else r[k]) for k in r if k != "seq"} for r in rows]


def _audit_covering(
    path: str | Path, incident_id: str, alarms: tuple, parts: tuple, since: float, until: float
) -> dict[str, Any]:
    rows = store_rows(path, "SELECT * FROM audit ORDER BY seq")
    targets = {incident_id, *alarms, *parts, "fallback"}
    entries = []
    for row in rows:
        detail = json.loads(row["detail"])
        near = since <= row["at"] <= until
        if detail.get("target") in targets and (near or detail.get("target") == incident_id):
            entries.append(
                {
                    "seq": row["seq"],
                    "at": utc(row["at"]),
                    "user": row["user_name"],
                    "role": row["role"],
                    "action": row["action"],
                    "target": detail.get("target"),
                    "reason": detail.get("reason", ""),
                    "meaning": detail.get("meaning", ""),
                    "hash": row["hash"],
                }
            )
    head = {"seq": rows[-1]["seq"], "hash": rows[-1]["hash"]} if rows else None
    return {"entries": entries, "chain_head": head}


def export_json(
    store_path: str | Path, incident_id: str, config: Config, out_dir: str | Path
) -> tuple[dict[str, Any], Path]:
    """Write DIR/ID.json; returns the record (for the PDF) and the file's path."""
    record = incident_record(store_path, incident_id, config)
    return record, write_canonical(record, out_dir, incident_id)


def write_canonical(record: dict[str, Any], out_dir: str | Path, name: str) -> Path:
    """DIR/NAME.json with the record's canonical bytes (the folder made if needed)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    target.write_bytes(canonical(record))
    return target
