"""Distribution shape over the last W parts (`ks`, `psi`), from the window's maintained fine-bin
counts, with Wasserstein-1 shown alongside. Thresholds from the finite-sample null (Kolmogorov,
χ²) inflated by the reference's own block-to-block variability (`console/drift.py`). Assessed
every W/40 parts, once the window is full. Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import Calibration
from console.reference import FINE_BINS, ReferenceProfile
from console.scan_kernels import shape_scan
from console.stats import RollingWindow

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

KS = DetectorSpec("ks", "KS", "KS distance", "low", "model_owner", drift=True)
PSI = DetectorSpec("psi", "PSI", "PSI", "low", "model_owner", drift=True)


class ShapeDrift:
    """KS, PSI and Wasserstein-1 of the rolling window against the reference, per column."""

    def __init__(self, profile: ReferenceProfile, calibration: Calibration) -> None:
        self.profile = profile
        self.calibration = calibration
        self.ref_cdf = np.cumsum(profile.fine_props, axis=1)
        width = len(profile.columns)
        self.width = width
        self.coarse_of_fine = np.ascontiguousarray(profile.coarse_of_fine, np.int64)
        self.coarse_ref = np.maximum(profile.coarse_props, 1e-4)
        # Width of each fine bin, the open ends bounded by the reference's min and max.
        widths = np.zeros((width, FINE_BINS))
        for j in range(width):
            k = int(profile.edge_count[j])
            if k == 0:
                continue
            bounds = np.concatenate([[profile.low[j]], profile.edges[j, :k], [profile.high[j]]])
            widths[j, : k + 1] = np.diff(bounds)
        self.widths = widths

    def evaluate(self, window: RollingWindow) -> dict[str, np.ndarray]:
        """KS, PSI and Wasserstein-1 per column from the window's fine-bin counts, in one
        compiled pass (`console.scan_kernels.shape_scan`)."""
        ks, psi, wasserstein = (np.empty(self.width) for _ in range(3))
        shape_scan(
            window.hist, FINE_BINS, window.count, self.ref_cdf, self.widths,
            self.coarse_of_fine, self.coarse_ref, ks, psi, wasserstein,
        )  # fmt: skip
        return {"ks": ks, "psi": psi, "wasserstein": wasserstein}


class ShapeDetector:
    """KS and PSI per input over the whole window, every W/40 parts."""

    specs = (KS, PSI)
    cadence = Cadence.WINDOW

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.profile = basis.profile
        self.thresholds = {"ks": basis.calibration.ks, "psi": basis.calibration.psi}
        self.shape = ShapeDrift(basis.profile, basis.calibration)
        width = basis.width
        self.latest = {name: np.zeros(width) for name in ("ks", "psi", "wasserstein")}

    def observe(self, step: Step) -> None:
        pass  # the window keeps the fine-bin counts

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        readings = self.latest = self.shape.evaluate(self.window)
        warm = self.window.filled >= self.window.size
        for spec in self.specs:
            thresholds = self.thresholds[spec.name]
            value = readings[spec.name]
            score = value / thresholds if warm else np.zeros(len(value))
            for j in alarms.candidates(spec, score):
                alarms.column(
                    spec,
                    j,
                    score=score[j],
                    value=float(value[j]),
                    threshold=float(thresholds[j]),
                    seq=step.last_seq,
                    ts=step.ts,
                    parts=due.parts,
                    message=(f"distribution differs from reference ({spec.label} {value[j]:.3f})"),
                )

    def readings(self) -> dict[str, ColumnReading]:
        sd = self.profile.sd
        with np.errstate(all="ignore"):
            wasserstein_sd = np.where(sd > 0, self.latest["wasserstein"] / sd, 0.0)
        out = {
            name: ColumnReading(
                score=self.latest[name] / self.thresholds[name],
                value=self.latest[name],
                threshold=self.thresholds[name],
            )
            for name in ("ks", "psi")
        }
        out["wasserstein_sd"] = ColumnReading(score=None, value=wasserstein_sd)
        return out
