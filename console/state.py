"""The engine's typed read model: frozen values the engine publishes (`Engine.state`) for the
snapshot, and later replay and the incident record, to build from. Every array is a fresh copy
or one the engine never writes again; nothing here reaches back into the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from console.alarms import AlarmView
from console.detectors.base import ColumnReading
from console.detectors.categories import CategoryShares
from console.reference import ReferenceProfile
from console.reference_health import ReferenceWarning

SystemEvent = tuple[float, str, str, str]  # (time, kind, source, text)


@dataclass(frozen=True)
class Part:
    """One inspected part as the recent-parts list shows it."""

    part: str
    cls: str
    conf: float
    ts: str
    image: str | None
    model: str | None
    overridden_to: str | None = None


@dataclass(frozen=True)
class BucketSeries:
    """The last 48 h of 15-minute buckets, oldest first; 2-D arrays are buckets × columns."""

    ts: np.ndarray  # bucket start, epoch seconds
    mean: np.ndarray
    p5: np.ndarray
    p50: np.ndarray
    p95: np.ndarray
    z: np.ndarray  # mean-shift z at each bucket close
    z_limit: float
    expected: np.ndarray  # the reference's mean at that hour


@dataclass(frozen=True)
class WatchState:
    """The inputs against the reference: window statistics and every detector's readings."""

    profile: ReferenceProfile
    classes: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray
    quantiles: np.ndarray  # columns × (p5, p50, p95)
    low: np.ndarray
    high: np.ndarray
    missing: np.ndarray  # counts in the window
    out_of_range: np.ndarray
    edges: np.ndarray  # columns × display bin edges
    live: np.ndarray  # columns × display bins: proportions of the window
    reference: np.ndarray  # columns × display bins: proportions of the reference
    class_counts: np.ndarray
    readings: dict[str, ColumnReading]  # in the order the live view lists them
    reject_rate: float  # rejected lines / lines, recent
    series: BucketSeries | None
    reference_warnings: tuple[ReferenceWarning, ...] = ()  # console/reference_health.py
    categories: dict[str, CategoryShares] = field(default_factory=dict)  # categorical inputs


@dataclass(frozen=True)
class EngineState:
    """Everything the engine knows that a screen shows, as of `at` (wall clock)."""

    at: float
    station: str
    model: str
    learning: bool
    reference_progress: float  # 0..1 while learning
    records: int
    lines: int
    rejected: dict[str, int]
    parts_per_minute: float
    last_arrival: float | None  # wall clock of the last delivery
    stale_seconds: float
    overrides_last_hour: int
    override_rate_by_class: dict[str, float]
    last_record_ts: str
    recent: tuple[Part, ...]  # newest first
    alarms: tuple[AlarmView, ...]
    events: tuple[SystemEvent, ...]
    watch: WatchState | None  # None while the reference is being learned
