"""Immutable snapshots of the engine's state, for the screens.

The engine thread builds a `Snapshot` at most ten times a second (`take`, from the engine's
typed read model, console/state.py); the UI thread only ever reads the latest one, so no widget
touches an array the engine is still writing. Every array in a snapshot is a fresh copy. Display histograms are on equal-width bins spanning the
reference's p1–p99 with a margin, so an operator sees a familiar shape, live over reference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from console.alarms import AlarmView
from console.detectors import SPECS
from console.detectors.categories import CategoryShares
from console.detectors.mean_shift import MEAN_SHIFT
from console.intake import SourceStatus
from console.reference import CONF, FINE_BINS, ReferenceProfile
from console.state import EngineState, Part, WatchState
from data.sync_status import NOT_CONFIGURED, SyncStatus

DISPLAY_BINS = 30
HEALTH = ("ok", "watch", "drift", "fallback")


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
    sync: SyncStatus = NOT_CONFIGURED
    series: dict[str, Series] = field(default_factory=dict)
    fallback_advice: str = ""  # a fallback rule recommends it: why (console/fallback.py)
    categories: dict[str, CategoryShares] = field(default_factory=dict)  # categorical inputs

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


class Publishes(Protocol):
    """An engine: it publishes its typed state."""

    def state(self) -> EngineState: ...


def take(
    published: EngineState | Publishes,
    sources: tuple[SourceStatus, ...] = (),
    store: str = "not used",
    fallback: bool = False,
    sync: SyncStatus = NOT_CONFIGURED,
    fallback_advice: str = "",
) -> Snapshot:
    """Build a snapshot from the engine's published state (`Engine.state`; given an engine,
    asks it for its state: call on the engine thread)."""
    state = published if isinstance(published, EngineState) else published.state()
    watch = state.watch
    base = Snapshot(
        taken=state.at,
        station=state.station,
        model=state.model,
        learning=state.learning,
        reference_progress=state.reference_progress,
        reference_description=watch.profile.description if watch else "",
        records=state.records,
        lines=state.lines,
        rejected=state.rejected,
        parts_per_minute=state.parts_per_minute,
        reject_rate=watch.reject_rate if watch else 0.0,
        overrides_last_hour=state.overrides_last_hour,
        override_rate_by_class=state.override_rate_by_class,
        health=_health(state, fallback),
        line_state=_line_state(state),
        last_record_ts=state.last_record_ts,
        recent=state.recent,
        alarms=state.alarms,
        events=state.events,
        sources=sources,
        store=store,
        fallback=fallback,
        sync=sync,
        fallback_advice=fallback_advice,
    )
    if watch is None:
        return base
    counts = watch.class_counts.astype(float)
    class_ref = np.zeros(len(watch.classes))
    class_ref[: watch.profile.class_props.size] = watch.profile.class_props[: len(watch.classes)]
    return replace(
        base,
        columns=tuple(_column(watch, j) for j in range(len(watch.profile.columns))),
        classes=watch.classes,
        class_live=counts / max(counts.sum(), 1.0),
        class_reference=class_ref,
        series=_series(watch),
        categories=watch.categories,
    )


def _column(watch: WatchState, j: int) -> ColumnView:
    readings = watch.readings
    scores = {n: float(r.score[j]) for n, r in readings.items() if r.score is not None}
    values = {n: float(r.value[j]) for n, r in readings.items() if r.value is not None}
    limits = {n: float(r.threshold[j]) for n, r in readings.items() if r.threshold is not None}
    profile = watch.profile
    return ColumnView(
        name=profile.columns[j],
        mean=float(watch.mean[j]),
        sd=float(watch.sd[j]),
        p5=float(watch.quantiles[j, 0]),
        p50=float(watch.quantiles[j, 1]),
        p95=float(watch.quantiles[j, 2]),
        low=float(watch.low[j]),
        high=float(watch.high[j]),
        missing=int(watch.missing[j]),
        out_of_range=int(watch.out_of_range[j]),
        ref_mean=float(profile.mean[j]),
        ref_sd=float(profile.sd[j]),
        edges=watch.edges[j].copy(),
        live=watch.live[j].copy(),
        reference=watch.reference[j].copy(),
        scores=scores,
        values=values,
        thresholds=limits,
        worst=max(scores, key=lambda name: scores[name]),
    )


def _series(watch: WatchState) -> dict[str, Series]:
    series = watch.series
    if series is None:
        return {}
    return {
        name: Series(
            ts=series.ts,
            mean=series.mean[:, j].copy(),
            p5=series.p5[:, j].copy(),
            p50=series.p50[:, j].copy(),
            p95=series.p95[:, j].copy(),
            z=series.z[:, j].copy(),
            z_limit=series.z_limit,
            expected=series.expected[:, j].copy(),
        )
        for j, name in enumerate(watch.profile.columns)
    }


def _health(state: EngineState, fallback: bool) -> str:
    if fallback:
        return "fallback"
    active = [a for a in state.alarms if a.active]
    if any(_is_drift(a.detector) and a.source != CONF for a in active):
        return "drift"
    if active:
        return "watch"
    if state.watch is not None:
        shift = state.watch.readings.get(MEAN_SHIFT.name)
        score = shift.score if shift is not None else None
        if score is not None and score.size and score.max() >= 0.6:
            return "watch"
    return "ok"


def _is_drift(detector: str) -> bool:
    spec = SPECS.get(detector)
    return spec is not None and spec.drift


def _line_state(state: EngineState) -> str:
    last = state.last_arrival
    if last is None:
        return "no data"
    return "running" if state.at - last < max(state.stale_seconds, 5.0) else "stopped"
