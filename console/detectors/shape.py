"""Distribution shape over the last W parts (`ks`, `psi`), from the window's maintained fine-bin
counts, with Wasserstein-1 shown alongside. Thresholds from the finite-sample null (Kolmogorov,
χ²) inflated by the reference's own block-to-block variability (`console/drift.py`). Assessed
every W/40 parts, once the window is full. Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import BLOCK_SECONDS, Calibration
from console.reference import FINE_BINS, ReferenceProfile
from console.scan_kernels import shape_scan, shift_margins
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
        # Deciles fit a byte: an eighth of the memory the scan reads every W/40 parts.
        self.coarse_of_fine = np.ascontiguousarray(profile.coarse_of_fine, np.int8)
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


class ShiftMargin:
    """KS and PSI levels raised for shift-to-shift effects (`console/shift_effects.py`).

    A shift's effect moves the whole shift's values; the window (W parts) and the reference
    average over their shifts, so their means differ by m ~ N(0, τ² (1/B_w + 1/B_r)) with B_w,
    B_r the shifts they hold. A mean difference of m sd gives KS ≈ 0.4·|m| and PSI ≈ m²; the
    level adds what m reaches by chance, √PSI and KS being (about) distances that add."""

    def __init__(self, basis: Basis) -> None:
        calibration = basis.calibration
        self.block_var = calibration.block_var  # τ² per column, updated live (shared)
        per_shift = max(calibration.parts_per_day * BLOCK_SECONDS / 86400.0, 1.0)
        live = max(basis.config.window.parts / per_shift, 1.0)
        reference = max(basis.profile.span_seconds / BLOCK_SECONDS, 1.0)
        self.spread = 1.0 / live + 1.0 / reference
        self.level = calibration.window_gauss

    def thresholds(self, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.block_var.size != base["ks"].size or not self.block_var.any():
            return base
        # reach = level · √(τ² · spread); KS + 0.4 · reach, (√PSI + reach)² (one compiled pass)
        ks, psi = np.empty(base["ks"].size), np.empty(base["psi"].size)
        shift_margins(self.block_var, self.spread, self.level, base["ks"], base["psi"], ks, psi)
        return {"ks": ks, "psi": psi}


class ShapeDetector:
    """KS and PSI per input over the whole window, every W/40 parts."""

    specs = (KS, PSI)
    cadence = Cadence.WINDOW

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.profile = basis.profile
        self.thresholds = {"ks": basis.calibration.ks, "psi": basis.calibration.psi}
        self.shifts = ShiftMargin(basis)
        self.shape = ShapeDrift(basis.profile, basis.calibration)
        width = basis.width
        self.latest = {name: np.zeros(width) for name in ("ks", "psi", "wasserstein")}

    def observe(self, step: Step) -> None:
        pass  # the window keeps the fine-bin counts

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        readings = self.latest = self.shape.evaluate(self.window)
        warm = self.window.filled >= self.window.size
        margins = self.shifts.thresholds(self.thresholds)
        for spec in self.specs:
            thresholds = margins[spec.name]
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
        thresholds = self.shifts.thresholds(self.thresholds)
        out = {
            name: ColumnReading(
                score=self.latest[name] / thresholds[name],
                value=self.latest[name],
                threshold=thresholds[name],
            )
            for name in ("ks", "psi")
        }
        out["wasserstein_sd"] = ColumnReading(score=None, value=wasserstein_sd)
        return out
