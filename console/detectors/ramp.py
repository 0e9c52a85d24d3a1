"""Slow drift as a ramp (`ramp`): a generalised likelihood-ratio scan for a linear drift of an
input's residual mean, with unknown onset, every hour of production time.

The residual of a part is its value minus the reference's hour-of-day profile (where the
reference supports one, else its mean), in the profile's sd. Parts are summed per clock hour.
For an onset L hours back, the best test of a ramp is the weighted sum Σ w_h s_h with w_h the
ramp's height at hour h (time since the onset), and its variance is the live parts' noise
Σ w_h² n_h plus the reference's own error in each hour's mean, Σ_hours-of-day (Σ w_h n_h)² /
reference count, plus shift-long block effects τ² (`console.drift.block_variance`), live and
in the reference's mean (`console/shift_effects.py`): the live blocks' term, fresh at every
look, at the pooled estimate; the reference's, drawn once and shared by every look, at the upper
bound of what the reference and the live shifts so far cannot rule out. Blocks are the line's
shifts, counted from where production begins after the night (`console.drift.shift_origin`). The scan takes the largest
|z| over onsets from 6 hours to 8 weeks back on a geometric grid. Every constant is in hours
of time, none in parts, so latency does not change with line speed. The level comes from the
false-alarm budget (`ramp_threshold`). Like every drift alarm it is held a day once raised
(console/annunciator.py). Engine thread.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from console.budget import share
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import BLOCK_SECONDS
from console.ramp_sums import RampSums
from console.records import iso
from console.scan_kernels import hours_add
from console.shift_effects import ShiftEffects

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
    """The scan's |z| level for `budget` false alarms per input-year.

    The reference's own error is part of the z's variance at every look although it is drawn
    once: that makes the statistic wander less than fresh noise would, so this level (for fresh
    noise) is on the safe side; the shift effects a short reference misses are learned live
    (`console/shift_effects.py`)."""
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

    def __init__(self, width: int, hours: float = LONGEST_HOURS, counts: str = "residuals") -> None:
        self.counts = counts  # "residuals" (n: values, s: their sum) or "missing" (n: parts)
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
        """Add a batch (rows × columns) to the open hour, closing hours as its times pass
        (one compiled pass, `console.scan_kernels.hours_add`)."""
        first, last = int(ts[0] // HOUR), int(ts[-1] // HOUR)
        self.size, self.open_hour, closed = hours_add(
            resid, ts, first, first == last, self.counts == "missing", self.hour, self.n, self.s,
            self.size, self.open_hour, self.open_n, self.open_s,
        )  # fmt: skip
        self.closed += closed


class RampScan:
    """The GLR scan over onsets (see the module docstring)."""

    def __init__(self, basis: Basis) -> None:
        profile = basis.profile
        calibration = basis.calibration
        # Hours of the day with a profile of their own keep their own reference error; the
        # hours that fell back to the whole reference's mean share that one error (group 24).
        shared = np.all(profile.phase_count >= profile.count[None, :], axis=1)
        self.group_of_phase = np.where(shared, 24, np.arange(24))
        self.reference_count = calibration.reference_counts(
            np.vstack([profile.phase_count, profile.count[None, :]])
        )
        width = basis.width
        block_var = np.asarray(calibration.block_var, float)
        self.block_var = block_var if block_var.size == width else np.zeros(width)
        block_live = np.asarray(calibration.block_live, float)
        self.block_live = block_live if block_live.size == width else np.zeros(width)
        self.ref_blocks = calibration.ref_blocks
        # Blocks begin where shifts do (`console.drift.shift_origin`); the compiled scan cuts
        # blocks at multiples of 8 h, so it is given hours counted from there (and the hours of
        # day turned by as much, so that each hour keeps its reference group).
        self.origin_hours = int(round(calibration.block_origin / HOUR))
        self.scan_groups = np.roll(self.group_of_phase, -self.origin_hours)
        self.lookbacks = np.asarray(LOOKBACKS)
        self.z = np.zeros(basis.width)
        self.onset_hours = np.zeros(basis.width)
        self.running = RampSums(width, self.origin_hours, self.scan_groups)
        self.by_onset = np.empty((self.lookbacks.size, width))  # every onset's z at the last look

    def evaluate(self, sums: HourSums) -> np.ndarray:
        """Signed z of the best onset per column, as of the end of the newest closed hour.

        With ages a (hours back) and an onset L hours back, every term is a polynomial in L of
        sums over the hours with a < L: Σ (L − a) s = L·S − AS, Σ (L − a)² n = L²·N − 2L·AN +
        A²N, and per hour of day or per block L·N − AN. The sums are kept between looks in
        time from a recent anchor (`console.ramp_sums.RampSums`): a look adds the hours closed
        since the last and reads each onset off at its boundary, so it costs O(onsets ×
        (groups + inputs)), not O(hours × inputs) (`evaluate_direct` is the plain form; a test
        keeps them equal)."""
        size = sums.size
        if size < 2:
            return self.z
        width = sums.n.shape[1]
        z, pick = np.empty(width), np.empty(width, np.int64)  # readings keep the last ones
        self.running.look(
            sums, self.lookbacks, self.reference_count, self.block_var, self.block_live,
            float(self.ref_blocks), self.by_onset, z, pick,
        )  # fmt: skip
        self.z = z
        self.onset_hours = self.lookbacks[pick]
        return z

    def _keep(self, z: np.ndarray) -> np.ndarray:
        pick = np.argmax(np.abs(z), axis=0)
        self.z = z[pick, np.arange(z.shape[1])]
        self.onset_hours = self.lookbacks[pick]
        return self.z

    def evaluate_direct(self, sums: HourSums) -> np.ndarray:
        """The same z as `evaluate`, with the ramp's weights written out (for tests)."""
        size = sums.size
        w, live, reference, blocks, fixed = self.variances(sums.hour[:size], sums.n[:size])
        with np.errstate(all="ignore"):
            z = np.where(
                live > 0, (w @ sums.s[:size]) / np.sqrt(live + reference + blocks + fixed), 0.0
            )
        return self._keep(np.nan_to_num(z))

    def variances(
        self, hour: np.ndarray, n: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The ramp weights (onsets × hours) and the parts of each onset's variance (onsets ×
        columns) for parts `n` in clock hours `hour` (oldest first): live noise, the reference's
        error in the hours' means, live block effects, the block effects in the reference's
        mean. The second and the last are fixed for as long as the reference is in force."""
        age = (hour[-1] + 1 - hour) - 0.5
        w = np.maximum(self.lookbacks[:, None] - age[None, :], 0.0)  # (onsets, hours)
        live = (w * w) @ n
        group = self.group_of_phase[hour % 24]
        reference = np.zeros_like(live)
        for p in np.unique(group):
            rows = group == p
            reference += (w[:, rows] @ n[rows]) ** 2 / self.reference_count[p]
        blocks = np.zeros_like(live)
        fixed = np.zeros_like(live)
        if self.block_var.any() or self.block_live.any():
            weighted = w[:, :, None] * n[None, :, :]
            block = (hour - self.origin_hours) * HOUR // BLOCK_SECONDS
            starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
            grouped = np.add.reduceat(weighted, starts, axis=1)
            blocks = self.block_live * (grouped**2).sum(axis=1)
            fixed = self.block_var * grouped.sum(axis=1) ** 2 / self.ref_blocks
        return w, live, reference, blocks, fixed


class RampDetector:
    """The ramp scan as a detector: assessed when an hour of production closed."""

    specs = (RAMP,)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        cfg = basis.config.detection
        self.sums = HourSums(basis.width)
        self.scan = RampScan(basis)
        self.limit = ramp_threshold(share(cfg.false_alarms_per_year, "ramp"))
        scan = self.scan
        self.shifts = ShiftEffects(
            scan.block_var,
            basis.calibration,
            scan.group_of_phase,
            scan.reference_count,
            scan.block_live,
        )
        self.seen = 0
        self.parts = 0
        self.every = max(basis.config.window.batch, basis.config.window.parts // 40)

    def observe(self, step: Step) -> None:
        if step.resid is not None:
            self.sums.add(step.resid, step.batch.ts)

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        sums = self.sums
        self.parts += due.parts
        # When an hour closed, at most every W/40 parts unless three hours closed since: a
        # cap on the cost per part at mid rates that delays a look by at most three hours.
        if sums.closed == self.seen or (self.parts < self.every and sums.closed - self.seen < 3):
            return
        self.seen = sums.closed
        self.parts = 0
        size = sums.size
        self.shifts.update(sums.hour[:size], sums.n[:size], sums.s[:size])
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
