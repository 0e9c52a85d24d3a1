"""The compiled scans (console/scan_kernels.py) give what the plain numpy forms they replaced
give: the shape detector's KS/PSI/Wasserstein, the missing-rate windows, the hourly sums, and
the binner's table lookup (exactly `searchsorted`, also where several edges share a grid cell).
"""

import numpy as np
import pytest

from console.detectors.missing_rate import WINDOWS_HOURS, rise_z
from console.detectors.ramp import HourSums
from console.kernels import quality_ewmas
from console.reference import COARSE_BINS, FINE_BINS
from console.scan_kernels import (
    hour_sums,
    mean_shift_z,
    missing_windows,
    shape_scan,
    shift_margins,
)


def plain_shape(hist, count, ref_cdf, widths, coarse_of_fine, coarse_ref):
    """`ShapeDrift.evaluate` as it was written with numpy."""
    counts = hist[:, :FINE_BINS].astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        props = np.where(totals > 0, counts / totals, 0.0)
    gap = np.abs(np.cumsum(props, axis=1) - ref_cdf)
    ks = gap.max(axis=1)
    wasserstein = (gap * widths).sum(axis=1)
    width = hist.shape[0]
    index = (coarse_of_fine + COARSE_BINS * np.arange(width)[:, None]).ravel()
    coarse = np.bincount(index, weights=props.ravel(), minlength=width * COARSE_BINS)
    coarse = np.maximum(coarse.reshape(width, COARSE_BINS), 1e-4)
    psi = ((coarse - coarse_ref) * np.log(coarse / coarse_ref)).sum(axis=1)
    empty = count == 0
    ks[empty] = psi[empty] = wasserstein[empty] = 0.0
    return ks, psi, wasserstein


def test_the_shape_scan_equals_the_numpy_form() -> None:
    rng = np.random.default_rng(3)
    width = 6
    hist = rng.integers(0, 60, (width, FINE_BINS + 1)).astype(np.int64)
    hist[2, :FINE_BINS] = 0  # an input with only missing values in the window
    count = hist[:, :FINE_BINS].sum(axis=1).astype(float)
    ref = rng.random((width, FINE_BINS))
    ref_cdf = np.cumsum(ref / ref.sum(axis=1, keepdims=True), axis=1)
    widths = rng.random((width, FINE_BINS))
    coarse_of_fine = np.repeat(np.arange(COARSE_BINS), FINE_BINS // COARSE_BINS)
    coarse_of_fine = np.ascontiguousarray(np.tile(coarse_of_fine, (width, 1)), np.int64)
    coarse_ref = np.maximum(rng.dirichlet(np.ones(COARSE_BINS), width), 1e-4)
    got = [np.empty(width) for _ in range(3)]
    shape_scan(hist, FINE_BINS, count, ref_cdf, widths, coarse_of_fine, coarse_ref, *got)
    want = plain_shape(hist, count, ref_cdf, widths, coarse_of_fine, coarse_ref)
    assert np.array_equal(got[0], want[0])  # KS: the same maximum
    assert np.allclose(got[1], want[1], rtol=1e-13, atol=0)  # PSI
    assert np.allclose(got[2], want[2], rtol=1e-12, atol=0)  # Wasserstein
    assert got[0][2] == got[1][2] == got[2][2] == 0.0


def test_the_missing_rate_windows_equal_the_numpy_form() -> None:
    rng = np.random.default_rng(4)
    width, size = 5, 60
    hour = np.sort(rng.choice(100, size, replace=False)).astype(np.int64)
    n = rng.integers(0, 300, (size, width)).astype(float)
    s = np.floor(n * rng.uniform(0, 0.3, (size, width)))
    s[:, 1] = 0.0  # never missing
    ref_parts = 5000.0
    ref_missing = np.array([250.0, 0.0, 10.0, 0.0, 900.0])
    z, rate = np.empty(width), np.empty(width)
    windows = np.asarray(WINDOWS_HOURS)
    missing_windows(hour, n, s, size, windows, ref_missing, ref_parts, z, rate)
    # The numpy form: running sums newest first, read at each window's length.
    running = np.vstack([np.zeros((1, 2 * width)), np.cumsum(np.hstack([n, s])[::-1], axis=0)])
    inside = np.searchsorted(hour[-1] - hour[::-1], windows, side="left")
    parts, missing = np.split(running[inside], 2, axis=1)
    every = rise_z(missing, parts, ref_missing, ref_parts)
    pick = np.argmax(every, axis=0)
    columns = np.arange(width)
    assert np.allclose(z, every[pick, columns], rtol=1e-12, atol=1e-12)
    with np.errstate(all="ignore"):
        want_rate = np.nan_to_num(missing[pick, columns] / parts[pick, columns])
    assert np.allclose(rate, want_rate, rtol=1e-12, atol=0)


def test_hour_sums_count_values_and_missing_values_per_clock_hour() -> None:
    rng = np.random.default_rng(6)
    values = rng.standard_normal((300, 4))
    values[rng.random(values.shape) < 0.2] = np.nan
    ts = 1_772_430_000.0 + np.sort(rng.uniform(0, 5 * 3600.0, 300))
    sums, missing = HourSums(4), HourSums(4, 72.0, "missing")
    for begin in range(0, 300, 37):  # batches that straddle hours
        sums.add(values[begin : begin + 37], ts[begin : begin + 37])
        missing.add(values[begin : begin + 37], ts[begin : begin + 37])
    sums.add(values[:1] * np.nan, ts[-1:] + 3600.0)  # closes the last hour with data
    missing.add(values[:1], ts[-1:] + 3600.0)
    hours = np.floor(ts / 3600.0).astype(np.int64)
    for k, hour in enumerate(np.unique(hours)):
        rows = values[hours == hour]
        assert sums.hour[k] == hour == missing.hour[k]
        assert np.array_equal(sums.n[k], (~np.isnan(rows)).sum(axis=0))
        assert np.allclose(sums.s[k], np.nansum(rows, axis=0), rtol=1e-12, atol=1e-12)
        assert np.array_equal(missing.n[k], np.full(4, float(len(rows))))
        assert np.array_equal(missing.s[k], np.isnan(rows).sum(axis=0))
    n_open, s_open = np.zeros(4), np.zeros(4)
    hour_sums(values, n_open, s_open)
    assert np.array_equal(n_open, (~np.isnan(values)).sum(axis=0))
    plain = np.zeros(4)  # the sum in row order, missing values skipped: the same bits
    for row in values:
        plain[~np.isnan(row)] += row[~np.isnan(row)]
    assert np.array_equal(s_open, plain)


class PlainHours:
    """`HourSums` as it was written in Python (the numpy cut, one call per run of an hour)."""

    def __init__(self, width: int, hours: float, missing: bool) -> None:
        self.capacity, self.missing = int(hours) + 2, missing
        self.hour = np.zeros(self.capacity, np.int64)
        self.n, self.s = np.zeros((self.capacity, width)), np.zeros((self.capacity, width))
        self.size, self.open_hour, self.closed = 0, -1, 0
        self.open_n, self.open_s = np.zeros(width), np.zeros(width)

    def add(self, part: np.ndarray, ts: np.ndarray) -> None:
        first, last = int(ts[0] // 3600.0), int(ts[-1] // 3600.0)
        if first == last:
            self.take(part, first)
            return
        hours = np.floor(ts / 3600.0).astype(np.int64)
        bounds = [0, *(np.flatnonzero(hours[1:] != hours[:-1]) + 1).tolist(), len(hours)]
        for begin, end in zip(bounds[:-1], bounds[1:], strict=False):
            self.take(part[begin:end], int(hours[begin]))

    def take(self, part: np.ndarray, hour: int) -> None:
        if hour != self.open_hour:
            if self.open_hour >= 0 and self.open_n.any():
                if self.size == self.capacity:
                    keep = self.capacity // 2
                    for a in (self.hour, self.n, self.s):
                        a[:keep] = a[self.size - keep : self.size]
                    self.size = keep
                self.hour[self.size] = self.open_hour
                self.n[self.size], self.s[self.size] = self.open_n, self.open_s
                self.size += 1
                self.closed += 1
                self.open_n, self.open_s = np.zeros_like(self.open_n), np.zeros_like(self.open_s)
            self.open_hour = hour
        for row in part:  # in row order, as the kernels add
            seen = ~np.isnan(row)
            if self.missing:
                self.open_n += 1.0
                self.open_s += ~seen
            else:
                self.open_n[seen] += 1.0
                self.open_s[seen] += row[seen]


@pytest.mark.parametrize("counts", ["residuals", "missing"])
def test_hour_sums_keep_what_the_plain_form_keeps(counts) -> None:
    """Batches within an hour, across hours, out of order, after night stops, hours where
    every value is missing, and a small ring that halves itself many times: the same bits."""
    rng = np.random.default_rng(10)
    width = 3
    sums, plain = HourSums(width, 30.0, counts), PlainHours(width, 30.0, counts == "missing")
    at = 1_772_430_000.0
    for _ in range(600):
        rows = int(rng.integers(1, 60))
        ts = at + np.sort(rng.uniform(0, rng.choice([600.0, 5000.0, 20000.0]), rows))
        if rng.random() < 0.1:
            ts = rng.permutation(ts)  # out of order: runs of an hour in the batch's order
        values = rng.standard_normal((rows, width))
        values[rng.random(values.shape) < rng.choice([0.0, 0.3, 1.0])] = np.nan
        at = float(ts.max()) + (rng.exponential(3600.0) if rng.random() < 0.9 else 30000.0)
        sums.add(values, ts)
        plain.add(values, ts)
        assert (sums.size, sums.open_hour, sums.closed) == (
            plain.size, plain.open_hour, plain.closed
        )  # fmt: skip
        for a, b in ((sums.hour, plain.hour), (sums.n, plain.n), (sums.s, plain.s)):
            assert np.array_equal(a[: sums.size], b[: plain.size])
        assert np.array_equal(sums.open_n, plain.open_n)
        assert np.array_equal(sums.open_s, plain.open_s)
    assert plain.closed > 3 * plain.capacity


def test_the_binner_is_searchsorted_where_cells_hold_several_edges() -> None:
    from types import SimpleNamespace

    from console.stats import Binner, RollingWindow

    rng = np.random.default_rng(8)
    width = 3
    edges = np.full((width, FINE_BINS), np.nan)
    counts = np.zeros(width, np.int64)
    for j, values in enumerate(
        (
            np.sort(rng.standard_normal(FINE_BINS - 1)),
            np.repeat(np.sort(rng.standard_normal(50)), 4),  # ties: four edges per value
            np.concatenate([np.linspace(0, 1e-9, 100), np.linspace(1, 2, 100)]),  # packed
        )
    ):
        edges[j, : values.size] = values
        counts[j] = values.size
    profile = SimpleNamespace(
        columns=("a", "b", "c"), edges=edges, edge_count=counts,
        mean=np.zeros(width), valid_low=np.full(width, -np.inf),
        valid_high=np.full(width, np.inf), classes=("ok",),
    )  # fmt: skip
    x = np.concatenate([rng.standard_normal((2000, width)) * 2, edges[:, :190].T])
    x[rng.random(x.shape) < 0.05] = np.nan
    want = np.full(x.shape, FINE_BINS)
    for j in range(width):
        present = ~np.isnan(x[:, j])
        want[present, j] = np.searchsorted(edges[j, : counts[j]], x[present, j], side="right")
    assert np.array_equal(Binner(profile).bins(x), want)
    window = RollingWindow(profile, 5000)
    window.add(x, np.zeros(len(x), np.int32), np.arange(len(x), dtype=float))
    assert np.array_equal(window.bins[: len(x)], want)


def plain_mean_shift(
    n, total, ref_var, back, enough, block_var, block_live, factor, ref_share, inflation, hours
):  # fmt: skip
    """`MeanShift.evaluate`'s z and window as it was written with numpy."""
    n, total, ref_var = n[back], total[back], ref_var[back]
    blocks = (block_live * factor[:, None] + block_var * ref_share) * n**2
    with np.errstate(all="ignore"):
        z = np.where(
            (n >= enough[:, None]) & (n > 0),
            total / (np.sqrt(n + ref_var + blocks) * inflation),
            0.0,
        )
    pick = np.argmax(np.abs(z), axis=0)
    best = z[pick, np.arange(z.shape[1])]
    return best, np.where(best != 0, hours[pick], 0.0)


def test_the_mean_shift_z_equals_the_numpy_form() -> None:
    rng = np.random.default_rng(8)
    windows, width = 3, 9
    n = rng.integers(0, 3000, (windows, width)).astype(float)
    n[:, 2] = 0.0  # no parts at all
    n[0, 3] = 10.0  # too few in the shortest window
    total = rng.standard_normal((windows, width)) * np.sqrt(n) * 2
    total[1, 4] = np.nan  # a NaN z wins numpy's argmax
    total[:, 5] = [1.0, -1.0, 1.0]  # ties of |z| across windows go to the first
    n[:, 5] = 100.0
    ref_var = rng.uniform(0, 5, (windows, width))
    ref_var[:, 5] = 0.0
    back = np.array([2, 0, 1])
    hours = np.array([36.0, 24.0, 48.0])
    enough = np.array([300.0, 200.0, 400.0])
    block_var = rng.uniform(0, 1e-3, width)
    block_var[5] = 0.0
    block_live = 0.5 * block_var
    factor = 8.0 / hours
    inflation = rng.uniform(1.0, 1.5, width)
    inflation[5] = 1.0
    z, held = np.empty(width), np.empty(width)
    blocks = (block_var, block_live, factor, 1.0 / 12.0)
    mean_shift_z(n, total, ref_var, back, enough, *blocks, inflation, hours, z, held)
    want_z, want_held = plain_mean_shift(n, total, ref_var, back, enough, *blocks, inflation, hours)
    assert np.array_equal(z, want_z, equal_nan=True)
    assert np.array_equal(held, want_held)
    assert z[2] == 0.0 and held[2] == 0.0 and np.isnan(z[4])


def test_the_quality_ewmas_equal_the_numpy_form_and_say_when_either_is_near() -> None:
    rng = np.random.default_rng(5)
    level, outside = rng.random(12) * 0.01, rng.random(12) * 0.001
    counts, out_counts = rng.integers(0, 3, 12), rng.integers(0, 2, 12)
    limit = np.full(12, 0.05)
    for decay, parts, range_limit in ((0.5, 100, 0.01), (0.9876543, 7, 0.01), (0.0, 1, 1e-9)):
        got, got_outside = np.empty(12), np.empty(12)
        near = quality_ewmas(
            decay, parts, level, counts, outside, out_counts, limit, range_limit, got, got_outside
        )
        want = decay * level + (1 - decay) * counts / parts
        want_outside = decay * outside + (1 - decay) * out_counts / parts
        assert np.array_equal(got, want) and np.array_equal(got_outside, want_outside)
        quiet = (want / limit).max() < 0.8 and want_outside.max() < 0.8 * range_limit
        assert near == (not quiet)
    nan = np.full(12, np.nan)
    assert quality_ewmas(0.5, 10, level, counts, outside, out_counts, nan, 0.01, got, got_outside)


def test_the_shift_margins_equal_the_numpy_form() -> None:
    rng = np.random.default_rng(11)
    block_var = rng.random(9) * 0.01
    block_var[2] = 0.0
    ks, psi = rng.random(9) * 0.05, rng.random(9) * 0.2
    got_ks, got_psi = np.empty(9), np.empty(9)
    shift_margins(block_var, 0.37, 3.1, ks, psi, got_ks, got_psi)
    reach = 3.1 * np.sqrt(block_var * 0.37)
    assert np.array_equal(got_ks, ks + 0.4 * reach)
    assert np.array_equal(got_psi, (np.sqrt(psi) + reach) ** 2)
