"""The class mix (`class_mix`): PSI of the model's classes over the window against the
reference's, one alarm for the line. Assessed every W/40 parts, once the window is full.
Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import psi

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

CLASS_MIX = DetectorSpec("class_mix", "class mix", "PSI", "medium", "model_owner", drift=True)


class ClassMixDetector:
    """PSI of the window's class counts against the reference's class proportions."""

    specs = (CLASS_MIX,)
    cadence = Cadence.WINDOW

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.reference = basis.profile.class_props
        self.threshold = basis.calibration.class_psi
        self.value = 0.0

    def observe(self, step: Step) -> None:
        pass  # the window counts the classes

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        self.value = self._psi()
        warm = self.window.filled >= self.window.size
        alarms.line(
            CLASS_MIX, "class", score=self.value / self.threshold if warm else 0.0,
            value=self.value, threshold=self.threshold, seq=step.last_seq, ts=step.ts,
            parts=due.parts, message="class mix differs from reference",
        )  # fmt: skip

    def _psi(self) -> float:
        counts = self.window.class_counts
        ref = self.reference
        p = counts / max(float(counts.sum()), 1.0)
        if counts.size == ref.size:  # as usual: no padding, the reference's shares as they are
            return psi(p, ref)
        size = max(counts.size, ref.size)
        padded, q = np.zeros(size), np.zeros(size)
        padded[: counts.size] = p
        q[: ref.size] = ref
        return psi(padded, q)

    def readings(self) -> dict[str, ColumnReading]:
        return {}
