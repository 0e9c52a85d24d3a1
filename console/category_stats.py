"""The statistics of category shares: χ² tests (goodness of fit, two-sample homogeneity), the
χ² tail probability, PSI of shares, the false-alarm level and the reference's over-dispersion.

Plain numpy and math (scipy is the tests' oracle, not a run-time dependency). Pure functions;
the engine thread runs them through console/detectors/categories.py.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-15
_TINY = 1e-300


def chi2_sf(q: float, dof: int) -> float:
    """P(χ²_dof ≥ q): the regularized upper incomplete gamma Q(dof/2, q/2) (series below the
    mean, Lentz's continued fraction above), accurate to ~1e-12."""
    if dof <= 0:
        return float("nan")
    if q <= 0.0:
        return 1.0
    a, x = 0.5 * dof, 0.5 * q
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return min(1.0, math.exp(log_front) * h)


def goodness_of_fit(counts: np.ndarray, shares: np.ndarray) -> tuple[float, float]:
    """Pearson's χ² of `counts` against the expected `shares` (summing to 1): (statistic,
    p-value), as `scipy.stats.chisquare(counts, counts.sum() * shares)`."""
    counts = np.asarray(counts, float)
    expected = counts.sum() * np.asarray(shares, float)
    stat = float(np.sum((counts - expected) ** 2 / expected))
    return stat, chi2_sf(stat, counts.size - 1)


def homogeneity(window: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Pearson's χ² of the 2 × K table (window counts, reference counts) over the categories
    either holds, and its degrees of freedom: the reference's own sampling error included.
    (As `scipy.stats.chi2_contingency(table, correction=False)`.)"""
    window = np.asarray(window, float)
    reference = np.asarray(reference, float)
    used = (window + reference) > 0
    a, b = window[used], reference[used]
    n_a, n_b = a.sum(), b.sum()
    if a.size < 2 or n_a <= 0 or n_b <= 0:
        return 0.0, max(a.size - 1, 0)
    pooled = (a + b) / (n_a + n_b)
    stat = np.sum((a - n_a * pooled) ** 2 / (n_a * pooled))
    stat += np.sum((b - n_b * pooled) ** 2 / (n_b * pooled))
    return float(stat), a.size - 1


def share_psi(window: np.ndarray, reference: np.ndarray) -> float:
    """PSI of the window's category shares against the reference's (floored at 1e-4)."""
    p = np.maximum(np.asarray(window, float) / max(float(np.sum(window)), 1.0), 1e-4)
    q = np.maximum(np.asarray(reference, float) / max(float(np.sum(reference)), 1.0), 1e-4)
    return float(np.sum((p - q) * np.log(p / q)))


def chi2_level(dof: int, windows_a_year: float, budget: float) -> float:
    """The χ² level that a window's test, repeated as the window slides, exceeds `budget` times
    a year on stable data (the same rule as the class mix, console/drift.py)."""
    if dof < 1:
        return math.inf
    lo, hi = 1.0, 20.0 * dof + 2000.0
    for _ in range(80):  # the rate falls with the level beyond the mode: bisect for `budget`
        mid = 0.5 * (lo + hi)
        if windows_a_year * mid * chi2_sf(mid, dof) > budget:
            lo = mid
        else:
            hi = mid
    return hi


def over_dispersion(
    codes: np.ndarray, ts: np.ndarray, categories: np.ndarray, block_seconds: float
) -> float:
    """How much more the shares of blocks of `block_seconds` vary than independent parts would
    (≥ 1): the mean χ² per degree of freedom of each block of the reference against the whole,
    where it shows beyond two standard errors with at least 12 blocks (a line whose mix follows
    the shift must not alarm on it)."""
    present = ~np.isnan(codes)
    codes, ts = codes[present], ts[present]
    if categories.size < 2 or codes.size == 0:
        return 1.0
    local = np.searchsorted(categories, codes)
    shares = np.bincount(local, minlength=categories.size) / codes.size
    hours = (ts // block_seconds).astype(np.int64)
    blocks, index = np.unique(hours, return_inverse=True)
    ratios = []
    dof = categories.size - 1
    for b in range(blocks.size):
        counts = np.bincount(local[index == b], minlength=categories.size)
        if counts.sum() >= 30:
            ratios.append(goodness_of_fit(counts, shares)[0] / dof)
    if len(ratios) < 12:
        return 1.0
    ratio = float(np.mean(ratios))
    significant = ratio > 1.0 + 2.0 * math.sqrt(2.0 / (len(ratios) * dof))
    return float(np.clip(ratio, 1.0, 5.0)) if significant else 1.0
