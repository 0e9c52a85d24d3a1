"""Detector arithmetic against scipy and plain-loop oracles."""

import numpy as np
import pytest
from scipy import stats

from console.config import Detection
from console.detectors.jump import JumpCusum
from console.detectors.shape import ShapeDrift
from console.drift import calibrate, scan_threshold
from console.reference import build_profile
from console.stats import RollingWindow
from tests.test_stats import make_batch


def profile_and_matrix(seed=0, n=20000, width=4):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, width)) * np.arange(1, width + 1) + 10
    batch = make_batch(values, codes=rng.integers(0, 3, n).astype(np.int32))
    profile = build_profile(batch, tuple(f"f{i}" for i in range(width)), ["a", "b", "c"])
    matrix = np.column_stack([values, batch.conf])
    return profile, matrix, batch


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3, 1.0])
def test_ks_from_maintained_counts_is_within_0_003_of_scipy(shift):
    profile, matrix, batch = profile_and_matrix()
    cal = calibrate(profile, matrix, batch.ts, 10000, Detection())
    rng = np.random.default_rng(9)
    live = rng.normal(size=(10000, 4)) * np.arange(1, 5) + 10 + shift * np.arange(1, 5)
    window = RollingWindow(profile, 10000)
    for start in range(0, 10000, 100):
        rows = live[start : start + 100]
        window.add(
            np.column_stack([rows, np.full(len(rows), 0.9)]),
            np.zeros(len(rows), np.int32),
            np.zeros(len(rows)),
        )
    ks = ShapeDrift(profile, cal).evaluate(window)["ks"]
    for j in range(4):
        oracle = stats.ks_2samp(live[:, j], matrix[:, j]).statistic
        assert abs(ks[j] - oracle) <= 0.003, (j, ks[j], oracle)


def test_wasserstein_from_counts_is_close_to_scipy():
    profile, matrix, batch = profile_and_matrix()
    cal = calibrate(profile, matrix, batch.ts, 10000, Detection())
    rng = np.random.default_rng(3)
    live = rng.normal(size=(10000, 4)) * np.arange(1, 5) + 10.5
    window = RollingWindow(profile, 10000)
    window.add(
        np.column_stack([live, np.full(10000, 0.9)]), np.zeros(10000, np.int32), np.zeros(10000)
    )
    w1 = ShapeDrift(profile, cal).evaluate(window)["wasserstein"]
    for j in range(4):
        oracle = stats.wasserstein_distance(live[:, j], matrix[:, j])
        assert abs(w1[j] - oracle) <= 0.05 * (j + 1) * 0.5, (j, w1[j], oracle)


def test_compiled_cusum_equals_the_plain_recursion():
    profile, matrix, batch = profile_and_matrix(width=2)
    cal = calibrate(profile, matrix, batch.ts, 10000, Detection())
    cusum = JumpCusum(profile, cal)
    cusum.h = np.full(3, 1e9)  # never cap, never cross: compare the raw paths
    rng = np.random.default_rng(4)
    resid = rng.normal(size=(1000, 3)) + np.array([0.8, -1.5, 0.0])
    phase = np.zeros(1000, np.intp)
    resid[::50, 1] = np.nan  # missing values change nothing
    up, down, base = np.zeros(3), np.zeros(3), np.zeros(3)
    units = cusum.units[0]
    for start in range(0, 1000, 77):
        cusum.update(resid[start : start + 77] * cusum.units[phase[start : start + 77]], start)
        for row in resid[start : start + 77]:
            u = row * units
            seen = ~np.isnan(u)
            step = np.where(seen, u - base, 0.0)
            base = np.where(seen, base + cusum.rate * (u - base), base)
            up = np.where(seen, np.maximum(0.0, up + step - cal.cusum_k), up)
            down = np.where(seen, np.maximum(0.0, down - step - cal.cusum_k), down)
        assert np.array_equal(cusum.up, up) and np.array_equal(cusum.down, down)  # bit for bit


def test_cusum_reports_the_part_where_it_crossed():
    profile, matrix, batch = profile_and_matrix(width=1)
    cal = calibrate(profile, matrix, batch.ts, 10000, Detection())
    cusum = JumpCusum(profile, cal)
    resid = np.zeros((300, 2))
    resid[120:, 0] = 3.0 / cusum.units[0, 0]  # a 3 sd step at part 120
    crossing, onset = cusum.update(resid * cusum.units[0], 1000)
    assert onset[0] == 1120
    assert 1120 < crossing[0] <= 1120 + int(np.ceil(cal.cusum_h[0] / (3.0 - cal.cusum_k))) + 1
    assert crossing[1] == -1


def test_thresholds_rise_with_a_smaller_false_alarm_budget():
    assert scan_threshold(0.001, (24.0,)) > scan_threshold(0.1, (24.0,)) > 3.5


def test_thresholds_account_for_a_small_reference():
    small_profile, small, small_batch = profile_and_matrix(n=2000)
    big_profile, big, big_batch = profile_and_matrix(n=40000)
    small_cal = calibrate(small_profile, small, small_batch.ts, 10000, Detection())
    big_cal = calibrate(big_profile, big, big_batch.ts, 10000, Detection())
    assert (small_cal.ks > big_cal.ks).all()
    assert (small_cal.psi > big_cal.psi).all()


def test_cusum_batches_report_only_their_own_crossings():
    profile, matrix, batch = profile_and_matrix(width=1)
    cal = calibrate(profile, matrix, batch.ts, 10000, Detection())
    cusum = JumpCusum(profile, cal)
    resid = np.zeros((300, 2))
    resid[120:, 0] = 3.0 / cusum.units[0, 0]
    crossing, _ = cusum.update(resid * cusum.units[0], 0)
    assert crossing[0] >= 120 and crossing[1] == -1 and cusum.peak[0] > 0
    for start in range(300, 3000, 100):  # the step is gone: the CUSUM falls back below h
        crossing, onset = cusum.update(np.zeros((100, 2)), start)
    assert crossing[0] == -1 and onset[0] == -1 and cusum.peak[0] == 0.0
    assert cusum.score[0] < 1.0
