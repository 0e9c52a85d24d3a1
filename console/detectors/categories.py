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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from console.categorical_watch import categorical_columns
from console.categories import category_text
from console.category_stats import chi2_level, homogeneity, over_dispersion, share_psi
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.detectors.ramp import HOUR, HourSums

if TYPE_CHECKING:
    from console.annunciator import InputAlarms


CATEGORIES = DetectorSpec("categories", "shares", "chi-square", "low", "model_owner", drift=True)
NEW_CATEGORY = DetectorSpec("new_category", "new value", "parts", "medium", "data_owner")

# Beside the last W parts, the shares over the last 24 and 72 hours (a slow change of the mix
# on a fast line shows over a day long before it does over W parts).
WINDOWS_HOURS = (24.0, 72.0)
DAY = 24 * HOUR


@dataclass(frozen=True)
class CategoryShares:
    """A categorical input's shares over the last W parts beside the reference's, per value
    (the reference's values first, then those it never had)."""

    values: tuple[str, ...]
    live: np.ndarray
    reference: np.ndarray


class CategoryWindow:
    """One categorical input's last W values as category indices (reference categories first,
    new ones after), with running counts. Engine thread."""

    def __init__(self, ref_codes: np.ndarray, size: int) -> None:
        present = ref_codes[~np.isnan(ref_codes)]
        self.known, ref_counts = np.unique(present, return_counts=True)
        self.ref_counts = ref_counts.astype(float)
        # Counts per clock hour; twice the longest window, so that halving keeps one whole.
        self.hours = HourSums(self.known.size, 2 * max(WINDOWS_HOURS) + 4)
        self.new_codes: list[float] = []  # never in the reference, in order of arrival
        self.new_parts: list[int] = []  # parts seen with each (all time)
        self.ring = np.full(size, -1, np.int64)
        self.pos = 0
        self.filled = 0
        self.counts = np.zeros(self.known.size)

    def add(self, codes: np.ndarray, ts: np.ndarray | None = None) -> list[float]:
        """Take a batch's codes (NaN = missing) and their times (None: the reference, which
        primes the last-W window only); returns the codes met for the first time."""
        local, first = self._local(codes)
        if ts is not None and local.size:
            onehot = np.full((local.size, self.known.size), np.nan)
            known = (local >= 0) & (local < self.known.size)
            onehot[known] = 0.0
            onehot[np.flatnonzero(known), local[known]] = 1.0
            self.hours.add(onehot, ts)
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

    def windows(self) -> list[np.ndarray]:
        """Counts over the reference's categories: the last W parts, then the last 24 and 72
        hours of clock time (those with parts) once that much time has been watched."""
        found = [self.counts[: self.known.size]]
        sums = self.hours
        if sums.size:
            hour = sums.hour[: sums.size][::-1]
            running = np.zeros((sums.size + 1, self.known.size))
            np.cumsum(sums.s[: sums.size][::-1], axis=0, out=running[1:])
            inside = np.searchsorted(hour[0] - hour, WINDOWS_HOURS, side="left")
            # A clock-time window counts once the watch has seen its whole length: a few
            # hours of one shift are not a day's mix.
            whole = hour[0] - hour[-1] + 1 >= np.asarray(WINDOWS_HOURS)
            found += list(running[inside[whole]])
        return found

    def test(self, levels: tuple[float, float]) -> tuple[float, float, np.ndarray]:
        """The windows' largest χ² against the reference in units of its level (`levels`: of
        the last-W window, of the clock-time windows): (score, χ², that window's counts)."""
        best, stat, counts = 0.0, 0.0, self.counts[: self.known.size]
        for k, window in enumerate(self.windows()):
            value = homogeneity(window, self.ref_counts)[0]
            if value / levels[min(k, 1)] > best:
                best, stat, counts = value / levels[min(k, 1)], value, window
        return best, stat, counts

    def psi(self) -> float:
        return share_psi(self.counts[: self.known.size], self.ref_counts)

    def moved_most(self, window: np.ndarray) -> tuple[str, float, float]:
        """The reference category whose share moved most in `window` (counts): (text, window
        share, reference share)."""
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
        self.levels = np.full(self.width, np.inf)  # of the last-W window
        self.day_levels = np.full(self.width, np.inf)  # of the 24- and 72-hour windows
        self.psi_levels = np.full(self.width, np.inf)
        self.chi2 = np.zeros(self.width)
        self.scores = np.zeros(self.width)
        self.psi = np.zeros(self.width)
        if reference is None or not self.columns.size:
            return
        calibration = basis.calibration
        # Independent windows a year: of W parts, and of each clock-time window.
        windows_a_year = max(calibration.parts_per_day * 365.0 / size, 1.0)
        windows_a_year += sum(365.0 * 24.0 / hours for hours in WINDOWS_HOURS)
        budget = basis.config.detection.false_alarms_per_year
        n_ref = max(len(reference), 1)
        for j in self.columns.tolist():
            codes = reference.features[:, j]
            window = CategoryWindow(codes, size)
            level = chi2_level(window.known.size - 1, windows_a_year, budget)
            # Hour blocks show a mix that follows the shift; a day averages it out.
            self.levels[j] = level * over_dispersion(codes, reference.ts, window.known, HOUR)
            self.day_levels[j] = level * over_dispersion(codes, reference.ts, window.known, DAY)
            self.psi_levels[j] = self.levels[j] * (1.0 / size + 1.0 / n_ref)
            window.add(codes[-size:])  # primed with the reference, as the numeric window is
            self.windows.append(window)

    def observe(self, step: Step) -> None:
        features = step.batch.features
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            window.add(features[:, j], step.batch.ts)

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        if not self.windows:
            return
        self._new_values(step, due, alarms)
        self.since += due.parts
        if self.since < self.every:
            return
        parts, self.since = self.since, 0
        score = np.zeros(self.width)
        moved = {}
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            best, self.chi2[j], moved[j] = window.test((self.levels[j], self.day_levels[j]))
            self.psi[j] = window.psi()
            self.scores[j] = best
            if window.filled >= window.ring.size:
                score[j] = best
        names = alarms.columns
        for j in alarms.candidates(CATEGORIES, score):
            text, now, then = self.windows[self._slot(j)].moved_most(moved[j])
            alarms.column(
                CATEGORIES, j, score=score[j], value=float(self.chi2[j]),
                threshold=float(self.chi2[j] / score[j]) if score[j] > 0 else float(self.levels[j]), seq=step.last_seq, ts=step.ts, parts=parts,
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

    def shares(self) -> dict[str, CategoryShares]:
        """Per categorical input: its values' shares now and in the reference (live view)."""
        found = {}
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            counts = window.counts
            reference = np.zeros(counts.size)
            reference[: window.known.size] = window.ref_counts / max(window.ref_counts.sum(), 1.0)
            found[self.names[j]] = CategoryShares(
                values=tuple(category_text(c) for c in (*window.known.tolist(), *window.new_codes)),
                live=counts / max(counts.sum(), 1.0),
                reference=reference,
            )
        return found

    def readings(self) -> dict[str, ColumnReading]:
        if not self.windows:
            return {}
        score = self.scores.copy()
        threshold = np.where(np.isfinite(self.psi_levels), self.psi_levels, 0.0)
        new = np.zeros(self.width)
        for j, window in zip(self.columns.tolist(), self.windows, strict=True):
            new[j] = window.new_in_window
        return {
            "categories": ColumnReading(score=score, value=self.psi.copy(), threshold=threshold),
            "new_category": ColumnReading(score=None, value=new),
        }


def category_shares(detectors: list) -> dict[str, CategoryShares]:
    """The categorical inputs' shares from the watch's detectors (empty: none categorical)."""
    for detector in detectors:
        if isinstance(detector, CategoryDetector):
            return detector.shares()
    return {}
