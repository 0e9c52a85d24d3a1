"""The compiled live shift effects (console/shift_kernels.py) give, to the last bit, what the
numpy forms give: block sums as `np.add.reduceat` adds them (blocks of any length, so every
branch of numpy's pairwise order), and the τ² estimate of `ShiftEffects.update` (the plain form
`estimate_plainly`), on lines with and without shift effects, thin blocks included."""

import numpy as np
import pytest

from console.shift_effects import ShiftEffects
from console.shift_kernels import block_sums, shift_estimate


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


def blocks_of(rng: np.random.Generator, count: int, width: int, effect: float) -> tuple:
    """Block sums of a line with shift effects of sd `effect`, some blocks too thin to use."""
    nb = rng.integers(0, 400, (count, width)).astype(float)
    nb[rng.random(nb.shape) < 0.1] = rng.integers(0, 20)  # fewer than FEWEST_PARTS
    means = rng.standard_normal((count, width)) * effect
    with np.errstate(all="ignore"):
        sb = nb * means + rng.standard_normal((count, width)) * np.sqrt(nb)
    profile = nb * nb / rng.uniform(200, 2000, (count, width))
    return nb, sb, profile


@pytest.mark.parametrize("effect", [0.0, 0.05, 0.3])
@pytest.mark.parametrize("count", [3, 4, 40, 170])
def test_the_compiled_estimate_equals_the_numpy_form(effect: float, count: int) -> None:
    rng = np.random.default_rng(int(effect * 100) + count)
    width = 7
    nb, sb, profile = blocks_of(rng, count, width, effect)
    nb[:, 6] = 5.0  # an input with no usable block at all

    def effects() -> ShiftEffects:
        block_var = rng.uniform(0.0, 0.01, width)
        block_var[1] = 0.0
        group_of_phase = np.arange(24)
        return ShiftEffects(block_var, 2.5, group_of_phase, np.ones((25, width)))

    state = rng.bit_generator.state
    plain = effects()
    rng.bit_generator.state = state
    compiled = effects()
    plain.estimate_plainly(nb, sb, profile)
    compiled.live = np.zeros(width)
    compiled.differences = shift_estimate(
        nb, sb, profile, count, 20.0, 2.5, compiled.reference, compiled.initial,
        compiled.block_var, compiled.live,
    )  # fmt: skip
    assert np.array_equal(compiled.block_var, plain.block_var)
    assert np.array_equal(compiled.live, plain.live)
    assert compiled.differences == plain.differences
    if effect >= 0.3 and count >= 40:  # the live effects show: some τ² was raised
        assert (plain.block_var != plain.initial).any()
