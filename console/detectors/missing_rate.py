"""Missing values against the reference's own rate (`missing_rate`): a two-sample binomial test
of each input's missing count over the last 1, 3, 8, 24 and 72 hours of time against the
reference's count, assessed when an hour closes.

Given the total T of missing values in the window (M) and in the reference (M0), M is binomial
(T, N / (N + n_ref)) when both share one rate; the signed root of the likelihood ratio is the z
(accurate in the tail, and it also covers an input that had no missing value in the reference).
The level is `scan_threshold` over those windows at the false-alarm budget. Only a rise alarms;
the fast EWMA of `missing` (console/detectors/quality.py) still catches a sensor that stops.
Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.budget import share
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.detectors.ramp import HourSums
from console.drift import scan_threshold
from console.scan_kernels import missing_windows

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

MISSING_RATE = DetectorSpec("missing_rate", "missing rate", "z", "medium", "data_owner")

WINDOWS_HOURS = (1.0, 3.0, 8.0, 24.0, 72.0)


def rise_z(
    missing: np.ndarray, parts: np.ndarray, ref_missing: np.ndarray, ref_parts: float
) -> np.ndarray:
    """Signed root of the binomial likelihood ratio for `missing` of `parts` against the
    reference's `ref_missing` of `ref_parts` (positive: more missing than the reference)."""
    total = missing + ref_missing
    q = parts / (parts + ref_parts)
    expected = total * q
    with np.errstate(all="ignore"):
        a = np.where(missing > 0, missing * np.log(missing / expected), 0.0)
        rest = total - missing
        b = np.where(rest > 0, rest * np.log(rest / (total - expected)), 0.0)
        z = np.sqrt(np.maximum(2.0 * (a + b), 0.0))
    return np.nan_to_num(np.where(missing > expected, z, -z))


class MissingRateDetector:
    """The missing-rate test per input, when an hour of production closed."""

    specs = (MISSING_RATE,)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        profile = basis.profile
        budget = share(basis.config.detection.false_alarms_per_year, "missing_rate")
        self.limit = scan_threshold(budget, WINDOWS_HOURS)
        self.ref_parts = float(max(profile.n, 1))
        self.ref_missing = np.asarray(profile.missing_rate, float) * self.ref_parts
        self.sums = HourSums(basis.width, max(WINDOWS_HOURS), "missing")
        self.seen = 0
        self.z = np.zeros(basis.width)
        self.rate = np.zeros(basis.width)
        self.windows = np.asarray(WINDOWS_HOURS)

    def observe(self, step: Step) -> None:
        self.sums.add(step.scaled, step.batch.ts)  # n: values seen, s: missing

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        sums = self.sums
        if sums.closed == self.seen or sums.size == 0:
            return
        self.seen = sums.closed
        self._evaluate()
        score = np.maximum(self.z, 0.0) / self.limit
        for j in alarms.candidates(MISSING_RATE, score):
            alarms.column(
                MISSING_RATE,
                j,
                score=score[j],
                value=float(self.z[j]),
                threshold=self.limit,
                seq=step.last_seq,
                ts=step.ts,
                parts=due.parts,
                message=(
                    f"missing {self.rate[j]:.1%} of values against "
                    f"{self.ref_missing[j] / self.ref_parts:.1%} in the reference "
                    f"(z = {self.z[j]:+.1f})"
                ),
            )

    def _evaluate(self) -> None:
        """The best window's z per input: every window's counts read off the hours newest
        first, one likelihood ratio each (`console.scan_kernels.missing_windows`)."""
        sums = self.sums
        self.z, self.rate = np.empty_like(self.z), np.empty_like(self.rate)  # readings keep theirs
        missing_windows(
            sums.hour, sums.n, sums.s, sums.size, self.windows, self.ref_missing,
            self.ref_parts, self.z, self.rate,
        )  # fmt: skip

    def readings(self) -> dict[str, ColumnReading]:
        limit = np.full(self.z.shape, self.limit)
        return {
            "missing_rate": ColumnReading(
                score=np.maximum(self.z, 0.0) / self.limit, value=self.z, threshold=limit
            )
        }
