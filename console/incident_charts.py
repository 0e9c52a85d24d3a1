"""The drift charts of an incident event record: the series they are drawn from, read from the
store, so the JSON carries exactly what the PDF shows.

For each input in alarm (an alarm `detector:input` linked to the incident; when none names an
input, the inputs with the highest drift score in the frozen drift state) the records' values
over `CHART_HOURS` before and after the incident, in `CHART_BINS` time bins: count, mean, p5 and
p95; the reference band (p5, mean, p95 of the reference in force, or, when the reference was
learnt from the stream and not stored, of the first `[reference] size` records); and the alarm
journal's transitions and the moment the incident became known as marks.

Times are the records' own (line time): an alarm or the incident is placed on that axis through
the record deliveries, whose wall time says which records had reached the store by then. On a
real line the two clocks run together; a simulator playing days in seconds, or a store catching
up a backlog, spreads a few wall-clock seconds over hours of line time, so the JSON keeps every
mark with its hours and the drawing shows those inside the window. Pure reads over read-only
connections; any thread.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from console.config import Config
from console.reference import ReferenceProfile
from data.reading import load_records, open_reader

CHART_HOURS = 4.0  # before and after the incident
CHART_BINS = 96
TOP_INPUTS = 2  # inputs charted when no alarm names one


def utc(at: float | None) -> str | None:
    """Epoch seconds as the evidence writes them: `2026-11-30T10:48:04Z`."""
    if at is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def incident_charts(
    store_path: str | Path, kept: dict[str, Any], known: float, config: Config
) -> dict[str, Any]:
    """The charts' series around an incident known at wall time `known` (see module doc)."""
    db = open_reader(store_path)
    try:
        chosen = _inputs(kept, _feature_names(db))
        line = _LineClock(db)
        centre = line.time_of(known)
        if centre is None:
            return {"note": "no records had reached the store when the incident became known"}
        lo, hi = centre - CHART_HOURS * 3600.0, centre + CHART_HOURS * 3600.0
        span = db.execute(
            "SELECT min(seq), max(seq) FROM records WHERE ts BETWEEN ? AND ?", (lo, hi)
        ).fetchone()
        # inputs charted for their drift score carry the marks of every alarm of the incident
        alarms = {alarm for alarm, _, _ in chosen if alarm} or set(kept.get("alarms", ()))
        journal = [line.mark(row, centre) for row in _journal(db) if row["alarm"] in alarms]
    finally:
        db.close()
    window = _window_records(store_path, span)
    reference, source = _reference(store_path, config, known)
    known_mark = {"hours": 0.0, "at": utc(known), "what": "incident known"}
    return {
        "clock": "line time (the records' own timestamps)",
        "hours": CHART_HOURS,
        "from": utc(lo),
        "to": utc(hi),
        "known_at_line_time": utc(centre),
        "reference_source": source,
        "inputs": [
            _chart(
                name,
                why,
                window,
                reference,
                centre,
                [known_mark, *(m for m in journal if m["alarm"] == alarm or not alarm)],
            )
            for alarm, name, why in chosen
        ],  # fmt: skip
    }


class _LineClock:
    """Wall time at the store → the line time of the last record delivered by then."""

    def __init__(self, db: Any) -> None:
        self.db = db
        rows = db.execute("SELECT last_seq, at FROM record_deliveries ORDER BY last_seq").fetchall()
        self.seqs = [int(r[0]) for r in rows]
        self.ats = np.array([r[1] for r in rows], dtype=np.float64)
        self.times: dict[int, float | None] = {}

    def time_of(self, at: float) -> float | None:
        if not self.seqs:
            return None
        seq = self.seqs[max(int(np.searchsorted(self.ats, at, side="right")) - 1, 0)]
        if seq not in self.times:
            row = self.db.execute("SELECT ts FROM records WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
                                  (seq,)).fetchone()  # fmt: skip
            self.times[seq] = float(row[0]) if row else None
        return self.times[seq]

    def mark(self, row: dict[str, Any], centre: float) -> dict[str, Any]:
        at = self.time_of(row["at"])
        hours = None if at is None else round((at - centre) / 3600.0, 4)
        what = f"{row['alarm']} {row['state']}"
        return {"hours": hours, "at": utc(row["at"]), "what": what, "alarm": row["alarm"]}


def _feature_names(db: Any) -> tuple[str, ...]:
    row = db.execute("SELECT names FROM feature_sets ORDER BY id DESC LIMIT 1").fetchone()
    return tuple(json.loads(row[0])) if row else ()


def _inputs(kept: dict[str, Any], names: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(alarm, input, why) for each input charted; alarm "" when no alarm names the input."""
    chosen: dict[str, tuple[str, str, str]] = {}
    for alarm in kept.get("alarms", ()):
        column = alarm.split(":", 1)[-1]
        if column in names and column not in chosen:
            chosen[column] = (alarm, column, "in alarm")
    if chosen:
        return list(chosen.values())
    drift = kept.get("snapshot", {}).get("drift", {})
    scored = sorted(
        ((-max((v for k, v in scores.items() if k not in ("mean", "ref_mean") and
                isinstance(v, int | float)), default=0.0), name)
         for name, scores in drift.items() if name in names),
    )  # fmt: skip
    why = "highest drift score at the incident (no alarm names an input)"
    return [("", name, why) for _, name in scored[:TOP_INPUTS]]


def _journal(db: Any) -> list[dict[str, Any]]:
    rows = db.execute("SELECT alarm, state, at FROM alarm_journal ORDER BY seq").fetchall()
    return [{"alarm": a, "state": s, "at": at} for a, s, at in rows]


def _window_records(path: str | Path, span: tuple | None) -> Any:
    if not span or span[0] is None:
        return None
    return load_records(path, since_seq=int(span[0]) - 1, limit=int(span[1]) - int(span[0]) + 1)


def _reference(path: str | Path, config: Config, known: float) -> tuple[dict[str, Any], str]:
    """Per input (p5, mean, p95) of the reference in force at `known`, and where it came from."""
    db = open_reader(path)
    try:
        row = db.execute(
            "SELECT version, profile FROM reference_profiles WHERE created <= ?"
            " ORDER BY version DESC LIMIT 1",
            (known,),
        ).fetchone()
    finally:
        db.close()
    if row:
        profile = ReferenceProfile.from_json(row[1])
        return {
            name: (float(profile.quantiles[j, 1]), float(profile.mean[j]),
                   float(profile.quantiles[j, 3]))
            for j, name in enumerate(profile.features)
        }, f"reference version {row[0]}"  # fmt: skip
    first = load_records(path, limit=config.reference.size)
    values = first.batch.features
    band = {
        name: tuple(float(x) for x in np.nanpercentile(values[:, j], [5, 50, 95]))
        for j, name in enumerate(first.feature_names)
        if np.isfinite(values[:, j]).any()
    }
    band = {k: (v[0], float(np.nanmean(values[:, j])), v[2]) for j, (k, v) in
            enumerate(band.items())}  # fmt: skip
    return band, f"the first {len(first)} records (reference learnt from the stream)"


def _chart(
    name: str, why: str, window: Any, reference: dict, centre: float, marks: list[dict]
) -> dict[str, Any]:
    edges = np.linspace(-CHART_HOURS, CHART_HOURS, CHART_BINS + 1)
    bins: dict[str, list] = {"hours": [], "n": [], "mean": [], "p5": [], "p95": []}
    if window is not None and name in window.feature_names:
        hours = (window.batch.ts - centre) / 3600.0
        values = window.batch.features[:, window.feature_names.index(name)]
        slot = np.searchsorted(edges, hours, side="right") - 1
        for k in range(CHART_BINS):
            picked = values[(slot == k) & np.isfinite(values)]
            if picked.size == 0:
                continue
            p5, p95 = np.percentile(picked, [5, 95])
            bins["hours"].append(round(float(0.5 * (edges[k] + edges[k + 1])), 4))
            bins["n"].append(int(picked.size))
            for key, value in (("mean", picked.mean()), ("p5", p5), ("p95", p95)):
                bins[key].append(_round(value))
    low, mean, high = reference.get(name, (None, None, None))
    return {
        "input": name,
        "why": why,
        "reference": {"p5": _round(low), "mean": _round(mean), "p95": _round(high)},
        "bins": bins,
        # every mark of the alarm, also outside the window (the drawing shows those inside)
        "marks": [m for m in marks if m["hours"] is not None],
    }


def _round(value: Any) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(f"{float(value):.6g}")
