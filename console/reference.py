"""Reference profiles: what the model's inputs looked like when it was validated.

A `ReferenceProfile` is built once from reference records (a validation-period file, or the first
N parts of the stream) and is then read-only. Per feature it holds fine quantile bin edges with
open ends (for KS, Wasserstein and the window histograms), coarse decile bins (for PSI), mean,
sd, quantiles, the missing rate and the longest run of repeated values; an hour-of-day profile of
mean and sd, so that the daily cycle and the shift-to-shift offsets that were already there at
validation are expected rather than alarmed on; the class mix and the confidence distribution.
It serialises to JSON (versioned in the store, hashed when signed). No thread of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from console.records import RecordBatch

FINE_BINS = 400  # KS from counts on 400 quantile bins is within ~1/400 of the exact value
COARSE_BINS = 10  # PSI on deciles, the industry convention
PHASES = 24  # hour-of-day profile
MIN_PHASE_COUNT = 30
CONF = "conf"  # the model's confidence is watched like one more input


@dataclass(frozen=True)
class ReferenceProfile:
    """The validated state of the inputs; `columns` are the features plus `conf` last."""

    columns: tuple[str, ...]
    classes: tuple[str, ...]
    n: int
    span_seconds: float
    edges: np.ndarray  # (columns, FINE_BINS - 1) fine bin edges, padded with +inf
    edge_count: np.ndarray  # (columns,) real edges per column
    fine_props: np.ndarray  # (columns, FINE_BINS) proportions of non-missing values
    coarse_of_fine: np.ndarray  # (columns, FINE_BINS) → coarse bin index
    coarse_props: np.ndarray  # (columns, COARSE_BINS)
    mean: np.ndarray
    sd: np.ndarray
    quantiles: np.ndarray  # (columns, 5): p1, p5, p50, p95, p99
    low: np.ndarray  # minimum seen
    high: np.ndarray  # maximum seen
    valid_low: np.ndarray  # out-of-range limits
    valid_high: np.ndarray
    missing_rate: np.ndarray
    longest_run: np.ndarray  # longest run of identical consecutive values
    count: np.ndarray  # non-missing values per column
    phase_mean: np.ndarray  # (PHASES, columns)
    phase_sd: np.ndarray  # (PHASES, columns)
    phase_count: np.ndarray  # (PHASES, columns) non-missing reference values per hour
    phased: bool  # True when the reference covers every hour of the day well enough
    class_props: np.ndarray
    description: str = ""

    @property
    def features(self) -> tuple[str, ...]:
        return self.columns[:-1]

    def bin_lower_edges(self, column: int) -> np.ndarray:
        """Lower edge of each fine bin (−inf for the open first bin)."""
        k = int(self.edge_count[column])
        return np.concatenate([[-np.inf], self.edges[column, :k]])

    def to_json(self) -> str:
        fields = {}
        for name, value in self.__dict__.items():
            fields[name] = value.tolist() if isinstance(value, np.ndarray) else value
        fields["edges"] = [[e for e in row if np.isfinite(e)] for row in self.edges.tolist()]
        return json.dumps(fields, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @staticmethod
    def from_json(text: str) -> ReferenceProfile:
        raw = json.loads(text)
        columns = len(raw["columns"])
        edges = np.full((columns, FINE_BINS - 1), np.inf)
        for i, row in enumerate(raw["edges"]):
            edges[i, : len(row)] = row
        raw["edges"] = edges
        for name, value in raw.items():
            if isinstance(value, list) and name not in ("columns", "classes"):
                raw[name] = np.asarray(
                    value,
                    dtype=np.int64
                    if name in ("edge_count", "coarse_of_fine", "longest_run", "count")
                    else float,
                )
        raw["columns"] = tuple(raw["columns"])
        raw["classes"] = tuple(raw["classes"])
        return ReferenceProfile(**raw)


def build_profile(
    batch: RecordBatch, features: tuple[str, ...], classes: list[str], description: str = ""
) -> ReferenceProfile:
    """Build the profile of reference records (features plus confidence as the last column)."""
    if len(batch) < 100:
        raise ValueError(f"a reference needs at least 100 records, got {len(batch)}")
    matrix = np.column_stack([batch.features, batch.conf])
    n = matrix.shape[0]
    described = _describe_columns(matrix)
    mean, sd, count = described["mean"], described["sd"], described["count"]
    spread = np.where(sd > 0, sd, np.maximum(np.abs(mean), 1.0))
    phase_mean, phase_sd, phase_count, phased = _phase_profile(matrix, batch.ts, mean, sd)
    class_counts = np.bincount(batch.class_codes, minlength=len(classes)).astype(float)
    return ReferenceProfile(
        columns=(*features, CONF),
        classes=tuple(classes),
        n=n,
        span_seconds=float(batch.ts.max() - batch.ts.min()) if n else 0.0,
        **described,
        valid_low=described["low"] - 4 * spread,
        valid_high=described["high"] + 4 * spread,
        missing_rate=1.0 - count / n,
        phase_mean=phase_mean,
        phase_sd=phase_sd,
        phase_count=phase_count,
        phased=phased,
        class_props=class_counts / max(class_counts.sum(), 1.0),
        description=description,
    )


def _describe_columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Bins, quantiles, moments, extremes and longest runs of each column (NaN = missing)."""
    width = matrix.shape[1]
    edges = np.full((width, FINE_BINS - 1), np.inf)
    edge_count = np.zeros(width, np.int64)
    fine_props = np.zeros((width, FINE_BINS))
    coarse_of_fine = np.zeros((width, FINE_BINS), np.int64)
    coarse_props = np.zeros((width, COARSE_BINS))
    stats = np.full((width, 5), np.nan)
    mean = np.full(width, np.nan)
    sd = np.full(width, np.nan)
    low = np.full(width, np.nan)
    high = np.full(width, np.nan)
    count = np.zeros(width, np.int64)
    longest = np.zeros(width, np.int64)
    for j in range(width):
        column = matrix[:, j]
        values = column[~np.isnan(column)]
        count[j] = values.size
        if values.size == 0:
            continue
        edge_count[j] = _bin_column(values, edges[j], fine_props[j], coarse_of_fine[j])
        coarse_props[j] = np.bincount(
            coarse_of_fine[j], weights=fine_props[j], minlength=COARSE_BINS
        )[:COARSE_BINS]
        stats[j] = np.quantile(values, [0.01, 0.05, 0.5, 0.95, 0.99])
        mean[j] = values.mean()
        sd[j] = values.std(ddof=1) if values.size > 1 else 0.0
        low[j], high[j] = values.min(), values.max()
        longest[j] = _longest_run(column)
    return {
        "edges": edges,
        "edge_count": edge_count,
        "fine_props": fine_props,
        "coarse_of_fine": coarse_of_fine,
        "coarse_props": coarse_props,
        "mean": mean,
        "sd": sd,
        "quantiles": stats,
        "low": low,
        "high": high,
        "longest_run": longest,
        "count": count,
    }


def _bin_column(
    values: np.ndarray, edges: np.ndarray, fine_props: np.ndarray, coarse_of_fine: np.ndarray
) -> int:
    """Fine bins at the quantiles of one column's values, and the coarse (decile) bin of each;
    fills the given rows, returns the number of edges."""
    probs = np.arange(1, FINE_BINS) / FINE_BINS
    inner = np.unique(np.quantile(values, probs, method="inverted_cdf"))
    # Bins are [edge_k, edge_k+1); the first and last are open. A value equal to the
    # minimum must share its bin with its neighbours, so drop an edge at the minimum.
    inner = inner[inner > values.min()] if inner.size > 1 else inner
    k = inner.size
    edges[:k] = inner
    bins = np.searchsorted(inner, values, side="right")
    fine_props[: k + 1] = np.bincount(bins, minlength=k + 1) / values.size
    deciles = np.quantile(values, np.arange(1, COARSE_BINS) / COARSE_BINS, method="inverted_cdf")
    lower = np.concatenate([[-np.inf], inner])
    coarse = np.searchsorted(deciles, lower, side="right")
    coarse_of_fine[: k + 1] = coarse
    coarse_of_fine[k + 1 :] = coarse[-1]
    return k


def phase_of(ts: np.ndarray) -> np.ndarray:
    """Hour of day (UTC) of epoch seconds, as int indices 0..23."""
    return ((ts % 86400.0) // 3600.0).astype(np.intp) % PHASES


def _phase_profile(
    matrix: np.ndarray, ts: np.ndarray, mean: np.ndarray, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Hour-of-day mean, sd and count per column; flat (global: every hour has the whole
    reference behind it) when the reference cannot support an hourly profile."""
    flat_mean = np.tile(mean, (PHASES, 1))
    flat_sd = np.tile(np.where(sd > 0, sd, 1.0), (PHASES, 1))
    present = ~np.isnan(matrix)
    phase = phase_of(ts)
    counts = np.bincount(phase, minlength=PHASES)
    flat_count = np.tile(present.sum(axis=0), (PHASES, 1)).astype(float)
    # A line that does not run at night still has a profile over the hours it does run; an
    # hour the reference did not cover keeps the whole reference's values.
    supported = counts >= MIN_PHASE_COUNT
    if supported.sum() < PHASES // 3:
        return flat_mean, flat_sd, flat_count, False
    phase_count = np.stack([present[phase == h].sum(axis=0) for h in range(PHASES)]).astype(float)
    phase_count[~supported] = flat_count[~supported]
    phase_mean = flat_mean.copy()
    phase_sd = flat_sd.copy()
    for h in np.flatnonzero(supported):
        rows = matrix[phase == h]
        with np.errstate(all="ignore"):
            phase_mean[h] = np.nanmean(rows, axis=0)
            phase_sd[h] = np.nanstd(rows, axis=0, ddof=1)
    bad = ~np.isfinite(phase_mean) | ~np.isfinite(phase_sd) | (phase_sd <= 0)
    bad |= ~supported[:, None]
    phase_mean = np.where(bad, flat_mean, phase_mean)
    phase_sd = np.where(bad, flat_sd, phase_sd)
    return phase_mean, phase_sd, phase_count, True


def _longest_run(column: np.ndarray) -> int:
    """Longest run of identical consecutive non-missing values."""
    if column.size < 2:
        return int(column.size)
    same = (column[1:] == column[:-1]).astype(np.int8)
    if not same.any():
        return 1
    padded = np.concatenate([[0], same, [0]])
    changes = np.flatnonzero(np.diff(padded))
    return int((changes[1::2] - changes[::2]).max()) + 1
