"""Sudden change (`jump`): a two-sided CUSUM per part over the standardised residuals.

The allowance is half the jump to be caught; the decision interval comes from the reference
residuals' own moment generating function (`console/drift.py`), so heavy tails raise it rather
than cause false alarms. The alarm is raised at the exact part where the CUSUM crossed, with the
part where its run began as the onset. Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import Calibration
from console.kernels import cusum_step
from console.records import iso
from console.reference import ReferenceProfile

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

JUMP = DetectorSpec("jump", "step", "sd", "high", "model_owner", drift=True)


class JumpCusum:
    """Two-sided CUSUM per column over standardised residuals (engine thread)."""

    def __init__(
        self, profile: ReferenceProfile, calibration: Calibration, baseline_parts: float = 1000.0
    ) -> None:
        width = len(profile.columns)
        self.k = calibration.cusum_k
        self.h = calibration.cusum_h
        self.up = np.zeros(width)
        # The level a step is measured from: starts at the reference, follows the line slowly
        # (half-life `jump_baseline_parts`), so a slow drift is left to the mean-shift detector.
        self.base = np.zeros(width)
        self.rate = 1.0 - 0.5 ** (1.0 / baseline_parts)
        self.down = np.zeros(width)
        self.up_start = np.zeros(width, np.int64)  # index of the part after the last zero
        self.down_start = np.zeros(width, np.int64)
        self.units = profile.phase_sd / np.where(profile.sd > 0, profile.sd, 1.0)
        self.peak = np.zeros(width)
        self.crossing = np.full(width, -1, np.int64)  # per batch (`update`)
        self.onset = np.full(width, -1, np.int64)
        self.crossed = False
        self.highest = 0.0

    def update(self, scaled: np.ndarray, first_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance by a batch of residuals in sd units (`residuals` in console/kernels.py), in
        one compiled pass; per column the index of the first part at which either side
        crossed its decision interval (or -1), and where that run began (arrays the next
        update writes again: read them before)."""
        crossing, onset = self.crossing, self.onset  # of this batch: the kernel resets them
        self.crossed, self.highest = cusum_step(
            scaled, float(self.k), self.h, self.base, self.rate, self.up, self.down,
            self.up_start, self.down_start, first_index, crossing, onset, self.peak,
        )  # fmt: skip
        return crossing, onset

    @property
    def score(self) -> np.ndarray:
        return np.maximum(self.up, self.down) / self.h


class JumpDetector:
    """The jump CUSUM as a detector: updated and assessed every batch."""

    specs = (JUMP,)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.cusum = JumpCusum(
            basis.profile, basis.calibration, basis.config.detection.jump_baseline_parts
        )
        width = basis.width
        self.crossing = np.full(width, -1, np.int64)
        self.onset = np.full(width, -1, np.int64)

    def observe(self, step: Step) -> None:
        self.crossing, self.onset = self.cusum.update(step.scaled, step.first)

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        # Most batches have nothing near a threshold and no such alarm active: the kernel's
        # summaries say so cheaply.
        cusum = self.cusum
        if not alarms.active(JUMP) and not cusum.crossed and cusum.highest < alarms.near:
            return
        score = cusum.score
        crossing, onset, batch, first = self.crossing, self.onset, step.batch, step.first
        for j in alarms.candidates(JUMP, score, crossing >= 0):
            crossed = crossing[j] >= 0
            at = int(crossing[j]) if crossed else step.last_seq
            row = at - first
            level = float(cusum.peak[j]) if crossed else float(max(cusum.up[j], cusum.down[j]))
            alarms.column(
                JUMP,
                j,
                score=max(score[j], 1.0) if crossed else score[j],
                value=level,
                threshold=float(cusum.h[j]),
                seq=at,
                ts=batch.ts_text[row] if 0 <= row < step.parts else step.ts,
                parts=due.parts,
                onset=self._ts_of(int(onset[j]), step) if onset[j] >= 0 else None,
                message=f"sudden step {'up' if cusum.up[j] >= cusum.down[j] else 'down'}",
            )

    def _ts_of(self, seq: int, step: Step) -> str | None:
        """The timestamp of part `seq`: from this batch as given, or from the window's ring."""
        if 0 <= seq - step.first < step.parts:
            return step.batch.ts_text[seq - step.first]
        back = step.first + step.parts - seq
        window = self.window
        if 0 < back <= window.filled:
            return iso(float(window.ts[(window.head - back) % window.size]))
        return None

    def readings(self) -> dict[str, ColumnReading]:
        return {"jump": ColumnReading(score=self.cusum.score)}
