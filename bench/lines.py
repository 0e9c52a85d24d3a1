"""A family of randomised production lines, unlike the simulator, for the detection study.

`draw_line(rng)` draws one line's design: 4–64 inputs, 500–50,000 parts a day, production round
the clock or in two 8-hour shifts (06:00–22:00, nothing at night), daily cycles of 0–1.2 sd on
some inputs, shift offsets fixed or drawn per day, a 2–10 day reference, a slow linear drift of
0.5–1.5 sd over 2–8 weeks in 1–3 inputs (sd = the input's part-to-part noise), optional rising
missingness. `LineData` generates its records day by day as `RecordBatch`es, which go straight
into the engine (no JSON round trip, so the study is fast).

`ramp_limit` is the STATISTICAL LIMIT of a line: the earliest time a matched test that knows the
onset, the drifting input and the ramp's shape (a linear ramp on the residual means, its sign
included) could alarm at the same false-alarm budget, counting the reference's sampling error.
`daily_ks` and `mean_z24` are the two peers. Main thread only; never imported by console/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from console.records import RecordBatch

DAY = 86400.0
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
CLASSES = ("ok", "defect")


@dataclass(frozen=True)
class Drift:
    column: int
    size: float  # signed, in part-to-part sd, reached after `days`
    days: float


@dataclass(frozen=True)
class LineDesign:
    """One randomised line (see the module docstring)."""

    seed: int
    inputs: int
    parts_per_day: float
    night_gap: bool
    cycle: np.ndarray  # amplitude (sd) of a daily cycle per input
    cycle_phase: np.ndarray
    shift_fixed: np.ndarray  # (shifts, inputs) fixed offsets per shift
    shift_daily_sd: np.ndarray  # per input: sd of a shift offset drawn anew every shift
    reference_days: float
    onset_day: float  # days after the reference ends
    drifts: tuple[Drift, ...] = ()
    missing_base: np.ndarray = field(default_factory=lambda: np.zeros(0))
    missing_rise: tuple[int, float, float] | None = None  # column, rate reached, over days

    @property
    def hours(self) -> tuple[float, float]:
        return (6.0, 22.0) if self.night_gap else (0.0, 24.0)

    def describe(self) -> str:
        drift = ", ".join(f"x{d.column} {d.size:+.2f} sd/{d.days:.0f} d" for d in self.drifts)
        return (
            f"{self.inputs} inputs, {self.parts_per_day:,.0f}/day, "
            f"{'06-22' if self.night_gap else '24 h'}, ref {self.reference_days:g} d"
            + (f", drift {drift}" if drift else "")
        )


def draw_line(seed: int, *, drift: bool = True, max_inputs: int = 64) -> LineDesign:
    """One line of the family, reproducible from its seed."""
    rng = np.random.default_rng(seed)
    k = int(np.exp(rng.uniform(np.log(4), np.log(max_inputs + 1))))
    k = max(4, min(k, max_inputs))
    night_gap = bool(rng.random() < 0.5)
    cycle = np.where(rng.random(k) < 0.3, rng.uniform(0.0, 1.2, k), 0.0)
    shifts = 2 if night_gap else 3
    fixed = np.where(rng.random(k) < 0.25, 1.0, 0.0) * rng.uniform(-0.3, 0.3, (shifts, k))
    daily = np.where(rng.random(k) < 0.15, rng.uniform(0.0, 0.1, k), 0.0)
    drifts: tuple[Drift, ...] = ()
    if drift:
        chosen = rng.choice(k, size=int(rng.integers(1, 4)), replace=False)
        drifts = tuple(
            Drift(int(j), float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)), rng.uniform(14, 56))
            for j in chosen
        )
    missing = np.where(rng.random(k) < 0.3, rng.uniform(0.0, 0.1, k), 0.0)
    return LineDesign(
        seed=seed,
        inputs=k,
        parts_per_day=float(np.exp(rng.uniform(np.log(500), np.log(50_000)))),
        night_gap=night_gap,
        cycle=cycle,
        cycle_phase=rng.uniform(0, 2 * np.pi, k),
        shift_fixed=fixed,
        shift_daily_sd=daily,
        reference_days=float(rng.integers(2, 11)),
        onset_day=float(rng.uniform(0.3, 2.0)),
        drifts=drifts,
        missing_base=missing,
    )


class LineData:
    """The records of one line, generated day by day (reference first, then production)."""

    def __init__(self, design: LineDesign) -> None:
        self.design = design
        self.rng = np.random.default_rng(design.seed + 7_919)
        self.names = tuple(f"x{j}" for j in range(design.inputs))
        self.part = 0
        self._reference: RecordBatch | None = None

    @property
    def onset(self) -> float:
        """Epoch seconds of the drift's onset."""
        d = self.design
        return START + (d.reference_days + d.onset_day) * DAY

    def reference(self) -> RecordBatch:
        """The reference's records, drawn once (the engine and the peers judge against the
        same sample)."""
        if self._reference is None:
            self._reference = self.days(0.0, self.design.reference_days)
        return self._reference

    def days(self, first: float, count: float) -> RecordBatch:
        """Records of days `first` … `first + count` (days since the reference began)."""
        batches = [self._day(int(first) + i) for i in range(int(math.ceil(count)))]
        return RecordBatch.concat(batches)

    def _day(self, day: int) -> RecordBatch:
        d, rng = self.design, self.rng
        begin, end = d.hours
        span = (end - begin) / 24.0
        n = int(rng.poisson(d.parts_per_day))
        ts = np.sort(START + day * DAY + (begin + rng.random(n) * (end - begin)) * 3600.0)
        hour = (ts % DAY) / 3600.0
        x = rng.standard_normal((n, d.inputs))
        x += d.cycle * np.sin(2 * np.pi * hour[:, None] / 24.0 + d.cycle_phase)
        shift = np.minimum(((hour - begin) / (24.0 * span / d.shift_fixed.shape[0])), 2).astype(int)
        x += d.shift_fixed[np.clip(shift, 0, d.shift_fixed.shape[0] - 1)]
        drawn = rng.standard_normal((d.shift_fixed.shape[0], d.inputs)) * d.shift_daily_sd
        x += drawn[np.clip(shift, 0, d.shift_fixed.shape[0] - 1)]
        for drift in d.drifts:
            elapsed = np.clip((ts - self.onset) / DAY / drift.days, 0.0, 1.0)
            x[:, drift.column] += drift.size * elapsed
        rate = np.broadcast_to(d.missing_base, (n, d.inputs)).copy()
        if d.missing_rise is not None:
            column, reached, days = d.missing_rise
            elapsed = np.clip((ts - self.onset) / DAY / days, 0.0, 1.0)
            rate[:, column] += (reached - d.missing_base[column]) * elapsed
        x[rng.random((n, d.inputs)) < rate] = np.nan
        conf = rng.beta(20, 2, n)
        parts = tuple(f"p{self.part + i}" for i in range(n))
        self.part += n
        text = np.datetime_as_string((ts * 1000).astype("datetime64[ms]"), unit="ms")
        return RecordBatch(
            features=x,
            class_codes=(rng.random(n) < 0.03).astype(np.int32),
            conf=conf,
            ts=ts,
            ts_text=tuple(t + "Z" for t in text),
            part=parts,
            batch=(None,) * n,
            model=(None,) * n,
            image=(None,) * n,
            label=(None,) * n,
            station=(None,) * n,
        )


def oracle_z(budget: float, days: float) -> float:
    """The known-onset test's one-sided level: the per-input budget spent over the drift."""
    return NormalDist().inv_cdf(1.0 - budget * days / 365.0)


# Upcrossings per unit of log time of the known-onset ramp test's z (a ramp's weights on white
# noise: corr(z_s, z_t) = (1.5 r − 0.5) / r^1.5 with r = t / s, ≈ 1 − 0.375 ln(r)²), Rice:
# √0.75 / 2π. A simulation of 20,000 paths of 720 hourly looks gave 0.0098 crossings of 3.0
# against 0.0114 by the formula (on the safe side: looks are hourly, not continuous).
RICE_RAMP = math.sqrt(0.75) / (2.0 * math.pi)


def hourly_oracle_z(budget: float, days: float) -> float:
    """The level of the same known-onset test if it must LOOK every hour from onset to the end
    of the drift, as the engine does (one-sided, the per-input budget over the drift): the
    boundary-crossing (Rice) approximation P(z₁ > u) + RICE_RAMP · ln(hours) · e^(−u²/2)."""
    alpha = budget * days / 365.0
    hours = max(days * 24.0, 1.0)
    normal = NormalDist()
    lo, hi = 0.0, 12.0
    for _ in range(60):
        u = 0.5 * (lo + hi)
        crossing = 1.0 - normal.cdf(u) + RICE_RAMP * math.log(hours) * math.exp(-u * u / 2.0)
        lo, hi = (u, hi) if crossing > alpha else (lo, u)
    return hi


def ramp_limit(
    data: LineData,
    drift: Drift,
    budget: float,
    horizon_days: float,
    hourly: bool = False,
    level: float | None = None,
) -> float | None:
    """Days after onset at which the matched known-onset ramp test reaches its level (with
    `hourly`, the level of a test that looks every hour, `hourly_oracle_z`; or `level`).

    Exact under the generator: the residual of a part is its part-to-part noise (sd 1) around
    the reference's mean for its hour of day (the ideal profile: cycles and fixed shift offsets
    removed, production hours only), the reference mean carrying its own sampling error 1/n. With weights
    w_i = the ramp's shape at each live part, the test statistic has mean
    Σ w_i · ramp_i and variance Σ w_i² + Σ_groups (Σ_{i in group} w_i)² / n_group (the
    expected value is used: the limit is where the expected z reaches the level). Shift effects
    drawn per shift add τ² per shift block, live and (over the reference's days) in its mean."""
    d = data.design
    if level is None:
        level = (hourly_oracle_z if hourly else oracle_z)(budget, drift.days)
    begin, end = d.hours
    per_hour = d.parts_per_day / (end - begin)
    reference_hour = per_hour * d.reference_days
    step = 0.25  # hours
    t = np.arange(step / 2, horizon_days * 24.0, step)
    hour = ((data.onset % DAY) / 3600.0 + t) % 24.0
    producing = (hour >= begin) & (hour < end)
    present = 1.0 - d.missing_base[drift.column]
    n = np.where(producing, per_hour * step * present, 0.0)
    shape = np.minimum(t / (drift.days * 24.0), 1.0)
    signal = np.cumsum(n * shape * shape) * abs(drift.size)
    live = np.cumsum(n * shape * shape)
    ref_n = reference_hour * present
    groups = np.floor(hour).astype(int)
    weights = np.zeros((t.size, 24))
    weights[np.arange(t.size), groups] = n * shape
    reference = (np.cumsum(weights, axis=0) ** 2).sum(axis=1) / ref_n
    # Shift effects drawn anew every shift: τ² per shift block, live and in the reference mean.
    tau2 = float(d.shift_daily_sd[drift.column] ** 2)
    shifts = d.shift_fixed.shape[0]
    clock = (data.onset - START) / 3600.0 + t
    block = (clock // 24.0) * shifts + np.clip(
        (clock % 24.0 - begin) // (24.0 * (end - begin) / 24.0 / shifts), 0, shifts - 1
    )
    wn = n * shape
    starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    ends = np.append(starts[1:], t.size)
    running = np.zeros(t.size)
    done = 0.0
    for a, b in zip(starts, ends, strict=True):
        inside = np.cumsum(wn[a:b])
        running[a:b] = done + inside**2
        done += inside[-1] ** 2
    blocks = tau2 * (running + np.cumsum(wn) ** 2 / d.reference_days)
    with np.errstate(all="ignore"):
        z = signal / np.sqrt(live + reference + blocks)
    hit = np.flatnonzero(z >= level)
    return None if not hit.size else float(t[hit[0]] / 24.0)


def _ks_c(alpha: float) -> float:
    """Two-sample KS critical value at `alpha` in units of √((n + m) / (n m)) (asymptotic)."""
    return math.sqrt(-0.5 * math.log(alpha / 2.0))


def ks_scores(reference: np.ndarray, days: list[np.ndarray]) -> np.ndarray:
    """Per day and input, the two-sample KS distance of the day's values against the reference
    in units of √((n + m) / (n m)), so that one level serves every day (NaN: under 20 values)."""
    width = reference.shape[1]
    sorted_ref = [np.sort(c[~np.isnan(c)]) for c in reference.T]
    scores = np.full((len(days), width), np.nan)
    for index, values in enumerate(days):
        for j in range(width):
            v = np.sort(values[:, j][~np.isnan(values[:, j])])
            r = sorted_ref[j]
            if v.size < 20:
                continue
            grid = np.concatenate([r, v])
            gap = np.abs(
                np.searchsorted(r, grid, "right") / r.size
                - np.searchsorted(v, grid, "right") / v.size
            ).max()
            scores[index, j] = gap / math.sqrt((r.size + v.size) / (r.size * v.size))
    return scores


def ks_level(width: int, alpha_year: float) -> float:
    """The daily KS's level (`ks_scores` units), Bonferroni over inputs and days of a year."""
    return _ks_c(alpha_year / (width * 365.0))


def daily_ks(reference: np.ndarray, days: list[np.ndarray], alpha_year: float) -> np.ndarray:
    """Per day and input, a two-sample KS of the day's values against the reference, Bonferroni
    over inputs and days of a year at `alpha_year`: flags (days × inputs)."""
    return ks_scores(reference, days) > ks_level(reference.shape[1], alpha_year)


def z24_scores(reference: np.ndarray, days: list[np.ndarray]) -> np.ndarray:
    """Per day and input, |z| of the 24-hour mean against the reference mean (both samples'
    errors, the reference's sd)."""
    mean = np.nanmean(reference, axis=0)
    sd = np.nanstd(reference, axis=0)
    n_ref = np.sum(~np.isnan(reference), axis=0)
    scores = np.zeros((len(days), reference.shape[1]))
    for index, values in enumerate(days):
        n = np.sum(~np.isnan(values), axis=0)
        with np.errstate(all="ignore"):
            z = (np.nanmean(values, axis=0) - mean) / (sd * np.sqrt(1.0 / n + 1.0 / n_ref))
        scores[index] = np.abs(np.nan_to_num(z))
    return scores


def z24_level(width: int, alpha_year: float) -> float:
    """The 24-hour z's two-sided level, Bonferroni over inputs and days of a year."""
    return NormalDist().inv_cdf(1.0 - alpha_year / (2.0 * width * 365.0))


def mean_z24(reference: np.ndarray, days: list[np.ndarray], alpha_year: float) -> np.ndarray:
    """Per day and input, the 24-hour mean's z against the reference mean (both samples' errors),
    two-sided, Bonferroni over inputs and days of a year at `alpha_year`: flags (days × inputs)."""
    return z24_scores(reference, days) > z24_level(reference.shape[1], alpha_year)


def matched_level(scores: np.ndarray, level: float, null: np.ndarray) -> float:
    """A peer's level raised until it is silent where nothing drifts (`null`: days × inputs,
    true on inputs that do not drift and on the days before onset): the MATCHED peer, at the
    engine's false alarms on this line (0). It is told which inputs and days are null, which
    no real peer could be: an optimistic peer."""
    values = scores[null]
    values = values[~np.isnan(values)]
    return max(level, float(values.max())) if values.size else level
