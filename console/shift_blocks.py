"""Sums per shift-long block of the hourly sums, kept between looks (`ShiftBlocks`).

`ShiftEffects.update` (console/shift_effects.py) needs, at every look of the ramp scan, the
parts, residual sums and the reference's error term per 8-hour block over up to 8 weeks of
closed hours. A closed hour never changes, so neither does a block that has ended: its sums are
kept, and only the blocks from the first one not kept (the newest, usually) are summed again, in
one compiled pass (`console.shift_kernels.block_sums`) into arrays kept between looks.
The sums run over the same rows in the same order as `np.add.reduceat` over all the hours, so
the numbers are the same to the last bit (a test compares them, the ring's compaction included).
Engine thread, when the ramp scan looks.
"""

from __future__ import annotations

import numpy as np

from console.shift_kernels import block_sums, grown


class ShiftBlocks:
    """Per-block sums of n, s and n² / reference count, the ended blocks kept (one owner)."""

    def __init__(self, group_of_phase: np.ndarray, reference_count: np.ndarray) -> None:
        self.group_of_phase = np.asarray(group_of_phase, np.int64)
        self.reference_count = reference_count  # (groups, columns); fixed with the reference
        width = reference_count.shape[1]
        self.key = np.zeros((0, 3), np.int64)  # per block: first hour, hours, last hour
        self.kept = 0  # blocks whose sums are kept (every block but the last at the last look)
        self.nb = np.zeros((0, width))
        self.sb = np.zeros((0, width))
        self.pb = np.zeros((0, width))

    def sums(
        self, hour: np.ndarray, n: np.ndarray, s: np.ndarray, starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(parts, residual sums, Σ n² / reference count) per block; blocks begin at `starts`
        (rows of `hour`, oldest first), the last one may still be open. The arrays returned
        are views the next call writes into: read them before the next look."""
        blocks = starts.size
        self.key = grown(self.key, blocks)
        self.nb, self.sb, self.pb = (grown(a, blocks) for a in (self.nb, self.sb, self.pb))
        blocks = block_sums(
            hour, n, s, np.asarray(starts, np.int64), self.group_of_phase, self.reference_count,
            self.key, self.kept, self.nb, self.sb, self.pb,
        )  # fmt: skip
        self.kept = blocks - 1  # every block but the last, which may still take hours
        return self.nb[:blocks], self.sb[:blocks], self.pb[:blocks]
