"""The ramp scan's running sums (console/ramp_sums.py) give, at every look, the z a pass over all
the hours gives (`RampScan.evaluate_direct`), within 1e-9: on a line with night stops, idle
days, hours without a value in some inputs, shift-block effects, looks one to seven hours
apart, the ring halving itself and the sums anchored again."""

from types import SimpleNamespace

import numpy as np
import pytest

from console.detectors.ramp import HOUR, HourSums, RampScan
from console.ramp_sums import REANCHOR_ROWS

START = 1_772_409_600.0  # 2026-03-02 00:00 UTC


def scan_of(width: int, rng: np.random.Generator, blocks: bool) -> RampScan:
    tau = 0.002 if blocks else 0.0
    calibration = SimpleNamespace(
        block_var=np.full(width, tau), block_live=np.full(width, 0.7 * tau), ref_blocks=7.0,
        reference_counts=lambda c: c, block_origin=6 * 3600.0,  # shifts from 06:00
    )  # fmt: skip
    phase_count = rng.uniform(100, 900, (24, width))
    phase_count[:8] = 5000.0  # hours without a profile of their own share one error
    profile = SimpleNamespace(phase_count=phase_count, count=np.full(width, 5000.0))
    return RampScan(SimpleNamespace(profile=profile, calibration=calibration, width=width))


def line_batches(days: int, width: int, rng: np.random.Generator):
    """Batches of 40 parts from 06:00 to 22:00, about one day in six idle, shift effects,
    a slow drift, and now and then an hour in which one input has no value."""
    ts = []
    for day in range(days):
        if rng.random() < 0.16:
            continue
        per_day = rng.integers(200, 900)
        ts.append(START + day * 86400 + 6 * HOUR + np.sort(rng.uniform(0, 16 * HOUR, per_day)))
    ts = np.concatenate(ts)
    shift = np.floor((ts - START - 6 * HOUR) / (8 * HOUR)).astype(int)
    effects = rng.normal(0, 0.1, (shift.max() + 1, width))
    values = rng.standard_normal((ts.size, width)) + effects[shift] + (ts[:, None] - START) / 4e7
    hour = np.floor(ts / HOUR).astype(int)
    for h in rng.choice(np.unique(hour), size=40, replace=False):
        values[hour == h, rng.integers(width)] = np.nan
    for i in range(0, ts.size, 40):
        yield values[i : i + 40], ts[i : i + 40]


def z_direct(scan: RampScan, sums: HourSums) -> np.ndarray:
    """z per (onset, input) with the ramp's weights written out."""
    size = sums.size
    w, live, reference, blocks, fixed = scan.variances(sums.hour[:size], sums.n[:size])
    with np.errstate(all="ignore"):
        z = np.where(
            live > 0, (w @ sums.s[:size]) / np.sqrt(live + reference + blocks + fixed), 0.0
        )
    return np.nan_to_num(z)


@pytest.mark.parametrize(
    ("ring_hours", "days", "blocks"), [(200.0, 40, True), (1344.0, 110, True), (300.0, 30, False)]
)
def test_every_look_gives_the_z_of_a_pass_over_all_hours(ring_hours, days, blocks) -> None:
    rng = np.random.default_rng(int(ring_hours) + days)
    width = 4
    sums = HourSums(width, ring_hours)
    scan = scan_of(width, rng, blocks)
    looks = halvings = 0
    anchors = set()
    seen, gap = 0, 1
    for values, ts in line_batches(days, width, rng):
        size = sums.size
        sums.add(values, ts)
        halvings += sums.size < size
        if sums.closed - seen < gap or sums.size < 2:
            continue
        seen, gap = sums.closed, int(rng.integers(1, 8))
        fast, best, pick = (
            np.zeros((scan.lookbacks.size, width)),
            np.empty(width),
            np.empty(width, int),
        )
        scan.running.look(
            sums, scan.lookbacks, scan.reference_count, scan.block_var, scan.block_live,
            scan.ref_blocks, fast, best, pick,
        )  # fmt: skip
        assert np.allclose(fast, z_direct(scan, sums), rtol=1e-9, atol=1e-12)
        assert np.array_equal(pick, np.argmax(np.abs(fast), axis=0))  # numpy's rule: the first
        assert np.array_equal(best, fast[pick, np.arange(width)])
        picked = scan.evaluate(sums).copy()
        onsets = scan.onset_hours.copy()
        assert np.allclose(picked, scan.evaluate_direct(sums), rtol=1e-9, atol=1e-12)
        # The same onset is picked, save where two onsets tie (one hour after a night stop: every
        # onset up to the stop weighs it alike, and rounding picks one).
        top = np.sort(np.abs(fast), axis=0)
        clear = top[-1] - top[-2] > 1e-9 * top[-1]
        assert np.array_equal(onsets[clear], scan.onset_hours[clear])
        looks += 1
        anchors.add(int(scan.running.meta[4]))
    assert looks > 50 and halvings >= 1
    # Anchored again after every halving and, in a ring long enough, every REANCHOR_ROWS hours.
    assert len(anchors) >= halvings + 1 + 4 * (sums.capacity > 2 * REANCHOR_ROWS)
