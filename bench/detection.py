"""The detection study table for `main.py bench --only detection`, beside the usual daily reports.

The engine's figures come from `console.detection_study.run` (the simulator's JSON Lines through
the engine, as `analyze` would). For comparison, the same scenarios and seeds are judged the way
many plants do it today: once a day, a two-sample KS test per input of the day's parts against
the reference (alpha 0.05), and a PSI report on the reference's deciles flagged at 0.1. Those
baselines read the simulator's arrays directly (no parsing). Main thread only.
"""

from __future__ import annotations

import statistics

import numpy as np

from bench.detection_study import run
from bench.suite import heading, line
from drivers.simulator import LineSimulator, Scenario

DRIFTING = ("brightness", "focus")
PER_DAY = 5000.0


def _summary(values: list[float | None], unit: str, digits: int = 2) -> str:
    found = sorted(v for v in values if v is not None)
    missed = len(values) - len(found)
    if not found:
        return f"none found in {len(values)} runs"
    p90 = found[min(len(found) - 1, int(np.ceil(0.9 * len(found))) - 1)]
    text = f"median {statistics.median(found):.{digits}f} / p90 {p90:.{digits}f} / max {max(found):.{digits}f} {unit}"
    return text + (
        f" ({missed} of {len(values)} runs: not found)" if missed else f" ({len(values)} runs)"
    )


def _false(result, faulty: tuple[str, ...] = ()) -> int:
    """Alarms raised on inputs that have nothing wrong with them."""
    quiet = ("rejected",)
    return sum(
        1
        for e in result.raised
        if e.source not in faulty and e.detector not in quiet and e.source not in ("class", "conf")
    )


def bench_detection(quick: bool) -> None:
    from bench.category_family import bench_categories
    from bench.family import bench_family

    bench_family(quick)
    bench_categories(quick)
    seeds = list(range(1, 4 if quick else 11))
    stable_seeds = [41] if quick else [41, 42, 43, 44]
    stable_days = 20 if quick else 60
    heading(
        "detection", "detection study: delay after onset and false alarms (console.detection_study)"
    )

    drift7 = [run("drift", days=4, seed=s, onset_day=0.5, reference_days=7) for s in seeds]
    drift10k = [run("drift", days=6.5, seed=s) for s in seeds]
    for label, results in (
        ("drift, 7-day validation reference, onset 0.5", drift7),
        ("drift, first 10,000 parts as reference, onset 3", drift10k),
    ):
        delays = [r.delay_days(sources=DRIFTING) for r in results]
        by_mean = [r.delay_days(detectors=("mean_shift",), sources=DRIFTING) for r in results]
        line(f"{label}: any detector", _summary(delays, "days"))
        line(f"{label}: mean_shift", _summary(by_mean, "days"))
        line(
            f"{label}: false alarms (other inputs)", str(sum(_false(r, DRIFTING) for r in results))
        )
        line(
            f"{label}: class/conf alarms (model)",
            str(sum(1 for r in results for e in r.raised if e.source in ("class", "conf"))),
        )

    for reference_days in (0.0, 7.0):
        results = [
            run("stable", days=stable_days, seed=s, reference_days=reference_days)
            for s in stable_seeds
        ]
        alarms = [e for r in results for e in r.raised]
        kind = "7-day validation" if reference_days else "first 10,000 parts"
        detail = ", ".join(sorted({f"{e.detector}:{e.source}" for e in alarms})) or "-"
        line(
            f"stable {stable_days} days x {len(results)} seeds ({kind}): alarms",
            f"{len(alarms)}  ({detail})",
        )

    jumps = [run("jump", days=4, seed=s) for s in seeds]
    line(
        "jump -2 sd on focus: delay",
        _summary(
            [r.delay_parts(detectors=("jump",), sources=("focus",)) for r in jumps], "parts", 0
        ),
    )
    line("jump: false alarms (other inputs)", str(sum(_false(r, ("focus",)) for r in jumps)))
    frozen = [run("frozen", days=4, seed=s) for s in seeds]
    minutes = [
        None
        if (d := r.delay_parts(detectors=("stuck",), sources=("temperature",))) is None
        else d / PER_DAY * 1440
        for r in frozen
    ]
    line("frozen temperature: delay", _summary(minutes, "minutes of production", 0))
    line(
        "frozen: false alarms (other inputs)", str(sum(_false(r, ("temperature",)) for r in frozen))
    )
    _noisy(seeds[:3] if quick else seeds[:5])
    _baselines(seeds, stable_seeds, stable_days, quick)


def _noisy(seeds: list[int]) -> None:
    """Malformed lines (1 %): counted by the engine exactly as the simulator inserted them."""
    from console.config import default_config
    from console.engine import Engine

    noisy = [run("drift+noisy", days=6.5, seed=s) for s in seeds]
    clean = [run("drift", days=6.5, seed=s) for s in seeds]
    line("drift+noisy: delay", _summary([r.delay_days(sources=DRIFTING) for r in noisy], "days"))
    same = all(
        [(e.alarm, e.seq) for e in n.raised if e.detector != "rejected"]
        == [(e.alarm, e.seq) for e in c.raised]
        for n, c in zip(noisy, clean, strict=True)
    )
    line("drift+noisy: feature alarms identical to clean", "yes" if same else "NO")
    line(
        "drift+noisy: 'rejected' alarm raised",
        f"{sum(n.first(detectors=('rejected',)) is not None for n in noisy)} of {len(noisy)} runs",
    )
    inserted = counted = 0
    for s in seeds:
        simulator = LineSimulator(Scenario.named("drift+noisy"), seed=s, parts_per_day=PER_DAY)
        engine = Engine(default_config(), reference_features=simulator.feature_names)
        for chunk in simulator.chunks(int(6.5 * PER_DAY), 5000):
            engine.feed_lines(chunk)
        inserted += sum(simulator._malformed.inserted.values())
        counted += sum(engine.rejected.values())
    line("drift+noisy: malformed lines inserted / rejected", f"{inserted:,} / {counted:,}")


def _days_of(
    scenario: Scenario, seed: int, days: float, start: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    kw = {} if start is None else {"start": start}
    simulator = LineSimulator(scenario, seed=seed, parts_per_day=PER_DAY, **kw)
    chunks = [simulator.generate(5000) for _ in range(int(days * PER_DAY) // 5000)]
    ts = np.concatenate([c[0] for c in chunks])
    matrix = np.vstack([c[1] for c in chunks])
    day = ((ts - simulator.start) // 86400.0).astype(int)
    return matrix, day


def _daily_flags(
    reference: np.ndarray, matrix: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per full day and input: KS p < 0.05, PSI on reference deciles > 0.1."""
    from scipy.stats import ks_2samp

    days = np.unique(day)
    width = matrix.shape[1]
    ks_flag = np.zeros((days.size, width), bool)
    psi_flag = np.zeros((days.size, width), bool)
    for j in range(width):
        deciles = np.quantile(reference[:, j], np.arange(1, 10) / 10)
        ref_p = np.maximum(
            np.bincount(np.searchsorted(deciles, reference[:, j], side="right"), minlength=10)
            / reference.shape[0],
            1e-4,
        )
        for i, d in enumerate(days):
            values = matrix[day == d, j]
            if values.size < 0.9 * PER_DAY:
                continue  # a partial day is not reported
            ks_flag[i, j] = ks_2samp(values, reference[:, j]).pvalue < 0.05
            p = np.maximum(
                np.bincount(np.searchsorted(deciles, values, side="right"), minlength=10)
                / values.size,
                1e-4,
            )
            psi_flag[i, j] = float(np.sum((p - ref_p) * np.log(p / ref_p))) > 0.1
    return ks_flag, psi_flag


def _baselines(seeds: list[int], stable_seeds: list[int], stable_days: int, quick: bool) -> None:
    from drivers.simulator import FEATURES

    names = tuple(f.name for f in FEATURES)
    drifting = [names.index(n) for n in DRIFTING]
    others = [j for j in range(len(names)) if j not in drifting]
    horizon = 25 if quick else 40  # days of drift streamed, so that slow reports can flag at all
    for label, reference_days, onset in (
        ("7-day validation reference, onset 0.5", 7.0, 0.5),
        ("first 10,000 parts as reference, onset 3", 0.0, 3.0),
    ):
        ks_delay: list[float | None] = []
        psi_delay: list[float | None] = []
        ks_false = psi_false = 0
        for s in seeds:
            scenario = Scenario.named("drift", onset)
            if reference_days:
                validation = LineSimulator("stable", seed=s + 100_000, parts_per_day=PER_DAY)
                reference = np.vstack(
                    [validation.generate(5000)[1] for _ in range(int(reference_days))]
                )
                matrix, day = _days_of(
                    scenario, s, onset + horizon, start=validation.start + reference_days * 86400.0
                )
            else:
                matrix, day = _days_of(scenario, s, onset + horizon)
                reference, matrix, day = matrix[:10_000], matrix[10_000:], day[10_000:]
            ks_flag, psi_flag = _daily_flags(reference, matrix, day)
            first_day = int(day.min())
            for flags, delays in ((ks_flag, ks_delay), (psi_flag, psi_delay)):
                hit = np.flatnonzero(flags[:, drifting].any(axis=1))
                # A daily report flags at the end of the day it covers.
                delays.append(None if not hit.size else first_day + int(hit[0]) + 1 - onset)
            ks_false += int(ks_flag[:, others].sum())
            psi_false += int(psi_flag[:, others].sum())
        tests = len(seeds) * len(others) * (ks_flag.shape[0])
        line(f"daily KS a=0.05, {label}", _summary(ks_delay, "days"))
        line(f"daily PSI>0.1, {label}", _summary(psi_delay, "days"))
        line(
            f"  flags on non-drifting inputs (KS / PSI of ~{tests} tests)",
            f"{ks_false} / {psi_false}",
        )
    for reference_days in (0.0, 7.0):
        ks_flags = psi_flags = tests = 0
        for s in stable_seeds:
            if reference_days:
                validation = LineSimulator("stable", seed=s + 100_000, parts_per_day=PER_DAY)
                reference = np.vstack([validation.generate(5000)[1] for _ in range(7)])
                matrix, day = _days_of(
                    Scenario.named("stable"), s, stable_days, start=validation.start + 7 * 86400.0
                )
            else:
                matrix, day = _days_of(Scenario.named("stable"), s, stable_days)
                reference, matrix, day = matrix[:10_000], matrix[10_000:], day[10_000:]
            ks_flag, psi_flag = _daily_flags(reference, matrix, day)
            ks_flags += int(ks_flag.sum())
            psi_flags += int(psi_flag.sum())
            tests += ks_flag.size
        kind = "7-day validation" if reference_days else "first 10,000 parts"
        line(
            f"stable {stable_days} days x {len(stable_seeds)} ({kind}): KS / PSI flags",
            f"{ks_flags} / {psi_flags} of {tests} daily tests",
        )
