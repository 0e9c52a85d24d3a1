"""The per-block sums kept between looks (console/shift_blocks.py) are the sums over all the
hours, to the last bit, look after look, through the hour ring's compaction."""

import numpy as np

from console.detectors.ramp import HourSums
from console.shift_blocks import ShiftBlocks

HOUR = 3600.0
BLOCK = 8 * 3600.0


def plain(hour, n, s, starts, group_of_phase, reference_count):
    group = group_of_phase[(hour % 24).astype(np.intp)]
    return (
        np.add.reduceat(n, starts, axis=0),
        np.add.reduceat(s, starts, axis=0),
        np.add.reduceat(n * n / reference_count[group], starts, axis=0),
    )


def test_kept_block_sums_equal_the_sums_over_all_hours() -> None:
    rng = np.random.default_rng(9)
    width = 4
    sums = HourSums(width, hours=200.0)  # a small ring: it compacts within the run
    group_of_phase = np.where(rng.random(24) < 0.3, 24, np.arange(24))
    reference_count = rng.uniform(50, 900, (25, width))
    blocks = ShiftBlocks(group_of_phase, reference_count)
    ts = 1_772_430_000.0
    looks = compactions = 0
    for _ in range(900):
        gap = rng.choice([17.0, 17.0, 17.0, 8 * 3600.0])  # night pauses now and then
        ts += gap * rng.uniform(0.5, 1.5)
        batch = ts + np.sort(rng.uniform(0, 1200.0, 40))
        values = rng.standard_normal((40, width))
        values[rng.random(values.shape) < 0.1] = np.nan
        before = sums.size
        sums.add(values, batch)
        ts = batch[-1]
        compactions += sums.size < before
        if sums.size < 3 or rng.random() < 0.3:
            continue
        hour, n, s = sums.hour[: sums.size], sums.n[: sums.size], sums.s[: sums.size]
        block = hour * HOUR // BLOCK
        starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
        got = blocks.sums(hour, n, s, starts)
        want = plain(hour, n, s, starts, group_of_phase, reference_count)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)
        looks += 1
    assert looks > 100 and compactions >= 2
