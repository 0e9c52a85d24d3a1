"""The compiled block sums of the live shift effects (console/shift_kernels.py) are, to the last
bit, what `np.add.reduceat` gives, for blocks of any length (every branch of numpy's pairwise
order)."""

import numpy as np

from console.shift_kernels import block_sums


def test_block_sums_add_as_reduceat_for_blocks_of_any_length() -> None:
    rng = np.random.default_rng(11)
    width = 3
    lengths = [1, 2, 7, 8, 9, 16, 17, 128, 129, 130, 300, 1000, 5]
    size = sum(lengths)
    starts = np.cumsum([0, *lengths[:-1]]).astype(np.int64)
    hour = np.arange(size, dtype=np.int64) * 3
    n = rng.integers(0, 400, (size, width)).astype(float)
    s = rng.standard_normal((size, width)) * 1e3
    group_of_phase = np.where(rng.random(24) < 0.3, 24, np.arange(24)).astype(np.int64)
    reference_count = rng.uniform(50, 900, (25, width))
    blocks = len(lengths)
    key = np.zeros((blocks, 3), np.int64)
    nb, sb, pb = (np.zeros((blocks, width)) for _ in range(3))
    assert (
        block_sums(hour, n, s, starts, group_of_phase, reference_count, key, 0, nb, sb, pb)
        == blocks
    )
    terms = n * n / reference_count[group_of_phase[hour % 24]]
    for got, values in ((nb, n), (sb, s), (pb, terms)):
        assert np.array_equal(got, np.add.reduceat(values, starts, axis=0))
