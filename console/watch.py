"""The watch: the reference, its calibration, the rolling window, the time buckets and the
registered detectors, created whole once a reference exists.

`Watch.step` takes one micro-batch: the window and buckets take it in, every detector observes
it, and each detector due at its cadence (`console/detectors/base.py`) assesses, in registry
order, putting its scores to the alarm book through `InputAlarms`. `state` publishes the typed
read model (`console/state.py`). Engine thread.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from console.annunciator import Annunciator, InputAlarms
from console.categorical_watch import as_constant, categorical_columns, without_stuck
from console.config import Config
from console.detectors import LIVE_VIEW, REGISTRY
from console.detectors.base import Basis, Cadence, ColumnReading, Detector, Due, Step
from console.detectors.categories import category_shares
from console.detectors.mean_shift import MeanShiftDetector
from console.detectors.quality import LineQuality
from console.drift import calibrate, standardised
from console.history import BandHistory, bucket_series
from console.kernels import batch_rows
from console.records import RecordBatch
from console.reference import build_profile
from console.reference_health import check_reference
from console.snapshot import DisplayBins
from console.state import WatchState
from console.stats import RollingWindow, TimeBuckets


class Watch:
    """Statistics and detectors against one reference (engine thread)."""

    def __init__(
        self,
        config: Config,
        reference: RecordBatch,
        features: tuple[str, ...],
        classes: tuple[str, ...],
        description: str,
        annunciator: Annunciator,
    ) -> None:
        self.categorical = categorical_columns(config, features)
        coded = reference
        reference = replace(reference, features=as_constant(reference.features, self.categorical))
        profile = build_profile(reference, features, list(classes), description)
        matrix = np.column_stack([reference.features, reference.conf])
        window = config.window
        self.health = check_reference(
            profile.columns, standardised(profile, matrix, reference.ts), window.parts
        )
        calibration = replace(
            calibrate(profile, matrix, reference.ts, window.parts, config.detection),
            effective=self.health.effective,
        )
        calibration = without_stuck(calibration, self.categorical)
        self.profile = profile
        self.calibration = calibration
        self.classes = classes
        self.window = RollingWindow(profile, window.parts)
        self.buckets = TimeBuckets(profile)
        self.lines = LineQuality(config.detection.rejected_fraction)
        self.display = DisplayBins(profile)
        self.bands = BandHistory(len(profile.columns))
        self.units = profile.phase_sd / np.where(profile.sd > 0, profile.sd, 1.0)
        basis = Basis(
            config, profile, calibration, self.window, self.buckets, self.lines, reference=coded
        )
        self.detectors = [make(basis) for make in REGISTRY]
        self.mean_shift = _the_mean_shift(self.detectors)
        self.alarms = InputAlarms(annunciator, profile.columns)
        self.last_ts_text = ""
        # Window-wide views (KS, PSI, class mix) are refreshed every W/40 parts, as is the
        # mean-shift scan (when a time bucket closed); the per-part detectors and the hourly
        # ramp and missing-rate tests look every batch.
        self.every = {
            Cadence.WINDOW: max(window.batch, window.parts // 40),
            Cadence.DRIFT_SCAN: max(window.batch, window.parts // 40),
        }
        self.since = {Cadence.WINDOW: 0, Cadence.DRIFT_SCAN: 0}
        self.closed = 0
        # Prime the window with the reference so that its statistics start at "as validated".
        tail = slice(max(len(reference) - window.parts, 0), len(reference))
        self.window.add(matrix[tail], reference.class_codes[tail], reference.ts[tail])
        self.window.total = 0
        self.window.run[:] = 0

    def note_lines(self, accepted: int, rejected: int) -> None:
        """Lines read, accepted and rejected, before their records are watched."""
        self.lines.update(accepted, rejected)

    def step(self, batch: RecordBatch, first: int) -> None:
        """One micro-batch whose first part has seq `first`; alarm transitions are held by the
        annunciator until the engine flushes them."""
        features = as_constant(batch.features, self.categorical)
        parts, width = features.shape
        # The inputs and the confidence (one C array each), their residuals: one call.
        matrix, resid, scaled = np.empty((3, parts, width + 1))
        profile = self.profile
        batch_rows(
            features, batch.conf, batch.ts, profile.phase_mean, profile.phase_sd, self.units,
            matrix, resid, scaled,
        )  # fmt: skip
        self.window.add(matrix, batch.class_codes, batch.ts)
        closed = self.buckets.add(matrix, batch.ts, resid)
        step = Step(batch, first, scaled, resid)
        for detector in self.detectors:
            detector.observe(step)
        self.last_ts_text = step.ts
        due = self._due(step.parts, closed)
        for detector in self.detectors:
            when = due.get(detector.cadence)
            if when is not None:
                detector.assess(step, when, self.alarms)

    def _due(self, parts: int, closed: int) -> dict[Cadence, Due]:
        """Which cadences are due after this batch; their counters start again."""
        due = {Cadence.BATCH: Due(parts)}
        since = self.since
        since[Cadence.DRIFT_SCAN] += parts
        self.closed += closed
        if closed:
            self.bands.closed(self.buckets.current or 0, closed)
        # Slow drift needs no look more often than every W/40 parts.
        if self.closed and since[Cadence.DRIFT_SCAN] >= self.every[Cadence.DRIFT_SCAN]:
            due[Cadence.DRIFT_SCAN] = Due(since[Cadence.DRIFT_SCAN], self.closed)
            since[Cadence.DRIFT_SCAN] = self.closed = 0
        since[Cadence.WINDOW] += parts
        if since[Cadence.WINDOW] >= self.every[Cadence.WINDOW]:
            due[Cadence.WINDOW] = Due(since[Cadence.WINDOW])
            since[Cadence.WINDOW] = 0
        return due

    def readings(self) -> dict[str, ColumnReading]:
        """Every detector's per-input readings, in the order the live view lists them."""
        found: dict[str, ColumnReading] = {}
        for detector in self.detectors:
            found.update(detector.readings())
        first = {spec.name: found.pop(spec.name) for spec in LIVE_VIEW if spec.name in found}
        return first | found

    def state(self) -> WatchState:
        """The read model of the inputs (computes the chart's bands due since the last call)."""
        window = self.window
        self.bands.record(window)
        low, high = window.extremes()
        classes = self.classes
        return WatchState(
            profile=self.profile,
            classes=classes,
            mean=window.mean.copy(),
            sd=window.sd.copy(),
            quantiles=window.quantiles(),
            low=low,
            high=high,
            missing=window.missing.copy(),
            out_of_range=window.out_of_range.copy(),
            edges=self.display.edges.copy(),
            live=self.display.live(window.proportions()),
            reference=self.display.reference.copy(),
            class_counts=window.class_counts[: len(classes)].copy(),
            readings={name: r.copy() for name, r in self.readings().items()},
            reject_rate=self.lines.fraction,
            series=bucket_series(
                self.buckets,
                self.bands,
                self.mean_shift.z_history,
                self.calibration.z_mean,
                self.profile,
            ),
            reference_warnings=self.health.warnings,
            categories=category_shares(self.detectors),
        )


def _the_mean_shift(detectors: list[Detector]) -> MeanShiftDetector:
    """The slow-drift detector, whose z per closed bucket the detail chart shows."""
    for detector in detectors:
        if isinstance(detector, MeanShiftDetector):
            return detector
    raise ValueError("the registry has no mean-shift detector")
