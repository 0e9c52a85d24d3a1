"""Shift-to-shift effects learned from the live line as well as from the reference.

A shift-long block effect (a setter's adjustment, a material lot, a warm-up) moves every part of
a shift the same way; its variance τ² sets how much the slow-drift statistics may wander without
a drift. A reference of a few days holds only a handful of shifts, and its estimate of τ²
(`console.drift.block_variance`) is often 0 where the line has real effects: the ramp and
mean-shift statistics then read those effects as drift, again and again, for as long as the
reference is in force. The live line shows them within days.

`ShiftEffects.update` estimates τ² from the live residual sums per clock hour (the ramp's
`HourSums`, 8 weeks) through SECOND differences of consecutive shift-block means, which a
linear drift does not move: E[(m_b − 2m_{b−1} + m_{b−2})²] = v_b + 4v_{b−1} + v_{b−2} + 6τ²,
v_b the block mean's own noise (1 / parts, plus the reference's error in its hours' profile).
The detectors' τ² pools the reference's estimate and the live one by their degrees of freedom
(overlapping second differences count half each). The reference-bias term (the reference's mean
carries the effects of its few shifts: drawn once, a bias shared by every look) takes, with the
block means' noise, the upper bound on the pooled degrees of freedom (`console.drift.block_bound`,
the shared `Calibration.block_var`): what a reference of a few shifts cannot rule out is allowed
for from the first hour, and the allowance shrinks as the live shifts come in. The live blocks'
term, fresh at every look, takes the pooled point estimate floored at 0 (`Calibration.block_live`):
at the bound it cost every input 2√(2 / dof) times a block mean's noise while live shifts were
few, and 200 stable line-years stay silent without it (BENCHMARKS.md, issue 12). Both arrays are
written in place. Engine thread, when the ramp scan looks (at most hourly).
"""

from __future__ import annotations

import numpy as np

from console.drift import BLOCK_SECONDS, Calibration, block_bound
from console.shift_blocks import ShiftBlocks

HOUR = 3600.0
FEWEST_PARTS = 20  # a block with fewer parts tells nothing about its effect


class ShiftEffects:
    """τ² per column: the reference's, raised to what the live shifts show."""

    def __init__(
        self,
        block_var: np.ndarray,
        calibration: Calibration,
        group_of_phase: np.ndarray,
        reference_count: np.ndarray,
        block_live: np.ndarray | None = None,
    ) -> None:
        self.block_var = block_var  # shared with the detectors: updated in place
        width = block_var.size
        self.reference = _sized(calibration.block_estimate, width)  # τ², not floored
        self.reference_noise = _sized(calibration.block_noise, width)
        self.reference_dof = calibration.block_dof
        self.group_of_phase = group_of_phase
        self.reference_count = reference_count  # (groups, columns)
        self.live = np.zeros_like(block_var)
        # τ² of the live blocks' term, also shared: the pooled point estimate floored at 0.
        self.block_live = np.zeros_like(block_var) if block_live is None else block_live
        self.differences = 0
        self.blocks = ShiftBlocks(group_of_phase, reference_count)  # console/shift_blocks.py
        # Where shifts begin (`console.drift.shift_origin`), in hours, as the ramp scan counts.
        self.origin_hours = int(round(calibration.block_origin / HOUR))

    def update(self, hour: np.ndarray, n: np.ndarray, s: np.ndarray) -> None:
        """Re-estimate from the closed hours (`hour` oldest first, parts `n`, residual sums
        `s`, hours × columns)."""
        if hour.size < 3:
            return
        block = (hour - self.origin_hours) * HOUR // BLOCK_SECONDS
        starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
        if starts.size < 3:
            return
        nb, sb, profile = self.blocks.sums(hour, n, s, starts)  # ended blocks kept
        with np.errstate(all="ignore"):
            mean = sb / nb
            noise = (1.0 + profile / nb) / nb  # the block mean's own variance, without τ²
        ok = nb >= FEWEST_PARTS
        both = ok[2:] & ok[1:-1] & ok[:-2]
        second = np.where(both, mean[2:] - 2.0 * mean[1:-1] + mean[:-2], 0.0)
        own = np.where(both, noise[2:] + 4.0 * noise[1:-1] + noise[:-2], 0.0)
        count = both.sum(axis=0)
        self.differences = int(count.min())
        with np.errstate(all="ignore"):
            estimate = np.where(count > 0, (second**2 - own).sum(axis=0) / (6.0 * count), 0.0)
        self.live = estimate
        # Second differences overlap (about 1.94 times the variance of independent terms): two
        # count as one degree of freedom. Their own noise per term is `own` / 6.
        live_dof = 0.5 * count
        dof = self.reference_dof + live_dof
        with np.errstate(all="ignore"):
            live_noise = np.where(count > 0, own.sum(axis=0) / (6.0 * count), 0.0)
        pooled = (self.reference_dof * self.reference + live_dof * estimate) / dof
        noise = (self.reference_dof * self.reference_noise + live_dof * live_noise) / dof
        np.copyto(self.block_var, block_bound(pooled, noise, dof))
        if self.block_live.size == pooled.size:
            np.copyto(self.block_live, np.maximum(pooled, 0.0))


def _sized(values: np.ndarray, width: int) -> np.ndarray:
    return values.astype(float) if values.size == width else np.zeros(width)
