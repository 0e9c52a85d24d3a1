"""Categorical inputs (`categories`, `new_category`): the shares of each category over the last
W parts against the reference's, and values the reference never had.

`categories`: Pearson's χ² of the window's counts against the reference's counts (a two-sample
test, so the reference's own sampling error is in it), over the reference's categories, every
W/40 parts once the window is full, at the level that a sliding window's test exceeds
`detection.false_alarms_per_year` times a year (the class mix's rule), raised by the reference's
hour-to-hour over-dispersion. PSI of the shares is shown beside it. The message names the
category whose share moved most ("channel: share of 'web' 41 % vs 22 % in the reference").

`new_category`: a data-quality alarm while the window holds a value the reference never had
("channel: new value 'kiosk'"); every new value is counted (parts) for the live view and named
once in the alarm's message. Categorical inputs are the config's `[station] categorical`
(declared or inferred); their codes come from the batch itself (console/categories.py), the
numeric detectors see them as constants (console/categorical_watch.py). Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.categorical_watch import categorical_columns
from console.categories import category_text
from console.category_stats import chi2_level, homogeneity, over_dispersion, share_psi
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

CATEGORIES = DetectorSpec("categories", "shares", "chi-square", "low", "model_owner", drift=True)
NEW_CATEGORY = DetectorSpec("new_category", "new value", "parts", "medium", "data_owner")


class CategoryWindow:
    """One categorical input's last W values as category indices (reference categories first,
    new ones after), with running counts. Engine thread."""

    def __init__(self, ref_codes: np.ndarray, size: int) -> None:
        present = ref_codes[~np.isnan(ref_codes)]
        self.known, ref_counts = np.unique(present, return_counts=True)
        self.ref_counts = ref_counts.astype(float)
        self.new_codes: list[float] = []  # never in the reference, in order of arrival
        self.new_parts: list[int] = []  # parts seen with each (all time)
        self.ring = np.full(size, -1, np.int64)
        self.pos = 0
        self.filled = 0
        self.counts = np.zeros(self.known.size)

    def add(self, codes: np.ndarray) -> list[float]:
        """Take a batch's codes (NaN = missing); returns the codes met for the first time."""
        local, first = self._local(codes)
        size = self.ring.size
        if local.size > size:
            local = local[-size:]
        at = (self.pos + np.arange(local.size)) % size
        old = self.ring[at]
        width = max(self.counts.size, int(local.max(initial=-1)) + 1)
        if width > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(width - self.counts.size)])
        self.counts -= np.bincount(old[old >= 0], minlength=width)[:width]
        self.counts += np.bincount(local[local >= 0], minlength=width)[:width]
        self.ring[at] = local
        self.pos = (self.pos + local.size) % size
        self.filled = min(self.filled + local.size, size)
        return first

    def _local(self, codes: np.ndarray) -> tuple[np.ndarray, list[float]]:
        known = self.known
        slot = np.minimum(np.searchsorted(known, codes), max(known.size - 1, 0))
        hit = known[slot] == codes if known.size else np.zeros(codes.size, bool)
        local = np.where(hit, slot, -1).astype(np.int64)
        unknown = ~hit & ~np.isnan(codes)
        first: list[float] = []
        if unknown.any():
            for i in np.flatnonzero(unknown).tolist():
                code = float(codes[i])
                if code not in self.new_codes:
                    self.new_codes.append(code)
                    self.new_parts.append(0)
                    first.append(code)
                k = self.new_codes.index(code)
                self.new_parts[k] += 1
                local[i] = known.size + k
        return local, first

    @property
    def new_in_window(self) -> float:
        return float(self.counts[self.known.size :].sum())

    def test(self) -> tuple[float, int]:
        """χ² of the window's counts over the reference's categories against the reference."""
        return homogeneity(self.counts[: self.known.size], self.ref_counts)

    def psi(self) -> float:
        return share_psi(self.counts[: self.known.size], self.ref_counts)

    def moved_most(self) -> tuple[str, float, float]:
        """The reference category whose share moved most: (text, window share, reference)."""
        window = self.counts[: self.known.size]
        now = window / max(window.sum(), 1.0)
        then = self.ref_counts / max(self.ref_counts.sum(), 1.0)
        k = int(np.argmax(np.abs(now - then)))
        return category_text(float(self.known[k])), float(now[k]), float(then[k])


class CategoryDetector:
    """Category shares and new values per categorical input (see the module docstring)."""

    specs = (CATEGORIES, NEW_CATEGORY)
    cadence = Cadence.BATCH  # new values at once; the χ² test every W/40 parts

    def __init__(self, basis: Basis) -> None:
        self.width = basis.width
        self.names = basis.profile.columns
        self.columns = categorical_columns(basis.config, basis.profile.columns)
        reference = basis.reference
        size = basis.config.window.parts
        self.every = max(basis.config.window.batch, size // 40)
        self.since = 0
        self.windows: list[CategoryWindow] = []
        self.levels = np.full(self.width, np.inf)
        self.psi_levels = np.full(self.width, np.inf)
        self.chi2 = np.zeros(self.width)
        self.psi = np.zeros(self.width)
        if reference is None or not self.columns.size:
            return
        calibration = basis.calibration
        windows_a_year = max(calibration.parts_per_day * 365.0 / size, 1.0)
        budget = basis.config.detection.false_alarms_per_year
        n_ref = max(len(reference), 1)
        for j in self.columns.tolist():
            codes = reference.features[:, j]
            window = CategoryWindow(codes, size)
            dispersion = over_dispersion(codes, reference.ts, window.known)
            level = chi2_level(window.known.size - 1, windows_a_year, budget) * dispersion
            self.levels[j] = level
            self.psi_levels[j] = level * (1.0 / size + 1.0 / n_ref)
            window.add(codes[-size:])  # primed with the reference, as the numeric window is
            self.windows.append(window)

    def observe(self, step: Step) -> None:
        features = step.batch.features
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            window.add(features[:, j])

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        if not self.windows:
            return
        self._new_values(step, due, alarms)
        self.since += due.parts
        if self.since < self.every:
            return
        parts, self.since = self.since, 0
        score = np.zeros(self.width)
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            self.chi2[j] = window.test()[0]
            self.psi[j] = window.psi()
            if window.filled >= window.ring.size:
                score[j] = self.chi2[j] / self.levels[j]
        names = alarms.columns
        for j in alarms.candidates(CATEGORIES, score):
            text, now, then = self.windows[self._slot(j)].moved_most()
            alarms.column(
                CATEGORIES, j, score=score[j], value=float(self.chi2[j]),
                threshold=float(self.levels[j]), seq=step.last_seq, ts=step.ts, parts=parts,
                message=(
                    f"{names[j]}: share of {text!r} {now * 100:.0f} % vs {then * 100:.0f} % in the reference"
                ),
            )  # fmt: skip

    def _new_values(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        score = np.zeros(self.width)
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            score[j] = 2.0 if window.new_in_window else 0.0
        names = alarms.columns
        for j in alarms.candidates(NEW_CATEGORY, score):
            window = self.windows[self._slot(j)]
            values = ", ".join(repr(category_text(c)) for c in window.new_codes)
            plural = "s" if len(window.new_codes) > 1 else ""
            alarms.column(
                NEW_CATEGORY, j, score=score[j], value=window.new_in_window, threshold=1.0,
                seq=step.last_seq, ts=step.ts, parts=due.parts,
                message=f"{names[j]}: new value{plural} {values} (not in the reference)",
            )  # fmt: skip

    def _slot(self, column: int) -> int:
        return int(np.flatnonzero(self.columns == column)[0])

    def new_values(self) -> dict[str, dict[str, int]]:
        """Per categorical input: each value never in the reference and its parts so far."""
        return {
            self.names[j]: {
                category_text(c): n for c, n in zip(w.new_codes, w.new_parts, strict=True)
            }
            for j, w in zip(self.columns.tolist(), self.windows, strict=True)
        }

    def readings(self) -> dict[str, ColumnReading]:
        if not self.windows:
            return {}
        with np.errstate(all="ignore"):
            score = np.where(np.isfinite(self.levels), self.chi2 / self.levels, 0.0)
        threshold = np.where(np.isfinite(self.psi_levels), self.psi_levels, 0.0)
        new = np.zeros(self.width)
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            new[j] = window.new_in_window
        return {
            "categories": ColumnReading(score=score, value=self.psi.copy(), threshold=threshold),
            "new_category": ColumnReading(score=None, value=new),
        }
