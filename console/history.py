"""The detail chart's history: p5/p50/p95 of each closed 15-minute bucket, and the series of the
last 48 hours the read model carries. Bands are computed when someone looks (a snapshot), not
per batch, from the parts still in the window. Engine thread.
"""

from __future__ import annotations

import numpy as np

from console.reference import ReferenceProfile
from console.state import BucketSeries
from console.stats import BUCKET_COUNT, BUCKET_SECONDS, RollingWindow, TimeBuckets

BANDS_DUE = 2 * BUCKET_COUNT


class BandHistory:
    """p5/p50/p95 (nearest rank) per closed bucket and column, in a four-day ring."""

    def __init__(self, width: int) -> None:
        self.bands = np.full((BUCKET_COUNT, width, 3), np.nan)
        self._due: list[int] = []

    def closed(self, current: int, count: int) -> None:
        """`count` buckets closed before bucket number `current`: their bands are due."""
        self._due.extend(range(current - min(count, 8), current))
        del self._due[:-BANDS_DUE]

    def record(self, window: RollingWindow) -> None:
        """Compute the bands of every bucket closed since the last call."""
        due, self._due = self._due, []
        if not due or window.filled == 0:
            return
        rows = window.recent(window.filled)
        of_row = (window.ts[rows] // BUCKET_SECONDS).astype(np.int64)
        keep = of_row >= due[0]
        rows, of_row = rows[keep], of_row[keep]
        for number in due:
            values = window.values[rows[of_row == number]]
            if values.shape[0] < 5:
                continue
            ordered = np.sort(values, axis=0)  # NaN sorts last
            count = (~np.isnan(values)).sum(axis=0)
            picks = np.rint(np.outer((0.05, 0.5, 0.95), np.maximum(count - 1, 0))).astype(np.intp)
            band = ordered[picks, np.arange(values.shape[1])].T
            band[count == 0] = np.nan
            self.bands[number % BUCKET_COUNT] = band


def bucket_series(
    buckets: TimeBuckets,
    bands: BandHistory,
    z_history: np.ndarray,
    z_limit: float,
    profile: ReferenceProfile,
) -> BucketSeries | None:
    """The last 48 hours of buckets, oldest first (None before the first record)."""
    if buckets.current is None:
        return None
    slots = buckets.slots(48.0)
    numbers = buckets.current - slots.size + 1 + np.arange(slots.size)
    ts = numbers * BUCKET_SECONDS
    n = buckets.n[slots]
    with np.errstate(all="ignore"):
        means = buckets.center + buckets.sum[slots] / n
    band = bands.bands[slots]
    hours = ((ts % 86400.0) // 3600.0).astype(np.intp) % 24
    return BucketSeries(
        ts=ts.astype(float),
        mean=np.where(n > 0, means, np.nan),
        p5=band[:, :, 0].copy(),
        p50=band[:, :, 1].copy(),
        p95=band[:, :, 2].copy(),
        z=z_history[slots].copy(),
        z_limit=z_limit,
        expected=profile.phase_mean[hours].copy(),
    )
