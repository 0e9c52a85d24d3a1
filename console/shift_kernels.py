"""Compiled sums of the live shift effects (numba): the per-block sums of the hourly sums
(`block_sums`, for `console.shift_blocks.ShiftBlocks`), over up to 8 weeks of closed hours at
every look of the ramp scan, in one pass where the numpy form made a dozen calls and copies.

The sums run in numpy's order (`np.add.reduceat` adds a block as its first row plus a pairwise
sum of the rest, `column_sum`), so the numbers are the same to the last bit; tests keep them
equal (tests/test_shift_blocks.py, tests/test_shift_kernels.py). No state of their own: the
arrays belong to `ShiftBlocks`. Engine thread, when the ramp scan looks; they release the GIL.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from console.kernels import FLAGS


@njit(**FLAGS)
def block_sums(hour, n, s, starts, group_of_phase, reference_count, key, kept, nb, sb, pb):  # fmt: skip
    """Sums of n, s and n² / reference count per block (blocks begin at rows `starts` of `hour`,
    oldest first; the last may still be open) into rows of `nb`, `sb`, `pb`, as
    `np.add.reduceat` sums them. The first `kept` rows hold the sums of blocks that had ended
    at the last call, named by `key` (first hour, hours, last hour): those still named alike
    are kept, the rest are summed again. Writes the new keys; returns the number of blocks."""
    blocks = starts.shape[0]
    size = hour.shape[0]
    width = n.shape[1]
    same = min(kept, blocks - 1)
    first = same
    for b in range(same):
        begin = starts[b]
        end = starts[b + 1]
        if key[b, 0] != hour[begin] or key[b, 1] != end - begin or key[b, 2] != hour[end - 1]:
            first = b
            break
    origin = starts[first]
    terms = np.empty((size - origin, width))
    for r in range(origin, size):
        g = group_of_phase[hour[r] % 24]
        for j in range(width):
            terms[r - origin, j] = n[r, j] * n[r, j] / reference_count[g, j]
    for b in range(first, blocks):
        begin = starts[b]
        end = starts[b + 1] if b + 1 < blocks else size
        rest = end - begin - 1
        for j in range(width):
            nb[b, j] = n[begin, j]
            sb[b, j] = s[begin, j]
            pb[b, j] = terms[begin - origin, j]
            if rest > 0:
                nb[b, j] += column_sum(n, j, begin + 1, rest)
                sb[b, j] += column_sum(s, j, begin + 1, rest)
                pb[b, j] += column_sum(terms, j, begin + 1 - origin, rest)
        key[b, 0] = hour[begin]
        key[b, 1] = end - begin
        key[b, 2] = hour[end - 1]
    return blocks


@njit(**FLAGS)
def column_sum(a, j, begin, count):  # fmt: skip
    """Sum of `a[begin : begin + count, j]` in numpy's pairwise order (as its reductions along
    a strided axis add): plain below 8 numbers, eight partial sums up to 128, halves beyond."""
    if count < 8:
        res = 0.0
        for i in range(begin, begin + count):
            res += a[i, j]
        return res
    if count <= 128:
        r0, r1, r2, r3 = a[begin, j], a[begin + 1, j], a[begin + 2, j], a[begin + 3, j]
        r4, r5, r6, r7 = a[begin + 4, j], a[begin + 5, j], a[begin + 6, j], a[begin + 7, j]
        whole = count - count % 8
        for i in range(begin + 8, begin + whole, 8):
            r0 += a[i, j]
            r1 += a[i + 1, j]
            r2 += a[i + 2, j]
            r3 += a[i + 3, j]
            r4 += a[i + 4, j]
            r5 += a[i + 5, j]
            r6 += a[i + 6, j]
            r7 += a[i + 7, j]
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(begin + whole, begin + count):
            res += a[i, j]
        return res
    half = count // 2
    half -= half % 8
    return column_sum(a, j, begin, half) + column_sum(a, j, begin + half, count - half)


def grown(rows: np.ndarray, size: int) -> np.ndarray:
    """`rows` with room for at least `size` rows (the kept rows copied), or itself."""
    if rows.shape[0] >= size:
        return rows
    bigger = np.zeros((max(size, 2 * rows.shape[0]), *rows.shape[1:]), rows.dtype)
    bigger[: rows.shape[0]] = rows
    return bigger
