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
The detectors' τ² (the shared `Calibration.block_var` array, written in place) pools the
reference's raw estimate and the live one by their degrees of freedom (overlapping second
differences count half each), floored at 0 and raised to its upper bound on the pooled degrees
of freedom (`console.drift.upper_factor`): a reference's chance estimate, too high or too low,
fades as the live shifts come in. The live line counts only where its estimate stands out of its
own noise (two standard errors): at 20,000 parts a day chance estimates of 1e-4 sd² would
otherwise halve a long ramp's z. Engine thread, when the ramp scan looks (at most hourly).
"""

from __future__ import annotations

import numpy as np

from console.drift import BLOCK_SECONDS, upper_factor
from console.shift_blocks import ShiftBlocks

HOUR = 3600.0
FEWEST_PARTS = 20  # a block with fewer parts tells nothing about its effect


class ShiftEffects:
    """τ² per column: the reference's, raised to what the live shifts show."""

    def __init__(
        self,
        block_var: np.ndarray,
        block_dof: float,
        group_of_phase: np.ndarray,
        reference_count: np.ndarray,
    ) -> None:
        self.block_var = block_var  # shared with the detectors: updated in place
        self.initial = block_var.copy()  # the reference's estimate at its upper bound
        self.reference = block_var / upper_factor(block_dof)  # the reference's raw estimate
        self.reference_dof = block_dof
        self.group_of_phase = group_of_phase
        self.reference_count = reference_count  # (groups, columns)
        self.live = np.zeros_like(block_var)
        self.differences = 0
        self.blocks = ShiftBlocks(group_of_phase, reference_count)  # console/shift_blocks.py

    def update(self, hour: np.ndarray, n: np.ndarray, s: np.ndarray) -> None:
        """Re-estimate from the closed hours (`hour` oldest first, parts `n`, residual sums
        `s`, hours × columns)."""
        if hour.size < 3:
            return
        block = hour * HOUR // BLOCK_SECONDS
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
        self.live = np.maximum(estimate, 0.0)
        # Its own noise with no effect at all (overlapping second differences are correlated:
        # about 1.94 times the variance of independent terms): only an estimate beyond two of
        # those standard errors shows effects; else the reference's value stands.
        spread = np.sqrt(2.0 * 1.94 * (own * own).sum(axis=0)) / (6.0 * np.maximum(count, 1))
        shown = (count > 0) & (estimate > 2.0 * spread)
        dof = self.reference_dof + 0.5 * count
        pooled = (self.reference_dof * self.reference + 0.5 * count * estimate) / dof
        factor = 1.0 + 2.0 * np.sqrt(2.0 / dof)  # upper_factor, per column
        np.copyto(self.block_var, np.where(shown, pooled * factor, self.initial))
