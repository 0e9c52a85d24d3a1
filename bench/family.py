"""Detection over a family of randomised lines (bench/lines.py), beside the statistical limit
and two peers: `main.py bench --only detection` prints it first.

For every drifting line: the engine's first drift alarm on a drifting input (ramp, mean_shift,
ks or psi; in days after onset, from the alarm's own timestamp), the matched known-onset ramp
test's limit (`bench.lines.ramp_limit`, the earliest of the drifting inputs), their ratio (also
to the limit of the same test looking every hour, as the engine does), and the first flag of a
daily KS per input (Bonferroni) and of a 24-hour mean z, both at the same yearly false-alarm
budget per input as the engine, raw and MATCHED (their level raised per line until silent on
its non-drifting inputs and pre-onset days). For stable lines: every alarm raised, per
line-year. The engine runs in process on `RecordBatch`es (no JSON). Main thread only.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from bench.lines import (
    CLASSES,
    DAY,
    Drift,
    LineData,
    LineDesign,
    draw_line,
    ks_level,
    ks_scores,
    matched_level,
    ramp_limit,
    z24_level,
    z24_scores,
)
from bench.suite import heading, line
from console.alarms import AlarmEvent
from console.budget import share
from console.config import Config, default_config
from console.detectors.ramp import ramp_threshold
from console.engine import Engine

DRIFT_DETECTORS = ("ramp", "mean_shift", "ks", "psi")
# The study's false-alarm budget per input-year, all detectors together (console/budget.py). Issue
# 12 asks for 0 false alarms in >= 100 line-years of about 9 inputs (and the model's confidence)
# each: a calibrated engine raises about budget x inputs a line-year, so 0 in 100 calls for at
# most ~0.001 (an expected ~1 in 100 line-years). The limit and the peers use the same budget.
STUDY_BUDGET = 0.001
QUIET = ("rejected",)


@dataclass(frozen=True)
class LineResult:
    design: LineDesign
    latency: float | None  # days after onset, any drift detector
    ramp: float | None
    limit: float | None
    ks: float | None
    z24: float | None
    false: int  # alarms on inputs that do not drift
    days: float
    false_by: tuple[str, ...] = ()  # their detectors
    peer_false: tuple[int, int] = (0, 0)  # daily KS, 24-h z: flags on inputs that do not drift
    ks_matched: float | None = None  # the same peers at a level silent where nothing drifts
    z24_matched: float | None = None
    limit_hourly: float | None = None  # the known-onset test looking every hour, as the engine
    # The known-onset test at the level an unknown-onset scan at this budget needs (`floor`).
    floor: float | None = None


def engine_for(data: LineData, budget: float) -> tuple[Engine, Config]:
    config = default_config()
    config = replace(
        config,
        station=replace(config.station, features=data.names, classes=CLASSES),
        detection=replace(config.detection, false_alarms_per_year=budget),
    )
    engine = Engine(config, reference_features=data.names)
    engine.use_reference(data.reference(), "generated reference")
    return engine, config


def _when(event: AlarmEvent) -> float:
    return float(np.datetime64(event.ts.rstrip("Z"), "ms").astype(np.int64)) / 1000.0


def run_line(design: LineDesign, days: float, budget: float = STUDY_BUDGET) -> LineResult:
    """One line: reference, then `days` of production (drift onset `design.onset_day` in)."""
    data = LineData(design)
    engine, _ = engine_for(data, budget)
    reference = data.reference().features
    drifting = {f"x{d.column}" for d in design.drifts}
    first: dict[str, float] = {}
    false_by: list[str] = []
    live: list[np.ndarray] = []
    begin = int(design.reference_days)
    for day in range(begin, begin + int(days)):
        batch = data.days(day, 1)
        live.append(batch.features)
        for event in engine.process(batch):
            if event.event != "alarm_raised" or event.detector in QUIET:
                continue
            if event.source in drifting and event.detector in DRIFT_DETECTORS:
                at = (_when(event) - data.onset) / DAY
                first.setdefault("any", at)
                if event.detector == "ramp":
                    first.setdefault("ramp", at)
            elif event.source not in ("class", "conf"):
                false_by.append(event.detector)
    drifts = design.drifts
    limit = _earliest(ramp_limit(data, d, budget, days) for d in drifts)
    hourly = _earliest(ramp_limit(data, d, budget, days, hourly=True) for d in drifts)
    at_scan_level = _earliest(floor(data, d, budget, days) for d in drifts)
    columns = [d.column for d in design.drifts]
    width, alpha = design.inputs, budget * design.inputs
    scores = [ks_scores(reference, live), z24_scores(reference, live)]
    levels = [ks_level(width, alpha), z24_level(width, alpha)]
    flags = [s > level for s, level in zip(scores, levels, strict=True)]
    peers = [_first_flag(f, columns, design) for f in flags]
    null = _null_days(len(live), columns, design)
    matched = [
        _first_flag(s > matched_level(s, level, null), columns, design)
        for s, level in zip(scores, levels, strict=True)
    ]
    others = [j for j in range(design.inputs) if j not in columns]
    return LineResult(
        design,
        first.get("any"),
        first.get("ramp"),
        limit,
        peers[0],
        peers[1],
        len(false_by),
        days,
        tuple(false_by),
        (int(flags[0][:, others].sum()), int(flags[1][:, others].sum())),
        matched[0],
        matched[1],
        hourly,
        at_scan_level,
    )


def _earliest(days: Iterable[float | None]) -> float | None:
    """The earliest of the drifting inputs' times (None where none is reached)."""
    reached = [x for x in days if x is not None]
    return min(reached) if reached else None


def floor(data: LineData, drift: Drift, budget: float, days: float) -> float | None:
    """Days after onset at which the known-onset test, held to the level of the engine's scan
    over unknown onsets (`console.detectors.ramp.ramp_threshold`, 5.64 at the study's budget),
    would alarm. The level is the price of not knowing the onset: with ARL γ looks a detector
    must gather about 2 ln γ of information (Lai 1998; √(2 ln γ) = 5.7 for γ = 1.25 × 10⁷ hourly
    looks, 1 / (0.0007 a year)), so the engine's latency over this floor says how far it is from
    the best an unknown-onset detector can do, the latency over `limit` how far from a test that
    knows the onset."""
    return ramp_limit(data, drift, budget, days, level=ramp_threshold(share(budget, "ramp")))


def _null_days(days: int, columns: list[int], design: LineDesign) -> np.ndarray:
    """Days × inputs where nothing drifts: the inputs that do not drift, and every input on
    the days that end before onset."""
    null = np.ones((days, design.inputs), bool)
    ended = np.arange(1, days + 1) - design.onset_day
    null[:, columns] = (ended <= 0)[:, None]
    return null


def _first_flag(flags: np.ndarray, columns: list[int], design: LineDesign) -> float | None:
    """Days after onset at which a daily report (at the end of its day) first flags a drifting
    input; flags before onset are not latency."""
    for index in np.flatnonzero(flags[:, columns].any(axis=1)):
        end = index + 1 - design.onset_day
        if end > 0:
            return float(end)
    return None


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(np.ceil(0.9 * len(ordered))) - 1)]
    return f"median {statistics.median(ordered):.2f} / p90 {p90:.2f} / worst {ordered[-1]:.2f}"


def bench_family(quick: bool) -> list[LineResult]:
    """Print the family table; returns the results (tests and BENCHMARKS.md use them)."""
    lines = 8 if quick else 30
    stable = 6 if quick else 100
    inputs = 16 if quick else 64
    heading(
        "detection",
        "family of randomised lines: latency against the statistical limit "
        f"(budget {STUDY_BUDGET:g} false alarms per input-year, all detectors)",
    )
    results: list[LineResult] = []
    for s in range(lines):
        r = run_line(draw_line(1000 + s, max_inputs=inputs), days=30)
        results.append(r)
        line(
            f"  line {r.design.seed}: {r.design.describe()}",
            f"engine {_days(r.latency)} (ramp {_days(r.ramp)}) limit {_days(r.limit)} "
            f"(hourly looks {_days(r.limit_hourly)}) KS {_days(r.ks)} z24 {_days(r.z24)} "
            f"matched {_days(r.ks_matched)} / {_days(r.z24_matched)} false {r.false} "
            f"(peers' false flags {r.peer_false[0]} / {r.peer_false[1]})",
        )
    ratios = [r.latency / r.limit for r in results if r.latency and r.limit]
    ramp = [r.ramp / r.limit for r in results if r.ramp and r.limit]
    line("latency / limit, any drift detector", _spread(ratios) + f" ({len(ratios)} lines)")
    line("latency / limit, ramp alone", _spread(ramp) + f" ({len(ramp)} lines)")
    hourly = [r.latency / r.limit_hourly for r in results if r.latency and r.limit_hourly]
    line("latency / limit of a test that looks hourly", _spread(hourly) + f" ({len(hourly)} lines)")
    floors = [r.latency / r.floor for r in results if r.latency and r.floor]
    line(
        "latency / floor (known onset at the scan's level)",
        _spread(floors) + f" ({len(floors)} lines)",
    )
    price = [r.floor / r.limit for r in results if r.floor and r.limit]
    line("floor / limit (the price of an unknown onset)", _spread(price))
    peers = (
        ("daily KS", "ks"),
        ("24-h mean z", "z24"),
        ("daily KS, matched", "ks_matched"),
        ("24-h mean z, matched", "z24_matched"),
    )
    for name, peer in peers:
        pairs = [(r.latency, getattr(r, peer)) for r in results]
        slower = sum(1 for a, b in pairs if b is not None and (a is None or a > b))
        line(f"lines where the engine is slower than {name}", f"{slower} of {len(results)}")
        line(
            f"{name} latency / limit",
            _spread([getattr(r, peer) / r.limit for r in results if getattr(r, peer) and r.limit]),
        )
    line("missed drifts (engine)", str(sum(r.latency is None for r in results)))
    by = Counter(d for r in results for d in r.false_by)
    line(
        "false alarms on non-drifting inputs of drifting lines",
        f"{sum(r.false for r in results)} ({', '.join(f'{k} {v}' for k, v in by.items()) or '-'}); "
        f"daily KS {sum(r.peer_false[0] for r in results)}, "
        f"24-h z {sum(r.peer_false[1] for r in results)} flags",
    )
    # Two sets of stable lines: 5000… (the set the detectors were examined on) and 6000… (a set
    # not looked at while changing them, so that silence is not tuned to the first).
    for first in (5000, 6000):
        _stable(stable, inputs, first)
    return results


def _stable(line_years: int, inputs: int, first: int = 5000) -> None:
    """Stable lines of the family, a year each at 500–2,000 parts a day (the drift detectors'
    constants are in hours, so line speed does not change how often they cry wolf)."""
    alarms: list[str] = []
    for s in range(line_years):
        design = draw_line(first + s, drift=False, max_inputs=min(inputs, 16))
        rate = float(np.exp(np.random.default_rng(s).uniform(np.log(500), np.log(2000))))
        design = replace(design, parts_per_day=rate)
        data = LineData(design)
        engine, _ = engine_for(data, STUDY_BUDGET)
        begin = int(design.reference_days)
        for day in range(begin, begin + 365, 5):
            for event in engine.process(data.days(day, 5)):
                if event.event == "alarm_raised" and event.detector not in QUIET:
                    alarms.append(f"{event.detector}:{event.source}@{s}")
    by = Counter(a.split(":")[0] for a in alarms)
    lines_with = len({a.split("@")[1] for a in alarms})
    detail = ", ".join(f"{k} {v}" for k, v in by.most_common()) or "-"
    detail += f"; on {lines_with} of {line_years} lines"
    line(
        f"stable: alarms in {line_years} line-years (seeds {first}–{first + line_years - 1})",
        f"{len(alarms)} = {len(alarms) / line_years:.3f} per line-year ({detail})",
    )


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}d"
