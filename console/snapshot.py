"""Immutable snapshots of the engine's state, for the screens.

The engine thread builds a `Snapshot` at most ten times a second (`take`); the UI thread only
ever reads the latest one, so no widget touches an array the engine is still writing. Every
array in a snapshot is a fresh copy. Display histograms are on equal-width bins spanning the
reference's p1–p99 with a margin, so an operator sees a familiar shape, live over reference.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from console.alarms import AlarmView
from console.intake import SourceStatus
from console.reference import FINE_BINS, ReferenceProfile
from console.stats import BUCKET_COUNT, BUCKET_SECONDS

DISPLAY_BINS = 30
HEALTH = ("ok", "watch", "drift", "fallback")


@dataclass(frozen=True)
class Part:
    part: str
    cls: str
    conf: float
    ts: str
    image: str | None
    model: str | None
    overridden_to: str | None = None


@dataclass(frozen=True)
class ColumnView:
    """One input (or `conf`) as the live view shows it."""

    name: str
    mean: float
    sd: float
    p5: float
    p50: float
    p95: float
    low: float
    high: float
    missing: int
    out_of_range: int
    ref_mean: float
    ref_sd: float
    edges: np.ndarray  # DISPLAY_BINS + 1 equal-width edges
    live: np.ndarray  # proportions of the window in each display bin
    reference: np.ndarray  # proportions of the reference in each display bin
    scores: dict[str, float]  # detector → score (value / threshold); ≥ 1 is over threshold
    values: dict[str, float]  # detector → value (z, KS, PSI, Wasserstein in sd, ...)
    thresholds: dict[str, float]
    worst: str  # detector with the highest score


@dataclass(frozen=True)
class Series:
    """One column over time (15-minute buckets, oldest first) for the detail chart."""

    ts: np.ndarray  # bucket start, epoch seconds
    mean: np.ndarray
    p5: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    z: np.ndarray  # mean-shift z at each bucket close
    z_limit: float
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))  # reference at that hour


@dataclass(frozen=True)
class Snapshot:
    """Everything the screens show, as of `taken` (wall clock)."""

    taken: float
    station: str
    model: str
    learning: bool
    reference_progress: float  # 0..1 while learning
    reference_description: str
    records: int
    lines: int
    rejected: dict[str, int]
    parts_per_minute: float
    reject_rate: float  # rejected lines / lines, recent
    overrides_last_hour: int
    override_rate_by_class: dict[str, float]
    health: str  # ok | watch | drift | fallback
    line_state: str  # running | stopped | no data
    last_record_ts: str
    columns: tuple[ColumnView, ...] = ()
    classes: tuple[str, ...] = ()
    class_live: np.ndarray = field(default_factory=lambda: np.zeros(0))
    class_reference: np.ndarray = field(default_factory=lambda: np.zeros(0))
    recent: tuple[Part, ...] = ()
    alarms: tuple[AlarmView, ...] = ()
    events: tuple[tuple[float, str, str, str], ...] = ()  # (time, kind, source, text)
    sources: tuple[SourceStatus, ...] = ()
    store: str = "not used"
    fallback: bool = False
    series: dict[str, Series] = field(default_factory=dict)

    def active_by_priority(self) -> dict[str, int]:
        counts = Counter(a.priority for a in self.alarms if a.active)
        return {p: counts.get(p, 0) for p in ("urgent", "high", "medium", "low")}

    @property
    def unacknowledged(self) -> int:
        return sum(
            1 for a in self.alarms if a.state in ("unacknowledged", "returned_unacknowledged")
        )

    def column(self, name: str) -> ColumnView:
        return next(c for c in self.columns if c.name == name)


class DisplayBins:
    """Maps the reference's fine bins onto equal-width display bins (built once per profile)."""

    def __init__(self, profile: ReferenceProfile) -> None:
        width = len(profile.columns)
        self.edges = np.zeros((width, DISPLAY_BINS + 1))
        self.map = np.zeros((width, FINE_BINS, DISPLAY_BINS))
        self.reference = np.zeros((width, DISPLAY_BINS))
        for j in range(width):
            p1, p99 = profile.quantiles[j, 0], profile.quantiles[j, 4]
            if not np.isfinite(p1) or not np.isfinite(p99):
                p1, p99 = 0.0, 1.0
            margin = max(p99 - p1, 1e-9) * 0.35
            edges = np.linspace(p1 - margin, p99 + margin, DISPLAY_BINS + 1)
            self.edges[j] = edges
            k = int(profile.edge_count[j])
            bounds = (
                np.concatenate([[profile.low[j]], profile.edges[j, :k], [profile.high[j]]])
                if k
                else np.array([p1, p99])
            )
            centers = 0.5 * (bounds[:-1] + bounds[1:])
            target = np.clip(np.searchsorted(edges, centers, side="right") - 1, 0, DISPLAY_BINS - 1)
            self.map[j, np.arange(centers.size), target] = 1.0
            self.reference[j] = profile.fine_props[j] @ self.map[j]

    def live(self, proportions: np.ndarray) -> np.ndarray:
        return np.einsum("jb,jbd->jd", proportions, self.map)


def take(
    engine, sources: tuple[SourceStatus, ...] = (), store: str = "not used", fallback: bool = False
) -> Snapshot:  # noqa: ANN001
    """Build a snapshot of `engine` (call on the engine thread)."""
    now = time.time()
    cfg = engine.config
    base = dict(
        taken=now,
        station=cfg.station.id,
        model=engine.model_name or cfg.station.model,
        learning=engine.learning,
        reference_progress=1.0
        if not engine.learning
        else engine._learned / max(engine.reference_size, 1),  # noqa: SLF001
        reference_description=engine.profile.description if engine.profile else "",
        records=engine.accepted,
        lines=engine.lines,
        rejected=dict(engine.rejected),
        parts_per_minute=engine.rate.per_minute(time.monotonic()),
        reject_rate=engine.line_quality.fraction if engine.profile else 0.0,
        overrides_last_hour=engine.overrides_since(now - 3600.0),
        override_rate_by_class=engine.override_rates(),
        health=_health(engine, fallback),
        line_state=_line_state(engine, time.monotonic()),
        last_record_ts=engine.last_ts_text,
        recent=tuple(
            reversed(
                [Part(*p, overridden_to=engine.overridden.get(p[0])) for p in engine.recent_parts]
            )
        ),
        alarms=engine.alarms.views(),
        events=tuple(engine.system_events),
        sources=sources,
        store=store,
        fallback=fallback,
    )
    if engine.profile is None:
        return Snapshot(**base)
    engine.record_bands()
    profile = engine.profile
    window = engine.window
    display = engine.display
    quantiles = window.quantiles()
    low, high = window.extremes()
    live = display.live(window.proportions())
    cal = engine.calibration
    readings = engine.shape_readings
    z = engine.mean_shift.z
    jump = engine.cusum.score
    stuck = window.run / engine.quality.stuck_limit
    mean, sd = window.mean, window.sd
    columns = []
    for j, name in enumerate(profile.columns):
        scores = {
            "mean_shift": abs(float(z[j])) / cal.z_mean,
            "jump": float(jump[j]),
            "ks": float(readings["ks"][j] / cal.ks[j]),
            "psi": float(readings["psi"][j] / cal.psi[j]),
            "stuck": float(stuck[j]) if np.isfinite(stuck[j]) else 0.0,
            "missing": float(engine.quality.missing[j] / engine.quality.missing_limit[j]),
        }
        values = {
            "mean_shift": float(z[j]),
            "ks": float(readings["ks"][j]),
            "psi": float(readings["psi"][j]),
            "wasserstein_sd": float(readings["wasserstein"][j] / profile.sd[j])
            if profile.sd[j] > 0
            else 0.0,
        }
        thresholds = {"mean_shift": cal.z_mean, "ks": float(cal.ks[j]), "psi": float(cal.psi[j])}
        columns.append(
            ColumnView(
                name=name,
                mean=float(mean[j]),
                sd=float(sd[j]),
                p5=float(quantiles[j, 0]),
                p50=float(quantiles[j, 1]),
                p95=float(quantiles[j, 2]),
                low=float(low[j]),
                high=float(high[j]),
                missing=int(window.missing[j]),
                out_of_range=int(window.out_of_range[j]),
                ref_mean=float(profile.mean[j]),
                ref_sd=float(profile.sd[j]),
                edges=display.edges[j].copy(),
                live=live[j].copy(),
                reference=display.reference[j].copy(),
                scores=scores,
                values=values,
                thresholds=thresholds,
                worst=max(scores, key=scores.get),
            )
        )
    classes = tuple(engine.parser.classes.names) if engine.parser else ()
    counts = window.class_counts[: len(classes)].astype(float)
    class_live = counts / max(counts.sum(), 1.0)
    class_ref = np.zeros(len(classes))
    class_ref[: profile.class_props.size] = profile.class_props[: len(classes)]
    return Snapshot(
        **base,
        columns=tuple(columns),
        classes=classes,
        class_live=class_live,
        class_reference=class_ref,
        series=_series(engine),
    )


def _series(engine) -> dict[str, Series]:  # noqa: ANN001
    buckets = engine.buckets
    if buckets.current is None:
        return {}
    slots = buckets.slots(48.0)
    numbers = buckets.current - slots.size + 1 + np.arange(slots.size)
    ts = numbers * BUCKET_SECONDS
    n = buckets.n[slots]
    with np.errstate(all="ignore"):
        means = buckets.center + buckets.sum[slots] / n
    out = {}
    band = engine.band_history[slots]
    z = engine.z_history[slots]
    hours = ((ts % 86400.0) // 3600.0).astype(np.intp) % 24
    for j, name in enumerate(engine.profile.columns):
        out[name] = Series(
            ts=ts.astype(float),
            mean=np.where(n[:, j] > 0, means[:, j], np.nan),
            p5=band[:, j, 0].copy(),
            p50=band[:, j, 1].copy(),
            p95=band[:, j, 2].copy(),
            z=z[:, j].copy(),
            z_limit=engine.calibration.z_mean,
            expected=engine.profile.phase_mean[hours, j].copy(),
        )
    return out


def _health(engine, fallback: bool) -> str:  # noqa: ANN001
    if fallback:
        return "fallback"
    active = [a for a in engine.alarms.views() if a.active]
    if any(
        a.detector in ("mean_shift", "jump", "ks", "psi", "class_mix")
        and a.source != "conf"
        or a.detector == "class_mix"
        for a in active
    ):
        return "drift"
    if active:
        return "watch"
    if engine.profile is not None:
        z = np.abs(engine.mean_shift.z) / engine.calibration.z_mean
        if z.size and z.max() >= 0.6:
            return "watch"
    return "ok"


def _line_state(engine, now: float) -> str:  # noqa: ANN001
    last = engine.rate.last_arrival
    if last is None:
        return "no data"
    return "running" if now - last < max(engine.config.detection.stale_seconds, 5.0) else "stopped"


assert BUCKET_COUNT > 0
