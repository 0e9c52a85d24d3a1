"""The false-alarm budget, spent once per input over all its detectors and looks.

`detection.false_alarms_per_year` is the number of false alarms a stable input may raise in a
year, ALL its detectors together (config.py says "family-wise"). `share` splits it: most goes to
the slow-drift ramp, which is the detector that must work near the statistical limit; the other
detectors, there for other kinds of change, get small shares (a level rises only with the log of
the budget, so a tenth of it costs them little).

`fixed_error_level` is the level of a statistic part of whose variance is the reference's own
sampling error. That part does not average out over a year: it is drawn once, when the reference
is taken, and then biases every look of the year the same way. Treating it as fresh noise at
every look (as a z-score's variance does) gives the right level for one look but far too many
false alarms on the few inputs whose reference happened to be off. The level here solves
E_b[rate(u | b)] = budget, b the reference's error, for a statistic z = √ρ·b + √(1 − ρ)·live.
Engine thread (once per reference); pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Shares of an input's budget per detector (they sum to 1).
SHARES: dict[str, float] = {
    "ramp": 0.55,
    "mean_shift": 0.1,
    "missing_rate": 0.1,
    "ks": 0.05,
    "psi": 0.05,
    "jump": 0.05,
    "missing": 0.04,
    "out_of_range": 0.03,
    "stuck": 0.03,
}

# A statistic that sits above its level because of its reference raises its alarm, which is then
# held a day and needs the statistic to fall back before it can be raised again: such an input
# is counted as at most this many false alarms a year, not one per look.
MOST_PER_YEAR = 52.0

_GRID = np.linspace(-9.0, 9.0, 361)  # the reference's error b, in its own sd
_WEIGHT = np.exp(-0.5 * _GRID**2) / math.sqrt(2.0 * math.pi) * (_GRID[1] - _GRID[0])
_X = np.linspace(-12.0, 40.0, 5201)
_TAIL = np.array([0.5 * math.erfc(x / math.sqrt(2.0)) for x in _X])  # 1 − Φ(x)


def share(budget: float, detector: str) -> float:
    """The part of an input's yearly budget that `detector` may spend."""
    return budget * SHARES[detector]


def normal_tail(x: np.ndarray) -> np.ndarray:
    """1 − Φ(x), vectorised (a table: no scipy at run time)."""
    return np.interp(x, _X, _TAIL, left=1.0, right=0.0)


def upcrossings(x: np.ndarray) -> np.ndarray:
    """x² (1 − Φ(x)): the shape of the yearly upcrossing rate of a smooth Gaussian scan over a
    level x (Pickands); kept non-increasing below 1.5 where the asymptotic form fails."""
    x = np.maximum(x, 1.5)
    return x * x * normal_tail(x)


def fixed_error_level(
    rate: Callable[[np.ndarray], np.ndarray],
    rho: np.ndarray,
    budget: float,
    lo: float = 1.0,
    hi: float = 15.0,
) -> np.ndarray:
    """Levels u (per column) with Σ_k E_b[rate_k(u | b)] = budget.

    `rho` is (terms, columns): the share of each term's variance that is the reference's fixed
    error; `rate(x)` gives each term's yearly rate of crossing x on ONE side when all of its
    variance is fresh noise, as an array (terms, columns, …) for x of that shape. With b drawn,
    the live part must reach (u ∓ √ρ·b) / √(1 − ρ) on either side."""
    rho = np.clip(np.asarray(rho, float), 0.0, 0.999)
    root, rest = np.sqrt(rho)[..., None], np.sqrt(1.0 - rho)[..., None]
    lo_u = np.full(rho.shape[1], lo)
    hi_u = np.full(rho.shape[1], hi)
    for _ in range(50):
        u = 0.5 * (lo_u + hi_u)
        level = u[None, :, None]
        up = np.minimum(rate((level - root * _GRID) / rest), MOST_PER_YEAR)
        down = np.minimum(rate((level + root * _GRID) / rest), MOST_PER_YEAR)
        total = ((up + down) * _WEIGHT).sum(axis=(0, 2))
        over = total > budget
        lo_u = np.where(over, u, lo_u)
        hi_u = np.where(over, hi_u, u)
    return hi_u
