"""The ramp scan's running sums, kept between looks (`RampSums`): each look adds the hours that
closed since the last one and reads every onset off the sums (console/ramp_kernels.py), instead
of passing over 8 weeks of hours.

The sums are anchored at a recent shift block's first hour. They are summed again from the
hourly sums (`HourSums`, console/detectors/ramp.py) when the hours kept are not the ones taken
plus those closed since (the ring halved itself, or the sums were replaced), and every
`REANCHOR_ROWS` hours, so that t stays small next to the short onsets' weights: the z then
differ from a pass over the hours only in the last bits. Engine thread, when the ramp scan looks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.ramp_kernels import (
    ANCHOR_ROW,
    BLOCKS,
    KEPT,
    ROWS,
    RUNNING,
    ramp_look,
)

if TYPE_CHECKING:
    from console.detectors.ramp import HourSums

REANCHOR_ROWS = 160  # hours taken after the anchor before the sums are anchored again


class RampSums:
    """Running sums of the closed hours for the ramp scan (one owner: `RampScan`)."""

    def __init__(self, width: int, origin_hours: int, groups: np.ndarray) -> None:
        self.origin = origin_hours  # hours are counted from where shifts begin
        self.groups = np.asarray(groups, np.int64)  # reference group per hour of day so counted
        self.meta = np.zeros(6, np.int64)
        self.closed = 0  # HourSums.closed when the sums were last brought up to date
        self.last_hour = -1  # the newest hour taken
        self.rowblock = np.zeros(0, np.int64)
        self.starts = np.zeros(0, np.int64)
        self.checkpoints = np.zeros((0, KEPT, width))
        self.sums = np.zeros((RUNNING, width))

    def look(
        self,
        sums: HourSums,
        lookbacks: np.ndarray,
        reference_count: np.ndarray,
        block_var: np.ndarray,
        block_live: np.ndarray,
        ref_blocks: float,
        out: np.ndarray,
        best: np.ndarray,
        pick: np.ndarray,
    ) -> None:
        """z per (onset, input) into `out`, as of the newest of `sums`'s closed hours (>= 1);
        per input the z of largest magnitude into `best` and its onset's index into `pick`.
        The hours closed since the last look are added first, in the same call."""
        size = sums.size
        again = self._summed_again(sums)
        ramp_look(
            sums.hour, sums.n, sums.s, self.origin, self.groups, size, again, self.meta,
            self.rowblock, self.starts, self.checkpoints, self.sums, lookbacks, reference_count,
            block_var, block_live, ref_blocks, out, best, pick,
        )  # fmt: skip
        self.closed = sums.closed
        self.last_hour = int(sums.hour[size - 1])

    def _summed_again(self, sums: HourSums) -> bool:
        """Whether the sums must be summed again from the hours (else the new hours are added);
        makes room for what either needs."""
        size = sums.size
        taken = int(self.meta[ROWS])
        follows = (
            0 < taken <= size
            and sums.closed - self.closed == size - taken
            and int(sums.hour[taken - 1]) == self.last_hour
        )
        self._room(sums.capacity, int(self.meta[BLOCKS]) + size - taken if follows else size)
        return not follows or taken - int(self.meta[ANCHOR_ROW]) > REANCHOR_ROWS

    def _room(self, capacity: int, blocks: int) -> None:
        """Arrays large enough for the ring's rows and `blocks` blocks (grown by doubling)."""
        if self.rowblock.size < capacity:
            self.rowblock = np.zeros(capacity, np.int64)
        have = self.starts.size
        if have >= blocks:
            return
        grown = max(blocks, min(2 * have, capacity))
        starts = np.zeros(grown, np.int64)
        checkpoints = np.zeros((grown, *self.checkpoints.shape[1:]))
        starts[:have] = self.starts
        checkpoints[:have] = self.checkpoints
        self.starts, self.checkpoints = starts, checkpoints
