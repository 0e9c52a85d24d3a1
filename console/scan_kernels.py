"""Compiled scans over the hourly sums of the missing-rate detector and of the window (numba).

`hour_sums` and `missing_counts` add a batch's residuals, or its missing values, to the open
hour in one pass; `hours_add` cuts a batch where its clock hour changes, closes hours and
gives each part to one of them (the ramp scan's sums over the hours are console/ramp_kernels.py).
`missing_windows` reads the missing-rate detector's windows off its hours. They hold no state of
their own; the detectors own the arrays, and tests keep each kernel equal to the plain form it
replaces (tests/test_scan_kernels.py). `shape_scan` is the KS/PSI view of the window's fine-bin
counts in one pass per input. Engine thread; they release the GIL.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from console.kernels import FLAGS


@njit(**FLAGS)
def hour_sums(part, open_n, open_s):  # fmt: skip
    """Add a batch's values (rows × inputs, NaN = missing) to the open hour: count and sum (a
    missing value adds 0, without a branch: the loop is vectorised, and the sums are the same)."""
    for i in range(part.shape[0]):
        for j in range(part.shape[1]):
            x = part[i, j]
            seen = x == x
            open_n[j] += 1.0 if seen else 0.0
            open_s[j] += x if seen else 0.0


@njit(**FLAGS)
def missing_counts(part, open_n, open_s):  # fmt: skip
    """Add a batch to the open hour of the missing-rate test: values seen, and missing."""
    rows = part.shape[0]
    for j in range(part.shape[1]):
        open_n[j] += rows
    for i in range(rows):  # a row at a time: the counts are whole numbers, in any order the same
        for j in range(part.shape[1]):
            x = part[i, j]
            open_s[j] += 1.0 if x != x else 0.0


@njit(**FLAGS)
def hours_add(part, ts, first, whole, missing, hour, n, s, size, open_hour, open_n, open_s):  # fmt: skip
    """Add a batch to the sums per clock hour (`console.detectors.ramp.HourSums.add`): all of
    it to hour `first` if `whole` (it lies within one hour), else cut where `floor(ts / HOUR)`
    changes, in the batch's order. The open hour's count and sum take it (`missing_counts` if
    `missing`, else `hour_sums`); another hour closes the open one first (`_hour_close`).
    Returns (size, open hour, hours closed)."""
    closed = 0
    rows = part.shape[0]
    begin = 0
    while begin < rows:
        h = first
        end = rows
        if not whole:
            h = np.int64(math.floor(ts[begin] / 3600.0))
            end = begin + 1
            while end < rows and np.int64(math.floor(ts[end] / 3600.0)) == h:
                end += 1
        if h != open_hour:
            size, stored = _hour_close(hour, n, s, size, open_hour, open_n, open_s)
            closed += stored
            open_hour = h
        if missing:
            missing_counts(part[begin:end], open_n, open_s)
        else:
            hour_sums(part[begin:end], open_n, open_s)
        begin = end
    return size, open_hour, closed


@njit(**FLAGS)
def _hour_close(hour, n, s, size, open_hour, open_n, open_s):  # fmt: skip
    """Store the open hour if it saw a value (the ring, when full, keeps its newer half first)
    and start it again at 0; returns (size, whether it was stored)."""
    seen = False
    for j in range(open_n.shape[0]):
        if open_n[j] != 0.0:
            seen = True
    if open_hour < 0 or not seen:
        return size, False
    if size == hour.shape[0]:
        keep = size // 2
        hour[:keep] = hour[size - keep : size].copy()
        n[:keep] = n[size - keep : size].copy()
        s[:keep] = s[size - keep : size].copy()
        size = keep
    hour[size] = open_hour
    n[size] = open_n
    s[size] = open_s
    open_n[:] = 0.0
    open_s[:] = 0.0
    return size + 1, True


@njit(**FLAGS)
def missing_windows(hour, n, s, size, windows, ref_missing, ref_parts, z_out, rate_out):  # fmt: skip
    """The missing-rate test's best window per input (`MissingRateDetector._evaluate`): the
    signed root of the binomial likelihood ratio (`rise_z`) of the missing values over the
    newest `windows[w]` hours against the reference's, the largest over the windows into
    `z_out`, and that window's missing share into `rate_out`."""
    width = n.shape[1]
    parts = np.zeros(width)
    missing = np.zeros(width)
    newest = hour[size - 1]
    r = size - 1
    for w in range(windows.shape[0]):
        while r >= 0 and newest - hour[r] < windows[w]:
            for j in range(width):
                parts[j] += n[r, j]
                missing[j] += s[r, j]
            r -= 1
        for j in range(width):
            z = _rise_z(missing[j], parts[j], ref_missing[j], ref_parts)
            if w == 0 or z > z_out[j]:
                z_out[j] = z
                rate = missing[j] / parts[j] if parts[j] != 0.0 else 0.0
                rate_out[j] = rate if rate == rate else 0.0


@njit(**FLAGS)
def _rise_z(missing, parts, ref_missing, ref_parts):  # fmt: skip
    total = missing + ref_missing
    q = parts / (parts + ref_parts)
    expected = total * q
    a = missing * math.log(missing / expected) if missing > 0 else 0.0
    rest = total - missing
    b = rest * math.log(rest / (total - expected)) if rest > 0 else 0.0
    z = math.sqrt(max(2.0 * (a + b), 0.0))
    if z != z:
        return 0.0
    if z > 1.7976931348623157e308:
        z = 1.7976931348623157e308
    return z if missing > expected else -z


@njit(**FLAGS)
def shape_scan(
    hist, fine_bins, count, ref_cdf, widths, coarse_of_fine, coarse_ref, ks, psi, wasserstein,
):  # fmt: skip
    """KS, PSI and Wasserstein-1 of the window's fine-bin counts (`hist`, inputs × bins + the
    missing slot) against the reference, per input, in one pass over the bins
    (`ShapeDrift.evaluate`); an input with no value in the window reads 0."""
    width = hist.shape[0]
    bins = coarse_ref.shape[1]
    coarse = np.empty(bins)
    terms = np.empty(bins)
    props = np.empty(fine_bins)
    for j in range(width):
        total = 0.0
        for b in range(fine_bins):
            total += hist[j, b]
        for b in range(fine_bins):  # the divisions in a pass of their own (side by side)
            props[b] = hist[j, b] / total if total > 0 else 0.0
        for c in range(bins):
            coarse[c] = 0.0
        cdf = 0.0
        top = 0.0
        unknown = False  # a NaN gap makes the KS NaN, as numpy's max would
        area = 0.0
        # The coarse bin's running share in a register while the fine bins stay in it (a
        # store and a load per bin made a chain through memory); the same additions in order.
        here = coarse_of_fine[j, 0]
        share = 0.0
        for b in range(fine_bins):
            p = props[b]
            cdf += p
            gap = abs(cdf - ref_cdf[j, b])
            if gap != gap:
                unknown = True
            elif gap > top:
                top = gap
            area += gap * widths[j, b]
            c = coarse_of_fine[j, b]
            if c != here:
                coarse[here] = share
                here = c
                share = coarse[c]
            share += p
        coarse[here] = share
        for c in range(bins):
            share = max(coarse[c], 1e-4)
            terms[c] = (share - coarse_ref[j, c]) * math.log(share / coarse_ref[j, c])
        if count[j] == 0:
            ks[j] = psi[j] = wasserstein[j] = 0.0
        else:
            ks[j] = np.nan if unknown else top
            psi[j] = _pairwise(terms)
            wasserstein[j] = area


@njit(**FLAGS)
def shift_margins(block_var, spread, level, ks, psi, out_ks, out_psi):  # fmt: skip
    """KS and PSI levels raised for shift effects (`ShiftMargin.thresholds`), as its numpy
    form computes them: reach = level · √(τ² · spread), KS + 0.4 · reach, (√PSI + reach)²."""
    for j in range(block_var.shape[0]):
        reach = level * math.sqrt(block_var[j] * spread)
        out_ks[j] = ks[j] + 0.4 * reach
        x = math.sqrt(psi[j]) + reach
        out_psi[j] = x * x


@njit(**FLAGS)
def _pairwise(a):  # fmt: skip
    """Sum in numpy's order for up to 128 numbers (eight partial sums), so values match it."""
    n = a.shape[0]
    if n < 8:
        out = 0.0
        for i in range(n):
            out += a[i]
        return out
    r = a[:8].copy()
    whole = n - n % 8
    for i in range(8, whole, 8):
        for k in range(8):
            r[k] += a[i + k]
    out = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(whole, n):
        out += a[i]
    return out


@njit(**FLAGS)
def mean_shift_z(
    n, total, ref_var, back, enough, block_var, block_live, factor, ref_share, inflation, hours, z,
    held,
):  # fmt: skip
    """The mean-shift z per window and input (`MeanShift.evaluate`) from the window sums
    (rows shortest window first; `back[w]` is window w's row), and per input the z of the
    largest magnitude (numpy's argmax: the first largest, the first NaN) into `z`, its
    window's hours into `held` (0 where z is 0). Block effects: τ² `block_live` on the live
    blocks (`factor[w]` per window), `block_var` on the reference's mean (`ref_share`)."""
    width = n.shape[1]
    for j in range(width):
        pick = -1
        best = 0.0
        value = 0.0
        for w in range(back.shape[0]):
            k = back[w]
            c = n[k, j]
            zw = 0.0
            if c >= enough[w] and c > 0:
                blocks = (block_live[j] * factor[w] + block_var[j] * ref_share) * (c * c)
                zw = total[k, j] / (math.sqrt(c + ref_var[k, j] + blocks) * inflation[j])
            size = abs(zw)
            if pick < 0 or size > best or size != size:
                pick, best, value = w, size, zw
                if size != size:
                    break
        z[j] = value
        held[j] = hours[pick] if value != 0 else 0.0
