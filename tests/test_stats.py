"""Rolling statistics against direct recomputation (hypothesis), and the binner against numpy."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from console.records import RecordBatch
from console.reference import FINE_BINS, build_profile
from console.stats import Binner, RollingWindow, TimeBuckets


def make_batch(
    values: np.ndarray, ts: np.ndarray | None = None, codes: np.ndarray | None = None
) -> RecordBatch:
    n = values.shape[0]
    ts = np.arange(n) * 17.28 + 1.77e9 if ts is None else ts
    codes = np.zeros(n, np.int32) if codes is None else codes
    empty = (None,) * n
    return RecordBatch(
        features=values,
        class_codes=codes,
        conf=np.full(n, 0.9),
        ts=ts,
        ts_text=("t",) * n,
        part=tuple(str(i) for i in range(n)),
        batch=empty,
        model=empty,
        image=empty,
        label=empty,
        station=empty,
    )


def reference(seed: int = 0, n: int = 3000, width: int = 3, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, width)) * [1.0, 5.0, 0.1][:width] + [0.0, 100.0, 1.0][:width]
    if decimals is not None:
        values = np.round(values, decimals)
    batch = make_batch(values, codes=rng.integers(0, 3, n).astype(np.int32))
    return build_profile(batch, tuple(f"f{i}" for i in range(width)), ["a", "b", "c"]), values


def test_binner_agrees_with_searchsorted_on_every_column():
    for decimals in (None, 1):
        profile, values = reference(decimals=decimals)
        rng = np.random.default_rng(5)
        probe = (
            np.column_stack([values, np.full(len(values), 0.9)])[:500]
            + rng.normal(size=(500, 4)) * 2
        )
        probe[::17, 1] = np.nan
        got = Binner(profile).bins(probe)
        for j in range(4):
            k = int(profile.edge_count[j])
            want = np.searchsorted(profile.edges[j, :k], probe[:, j], side="right")
            want[np.isnan(probe[:, j])] = FINE_BINS
            assert np.array_equal(got[:, j], want)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(50, 400),
    batches=st.lists(st.integers(1, 120), min_size=1, max_size=25),
    missing=st.floats(0, 0.3),
    seed=st.integers(0, 10_000),
)
def test_rolling_window_matches_direct_recomputation(size, batches, missing, seed):
    # Odd seeds: a coarsely rounded reference, whose tied quantiles put several edges in a cell.
    profile, _ = reference(seed % 7, decimals=1 if seed % 2 else None)
    window = RollingWindow(profile, size)
    rng = np.random.default_rng(seed)
    rows = []
    codes_all = []
    for m in batches:
        values = rng.normal(size=(m, 4)) * [1, 5, 0.1, 0.1] + [0.5, 100, 1, 0.8]
        if seed % 2:
            values = np.round(values, 1)
        values[rng.random(values.shape) < missing] = np.nan
        values[rng.random(values.shape) < 0.01] = -50.0  # out of range
        codes = rng.integers(0, 4, m).astype(np.int32)
        window.add(values, codes, np.zeros(m))
        assert np.array_equal(window.new_missing, np.isnan(values).sum(axis=0))  # this batch's
        rows.append(values)
        codes_all.append(codes)
    last = np.vstack(rows)[-size:]
    codes = np.concatenate(codes_all)[-size:]
    present = ~np.isnan(last)
    assert np.array_equal(window.count, present.sum(axis=0))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(last, axis=0)
        sd = np.nanstd(last, axis=0, ddof=1)
    ok = present.sum(axis=0) > 1
    assert np.allclose(window.mean[ok], mean[ok], rtol=1e-9, atol=1e-6)
    assert np.allclose(window.sd[ok], sd[ok], rtol=1e-6, atol=1e-6)
    assert np.array_equal(window.missing, (~present).sum(axis=0))
    outside = (last < profile.valid_low) | (last > profile.valid_high)
    assert np.array_equal(window.out_of_range, outside.sum(axis=0))
    direct = Binner(profile).bins(last)
    for j in range(4):
        assert np.array_equal(window.hist[j], np.bincount(direct[:, j], minlength=FINE_BINS + 1))
    seen = np.zeros(4, np.int64)
    seen[: min(window.class_counts.size, 4)] = window.class_counts[:4]
    assert np.array_equal(seen, np.bincount(codes, minlength=4)[:4])


def test_runs_of_identical_values_are_counted_across_batches():
    profile, _ = reference()
    window = RollingWindow(profile, 100)
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 4))
    values[10:, 2] = 7.0
    window.add(values[:20], np.zeros(20, np.int32), np.zeros(20))
    window.add(values[20:], np.zeros(10, np.int32), np.zeros(10))
    assert window.run[2] == 20
    assert window.run[0] == 1


def test_time_buckets_sum_what_arrived_in_each_quarter_hour():
    profile, _ = reference()
    buckets = TimeBuckets(profile)
    rng = np.random.default_rng(2)
    ts = 1.77e9 + np.sort(rng.uniform(0, 6 * 3600, 2000))
    values = rng.normal(size=(2000, 4))
    resid = rng.normal(size=(2000, 4))
    for start in range(0, 2000, 137):
        buckets.add(
            values[start : start + 137], ts[start : start + 137], resid[start : start + 137]
        )
    summary = buckets.summary(2.0)
    newest = int(ts[-1] // 900)
    recent = ts // 900 > newest - 8
    assert summary["count"][0] == recent.sum()
    assert np.isclose(summary["mean"][1], values[recent, 1].mean())
    assert np.isclose(summary["max"][3], values[recent, 3].max())


def test_a_batch_wholly_older_than_the_time_buckets_ring_starts_it_again():
    """A record with a wrong time (days ahead) set the newest bucket: the next batch, wholly
    older than the ring, empties it and the ring goes on from there; a batch partly inside
    the ring is only counted where it fits."""
    profile, _ = reference()
    buckets = TimeBuckets(profile)
    rng = np.random.default_rng(4)
    now = 1.77e9
    values = rng.normal(size=(300, 4))
    buckets.add(values[:100], now + 30 * np.arange(100), values[:100])
    buckets.add(values[100:101], now + 6 * 86400 + np.zeros(1), values[100:101])  # wrong time
    older = now + 3600 + 30 * np.arange(100)  # back to the line's own time: wholly older
    buckets.add(values[101:201], older, values[101:201])
    assert buckets.current == int(older[-1] // 900)
    assert buckets.parts.sum() == 100  # the first batch and the wrong part are gone
    assert np.isclose(buckets.summary(2.0)["max"][0], values[101:201, 0].max())
    partly = older[0] - 4 * 86400 - 1800 + 60 * np.arange(100)  # its end falls inside the ring
    buckets.add(values[201:301], partly, values[201:301])
    assert buckets.current == int(older[-1] // 900)  # no restart: only its newer parts count
    assert 100 < buckets.parts.sum() < 200
