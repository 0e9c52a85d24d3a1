"""Reference health: is the reference long enough for the window, and exchangeable (its records
a fair sample of one stable process, in any order)?

`check_reference` looks, per input, at the residuals against the reference's own hour-of-day
profile: lag-1 autocorrelation (rows ordered by value, or a slowly wandering process), a trend
(first half against second half, its z counted on the effective sample size) — and at the
length against the rolling window (KS and PSI wait until the window is full). It returns the
warnings and, per input, the share of the reference's records that count as independent
(`effective`, (1 − ρ) / (1 + ρ) for an AR(1)-like residual), which the mean-drift detectors use
for the reference's own error. Runs once per reference, on the engine thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ORDERED = 0.5  # lag-1 autocorrelation beyond which the reference is not exchangeable
TREND_ALPHA = 1e-4  # per input, for a first-half/second-half difference


@dataclass(frozen=True)
class ReferenceWarning:
    kind: str  # "too_short", "ordered", "trend"
    source: str  # an input, or "reference"
    value: float
    message: str

    def wire(self) -> dict[str, object]:
        return {"kind": self.kind, "source": self.source, "value": round(self.value, 4),
                "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class ReferenceHealth:
    warnings: tuple[ReferenceWarning, ...]
    effective: np.ndarray  # per column, 0 < x ≤ 1


def check_reference(
    columns: tuple[str, ...], resid: np.ndarray, window_parts: int
) -> ReferenceHealth:
    """Warnings about a reference whose standardised residuals are `resid` (rows × columns)."""
    n, width = resid.shape
    found: list[ReferenceWarning] = []
    if n < window_parts:
        found.append(
            ReferenceWarning(
                "too_short", "reference", float(n),
                f"the reference has {n:,} records, fewer than the window's {window_parts:,}: "
                f"KS and PSI start only after {window_parts - n:,} live records",
            )
        )  # fmt: skip
    effective = np.ones(width)
    level = NormalDist().inv_cdf(1.0 - TREND_ALPHA / 2.0)
    for j in range(width):
        x = resid[:, j]
        x = x[~np.isnan(x)]
        if x.size < 50:
            continue
        rho = max(_lag1(x), 0.0)
        effective[j] = float(np.clip((1.0 - rho) / (1.0 + rho), 1e-3, 1.0))
        name = columns[j]
        if rho > ORDERED:
            found.append(
                ReferenceWarning(
                    "ordered", name, rho,
                    f"{name}: reference not exchangeable, lag-1 autocorrelation {rho:.3f} "
                    f"(rows ordered or wandering); {effective[j]:.1%} of its records count",
                )
            )  # fmt: skip
        half = x.size // 2
        n_eff = max(x.size * effective[j], 4.0)
        sd = float(np.std(x)) or 1.0
        z = (float(np.mean(x[half:])) - float(np.mean(x[:half]))) / (sd * math.sqrt(4.0 / n_eff))
        if abs(z) > level:
            found.append(
                ReferenceWarning(
                    "trend", name, z,
                    f"{name}: the reference's second half differs from its first "
                    f"(z = {z:+.1f} on {n_eff:,.0f} effective records): a trend in the reference",
                )
            )  # fmt: skip
    return ReferenceHealth(tuple(found), effective)


def _lag1(x: np.ndarray) -> float:
    centred = x - x.mean()
    denominator = float(np.dot(centred, centred))
    if denominator <= 0:
        return 0.0
    return float(np.dot(centred[1:], centred[:-1]) / denominator)
