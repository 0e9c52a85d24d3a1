"""Rolling statistics of the model's inputs, updated per batch in O(batch) numpy work.

`RollingWindow` keeps the last W parts in ring buffers and maintains, per column (the features
plus the model's confidence), running count/sum/sum of squares (re-summed exactly once every W
parts, so rounding never accumulates), histogram counts on the reference's fine bins (added and
evicted with `np.bincount`; the last slot counts missing values), out-of-range counts, the class
counts and the run of identical values. Quantiles come from the histogram, min/max from the
buffer, both only when someone asks (a snapshot), never per batch.

`TimeBuckets` aggregates the same columns in 15-minute buckets of production time (the records'
own timestamps) over the last four days: counts, sums, min/max and the sums of residuals against
the reference's hour-of-day profile, from which the hour, shift and 24 h views and the slow-drift
detector read. Both are owned by the engine thread.
"""

from __future__ import annotations

import numpy as np

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
        self.table = table.ravel()
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
        self.last_value = np.full(width, np.nan)
        self.run = np.zeros(width, np.int64)

    def add(self, matrix: np.ndarray, class_codes: np.ndarray, ts: np.ndarray) -> None:
        """Add a batch (rows × columns, NaN = missing) and evict what falls out of the window."""
        m = matrix.shape[0]
        if m == 0:
            return
        self._track_runs(matrix)
        self.total += m
        if m > self.size:
            matrix, class_codes, ts = (
                matrix[-self.size :],
                class_codes[-self.size :],
                ts[-self.size :],
            )
            m = self.size
        bins = self.binner.bins(matrix)
        rows = (self.head + np.arange(m)) % self.size
        evicting = self.filled + m - self.size
        if evicting > 0:
            # Before the buffer first fills, only positions [0, filled) hold parts.
            gone = rows if self.filled == self.size else rows[rows < self.filled]
            self._update(
                np.concatenate([matrix, self.values[gone]]),
                np.concatenate([bins, self.bins[gone]]),
                np.concatenate([class_codes, self.classes[gone]]),
                np.concatenate([np.ones(m), -np.ones(gone.size)]),
            )
        else:
            self._update(matrix, bins, class_codes, np.ones(m))
        self.values[rows] = matrix
        self.bins[rows] = bins
        self.classes[rows] = class_codes
        self.ts[rows] = ts
        self.head = (self.head + m) % self.size
        self.filled = min(self.filled + m, self.size)
        self._since_exact += m
        if self._since_exact >= self.size:
            self._resum()

    def _update(
        self, matrix: np.ndarray, bins: np.ndarray, codes: np.ndarray, sign: np.ndarray
    ) -> None:
        """Add rows with sign +1 and evict rows with sign -1, in one pass of matrix products."""
        present = ~np.isnan(matrix)
        centered = matrix - self.center
        centered[~present] = 0.0
        self.count += sign @ present
        self.sum += sign @ centered
        self.sumsq += sign @ (centered * centered)
        outside = (matrix < self.profile.valid_low) | (matrix > self.profile.valid_high)
        self.out_of_range += (sign @ outside).astype(np.int64)
        flat = (bins + self._flat).ravel()
        weights = np.repeat(sign, self.width)
        self.hist += (
            np.rint(np.bincount(flat, weights=weights, minlength=self.hist.size))
            .astype(np.int64)
            .reshape(self.hist.shape)
        )
        top = int(codes.max()) + 1
        if top > self.class_counts.size:
            self.class_counts = np.concatenate(
                [self.class_counts, np.zeros(top - self.class_counts.size, np.int64)]
            )
        self.class_counts[:top] += np.rint(np.bincount(codes, weights=sign, minlength=top)).astype(
            np.int64
        )

    def _resum(self) -> None:
        """Exact recomputation of the running sums from the buffer (once per W parts)."""
        live = self.values[: self.filled] if self.filled < self.size else self.values
        present = ~np.isnan(live)
        centered = np.where(present, live - self.center, 0.0)
        self.count = present.sum(axis=0).astype(float)
        self.sum = centered.sum(axis=0)
        self.sumsq = np.einsum("ij,ij->j", centered, centered)
        self._since_exact = 0

    def _track_runs(self, matrix: np.ndarray) -> None:
        """Length of the current run of identical values per column (a frozen sensor)."""
        previous = np.vstack([self.last_value, matrix])
        same = previous[1:] == previous[:-1]
        m = matrix.shape[0]
        broken = ~same
        any_break = broken.any(axis=0)
        last_break = m - 1 - np.argmax(broken[::-1], axis=0)
        self.run = np.where(any_break, m - last_break, self.run + m)
        self.last_value = matrix[-1].copy()

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

    def __exit__(self, *exc: object) -> None:
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
        """Add a batch; returns how many buckets were closed by it."""
        numbers = (ts // BUCKET_SECONDS).astype(np.int64)
        newest = int(numbers.max())
        closed = 0
        if self.current is None:
            self.current = newest
        elif newest > self.current:
            closed = self._advance(newest)
        self._put_segments(numbers, matrix, resid)
        return closed

    def _advance(self, newest: int) -> int:
        assert self.current is not None
        steps = newest - self.current
        for number in range(self.current + 1, self.current + 1 + min(steps, BUCKET_COUNT)):
            slot = number % BUCKET_COUNT
            self.parts[slot] = 0
            self.n[slot] = 0.0
            self.sum[slot] = 0.0
            self.sumsq[slot] = 0.0
            self.resid[slot] = 0.0
            self.low[slot] = np.inf
            self.high[slot] = -np.inf
        self.current = newest
        self.closed += steps
        return steps

    def _put_segments(self, numbers: np.ndarray, matrix: np.ndarray, resid: np.ndarray) -> None:
        """Add rows to their buckets: one reduceat per quantity over runs of equal bucket."""
        assert self.current is not None
        starts = np.flatnonzero(np.concatenate([[True], numbers[1:] != numbers[:-1]]))
        present = ~np.isnan(matrix)
        centered = np.where(present, matrix - self.center, 0.0)
        segment = numbers[starts]
        keep = segment > self.current - BUCKET_COUNT  # older than four days: too late to count
        if not keep.all():
            starts, segment = starts[keep], segment[keep]
            if not starts.size:
                return
            rows = np.concatenate(
                [
                    np.arange(a, b)
                    for a, b in zip(starts, np.append(starts[1:], len(numbers)), strict=True)
                ]
            )
            return self._put_segments(numbers[rows], matrix[rows], resid[rows])
        slots = segment % BUCKET_COUNT
        lengths = np.diff(np.append(starts, len(numbers)))
        resid = np.where(present, resid, 0.0)
        n = np.add.reduceat(present, starts, axis=0)
        total = np.add.reduceat(centered, starts, axis=0)
        square = np.add.reduceat(centered * centered, starts, axis=0)
        drift = np.add.reduceat(resid, starts, axis=0)
        low = np.minimum.reduceat(np.where(present, matrix, np.inf), starts, axis=0)
        high = np.maximum.reduceat(np.where(present, matrix, -np.inf), starts, axis=0)
        if len(set(slots.tolist())) == slots.size:  # the usual case: each bucket once
            self.parts[slots] += lengths
            self.n[slots] += n
            self.sum[slots] += total
            self.sumsq[slots] += square
            self.resid[slots] += drift
            self.low[slots] = np.minimum(self.low[slots], low)
            self.high[slots] = np.maximum(self.high[slots], high)
            return
        np.add.at(self.parts, slots, lengths)
        np.add.at(self.n, slots, n)
        np.add.at(self.sum, slots, total)
        np.add.at(self.sumsq, slots, square)
        np.add.at(self.resid, slots, drift)
        np.minimum.at(self.low, slots, low)
        np.maximum.at(self.high, slots, high)

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
