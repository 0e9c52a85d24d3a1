"""Slow drift as a ramp (`ramp`): a generalised likelihood-ratio scan for a linear drift of an
input's residual mean, with unknown onset, every hour of production time.

The residual of a part is its value minus the reference's hour-of-day profile (where the
reference supports one, else its mean), in the profile's sd. Parts are summed per clock hour.
For an onset L hours back, the best test of a ramp is the weighted sum Σ w_h s_h with w_h the
ramp's height at hour h (time since the onset), and its variance is the live parts' noise
Σ w_h² n_h plus the reference's own error in each hour's mean, Σ_hours-of-day (Σ w_h n_h)² /
reference count, plus shift-long block effects τ² (`console.drift.block_variance`), live and
in the reference's mean. The scan takes the largest |z| over onsets from 6 hours to 8 weeks back on a
geometric grid. Every constant is in hours of time, none in parts, so latency does not change
with line speed. The level comes from the false-alarm budget (`ramp_threshold`). Like every
drift alarm it is held a day once raised (console/annunciator.py). Engine thread.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import BLOCK_SECONDS
from console.records import iso

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

RAMP = DetectorSpec("ramp", "ramp z", "z", "medium", "model_owner", drift=True, signed=True)

HOUR = 3600.0
LONGEST_HOURS = 8 * 7 * 24.0  # the slowest drift worth finding builds up over about 8 weeks
SHORTEST_HOURS = 6.0
LOOKBACKS = tuple(SHORTEST_HOURS * 1.4**k for k in range(17))  # 6 h … 1,300 h


# Upcrossings a year of the scan's |z| over u are about RAMP_RATE · u² · (1 − Φ(u)): fitted on
# 40 simulated years of hourly white noise at u = 4–4.5 (2,470–2,540; the moving-window formula of
# `console.drift.scan_threshold` would say 10,200 for these onsets, four times too many).
RAMP_RATE = 2600.0


def ramp_threshold(budget: float) -> float:
    """The scan's |z| level for `budget` false alarms per input-year."""
    normal = NormalDist()
    lo, hi = 2.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if RAMP_RATE * mid * mid * (1.0 - normal.cdf(mid)) > budget:
            lo = mid
        else:
            hi = mid
    return hi


class HourSums:
    """Residual sums and counts per clock hour with parts, newest last (up to 8 weeks)."""

    def __init__(self, width: int, hours: float = LONGEST_HOURS) -> None:
        self.capacity = int(hours) + 2
        self.hour = np.zeros(self.capacity, np.int64)
        self.n = np.zeros((self.capacity, width))
        self.s = np.zeros((self.capacity, width))
        self.size = 0
        self.open_hour = -1
        self.open_n = np.zeros(width)
        self.open_s = np.zeros(width)
        self.closed = 0

    def add(self, resid: np.ndarray, ts: np.ndarray) -> None:
        hours = np.floor(ts / HOUR).astype(np.int64)
        cuts = np.flatnonzero(np.diff(hours)) + 1
        for part, hour in zip(
            np.split(resid, cuts), hours[np.concatenate([[0], cuts])], strict=True
        ):
            if hour != self.open_hour:
                self._close()
                self.open_hour = int(hour)
            present = ~np.isnan(part)
            self.open_n += present.sum(axis=0)
            self.open_s += np.where(present, part, 0.0).sum(axis=0)

    def _close(self) -> None:
        if self.open_hour < 0 or not self.open_n.any():
            return
        if self.size == self.capacity:
            keep = self.capacity // 2
            for a in (self.hour, self.n, self.s):
                a[:keep] = a[self.size - keep : self.size]
            self.size = keep
        self.hour[self.size] = self.open_hour
        self.n[self.size] = self.open_n
        self.s[self.size] = self.open_s
        self.size += 1
        self.closed += 1
        self.open_n = np.zeros_like(self.open_n)
        self.open_s = np.zeros_like(self.open_s)


class RampScan:
    """The GLR scan over onsets (see the module docstring)."""

    def __init__(self, basis: Basis) -> None:
        profile = basis.profile
        self.reference_count = basis.calibration.reference_counts(profile.phase_count)
        calibration = basis.calibration
        self.block_var = calibration.block_var
        self.ref_blocks = calibration.ref_blocks
        self.lookbacks = np.asarray(LOOKBACKS)
        self.z = np.zeros(basis.width)
        self.onset_hours = np.zeros(basis.width)

    def evaluate(self, sums: HourSums) -> np.ndarray:
        """Signed z of the best onset per column, as of the end of the newest closed hour."""
        size = sums.size
        if size < 2:
            return self.z
        hour = sums.hour[:size]
        age = (hour[-1] + 1 - hour) - 0.5  # hours from each hour's middle to now
        w = np.maximum(self.lookbacks[:, None] - age[None, :], 0.0)  # (onsets, hours)
        n, s = sums.n[:size], sums.s[:size]
        num = w @ s
        live = (w * w) @ n
        phase = hour % 24
        reference = np.zeros_like(live)
        for p in np.unique(phase):
            rows = phase == p
            reference += (w[:, rows] @ n[rows]) ** 2 / self.reference_count[p]
        blocks = self._block_effects(w, n, hour)
        with np.errstate(all="ignore"):
            z = np.where(live > 0, num / np.sqrt(live + reference + blocks), 0.0)
        z = np.nan_to_num(z)
        pick = np.argmax(np.abs(z), axis=0)
        columns = np.arange(z.shape[1])
        self.z = z[pick, columns]
        self.onset_hours = self.lookbacks[pick]
        return self.z

    def _block_effects(self, w: np.ndarray, n: np.ndarray, hour: np.ndarray) -> np.ndarray:
        """Variance that shift-long block effects add: τ² Σ_blocks (Σ_h∈block w_h n_h)² for the
        live blocks, and τ² (Σ_h w_h n_h)² / reference blocks for the reference's own mean."""
        if not self.block_var.any():
            return np.zeros((w.shape[0], n.shape[1]))
        weighted = w[:, :, None] * n[None, :, :]  # (onsets, hours, columns)
        block = hour * HOUR // BLOCK_SECONDS
        starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
        sums = np.add.reduceat(weighted, starts, axis=1)
        live = (sums**2).sum(axis=1)
        reference = sums.sum(axis=1) ** 2 / self.ref_blocks
        return self.block_var * (live + reference)


class RampDetector:
    """The ramp scan as a detector: assessed when an hour of production closed."""

    specs = (RAMP,)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        cfg = basis.config.detection
        self.limit = ramp_threshold(cfg.false_alarms_per_year)
        self.sums = HourSums(basis.width)
        self.scan = RampScan(basis)
        self.seen = 0

    def observe(self, step: Step) -> None:
        if step.resid is not None:
            self.sums.add(step.resid, step.batch.ts)

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        sums = self.sums
        if sums.closed == self.seen:
            return
        self.seen = sums.closed
        z = self.scan.evaluate(sums)
        now = float(step.batch.ts[-1])
        score = np.abs(z) / self.limit
        for j in alarms.candidates(RAMP, score):
            onset = now - self.scan.onset_hours[j] * HOUR
            alarms.column(
                RAMP,
                j,
                score=score[j],
                value=float(z[j]),
                threshold=self.limit,
                seq=step.last_seq,
                ts=step.ts,
                parts=due.parts,
                off_delay=1,
                onset=iso(onset),
                message=(
                    f"drifting {'up' if z[j] > 0 else 'down'} for about "
                    f"{self.scan.onset_hours[j]:.0f} h (z = {z[j]:+.1f})"
                ),
            )

    def readings(self) -> dict[str, ColumnReading]:
        z = self.scan.z
        limit = np.full(z.shape, self.limit)
        return {"ramp": ColumnReading(score=np.abs(z) / self.limit, value=z, threshold=limit)}
