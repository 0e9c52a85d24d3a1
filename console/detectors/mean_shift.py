"""Slow drift (`mean_shift`): the mean of standardised residuals against the reference's
hour-of-day profile over the last 24, 36 and 48 hours of production, as a z-score whose standard
error counts both the live window and the finite reference.

Shift and daily cycles that the reference already had are expected, so they do not move it; a
drift of a few hundredths of an sd per day does, within days. Assessed when a time bucket closed,
at most every W/40 parts (an hour of production at 5,000 parts a day). Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import BLOCK_SECONDS, Calibration
from console.kernels import window_sums
from console.records import iso
from console.reference import ReferenceProfile
from console.scan_kernels import mean_shift_z
from console.stats import BUCKET_COUNT, BUCKET_SECONDS, TimeBuckets

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

BUCKETS_A_DAY = int(round(86400.0 / BUCKET_SECONDS))

MEAN_SHIFT = DetectorSpec(
    "mean_shift", "mean z", "z", "medium", "model_owner", drift=True, signed=True
)


class MeanShift:
    """Windowed z-test of residual means (slow drift), evaluated when a time bucket closes."""

    def __init__(self, profile: ReferenceProfile, calibration: Calibration) -> None:
        self.calibration = calibration
        # The hourly profile's own sampling error, per hour: 1 / (reference values that hour).
        self.ref_var = 1.0 / calibration.reference_counts(profile.phase_count)
        self.inflation = calibration.mean_inflation
        self.z = np.zeros(len(profile.columns))
        self.window_hours = np.zeros(len(profile.columns))
        # The windows, shortest first for the running sums, and the way back to their order.
        self.hours = np.asarray(calibration.windows_hours)
        lengths = np.rint(self.hours * 3600.0 / BUCKET_SECONDS).astype(np.intp)
        lengths = np.minimum(lengths, BUCKET_COUNT)
        self.order = np.argsort(lengths)
        self.lengths = lengths[self.order]
        self.back = np.argsort(self.order)
        self.enough = 0.25 * (self.hours / 24.0 * calibration.parts_per_day)[:, None]
        self.factor = BLOCK_SECONDS / 3600.0 / self.hours  # live blocks per window hour
        # The ring slots and hours of day of the buckets the longest window reads, newest
        # first, as slices of fixed arrays at an offset set by the newest bucket's number.
        longest = float(self.hours.max())
        self.buckets_read = min(int(round(longest * 3600 / BUCKET_SECONDS)), BUCKET_COUNT)
        down = np.arange(BUCKET_COUNT - 1, -1, -1)
        self.slots_down = np.concatenate([down, down])
        back = -np.arange(self.buckets_read + BUCKETS_A_DAY)  # numbers 0, -1, -2, ...
        self.phase_down = ((back * BUCKET_SECONDS) % 86400.0 // 3600.0).astype(np.intp)

    def evaluate(self, buckets: TimeBuckets) -> np.ndarray:
        """Signed z with the largest magnitude over the windows, per column.

        For each window, z = (sum of residuals) / sqrt(parts + Σ_h parts_h² / reference_h):
        the live parts' own noise plus, hour by hour, the finite reference's error in what that
        hour should look like. The windows end now, so all come from one set of running sums
        taken from the newest bucket back. (Ramp weights that favour a steadily growing drift
        were tried and, with the higher threshold their extra tests need, found no faster.)"""
        if buckets.current is None:
            self.z = np.zeros_like(self.z)
            self.window_hours = np.zeros_like(self.window_hours)
            return self.z
        hours = self.hours
        newest, read = buckets.current, self.buckets_read
        first = BUCKET_COUNT - 1 - newest % BUCKET_COUNT  # ring slots, newest first
        s = self.slots_down[first : first + read]
        first = -newest % BUCKETS_A_DAY  # their hours of day
        phase = self.phase_down[first : first + read]
        n = np.zeros((hours.size, buckets.n.shape[1]))
        total = np.zeros_like(n)
        ref_var = np.zeros_like(n)
        window_sums(
            s,
            phase,
            self.lengths,
            buckets.n,
            buckets.resid,
            self.ref_var,
            n,
            total,
            ref_var,
        )
        # z = total / (√(n + reference error + block effects) · inflation) where n is enough,
        # then the window of the largest |z| per input, in one compiled pass. Shift-long block
        # effects: about hours / 8 live blocks of n · 8 / hours parts each, and the reference's
        # own mean over its blocks (`console.drift.block_variance`): the live ones at the pooled
        # estimate, the reference's at its upper bound (`console/shift_effects.py`).
        calibration = self.calibration
        self.z = np.empty_like(self.z)
        self.window_hours = np.empty_like(self.window_hours)
        mean_shift_z(
            n, total, ref_var, self.back, self.enough[:, 0], calibration.block_var,
            calibration.block_live, self.factor, 1.0 / calibration.ref_blocks,
            self.inflation, hours, self.z, self.window_hours,
        )  # fmt: skip
        return self.z

    def onset(self, buckets: TimeBuckets, column: int) -> float | None:
        """Change point of the residual mean: where the cumulative sum in the drift's direction
        was lowest over the longest window (the classic CUSUM change-point estimate)."""
        if buckets.current is None:
            return None
        hours = max(self.calibration.windows_hours) * 2
        s = buckets.slots(hours)
        sign = 1.0 if self.z[column] >= 0 else -1.0
        walk = np.cumsum(sign * buckets.resid[s, column])
        start = int(np.argmin(np.concatenate([[0.0], walk])))
        number = buckets.current - s.size + 1 + start
        return number * BUCKET_SECONDS


class MeanShiftDetector:
    """The slow-drift scan as a detector; keeps the z of each closed bucket for the chart."""

    specs = (MEAN_SHIFT,)
    cadence = Cadence.DRIFT_SCAN

    def __init__(self, basis: Basis) -> None:
        self.buckets = basis.buckets
        self.z_limit = basis.calibration.z_mean
        self.scan = MeanShift(basis.profile, basis.calibration)
        self.z_history = np.full((BUCKET_COUNT, basis.width), np.nan)

    def observe(self, step: Step) -> None:
        pass  # the time buckets hold the residual sums

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        z = self.scan.evaluate(self.buckets)
        self._keep_history(z, due.closed)
        score = np.abs(z) / self.z_limit
        for j in alarms.candidates(MEAN_SHIFT, score):
            onset = self.scan.onset(self.buckets, j) if score[j] >= 1.0 else None
            hours = self.scan.window_hours[j]
            alarms.column(
                MEAN_SHIFT,
                j,
                score=score[j],
                value=float(z[j]),
                threshold=self.z_limit,
                seq=step.last_seq,
                ts=step.ts,
                parts=due.parts,
                onset=iso(onset) if onset else None,
                message=f"mean {'up' if z[j] > 0 else 'down'} over {hours:g} h (z = {z[j]:+.1f})",
            )

    def _keep_history(self, z: np.ndarray, closed: int) -> None:
        if self.buckets.current is None:
            return
        slot = self.buckets.current % BUCKET_COUNT
        for back in range(min(closed, BUCKET_COUNT)):
            self.z_history[(slot - back) % BUCKET_COUNT] = np.nan
        self.z_history[(slot - 1) % BUCKET_COUNT] = z

    def readings(self) -> dict[str, ColumnReading]:
        z = self.scan.z
        limit = np.full(z.shape, self.z_limit)
        return {
            "mean_shift": ColumnReading(score=np.abs(z) / self.z_limit, value=z, threshold=limit)
        }
