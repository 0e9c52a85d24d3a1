"""Thresholds of every drift and data-quality detector, calibrated from the reference itself.

The detectors themselves are in `console/detectors/` (one module per family); this module derives
what they compare against from the reference records (`calibrate`):

- `mean_shift`: the z level of moving-window means evaluated continuously (`scan_threshold`),
  and how much more hour-block means vary than independent parts would (shift-level effects).
- `jump`: the CUSUM allowance (half the jump to be caught) and decision interval, from the
  reference residuals' own moment generating function (Siegmund), so heavy tails raise it rather
  than cause false alarms.
- `ks`, `psi`, `class_mix`: the finite-sample null (Kolmogorov, χ²) inflated by the reference's
  own block-to-block variability.
- `stuck`: three times the longest run of identical values the reference had (at least 30).

The false-alarm budget (`detection.false_alarms_per_year` per input, shared among its detectors by
`console/budget.py`) sets every threshold through the number of effectively independent tests a
year. Runs on the engine thread, once per reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from console.budget import share
from console.config import Detection
from console.reference import COARSE_BINS, FINE_BINS, ReferenceProfile, phase_of
from console.stats import Binner

SECONDS_PER_YEAR = 365.0 * 86400.0


@dataclass(frozen=True)
class Calibration:
    """Thresholds for one reference, window and false-alarm budget (read-only)."""

    z_mean: float
    mean_inflation: np.ndarray  # per column
    cusum_k: float
    cusum_h: np.ndarray  # per column, in sd units
    ks: np.ndarray
    psi: np.ndarray
    class_psi: float
    stuck: np.ndarray
    parts_per_day: float
    windows_hours: tuple[float, ...]
    # Variance of a shift-long (8 h) block effect on the residual mean, per column (residual sd²
    # units), and the blocks behind each hour's reference mean, which carries block_var / ref_blocks.
    block_var: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ref_blocks: float = 1.0
    # Share of the reference's records that count as independent, per column
    # (console/reference_health.py); the mean-drift detectors scale its counts by it.
    effective: np.ndarray = field(default_factory=lambda: np.ones(0))
    # The level, in sd of a normal statistic, of a window's view evaluated as it slides
    # (KS's share of the budget): what a shift-to-shift effect on the window may reach.
    window_gauss: float = 0.0
    # The reference's own estimate of τ² (not floored), a block mean's noise and the degrees
    # of freedom behind them (`block_variance`); block_var is their upper bound (`block_bound`).
    block_dof: float = 1.0
    block_estimate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    block_noise: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Where the shift-long blocks begin, seconds after midnight modulo 8 h (`shift_origin`):
    # production's first hour after the night, so that a block is a shift, not parts of two.
    block_origin: float = 0.0
    # τ² for the live blocks' term (fresh at every look): the pooled point estimate, floored at
    # 0; block_var (the bound) stays on the reference-bias term, drawn once and shared by looks.
    block_live: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def reference_counts(self, counts: np.ndarray) -> np.ndarray:
        """Reference counts (…, columns) as effectively independent records."""
        share = self.effective if self.effective.size else 1.0
        return np.maximum(counts * share, 1.0)


def _chi2_sf(q: float, dof: int) -> float:
    """Upper tail of χ² by the Wilson–Hilferty approximation (no scipy at run time)."""
    a = 2.0 / (9.0 * dof)
    z = ((q / dof) ** (1.0 / 3.0) - (1.0 - a)) / math.sqrt(a)
    return 1.0 - NormalDist().cdf(z)


def _bisect(
    above: Callable[[float], bool], lo: float, hi: float, steps: int
) -> tuple[float, float]:
    """Narrow [lo, hi] around where `above` turns false (true below, false above)."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if above(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


def _solve(rate: Callable[[float], float], budget: float, lo: float, hi: float) -> float:
    """The level at which the decreasing `rate(level)` equals `budget`."""
    return _bisect(lambda level: rate(level) > budget, lo, hi, 80)[1]


def scan_threshold(budget: float, windows_hours: tuple[float, ...]) -> float:
    """z threshold for moving-window means evaluated continuously, two-sided, so that all
    windows together give `budget` false alarms a year: for a window of w hours the rate of
    exceeding u is about (hours a year / w) · u² · (1 − Φ(u)) (Pickands' asymptotics for the
    moving sum of a random walk, whose correlation falls linearly over the window)."""
    rate = sum(2.0 * 365.0 * 24.0 / w for w in windows_hours)
    normal = NormalDist()
    return _bisect(lambda u: rate * u * u * (1.0 - normal.cdf(u)) > budget, 2.0, 10.0, 60)[1]


def calibrate(
    profile: ReferenceProfile,
    reference: np.ndarray,
    ref_ts: np.ndarray,
    window: int,
    cfg: Detection,
) -> Calibration:
    """Derive every threshold from the reference records (`reference`: rows × columns)."""
    n = profile.n
    span = profile.span_seconds
    # The reference's own rate (no line speed assumed); a reference of a few minutes counts
    # as ten, so that a burst does not claim millions of parts a day.
    parts_per_day = n / max(span, 600.0) * 86400.0
    budget = cfg.false_alarms_per_year  # per input, all its detectors (console/budget.py)
    windows = tuple(cfg.drift_windows_hours)
    z_mean = scan_threshold(share(budget, "mean_shift"), windows)
    resid = standardised(profile, reference, ref_ts)
    mean_inflation = _block_inflation(resid, ref_ts, profile)
    # Jump: two one-sided CUSUMs per column.
    k = cfg.jump_sd / 2.0
    arl = 2.0 * parts_per_day * 365.0 / share(budget, "jump")
    units = resid * (profile.phase_sd.mean(axis=0) / np.where(profile.sd > 0, profile.sd, 1.0))
    cusum_h = np.array(
        [
            math.log(arl) / min(_cusum_theta(units[:, j], k), _cusum_theta(-units[:, j], k))
            for j in range(units.shape[1])
        ]
    )
    windows_a_year = max(parts_per_day * 365.0 / window, 1.0)
    scale = 1.0 / window + 1.0 / max(n, 1)
    ks, psi_level = _shape_levels(profile, reference, window, windows_a_year, budget)
    classes = max(len(profile.classes), 2)
    class_psi = (
        _solve(lambda q: windows_a_year * q * _chi2_sf(q, classes - 1), budget, 1.0, 400.0) * scale
    )
    stuck = np.maximum(30, 3 * profile.longest_run)
    origin = shift_origin(ref_ts)
    estimate, noise, dof = block_variance(resid, ref_ts, profile, origin)
    if cfg.stuck_parts:
        stuck = np.full_like(stuck, cfg.stuck_parts)
    return Calibration(
        z_mean=z_mean,
        mean_inflation=mean_inflation,
        cusum_k=k,
        cusum_h=cusum_h,
        ks=ks,
        psi=psi_level,
        class_psi=class_psi,
        stuck=stuck,
        parts_per_day=parts_per_day,
        windows_hours=windows,
        block_var=block_bound(estimate, noise, dof),
        ref_blocks=_reference_blocks(ref_ts, origin),
        window_gauss=window_level(windows_a_year, share(budget, "ks")),
        block_dof=dof,
        block_estimate=estimate,
        block_noise=noise,
        block_origin=origin,
        block_live=np.maximum(estimate, 0.0),
    )


def standardised(profile: ReferenceProfile, matrix: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Residuals against the hour-of-day profile, in each hour's sd (NaN where missing)."""
    phase = phase_of(ts)
    return (matrix - profile.phase_mean[phase]) / profile.phase_sd[phase]


def _block_inflation(resid: np.ndarray, ts: np.ndarray, profile: ReferenceProfile) -> np.ndarray:
    """How much more hour-block means vary than independent parts would (≥ 1 per column).

    Captures shift-level effects and autocorrelation the hour-of-day profile does not explain.
    With a phased profile each hour's mean was fitted on `days` blocks, which shrinks the spread
    by (days - 1) / days; that is undone.
    """
    hours = (ts // 3600.0).astype(np.int64)
    blocks = np.unique(hours)
    width = resid.shape[1]
    if blocks.size < 12:
        return np.ones(width)
    index = np.searchsorted(blocks, hours)
    present = ~np.isnan(resid)
    filled = np.where(present, resid, 0.0)
    ratio = np.ones(width)
    dof = np.zeros(width)
    for j in range(width):
        n_b = np.bincount(index, weights=present[:, j], minlength=blocks.size)
        s_b = np.bincount(index, weights=filled[:, j], minlength=blocks.size)
        ok = n_b >= 20
        if ok.sum() < 12:
            continue
        z = s_b[ok] / np.sqrt(n_b[ok])  # ~N(0, 1) for independent unit residuals
        ratio[j] = float(np.mean(z**2))
        dof[j] = ok.sum()
    if profile.phased:
        days = max(profile.span_seconds / 86400.0, 1.0)
        if days >= 2:
            ratio *= days / (days - 1.0)
            dof *= (days - 1.0) / days
    # Inflate only where the reference shows real over-dispersion: beyond two standard errors
    # of a variance ratio estimated on `dof` blocks. A short reference cannot show it, and
    # a noisy estimate must not blunt the detector at random.
    significant = ratio > 1.0 + 2.0 * np.sqrt(2.0 / np.maximum(dof, 1.0))
    return np.clip(np.where(significant, np.sqrt(ratio), 1.0), 1.0, 3.0)


BLOCK_SECONDS = 8 * 3600.0  # a shift


def shift_origin(ts: np.ndarray) -> float:
    """Where shifts begin, in seconds after midnight modulo `BLOCK_SECONDS`: the first hour of
    production after the longest daily stretch without it (a line that stops at night starts
    its first shift in the morning), midnight for a line that runs round the clock. Blocks on a
    grid that cuts every shift in two would see only part of each shift's effect."""
    if ts.size == 0:
        return 0.0
    counts = np.bincount(((ts % 86400.0) // 3600.0).astype(np.intp), minlength=24)[:24]
    idle = counts < 0.05 * counts.max()
    if not idle.any() or idle.all():
        return 0.0
    # The hour after the end of the longest circular run of idle hours.
    best, start, run = 0, 0, 0
    for h in range(48):
        run = run + 1 if idle[h % 24] else 0
        if run > best:
            best, start = min(run, 24), (h + 1) % 24
    return float(start * 3600.0 % BLOCK_SECONDS)


def block_of(ts: np.ndarray, origin: float) -> np.ndarray:
    """Index of the shift-long block of each time `ts` (epoch seconds), blocks from `origin`."""
    return (ts - origin) // BLOCK_SECONDS


def block_variance(
    resid: np.ndarray, ts: np.ndarray, profile: ReferenceProfile, origin: float = 0.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """The reference's moment estimate of τ², the variance of a shift-long block effect on the
    residual mean, per column (NOT floored: E[s_b²] = n_b + n_b² τ² for a block of n_b parts
    summing to s_b), the block mean's own noise beside it (Σ n_b / Σ n_b², what a block mean
    varies with no effect), and their degrees of freedom. With an hour-of-day profile fitted on
    D days, residual blocks keep (1 − 1/D) of both, which is undone, and of the blocks − 1
    degrees of freedom only (1 − 1/D) are left. `block_bound` turns them into the τ² used."""
    blocks = block_of(ts, origin).astype(np.int64)
    unique, index = np.unique(blocks, return_inverse=True)
    present = ~np.isnan(resid)
    filled = np.where(present, resid, 0.0)
    width = resid.shape[1]
    estimate = np.zeros(width)
    noise = np.zeros(width)
    for j in range(width):
        n_b = np.bincount(index, weights=present[:, j])
        s_b = np.bincount(index, weights=filled[:, j])
        square = float(np.sum(n_b**2))
        if square <= 0:
            continue
        estimate[j] = float(np.sum(s_b**2 - n_b)) / square
        noise[j] = float(np.sum(n_b)) / square
    dof = float(max(unique.size - 1, 1))
    days = profile.span_seconds / 86400.0
    if profile.phased and days >= 2:
        estimate *= days / (days - 1.0)
        noise *= days / (days - 1.0)
        dof = max(dof * (days - 1.0) / days, 1.0)
    return estimate, noise, dof


def block_bound(estimate: np.ndarray, noise: np.ndarray, dof: np.ndarray | float) -> np.ndarray:
    """The τ² the drift statistics allow for: the upper bound (about two standard errors) of an
    effect estimated on `dof` degrees of freedom. The block means' mean square estimates τ² +
    noise and may be 1 + 2 √(2 / dof) times what it showed; less the noise, that is τ² + (factor −
    1) · (τ² + noise). So a reference of a few shifts that showed no effect still allows for the
    effects it cannot rule out (about one block mean's noise on 6 blocks), and the allowance
    shrinks as live shifts come in (`console/shift_effects.py`) — in shifts, not parts."""
    factor = 1.0 + 2.0 * np.sqrt(2.0 / np.maximum(dof, 1.0))
    return np.maximum(factor * (estimate + noise) - noise, 0.0)


def _reference_blocks(ts: np.ndarray, origin: float) -> float:
    """Independent block effects behind the reference's means over a window of a day or more:
    its shift-long blocks. With an hour-of-day profile each hour's mean carries the effects of
    only the days it covers, but the hours of different shifts carry different shifts' effects,
    so over the hours of a day (the windows that matter) the blocks count (counting days made
    this term two or three times too large)."""
    return float(max(np.unique(block_of(ts, origin)).size, 1))


def _cusum_theta(values: np.ndarray, k: float) -> float:
    """θ* > 0 with mean(exp(θ (x - k))) = 1 on the reference; the Gaussian value if smaller."""
    x = values[~np.isnan(values)]
    if x.size < 50:
        return 2.0 * k
    var = max(float(np.var(x)), 1e-12)
    gaussian = 2.0 * k / var
    y = x - k

    def excess(theta: float) -> float:
        top = theta * y
        peak = top.max()
        return peak + math.log(np.mean(np.exp(top - peak)))

    lo, hi = 1e-6, max(gaussian * 4, 1.0)
    if excess(hi) < 0:
        return gaussian
    lo, _ = _bisect(lambda theta: excess(theta) < 0, lo, hi, 60)
    return max(min(lo, gaussian), 1e-3)


def _shape_inflation(
    profile: ReferenceProfile, reference: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """KS and PSI of contiguous reference blocks against the rest, relative to the iid null."""
    n, width = reference.shape
    block = min(window, n // 4)
    if block < 200:
        return np.ones(width), np.ones(width)
    bins = Binner(profile).bins(reference)
    ks_ratio = np.ones(width)
    psi_ratio = np.ones(width)
    starts = range(0, n - block + 1, max(block // 2, 1))
    for j in range(width):
        total = np.bincount(bins[:, j], minlength=FINE_BINS + 1)[:FINE_BINS]
        ks_values, psi_values, scales = [], [], []
        for start in starts:
            part = np.bincount(bins[start : start + block, j], minlength=FINE_BINS + 1)[:FINE_BINS]
            rest = total - part
            a, b = part.sum(), rest.sum()
            if a < 50 or b < 50:
                continue
            p, q = part / a, rest / b
            ks_values.append(np.abs(np.cumsum(p) - np.cumsum(q)).max())
            psi_values.append(psi(_coarse(p, profile, j), _coarse(q, profile, j)))
            scales.append(1.0 / a + 1.0 / b)
        if not ks_values:
            continue
        scales_arr = np.asarray(scales)
        ks_ratio[j] = math.sqrt(np.mean(np.square(ks_values) / scales_arr) / (math.pi**2 / 12))
        psi_ratio[j] = float(np.mean(np.asarray(psi_values) / scales_arr) / (COARSE_BINS - 1))
    return np.clip(ks_ratio, 1.0, 12.0), np.clip(psi_ratio, 1.0, 144.0)


def _shape_levels(
    profile: ReferenceProfile,
    reference: np.ndarray,
    window: int,
    windows_a_year: float,
    budget: float,
) -> tuple[np.ndarray, np.ndarray]:
    """KS and PSI levels per column for a window of W parts evaluated as it slides."""
    n = profile.n
    # About parts-a-year / W windows, each crossing its level u about u² times as often as one
    # fixed window would (as for the means). The reference's own error is drawn once and stays:
    # it is not fresh noise at every look. KS (a distance) and √PSI (about one) are at most the
    # window's distance from the process plus the reference's, so the level is the sum of the
    # window's level over the year's looks and the reference's for one draw, half the budget
    # each.
    scale = 1.0 / window + 1.0 / max(n, 1)
    ks_budget, psi_budget = share(budget, "ks"), share(budget, "psi")
    ks_level = _solve(
        lambda c: windows_a_year * 4 * c * c * 2 * math.exp(-2 * c * c), ks_budget / 2, 0.5, 6.0
    )
    ks_once = _solve(lambda c: 2 * math.exp(-2 * c * c), ks_budget / 2, 0.5, 6.0)
    ks_null = ks_level / math.sqrt(window) + ks_once / math.sqrt(max(n, 1))
    psi_dof = COARSE_BINS - 1
    psi_window = _solve(lambda q: windows_a_year * q * _chi2_sf(q, psi_dof), psi_budget / 2, 1, 400)
    psi_once = _solve(lambda q: _chi2_sf(q, psi_dof), psi_budget / 2, 1.0, 400.0)
    psi_null = (math.sqrt(psi_window / window) + math.sqrt(psi_once / max(n, 1))) ** 2
    ks_infl, psi_infl = _shape_inflation(profile, reference, window)
    # Where block effects dominate, the window's KS and PSI follow those effects (about normal,
    # and squared for PSI), not the finite-sample null's tails: their level in the effect's
    # own RMS, for windows_a_year continuously evaluated windows.
    ks_rms = math.sqrt(math.pi**2 / 12.0 * scale)  # iid RMS of a block's KS
    gauss = window_level(windows_a_year, ks_budget)
    ks = np.maximum(ks_null * ks_infl, _block_level(ks_infl, ks_rms, 2.0, gauss))
    psi_block = _block_level(psi_infl, scale * psi_dof, 4.0, gauss**2)
    return ks, np.maximum(psi_null * psi_infl, psi_block)


def window_level(windows_a_year: float, budget: float) -> float:
    """The level, in sd, of a normal statistic of a window evaluated as it slides, about
    `windows_a_year` windows a year, for `budget` crossings a year (either side)."""
    return _solve(
        lambda u: windows_a_year * u * u * 2.0 * (1.0 - NormalDist().cdf(u)), budget, 1.0, 12.0
    )


def _block_level(
    inflation: np.ndarray, iid_rms: float, dominant: float, level: float
) -> np.ndarray:
    """Where the inflation (a ratio of RMS for KS, of means for PSI) shows that block effects
    dominate (≥ `dominant`), `level` times the reference blocks' own RMS (mean for PSI); else 0."""
    return np.where(inflation >= dominant, level * inflation * iid_rms, 0.0)


def _coarse(fine: np.ndarray, profile: ReferenceProfile, column: int) -> np.ndarray:
    return np.bincount(profile.coarse_of_fine[column], weights=fine, minlength=COARSE_BINS)[
        :COARSE_BINS
    ]


def psi(p: np.ndarray, q: np.ndarray) -> float:
    """Population stability index of proportions `p` against `q` (floored at 1e-4)."""
    p = np.maximum(p, 1e-4)
    q = np.maximum(q, 1e-4)
    return float(np.sum((p - q) * np.log(p / q)))
