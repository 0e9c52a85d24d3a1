"""Drift and data-quality detectors, with thresholds calibrated from the reference itself.

Detectors (each gives a score = value / threshold per source, and an onset when it fires):

- `mean_shift` (slow drift): the mean of standardised residuals against the reference's
  hour-of-day profile over the last 24, 36 and 48 hours of production, as a z-score whose
  standard error counts both the live window and the finite reference. Shift and daily cycles that
  the reference already had are expected, so they do not move it; a drift of a few hundredths of
  an sd per day does, within days.
- `jump` (sudden change): two-sided CUSUM per part on the residuals, allowance half the jump to be
  caught; the decision interval comes from the reference residuals' own moment generating
  function (Siegmund), so heavy tails raise it rather than cause false alarms.
- `ks`, `psi` (distribution shape over the last W parts) from the maintained fine-bin counts,
  Wasserstein-1 shown alongside; thresholds from the finite-sample null (Kolmogorov, χ²) inflated
  by the reference's own block-to-block variability.
- `class_mix`, `conf` (via the `conf` column of every detector above).
- Data quality: `missing`, `out_of_range` (short EWMAs per part), `stuck` (a run of identical
  values longer than the reference ever had), `rejected` (malformed lines), `stale` (no data).

The false-alarm budget (`detection.false_alarms_per_year` per source) sets every threshold through
the number of effectively independent tests a year. All of it runs on the engine thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from console.config import Detection
from console.kernels import cusum_step, window_sums
from console.reference import COARSE_BINS, CONF, FINE_BINS, ReferenceProfile
from console.stats import BUCKET_COUNT, BUCKET_SECONDS, RollingWindow, TimeBuckets

SECONDS_PER_YEAR = 365.0 * 86400.0
PRIORITY = {
    "jump": "high",
    "mean_shift": "medium",
    "ks": "low",
    "psi": "low",
    "class_mix": "medium",
    "stuck": "high",
    "missing": "medium",
    "out_of_range": "medium",
    "rejected": "low",
    "stale": "high",
    "source": "medium",
    "missed_parts": "medium",
}


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


def _chi2_sf(q: float, dof: int) -> float:
    """Upper tail of χ² by the Wilson–Hilferty approximation (no scipy at run time)."""
    a = 2.0 / (9.0 * dof)
    z = ((q / dof) ** (1.0 / 3.0) - (1.0 - a)) / math.sqrt(a)
    return 1.0 - NormalDist().cdf(z)


def _solve(rate, budget: float, lo: float, hi: float) -> float:  # noqa: ANN001
    """The level at which the decreasing `rate(level)` equals `budget` (bisection)."""
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if rate(mid) > budget:
            lo = mid
        else:
            hi = mid
    return hi


def scan_threshold(budget: float, windows_hours: tuple[float, ...]) -> float:
    """z threshold for moving-window means evaluated continuously, two-sided, so that all
    windows together give `budget` false alarms a year: for a window of w hours the rate of
    exceeding u is about (hours a year / w) · u² · (1 − Φ(u)) (Pickands' asymptotics for the
    moving sum of a random walk, whose correlation falls linearly over the window)."""
    rate = sum(2.0 * 365.0 * 24.0 / w for w in windows_hours)
    normal = NormalDist()
    lo, hi = 2.0, 10.0
    for _ in range(60):
        u = 0.5 * (lo + hi)
        if rate * u * u * (1.0 - normal.cdf(u)) > budget:
            lo = u
        else:
            hi = u
    return hi


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
    parts_per_day = n / span * 86400.0 if span > 3600 else 5000.0
    budget = cfg.false_alarms_per_year
    windows = tuple(cfg.drift_windows_hours)
    z_mean = scan_threshold(budget, windows)
    resid = _residuals(profile, reference, ref_ts)
    mean_inflation = _block_inflation(resid, ref_ts, profile)
    # Jump: two one-sided CUSUMs per column.
    k = cfg.jump_sd / 2.0
    arl = 2.0 * parts_per_day * 365.0 / budget
    units = resid * (profile.phase_sd.mean(axis=0) / np.where(profile.sd > 0, profile.sd, 1.0))
    cusum_h = np.array(
        [
            math.log(arl) / min(_cusum_theta(units[:, j], k), _cusum_theta(-units[:, j], k))
            for j in range(units.shape[1])
        ]
    )
    # Shape over W parts, evaluated as the window slides: about parts-a-year / W windows, each
    # crossing its level u about u² times as often as one fixed window would (as for the means).
    windows_a_year = max(parts_per_day * 365.0 / window, 1.0)
    scale = 1.0 / window + 1.0 / max(n, 1)
    ks_level = _solve(
        lambda c: windows_a_year * 4 * c * c * 2 * math.exp(-2 * c * c), budget, 0.5, 6.0
    )
    ks_null = ks_level * math.sqrt(scale)
    psi_dof = COARSE_BINS - 1
    psi_null = (
        _solve(lambda q: windows_a_year * q * _chi2_sf(q, psi_dof), budget, 1.0, 400.0) * scale
    )
    ks_infl, psi_infl = _shape_inflation(profile, reference, window)
    classes = max(len(profile.classes), 2)
    class_psi = (
        _solve(lambda q: windows_a_year * q * _chi2_sf(q, classes - 1), budget, 1.0, 400.0) * scale
    )
    stuck = np.maximum(30, 3 * profile.longest_run)
    if cfg.stuck_parts:
        stuck = np.full_like(stuck, cfg.stuck_parts)
    return Calibration(
        z_mean=z_mean,
        mean_inflation=mean_inflation,
        cusum_k=k,
        cusum_h=cusum_h,
        ks=ks_null * ks_infl,
        psi=psi_null * psi_infl,
        class_psi=class_psi,
        stuck=stuck,
        parts_per_day=parts_per_day,
        windows_hours=windows,
    )


def _residuals(profile: ReferenceProfile, matrix: np.ndarray, ts: np.ndarray) -> np.ndarray:
    from console.reference import phase_of

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
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if excess(mid) < 0:
            lo = mid
        else:
            hi = mid
    return max(min(lo, gaussian), 1e-3)


def _shape_inflation(
    profile: ReferenceProfile, reference: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """KS and PSI of contiguous reference blocks against the rest, relative to the iid null."""
    n, width = reference.shape
    block = min(window, n // 4)
    if block < 200:
        return np.ones(width), np.ones(width)
    from console.stats import Binner

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
            psi_values.append(_psi(_coarse(p, profile, j), _coarse(q, profile, j)))
            scales.append(1.0 / a + 1.0 / b)
        if not ks_values:
            continue
        scales_arr = np.asarray(scales)
        ks_ratio[j] = math.sqrt(np.mean(np.square(ks_values) / scales_arr) / (math.pi**2 / 12))
        psi_ratio[j] = float(np.mean(np.asarray(psi_values) / scales_arr) / (COARSE_BINS - 1))
    return np.clip(ks_ratio, 1.0, 4.0), np.clip(psi_ratio, 1.0, 16.0)


def _coarse(fine: np.ndarray, profile: ReferenceProfile, column: int) -> np.ndarray:
    return np.bincount(profile.coarse_of_fine[column], weights=fine, minlength=COARSE_BINS)[
        :COARSE_BINS
    ]


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    p = np.maximum(p, 1e-4)
    q = np.maximum(q, 1e-4)
    return float(np.sum((p - q) * np.log(p / q)))


# --- detector state, evaluated by the engine --------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One detector's current verdict on one source: value, threshold, score = value/threshold."""

    detector: str
    source: str
    value: float
    threshold: float
    onset: float | None = None  # epoch seconds where the change is estimated to have begun

    @property
    def score(self) -> float:
        return self.value / self.threshold if self.threshold > 0 else 0.0


class ShapeDrift:
    """KS, PSI and Wasserstein-1 of the rolling window against the reference, per column."""

    def __init__(self, profile: ReferenceProfile, calibration: Calibration) -> None:
        self.profile = profile
        self.calibration = calibration
        self.ref_cdf = np.cumsum(profile.fine_props, axis=1)
        width = len(profile.columns)
        self.width = width
        self.coarse_index = (
            profile.coarse_of_fine + COARSE_BINS * np.arange(width)[:, None]
        ).ravel()
        self.coarse_ref = np.maximum(profile.coarse_props, 1e-4)
        # Width of each fine bin, the open ends bounded by the reference's min and max.
        widths = np.zeros((width, FINE_BINS))
        for j in range(width):
            k = int(profile.edge_count[j])
            if k == 0:
                continue
            bounds = np.concatenate([[profile.low[j]], profile.edges[j, :k], [profile.high[j]]])
            widths[j, : k + 1] = np.diff(bounds)
        self.widths = widths

    def evaluate(self, window: RollingWindow) -> dict[str, np.ndarray]:
        props = window.proportions()
        cdf = np.cumsum(props, axis=1)
        gap = np.abs(cdf - self.ref_cdf)
        ks = gap.max(axis=1)
        wasserstein = (gap * self.widths).sum(axis=1)
        coarse = np.bincount(
            self.coarse_index, weights=props.ravel(), minlength=self.width * COARSE_BINS
        )
        coarse = np.maximum(coarse.reshape(self.width, COARSE_BINS), 1e-4)
        psi = ((coarse - self.coarse_ref) * np.log(coarse / self.coarse_ref)).sum(axis=1)
        empty = window.count == 0
        ks[empty] = psi[empty] = wasserstein[empty] = 0.0
        return {"ks": ks, "psi": psi, "wasserstein": wasserstein}

    def class_mix(self, window: RollingWindow) -> float:
        counts = window.class_counts.astype(float)
        ref = self.profile.class_props
        size = max(counts.size, ref.size)
        p = np.zeros(size)
        q = np.zeros(size)
        p[: counts.size] = counts / max(counts.sum(), 1.0)
        q[: ref.size] = ref
        return _psi(p, q)


class JumpCusum:
    """Two-sided CUSUM per column over standardised residuals (engine thread)."""

    def __init__(
        self, profile: ReferenceProfile, calibration: Calibration, baseline_parts: float = 1000.0
    ) -> None:
        width = len(profile.columns)
        self.k = calibration.cusum_k
        self.h = calibration.cusum_h
        self.up = np.zeros(width)
        # The level a step is measured from: starts at the reference, follows the line slowly
        # (half-life `jump_baseline_parts`), so a slow drift is left to the mean-shift detector.
        self.base = np.zeros(width)
        self.rate = 1.0 - 0.5 ** (1.0 / baseline_parts)
        self.down = np.zeros(width)
        self.up_start = np.zeros(width, np.int64)  # index of the part after the last zero
        self.down_start = np.zeros(width, np.int64)
        self.units = profile.phase_sd / np.where(profile.sd > 0, profile.sd, 1.0)

    def update(self, scaled: np.ndarray, first_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance by a batch of residuals in sd units (`residuals` in console/kernels.py), in
        one compiled pass; per column the index of the first part at which either side
        crossed its decision interval (or -1), and where that run began."""
        width = scaled.shape[1]
        crossing = np.full(width, -1, np.int64)
        onset = np.full(width, -1, np.int64)
        self.peak = np.zeros(width)
        self.crossed, self.highest = cusum_step(
            scaled, float(self.k), self.h, self.base, self.rate, self.up, self.down,
            self.up_start, self.down_start, first_index, crossing, onset, self.peak,
        )  # fmt: skip
        return crossing, onset

    @property
    def score(self) -> np.ndarray:
        return np.maximum(self.up, self.down) / self.h


class MeanShift:
    """Windowed z-test of residual means (slow drift), evaluated when a time bucket closes."""

    def __init__(self, profile: ReferenceProfile, calibration: Calibration) -> None:
        self.calibration = calibration
        # The hourly profile's own sampling error, per hour: 1 / (reference values that hour).
        self.ref_var = 1.0 / np.maximum(profile.phase_count, 1.0)
        self.inflation = calibration.mean_inflation
        self.z = np.zeros(len(profile.columns))
        self.window_hours = np.zeros(len(profile.columns))

    def evaluate(self, buckets: TimeBuckets) -> np.ndarray:
        """Signed z with the largest magnitude over the windows, per column.

        For each window, z = (sum of residuals) / sqrt(parts + Σ_h parts_h² / reference_h):
        the live parts' own noise plus, hour by hour, the finite reference's error in what that
        hour should look like. The windows end now, so all come from one set of running sums
        taken from the newest bucket back. (Ramp weights that favour a steadily growing drift
        were tried and, with the higher threshold their extra tests need, found no faster.)"""
        self.z = np.zeros_like(self.z)
        self.window_hours = np.zeros_like(self.window_hours)
        if buckets.current is None:
            return self.z
        hours = np.asarray(self.calibration.windows_hours)
        lengths = np.minimum(np.rint(hours * 3600.0 / BUCKET_SECONDS).astype(np.intp), BUCKET_COUNT)
        s = buckets.slots(float(hours.max()))[::-1]  # newest first
        numbers = buckets.current - np.arange(s.size)
        phase = ((numbers * BUCKET_SECONDS) % 86400.0 // 3600.0).astype(np.intp)
        order = np.argsort(lengths)
        n = np.zeros((lengths.size, buckets.n.shape[1]))
        total = np.zeros_like(n)
        ref_var = np.zeros_like(n)
        window_sums(
            np.ascontiguousarray(s),
            phase,
            lengths[order],
            buckets.n,
            buckets.resid,
            self.ref_var,
            n,
            total,
            ref_var,
        )
        back = np.argsort(order)
        n, total, ref_var = n[back], total[back], ref_var[back]
        enough = n >= 0.25 * (hours / 24.0 * self.calibration.parts_per_day)[:, None]
        with np.errstate(all="ignore"):
            z = np.where(enough & (n > 0), total / (np.sqrt(n + ref_var) * self.inflation), 0.0)
        pick = np.argmax(np.abs(z), axis=0)
        columns = np.arange(z.shape[1])
        self.z = z[pick, columns]
        self.window_hours = np.where(self.z != 0, hours[pick], 0.0)
        return self.z

    def onset(self, buckets: TimeBuckets, column: int) -> float | None:
        """Change point of the residual mean: where the cumulative sum in the drift's direction
        was lowest over the longest window (the classic CUSUM change-point estimate)."""
        if buckets.current is None:
            return None
        hours = max(self.calibration.windows_hours) * 2
        s = buckets.slots(hours)
        sign = 1.0 if self.z[column] >= 0 else -1.0
        walk = np.cumsum(sign * buckets.resid[s, column])
        start = int(np.argmin(np.concatenate([[0.0], walk])))
        number = buckets.current - s.size + 1 + start
        return number * BUCKET_SECONDS


class DataQuality:
    """Short per-part EWMAs of missing and out-of-range values, and runs of identical values."""

    HALF_LIFE = 140.0  # parts: about 40 minutes of production at 5,000 a day

    def __init__(self, profile: ReferenceProfile, calibration: Calibration, cfg: Detection) -> None:
        width = len(profile.columns)
        self.profile = profile
        self.keep = 0.5 ** (1.0 / self.HALF_LIFE)
        self.missing = np.asarray(profile.missing_rate, dtype=float).copy()
        self.out_of_range = np.zeros(width)
        self.missing_limit = np.maximum(cfg.missing_fraction, 3.0 * profile.missing_rate)
        self.range_limit = cfg.out_of_range_fraction
        self.stuck_limit = calibration.stuck.astype(float)
        self.stuck_limit[profile.columns.index(CONF)] = np.inf

    def update(self, parts: int, missing: np.ndarray, outside: np.ndarray) -> None:
        """Fold in a batch of `parts` with these counts of missing and out-of-range values."""
        decay = self.keep**parts
        self.missing = decay * self.missing + (1 - decay) * missing / parts
        self.out_of_range = decay * self.out_of_range + (1 - decay) * outside / parts


class LineQuality:
    """EWMA of the fraction of rejected lines (per line, over every source)."""

    HALF_LIFE = 700.0

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.keep = 0.5 ** (1.0 / self.HALF_LIFE)
        self.fraction = 0.0

    def update(self, accepted: int, rejected: int) -> None:
        total = accepted + rejected
        if total:
            decay = self.keep**total
            self.fraction = decay * self.fraction + (1 - decay) * rejected / total
