"""Rolling statistics of the model's inputs, updated per batch in O(batch) compiled work.

`RollingWindow` keeps the last W parts in ring buffers and maintains, per column (the features
plus the model's confidence), running count/sum/sum of squares (re-summed exactly once every W
parts, so rounding never accumulates), histogram counts on the reference's fine bins (the last
slot counts missing values), out-of-range counts, the class counts and the run of identical
values, all added and evicted in one compiled pass per batch (console/kernels.py). Quantiles come
from the histogram, min/max from the buffer, both only when someone asks (a snapshot), never per
batch.

`TimeBuckets` aggregates the same columns in 15-minute buckets of production time (the records'
own timestamps) over the last four days: counts, sums, min/max and the sums of residuals against
the reference's hour-of-day profile, from which the hour, shift and 24 h views and the slow-drift
detector read. Both are owned by the engine thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from console.kernels import bucket_step, resum, window_step
from console.reference import FINE_BINS, ReferenceProfile, phase_of

BUCKET_SECONDS = 900.0
BUCKET_COUNT = 4 * 24 * 4  # four days of 15-minute buckets


class Binner:
    """Maps values to the reference's fine bins for all columns at once, in O(1) per value.

    A lookup table over a uniform grid of each column's edge range (starting one cell below
    the first edge) gives the bin at the start of the value's grid cell; one comparison with the
    next edge finishes the job, because a cell is made narrower than the narrowest bin. Values
    below the first edge land in bin 0, at or above the last in the last bin (open ends), NaN
    in the missing slot. Exactly `np.searchsorted(edges, x, side="right")` per column (a
    property test checks); where ties make two edges share a cell, the comparison repeats.
    """

    GRID = 8192

    def __init__(self, profile: ReferenceProfile) -> None:
        width = len(profile.columns)
        self.width = width
        counts = profile.edge_count.astype(np.int64)
        first = profile.edges[:, 0]
        last = np.array([profile.edges[j, max(int(counts[j]) - 1, 0)] for j in range(width)])
        usable = (counts > 0) & np.isfinite(first) & np.isfinite(last)
        span = np.where(usable, last - first, 1.0)
        span = np.where(span > 0, span, 1.0)
        cell = span / (self.GRID - 1)
        self.origin = np.where(usable, first, 0.0) - cell  # cell 0 lies wholly below the first edge
        self.scale = 1.0 / cell
        self.stride = FINE_BINS
        edges = np.full((width, self.stride), np.inf)
        table = np.zeros((width, self.GRID + 1), np.int64)
        for j in range(width):
            k = int(counts[j])
            edges[j, :k] = profile.edges[j, :k]
            starts = self.origin[j] + cell[j] * np.arange(self.GRID + 1)
            table[j] = np.searchsorted(edges[j, :k], starts, side="right") if k else 0
        self.edges = edges.ravel()
        self.table = table.ravel().astype(np.int16)  # bin numbers < FINE_BINS: a small table
        self.table_base = np.arange(width) * (self.GRID + 1)
        self.edge_base = np.arange(width) * self.stride
        # The first edge a value in each cell may reach, so one gather settles each value.
        self.next_edge = self.edges[(table + self.edge_base[:, None]).ravel()]
        # Does any cell hold two or more edges (ties, or a very narrow bin)? Then repeat.
        reach = np.concatenate([table[:, 1:], np.full((width, 1), self.stride)], axis=1)
        self.one_step = bool((reach - table <= 1).all())
        self.missing_slot = FINE_BINS

    def bins(self, matrix: np.ndarray) -> np.ndarray:
        """Fine bin index per value (int16), `FINE_BINS` for a missing value."""
        scaled = (matrix - self.origin) * self.scale
        # Values at or beyond the last edge share the last cell, whose next edge is the last.
        np.clip(scaled, 0.0, self.GRID - 1, out=scaled)
        missing = np.isnan(scaled)
        scaled[missing] = 0.0
        cell = scaled.astype(np.int64)
        cell += self.table_base
        index = self.table[cell]
        index += matrix >= self.next_edge[cell]
        if not self.one_step:
            while True:
                step = matrix >= self.edges[index + self.edge_base]
                if not step.any():
                    break
                index += step
        index[missing] = self.missing_slot
        return index.astype(np.int16)


class RollingWindow:
    """Statistics of the last W parts (features + confidence). Engine thread only."""

    def __init__(self, profile: ReferenceProfile, size: int) -> None:
        self.profile = profile
        self.size = size
        width = len(profile.columns)
        self.width = width
        self.binner = Binner(profile)
        self.values = np.full((size, width), np.nan)
        self.bins = np.zeros((size, width), np.int16)
        self.classes = np.zeros(size, np.int32)
        self.ts = np.zeros(size)
        self.filled = 0
        self.head = 0  # next row to write
        self.total = 0  # parts seen since start
        self.center = np.nan_to_num(profile.mean)
        self.count = np.zeros(width)
        self.sum = np.zeros(width)
        self.sumsq = np.zeros(width)
        self.out_of_range = np.zeros(width, np.int64)
        self.hist = np.zeros((width, FINE_BINS + 1), np.int64)
        self.class_counts = np.zeros(max(len(profile.classes), 1), np.int64)
        self._flat = np.arange(width) * (FINE_BINS + 1)
        self._since_exact = 0
        self.longest_run = 0
        self.last_value = np.full(width, np.nan)
        self.run = np.zeros(width, np.int64)
        self.new_missing = np.zeros(width, np.int64)  # of the last batch added
        self.new_outside = np.zeros(width, np.int64)

    def add(self, matrix: np.ndarray, class_codes: np.ndarray, ts: np.ndarray) -> None:
        """Add a batch (rows × columns, NaN = missing) and evict what falls out of the window;
        one compiled pass (console/kernels.py). Also counts the batch's missing and
        out-of-range values per column in `new_missing` and `new_outside`."""
        m = matrix.shape[0]
        if m == 0:
            self.new_missing[:] = 0
            self.new_outside[:] = 0
            return
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        class_codes = np.ascontiguousarray(class_codes, dtype=np.int32)
        ts = np.ascontiguousarray(ts, dtype=np.float64)
        head = self._step(matrix, class_codes, ts)
        if head < 0:  # a class code beyond the counts: grow them, then the same batch again
            grown = np.zeros(int(class_codes.max()) + 1, np.int64)
            grown[: self.class_counts.size] = self.class_counts
            self.class_counts = grown
            self._step(matrix, class_codes, ts)
        self.total += m
        self._since_exact += m
        if self._since_exact >= self.size:
            self._resum()

    def _step(self, matrix: np.ndarray, class_codes: np.ndarray, ts: np.ndarray) -> int:
        """One compiled pass over the batch (console/kernels.py `window_step`); the head."""
        b = self.binner
        head, self.filled, self.longest_run = window_step(
            matrix, class_codes, ts,
            self.values, self.bins, self.classes, self.ts, self.head, self.filled,
            b.origin, b.scale, b.table, b.next_edge, b.GRID, b.edges, b.stride, b.one_step, FINE_BINS,
            self.center, self.profile.valid_low, self.profile.valid_high,
            self.count, self.sum, self.sumsq, self.out_of_range, self.hist, self.class_counts,
            self.last_value, self.run, self.new_missing, self.new_outside,
        )  # fmt: skip
        if head >= 0:
            self.head = head
        return head

    def _resum(self) -> None:
        """Exact recomputation of the running sums from the buffer (once per W parts)."""
        resum(self.values, self.filled, self.center, self.count, self.sum, self.sumsq)
        self._since_exact = 0

    # --- views, computed on demand ---------------------------------------------------------

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.center + self.sum / self.count

    @property
    def sd(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            mean = self.sum / self.count
            var = (self.sumsq - self.count * mean**2) / (self.count - 1)
        return np.sqrt(np.maximum(var, 0.0))

    @property
    def missing(self) -> np.ndarray:
        return self.hist[:, FINE_BINS]

    def proportions(self) -> np.ndarray:
        """Histogram of non-missing values on the fine bins, as proportions (columns × bins)."""
        counts = self.hist[:, :FINE_BINS].astype(float)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(all="ignore"):
            return np.where(totals > 0, counts / totals, 0.0)

    def quantiles(self, probs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles interpolated within the fine bins (columns × probs)."""
        cdf = np.cumsum(self.proportions(), axis=1)
        out = np.full((self.width, len(probs)), np.nan)
        for j in range(self.width):
            k = int(self.profile.edge_count[j])
            if self.count[j] == 0 or k == 0:
                continue
            edges = self.profile.edges[j, :k]
            # Open end bins are bounded by the window's own min and max.
            column = self.values[: self.filled, j]
            lo = min(np.nanmin(column), edges[0])
            hi = max(np.nanmax(column), edges[-1])
            bounds = np.concatenate([[lo], edges, [hi]])
            c = np.concatenate([[0.0], cdf[j, : k + 1]])
            out[j] = np.interp(probs, c, bounds)
        return out

    def extremes(self) -> tuple[np.ndarray, np.ndarray]:
        live = self.values[: self.filled]
        if live.size == 0:
            return np.full(self.width, np.nan), np.full(self.width, np.nan)
        with np.errstate(all="ignore"), _quiet():
            return np.nanmin(live, axis=0), np.nanmax(live, axis=0)

    def recent(self, n: int) -> np.ndarray:
        """Row indices of the last n parts, oldest first."""
        n = min(n, self.filled)
        return (self.head - n + np.arange(n)) % self.size


class _quiet:
    """Silence numpy's all-NaN-slice warning for columns that are entirely missing."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._catch.__exit__(*exc)


class TimeBuckets:
    """Per-column aggregates in 15-minute buckets of production time. Engine thread only."""

    def __init__(self, profile: ReferenceProfile) -> None:
        width = len(profile.columns)
        self.profile = profile
        self.parts = np.zeros(BUCKET_COUNT, np.int64)
        self.n = np.zeros((BUCKET_COUNT, width))
        self.sum = np.zeros((BUCKET_COUNT, width))
        self.sumsq = np.zeros((BUCKET_COUNT, width))
        self.resid = np.zeros((BUCKET_COUNT, width))  # sum of standardised residuals
        self.low = np.full((BUCKET_COUNT, width), np.inf)
        self.high = np.full((BUCKET_COUNT, width), -np.inf)
        self.current: int | None = None  # bucket number (epoch // 900) of the newest bucket
        self.center = np.nan_to_num(profile.mean)
        self.closed = 0  # buckets closed since start

    def residuals(self, matrix: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Standardised residuals against the hour-of-day profile (NaN stays NaN)."""
        phase = phase_of(ts)
        return (matrix - self.profile.phase_mean[phase]) / self.profile.phase_sd[phase]

    def add(self, matrix: np.ndarray, ts: np.ndarray, resid: np.ndarray) -> int:
        """Add a batch (one compiled pass); returns how many buckets it closed.

        A batch wholly older than the ring means the newest bucket came from a record with a
        wrong time: the ring starts again from this batch instead of ignoring the stream (the
        kernel, `console.kernels.bucket_step`, empties it first)."""
        current, closed = bucket_step(
            np.ascontiguousarray(matrix, dtype=np.float64),
            np.ascontiguousarray(resid, dtype=np.float64),
            np.ascontiguousarray(ts, dtype=np.float64),
            BUCKET_SECONDS, -1 if self.current is None else self.current,
            self.parts, self.n, self.sum, self.sumsq, self.resid, self.low, self.high, self.center,
        )  # fmt: skip
        self.current = int(current)
        self.closed += int(closed)
        return int(closed)

    def slots(self, hours: float, *, complete_only: bool = False) -> np.ndarray:
        """Ring slots of the buckets covering the last `hours` (newest last)."""
        if self.current is None:
            return np.empty(0, np.int64)
        count = min(int(round(hours * 3600 / BUCKET_SECONDS)), BUCKET_COUNT)
        newest = self.current - (1 if complete_only else 0)
        return (np.arange(newest - count + 1, newest + 1)) % BUCKET_COUNT

    def summary(self, hours: float) -> dict[str, np.ndarray]:
        """Count, mean, sd, min, max per column over the last `hours` of production."""
        s = self.slots(hours)
        n = self.n[s].sum(axis=0)
        total = self.sum[s].sum(axis=0)
        sq = self.sumsq[s].sum(axis=0)
        with np.errstate(all="ignore"):
            mean = total / n
            sd = np.sqrt(np.maximum((sq - n * mean**2) / (n - 1), 0.0))
        return {
            "parts": np.array(self.parts[s].sum()),
            "count": n,
            "mean": self.center + mean,
            "sd": sd,
            "min": self.low[s].min(axis=0) if s.size else np.full(n.shape, np.inf),
            "max": self.high[s].max(axis=0) if s.size else np.full(n.shape, -np.inf),
        }
