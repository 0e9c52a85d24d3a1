"""The ramp scan's sums kept between looks (numba): a look costs O(onsets × (groups + inputs)),
not O(hours × inputs).

`RampScan.evaluate` (console/detectors/ramp.py) needs, for each onset L hours back, sums over
the closed hours inside it of n, t·n, t²·n, s and t·s, of n and t·n per hour-of-day group, and
of the squared per-block sums Σ_b (Σ w n)². In time t counted from an anchor (the first hour of
a recent shift block) the ramp's weight is w = t − u, u the onset's time, so every term is a
polynomial in u of such sums, and a sum over the hours from a row on is the difference of two
running sums. The running sums are anchored: from the anchor back (kept per block, summed once
when the anchor is set: `ramp_rebuild`) and from the anchor on (added as hours close:
`ramp_append`), so that they stay about as large as the sums a look needs and the differences
lose nothing but the last bits. Per block (`KEPT` rows of `checkpoints`): the anchored sums from
its first hour, and of W0², W0·W1, W1² over the blocks that ended (W0 = Σ n, W1 = Σ t·n of a
block). A look (`ramp_look`) adds the hours of the block an onset cuts one by one and takes the
rest at the next block's checkpoint. `console.ramp_sums.RampSums` owns the arrays; a test keeps
the z equal to `RampScan.evaluate_direct` (tests/test_ramp_sums.py). Engine thread; no GIL.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from console.kernels import FLAGS

HOUR = 3600.0
BLOCK_SECONDS = 8 * 3600.0  # a shift, as console.drift.BLOCK_SECONDS
GROUPS = 25  # 24 hours of the day, and one for hours that share the whole reference's mean
# Rows of the running sums: the moments n, t·n, t²·n, s, t·s; n and t·n per group; W0², W0·W1,
# W1² summed over ended blocks; W0 and W1 of the newest block (not kept per block).
GN, GT, QS, NEWEST = 5, 5 + GROUPS, 5 + 2 * GROUPS, 8 + 2 * GROUPS
KEPT, RUNNING = NEWEST, NEWEST + 2
# meta: rows taken, blocks, anchor row, anchor block, anchor hour, newest block's number
ROWS, BLOCKS, ANCHOR_ROW, ANCHOR_BLOCK, ANCHOR_HOUR, NEWEST_BLOCK = range(6)
NO_BLOCK = -(2**62)


@njit(**FLAGS)
def _add_row(hour, n, s, r, origin, anchor, groups, sums, newest=True):  # fmt: skip
    """Row r's terms into `sums` (RUNNING × inputs): moments, its group and, if `newest`, the
    newest block (a loop per sum: each is vectorised)."""
    h = hour[r] - origin
    t = float(h - anchor)
    g = groups[h % 24]
    c = n[r]
    x = s[r]
    for j in range(c.shape[0]):
        sums[0, j] += c[j]
    for j in range(c.shape[0]):
        sums[1, j] += t * c[j]
    for j in range(c.shape[0]):
        sums[2, j] += t * (t * c[j])
    for j in range(c.shape[0]):
        sums[3, j] += x[j]
    for j in range(c.shape[0]):
        sums[4, j] += t * x[j]
    for j in range(c.shape[0]):
        sums[GN + g, j] += c[j]
    for j in range(c.shape[0]):
        sums[GT + g, j] += t * c[j]
    if newest:
        for j in range(c.shape[0]):
            sums[NEWEST, j] += c[j]
        for j in range(c.shape[0]):
            sums[NEWEST + 1, j] += t * c[j]


@njit(**FLAGS)
def _end_block(sums):  # fmt: skip
    """The newest block's squared sums join those of the ended blocks; its own start again."""
    for j in range(sums.shape[1]):
        w0 = sums[NEWEST, j]
        w1 = sums[NEWEST + 1, j]
        sums[QS, j] += w0 * w0
        sums[QS + 1, j] += w0 * w1
        sums[QS + 2, j] += w1 * w1
        sums[NEWEST, j] = 0.0
        sums[NEWEST + 1, j] = 0.0


@njit(**FLAGS)
def ramp_append(hour, n, s, origin, groups, stop, meta, rowblock, starts, checkpoints, sums):  # fmt: skip
    """Add rows meta[ROWS] … stop − 1 (closed hours, oldest first) to the sums from the anchor
    on; a row in a new block ends the newest one and keeps the sums at the new one's start."""
    anchor = meta[ANCHOR_HOUR]
    for r in range(meta[ROWS], stop):
        block = np.int64(((hour[r] - origin) * HOUR) // BLOCK_SECONDS)
        if block != meta[NEWEST_BLOCK]:
            b = meta[BLOCKS]
            if b > meta[ANCHOR_BLOCK]:
                _end_block(sums)
            starts[b] = r
            checkpoints[b] = sums[:KEPT]
            meta[BLOCKS] = b + 1
            meta[NEWEST_BLOCK] = block
        rowblock[r] = meta[BLOCKS] - 1
        _add_row(hour, n, s, r, origin, anchor, groups, sums)
    meta[ROWS] = max(meta[ROWS], stop)


@njit(**FLAGS)
def ramp_rebuild(hour, n, s, origin, groups, size, meta, rowblock, starts, checkpoints, sums):  # fmt: skip
    """Anchor the sums at the first hour of the newest block and sum rows 0 … size − 1 again:
    back from the anchor (kept at each block's first row), then on from it (`ramp_append`)."""
    blocks = 0
    last = np.int64(NO_BLOCK)
    for r in range(size):
        block = np.int64(((hour[r] - origin) * HOUR) // BLOCK_SECONDS)
        if block != last:
            starts[blocks] = r
            blocks += 1
            last = block
        rowblock[r] = blocks - 1
    anchor_block = blocks - 1
    anchor_row = starts[anchor_block]
    anchor = hour[anchor_row] - origin
    meta[ANCHOR_ROW] = anchor_row
    meta[ANCHOR_BLOCK] = anchor_block
    meta[ANCHOR_HOUR] = anchor
    sums[:] = 0.0
    for r in range(anchor_row - 1, -1, -1):  # newest first: the sums from row r to the anchor
        _add_row(hour, n, s, r, origin, anchor, groups, sums)
        b = rowblock[r]
        if r == starts[b]:  # the block's first row: the block is whole
            _end_block(sums)
            checkpoints[b] = sums[:KEPT]
    sums[:] = 0.0
    meta[ROWS] = anchor_row
    meta[BLOCKS] = anchor_block
    meta[NEWEST_BLOCK] = NO_BLOCK
    ramp_append(hour, n, s, origin, groups, size, meta, rowblock, starts, checkpoints, sums)


@njit(**FLAGS)
def _first_inside(hour, size, ell):  # fmt: skip
    """The oldest row whose age (hours back from the end of the newest, to its middle) is < ell."""
    newest = hour[size - 1]
    lo, hi = 0, size - 1  # the newest row is always inside (age 0.5)
    while lo < hi:
        mid = (lo + hi) // 2
        if (newest + 1 - hour[mid]) - 0.5 < ell:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**FLAGS)
def _cut(hour, n, s, origin, groups, k, meta, rowblock, starts, win):  # fmt: skip
    """The rows from k to the end of k's block summed into `win`; returns the block after it
    (meta[BLOCKS] if k's block is the newest)."""
    b = rowblock[k]
    end = starts[b + 1] if b + 1 < meta[BLOCKS] else meta[ROWS]
    win[:KEPT] = 0.0
    for r in range(k, end):
        _add_row(hour, n, s, r, origin, meta[ANCHOR_HOUR], groups, win, False)
    return b + 1


@njit(**FLAGS)
def ramp_look(
    hour, n, s, origin, groups, size, again, meta, rowblock, starts, checkpoints, sums, lookbacks,
    reference_count, block_var, block_live, ref_blocks, out, best, pick,
):  # fmt: skip
    """Signed z per (onset, input) of a ramp with onset `lookbacks[g]` hours before the end of
    the newest closed hour (as `RampScan.evaluate_direct` has it) into `out`, and per input the
    z of largest magnitude into `best` and its onset's index into `pick` (the first of equals).

    Over the rows from the onset on: the rows of the block it cuts (`_cut`), plus, if that is
    not the newest block, the running sums less those kept at the next block's start (or plus
    them, for a block before the anchor); every sum is read once as cut + a·running + b·kept
    (`_from_onset`).
    First the rows up to `size` are added (`ramp_append`), or all summed `again`."""
    if again:
        ramp_rebuild(hour, n, s, origin, groups, size, meta, rowblock, starts, checkpoints, sums)
    else:
        ramp_append(hour, n, s, origin, groups, size, meta, rowblock, starts, checkpoints, sums)
    width = n.shape[1]
    per_count = 1.0 / reference_count
    win = np.empty((KEPT, width))
    cut = np.empty(width)
    live = np.empty(width)
    var = np.empty(width)
    since = float(hour[size - 1] - origin - meta[ANCHOR_HOUR])
    for g in range(lookbacks.shape[0]):
        ell = lookbacks[g]
        b = _cut(hour, n, s, origin, groups, _first_inside(hour, size, ell), meta, rowblock, starts, win)  # fmt: skip
        a = 1.0 if b < meta[BLOCKS] else 0.0  # the newest block is whole and apart
        back = -1.0 if b >= meta[ANCHOR_BLOCK] else 1.0
        kept = checkpoints[min(b, meta[BLOCKS] - 1)]
        back *= a
        u = since + 0.5 - ell  # the onset's time: a row's weight is t − u
        _from_onset(win, sums, kept, a, back, u, cut)
        for j in range(width):
            live[j] = win[2, j] - 2.0 * u * win[1, j] + u * u * win[0, j]  # the live parts' noise
            var[j] = live[j]
        for p in range(GROUPS):  # the reference's error in each group's mean
            for j in range(width):
                x = win[GT + p, j] - u * win[GN + p, j]
                var[j] += x * x * per_count[p, j]
        _blocks(win, sums, a, u, cut, block_var, block_live, ref_blocks, var)
        _onset_z(win, u, live, var, g, out, best, pick)


@njit(**FLAGS)
def _from_onset(win, sums, kept, a, back, u, cut):  # fmt: skip
    """Every kept sum over the rows from the onset on, in place in `win`: the rows of the block
    the onset cuts (there already, `_cut`) plus a·running + back·kept; first, that block's own
    Σ (t − u) n into `cut`."""
    for j in range(win.shape[1]):
        cut[j] = win[1, j] - u * win[0, j]
    for k in range(KEPT):
        for j in range(win.shape[1]):
            win[k, j] = win[k, j] + a * sums[k, j] + back * kept[k, j]


@njit(**FLAGS)
def _blocks(win, sums, a, u, cut, block_var, block_live, ref_blocks, var):  # fmt: skip
    """The live blocks' term and that of the blocks in the reference's mean, into `var`."""
    for j in range(win.shape[1]):
        if block_var[j] == 0.0 and block_live[j] == 0.0:
            continue
        q0, q1, q2 = win[QS, j], win[QS + 1, j], win[QS + 2, j]  # the whole blocks that ended
        y = a * (sums[NEWEST + 1, j] - u * sums[NEWEST, j])  # the newest, if whole and apart
        inside = q2 - 2.0 * u * q1 + u * u * q0 + cut[j] * cut[j] + y * y
        whole = win[1, j] - u * win[0, j]
        var[j] += block_live[j] * inside + block_var[j] * whole * whole / ref_blocks


@njit(**FLAGS)
def _onset_z(win, u, live, var, g, out, best, pick):  # fmt: skip
    """z = Σ w s / √variance (0 where no part or not a number) into out[g], and the best."""
    for j in range(win.shape[1]):
        z = 0.0
        if live[j] > 0:
            z = (win[4, j] - u * win[3, j]) / math.sqrt(var[j])
        if z != z:
            z = 0.0
        out[g, j] = z
        if g == 0 or abs(z) > abs(best[j]):
            best[j] = z
            pick[j] = g
