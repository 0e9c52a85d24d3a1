"""Compiled arithmetic of the live shift effects (numba): the per-block sums of the hourly sums
(`block_sums`, for `console.shift_blocks.ShiftBlocks`) and the τ² estimate from second
differences of consecutive block means (`shift_estimate`, for
`console.shift_effects.ShiftEffects.update`).

Both run over up to 8 weeks of closed hours (about 170 shift blocks) at every look of the ramp
scan; the numpy forms spent their time in a few dozen calls on small arrays. The kernels do the
same operations in the same order (every sum runs over the blocks oldest first, as numpy's
reductions along the first axis do), so the numbers are the same to the last bit; tests keep
them equal to the numpy forms (tests/test_shift_blocks.py, tests/test_shift_kernels.py). They
hold no state: the arrays belong to `ShiftBlocks` and `ShiftEffects`. Engine thread, when the
ramp scan looks; they release the GIL.
"""

from __future__ import annotations

import math

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


@njit(**FLAGS)
def shift_estimate(nb, sb, pb, blocks, fewest, reference_dof, reference, initial, block_var, live):  # fmt: skip
    """τ² per column from the second differences of consecutive block means (the arithmetic of
    `ShiftEffects.update`, whose docstring says why): writes `live` (the live estimate, floored
    at 0) and `block_var` (pooled with the reference's where the live one stands out of its
    own noise, else `initial`); returns the fewest second differences over the columns."""
    width = nb.shape[1]
    mean = np.empty((blocks, width))
    noise = np.empty((blocks, width))
    ok = np.empty((blocks, width), np.bool_)
    for t in range(blocks):
        for j in range(width):
            c = nb[t, j]
            mean[t, j] = sb[t, j] / c
            noise[t, j] = (1.0 + pb[t, j] / c) / c
            ok[t, j] = c >= fewest
    total = np.zeros(width)
    square = np.zeros(width)
    count = np.zeros(width, np.int64)
    for t in range(blocks - 2):  # oldest first in every column, as numpy's sums add
        for j in range(width):
            if ok[t + 2, j] and ok[t + 1, j] and ok[t, j]:
                second = mean[t + 2, j] - 2.0 * mean[t + 1, j] + mean[t, j]
                own = noise[t + 2, j] + 4.0 * noise[t + 1, j] + noise[t, j]
                total[j] += second * second - own
                square[j] += own * own
                count[j] += 1
    fewest_count = -1
    for j in range(width):
        c = count[j]
        if fewest_count < 0 or c < fewest_count:
            fewest_count = c
        estimate = total[j] / (6.0 * c) if c > 0 else 0.0
        live[j] = 0.0 if estimate < 0.0 else estimate  # np.maximum's (NaN stays NaN)
        spread = math.sqrt(2.0 * 1.94 * square[j]) / (6.0 * max(c, 1))
        dof = reference_dof + 0.5 * c
        if c > 0 and estimate > 2.0 * spread:
            pooled = (reference_dof * reference[j] + 0.5 * c * estimate) / dof
            block_var[j] = pooled * (1.0 + 2.0 * math.sqrt(2.0 / dof))
        else:
            block_var[j] = initial[j]
    return fewest_count


def grown(rows: np.ndarray, size: int) -> np.ndarray:
    """`rows` with room for at least `size` rows (the kept rows copied), or itself."""
    if rows.shape[0] >= size:
        return rows
    bigger = np.zeros((max(size, 2 * rows.shape[0]), *rows.shape[1:]), rows.dtype)
    bigger[: rows.shape[0]] = rows
    return bigger
