"""Compiled per-part loops of the engine's hot path (numba), one pass over a batch each.

Numpy's whole-array operations cost a pass over memory and a call each; at a hundred parts a
batch and thirty-odd inputs the calls dominate. These kernels do, per part and per input, in a
single loop: the rolling window's add and evict (counts, sums, histogram on the reference's fine
bins, out-of-range, class counts, runs of identical values), the time buckets' aggregates, and
the two-sided CUSUM with the part at which it crossed. They hold no state of their own: the
arrays they update belong to `RollingWindow`, `TimeBuckets` and `JumpCusum` (console/stats.py,
console/detectors/jump.py), which the tests check against direct recomputation and plain recursions.
They release the GIL, so the screen stays responsive while the engine thread works. Compiled on
first use and cached on disk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

FLAGS: dict[str, Any] = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}


@njit(**FLAGS)
def bin_of(x, j, origin, scale, table, next_edge, grid, edges, stride, one_step):  # fmt: skip
    """`searchsorted(edges_j, x, side="right")`: the bin at the start of x's grid cell, one step
    if x reaches the cell's next edge, and a walk only where a cell holds several edges. The
    next edge is read from `edges` (`next_edge[k]` is the same number), which stays in cache."""
    cell = (x - origin[j]) * scale[j]
    if cell < 0.0:
        cell = 0.0
    elif cell > grid - 1:
        cell = grid - 1
    b = np.int64(table[j * (grid + 1) + int(cell)])
    base = j * stride
    if x >= edges[base + b]:
        b += 1
        if not one_step:
            while x >= edges[base + b]:
                b += 1
    return b


@njit(**FLAGS)
def window_step(
    matrix, codes, ts,  # the new parts
    values, bins, classes, stamps, head, filled,  # the ring buffers and their position
    origin, scale, table, next_edge, grid, edges, stride, one_step, missing_slot,  # the binner
    center, valid_low, valid_high,
    count, total, square, out_of_range, hist, class_counts, last_value, run,
    new_missing, new_outside,
):  # fmt: skip
    """Add parts to the window, evicting the oldest once it is full; returns (head, filled,
    the longest current run of identical values over the columns). Counts the batch's missing
    and out-of-range values per column into `new_missing` and `new_outside` (zeroed first).
    A class code beyond `class_counts` changes nothing and returns head -1: grow it, call again."""
    size, width = values.shape
    if not _batch_start(codes, class_counts, new_missing, new_outside):
        return -1, filled, 0
    binned = _bins(matrix, origin, scale, table, next_edge, grid, edges, stride, one_step)
    for i in range(matrix.shape[0]):
        if filled == size:  # evict the part this row held
            class_counts[classes[head]] -= 1
            for j in range(width):
                old = values[head, j]
                hist[j, bins[head, j]] -= 1
                if old == old:
                    d = old - center[j]
                    count[j] -= 1.0
                    total[j] -= d
                    square[j] -= d * d
                    if old < valid_low[j] or old > valid_high[j]:
                        out_of_range[j] -= 1
        else:
            filled += 1
        for j in range(width):
            x = matrix[i, j]
            if x == x:
                b = binned[i, j]
                d = x - center[j]
                count[j] += 1.0
                total[j] += d
                square[j] += d * d
                if x < valid_low[j] or x > valid_high[j]:
                    out_of_range[j] += 1
                    new_outside[j] += 1
                if x == last_value[j]:
                    run[j] += 1
                else:
                    run[j] = 1
            else:
                b = missing_slot
                new_missing[j] += 1
                run[j] = 0
            last_value[j] = x
            hist[j, b] += 1
            values[head, j] = x
            bins[head, j] = b
        classes[head] = codes[i]
        class_counts[codes[i]] += 1
        stamps[head] = ts[i]
        head += 1
        if head == size:
            head = 0
    longest = 0
    for j in range(width):
        if run[j] > longest:
            longest = run[j]
    return head, filled, longest


@njit(**FLAGS)
def _bins(matrix, origin, scale, table, next_edge, grid, edges, stride, one_step):  # fmt: skip
    """The fine bin of every value of the batch (`bin_of`; NaN left unset), an input at a
    time: its part of the lookup table stays in cache (row by row, the batch's lookups ranged
    over every input's table, half a megabyte, and took half the window's time)."""
    binned = np.empty(matrix.shape, np.int64)
    for j in range(matrix.shape[1]):
        for i in range(matrix.shape[0]):
            x = matrix[i, j]
            if x == x:
                binned[i, j] = bin_of(
                    x, j, origin, scale, table, next_edge, grid, edges, stride, one_step
                )
    return binned


@njit(**FLAGS)
def _batch_start(codes, class_counts, new_missing, new_outside):  # fmt: skip
    """False if a class code is beyond the counts; else the batch's counts start at 0."""
    for i in range(codes.shape[0]):
        if codes[i] >= class_counts.shape[0]:
            return False
    new_missing[:] = 0
    new_outside[:] = 0
    return True


@njit(**FLAGS)
def batch_rows(features, conf, ts, phase_mean, phase_sd, units, matrix, resid, scaled):  # fmt: skip
    """A batch as the watch takes it: the inputs and the confidence side by side in `matrix`
    (one C array), and their `residuals`, in one call."""
    width = features.shape[1]
    for i in range(features.shape[0]):
        for j in range(width):
            matrix[i, j] = features[i, j]
        matrix[i, width] = conf[i]
    residuals(matrix, ts, phase_mean, phase_sd, units, resid, scaled)


@njit(**FLAGS)
def residuals(matrix, ts, phase_mean, phase_sd, units, resid, scaled):  # fmt: skip
    """Standardised residuals against the hour-of-day profile (`resid`, NaN where missing) and
    the same in the CUSUM's sd units (`scaled`)."""
    for i in range(matrix.shape[0]):
        h = int(math.floor((ts[i] % 86400.0) / 3600.0)) % 24
        for j in range(matrix.shape[1]):
            r = (matrix[i, j] - phase_mean[h, j]) / phase_sd[h, j]
            resid[i, j] = r
            scaled[i, j] = r * units[h, j]


@njit(**FLAGS)
def bucket_step(
    matrix, resid, ts, seconds, current,
    parts, n, total, square, drift, low, high, center,
):  # fmt: skip
    """Aggregate parts into time buckets (ring of `parts.size`); returns (current, closed).

    `current` is the newest bucket number (-1 before the first part); a part in a newer bucket
    clears the buckets it skips. Parts older than the ring are not counted. A batch wholly
    older than the ring (the newest bucket came from a record with a wrong time) empties the
    ring first, and the ring starts again from this batch (`TimeBuckets.add`)."""
    count = parts.shape[0]
    width = matrix.shape[1]
    closed = 0
    if current >= 0 and _wholly_older(ts, seconds, current - count):
        parts[:] = 0
        for a in (n, total, square, drift):
            a[:] = 0.0
        low[:] = np.inf
        high[:] = -np.inf
        current = -1
    for i in range(matrix.shape[0]):
        number = int(math.floor(ts[i] / seconds))
        if current < 0:
            current = number
        elif number > current:
            steps = number - current
            for k in range(min(steps, count)):
                slot = (current + 1 + k) % count
                parts[slot] = 0
                for j in range(width):
                    n[slot, j] = 0.0
                    total[slot, j] = 0.0
                    square[slot, j] = 0.0
                    drift[slot, j] = 0.0
                    low[slot, j] = np.inf
                    high[slot, j] = -np.inf
            closed += steps
            current = number
        if number <= current - count:
            continue
        slot = number % count
        parts[slot] += 1
        for j in range(width):
            x = matrix[i, j]
            if x == x:
                d = x - center[j]
                n[slot, j] += 1.0
                total[slot, j] += d
                square[slot, j] += d * d
                drift[slot, j] += resid[i, j]
                if x < low[slot, j]:
                    low[slot, j] = x
                if x > high[slot, j]:
                    high[slot, j] = x
    return current, closed


@njit(**FLAGS)
def _wholly_older(ts, seconds, oldest):  # fmt: skip
    """floor(max(ts) / seconds) <= oldest, as numpy has it (a NaN time: False)."""
    if ts.shape[0] == 0:
        return False
    top = -np.inf
    for i in range(ts.shape[0]):
        x = ts[i]
        if x != x:
            return False
        top = max(top, x)
    return math.floor(top / seconds) <= oldest


@njit(**FLAGS)
def cusum_step(u, k, h, base, rate, up, down, up_start, down_start, first_index, crossing, onset, peak):  # fmt: skip
    """Two-sided CUSUM S = max(0, S ± (u - base) - k) per column, capped at 2h so an alarm can
    clear soon after its cause is gone. `base` follows u slowly (an EWMA at `rate` per part), so
    the CUSUM answers sudden steps, not the slow drift the mean-shift detector watches. Marks
    the first part at which either side reached h in this batch, where that run began (the
    part after the last zero), and the peak level. A missing value (NaN) changes nothing.
    Returns (columns that crossed, the highest level over h) so the caller can skip looking.
    `crossing`, `onset` (-1: none) and `peak` are of this batch: set afresh here."""
    m, width = u.shape
    for j in range(width):
        crossing[j] = -1
        onset[j] = -1
        peak[j] = 0.0
    # Part by part, the columns side by side: the columns' recursions are independent, so the
    # processor overlaps them, and the reset to zero is a select, not a branch it would guess
    # wrong half the time (ten times faster than a column at a time; the same numbers).
    for i in range(m):
        at = first_index + i
        for j in range(width):
            x = u[i, j]
            if x != x:
                continue
            b = base[j]
            step = x - b
            base[j] = b + rate * step
            cap = 2.0 * h[j]
            s = up[j] + step - k
            low = s <= 0.0
            s = 0.0 if low else (cap if s > cap else s)
            up_start[j] = at + 1 if low else up_start[j]
            up[j] = s
            t = down[j] - step - k
            low = t <= 0.0
            t = 0.0 if low else (cap if t > cap else t)
            down_start[j] = at + 1 if low else down_start[j]
            down[j] = t
            if crossing[j] < 0:
                if s >= h[j] or t >= h[j]:
                    crossing[j] = at
                    if s >= t:
                        onset[j] = up_start[j]
                        peak[j] = s
                    else:
                        onset[j] = down_start[j]
                        peak[j] = -t
            elif s >= t:
                if s > abs(peak[j]):
                    peak[j] = s
            elif t > abs(peak[j]):
                peak[j] = -t
    highest = 0.0
    crossed = 0
    for j in range(width):
        level = max(up[j], down[j]) / h[j]
        if level > highest:
            highest = level
        if crossing[j] >= 0:
            crossed += 1
    return crossed, highest


@njit(**FLAGS)
def window_sums(slots, phase, lengths, n, resid, ref_var, out_n, out_total, out_ref):  # fmt: skip
    """For windows of the newest `lengths[w]` buckets (`slots` newest first): parts, sum of
    residuals and the reference's error term Σ_h parts_h² / reference_h, per column."""
    width = n.shape[1]
    by_hour = np.zeros((24, width))
    w = 0
    for k in range(slots.shape[0]):
        slot = slots[k]
        h = phase[k]
        for j in range(width):
            c = n[slot, j]
            out_n[w, j] += c
            out_total[w, j] += resid[slot, j]
            by_hour[h, j] += c
        if k + 1 == lengths[w]:
            for j in range(width):
                acc = 0.0
                for hh in range(24):
                    acc += by_hour[hh, j] * by_hour[hh, j] * ref_var[hh, j]
                out_ref[w, j] = acc
            w += 1
            if w == lengths.shape[0]:
                return
            for j in range(width):
                out_n[w, j] = out_n[w - 1, j]
                out_total[w, j] = out_total[w - 1, j]


@njit(**FLAGS)
def resum(values, filled, center, count, total, square):  # fmt: skip
    """Exact recomputation of the window's count, sum and sum of squares (in place)."""
    width = values.shape[1]
    for j in range(width):
        count[j] = 0.0
        total[j] = 0.0
        square[j] = 0.0
    for i in range(filled):
        for j in range(width):
            x = values[i, j]
            if x == x:
                d = x - center[j]
                count[j] += 1.0
                total[j] += d
                square[j] += d * d


@njit(**FLAGS)
def quality_ewmas(decay, parts, missing, new_missing, outside, new_outside, limit, range_limit, out_missing, out_outside):  # fmt: skip
    """Both EWMAs of `QualityLevels.update`, `decay · level + (1 − decay) · counts / parts` per
    column (numpy's order), into `out_missing` and `out_outside`; returns whether any is at 0.8
    of its limit or more (or not a number), as `DataQuality.assess` asks before it looks."""
    keep = 1.0 - decay
    near = False
    for j in range(missing.shape[0]):
        m = decay * missing[j] + keep * new_missing[j] / parts
        o = decay * outside[j] + keep * new_outside[j] / parts
        out_missing[j] = m
        out_outside[j] = o
        if not (m / limit[j] < 0.8) or not (o < 0.8 * range_limit):
            near = True
    return near
