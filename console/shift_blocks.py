"""Sums per shift-long block of the hourly sums, kept between looks (`ShiftBlocks`).

`ShiftEffects.update` (console/shift_effects.py) needs, at every look of the ramp scan, the
parts, residual sums and the reference's error term per 8-hour block over up to 8 weeks of
closed hours. A closed hour never changes, so neither does a block that has ended: its sums are
kept, and only the blocks from the first one not kept (the newest, usually) are summed again.
The sums run over the same rows in the same order as `np.add.reduceat` over all the hours, so
the numbers are the same to the last bit (a test compares them, the ring's compaction included).
Engine thread, when the ramp scan looks.
"""

from __future__ import annotations

import numpy as np


class ShiftBlocks:
    """Per-block sums of n, s and n² / reference count, the ended blocks kept (one owner)."""

    def __init__(self, group_of_phase: np.ndarray, reference_count: np.ndarray) -> None:
        self.group_of_phase = group_of_phase
        self.reference_count = reference_count  # (groups, columns); fixed with the reference
        self.key = np.zeros((0, 3), np.int64)  # per kept block: first hour, hours, last hour
        empty = np.zeros((0, reference_count.shape[1]))
        self.kept = (empty, empty, empty)  # views of the last sums returned (read-only there)

    def sums(
        self, hour: np.ndarray, n: np.ndarray, s: np.ndarray, starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(parts, residual sums, Σ n² / reference count) per block; blocks begin at `starts`
        (rows of `hour`, oldest first), the last one may still be open. The caller must not
        write into the arrays returned: the ended blocks' rows are kept for the next look."""
        ends = np.append(starts[1:], hour.size)
        key = np.column_stack([hour[starts], ends - starts, hour[ends - 1]])
        same = min(len(self.key), len(key) - 1)
        matches = np.all(self.key[:same] == key[:same], axis=1)
        first = int(np.argmin(matches)) if not matches.all() else same
        begin = int(starts[first]) if first < len(starts) else hour.size
        rows = slice(begin, hour.size)
        offsets = starts[first:] - begin
        group = self.group_of_phase[(hour[rows] % 24).astype(np.intp)]
        fresh = (
            np.add.reduceat(n[rows], offsets, axis=0),
            np.add.reduceat(s[rows], offsets, axis=0),
            np.add.reduceat(n[rows] * n[rows] / self.reference_count[group], offsets, axis=0),
        )
        nb, sb, profile = (np.concatenate([self.kept[k][:first], fresh[k]]) for k in range(3))
        # Keep every block but the last, which may still take hours.
        self.key = key[:-1]
        self.kept = (nb[:-1], sb[:-1], profile[:-1])
        return nb, sb, profile
