"""Data quality of the inputs: `missing` and `out_of_range` values (short EWMAs per part),
`stuck` values (a run of identical values longer than the reference ever had) and `rejected`
lines (malformed, per line over every source). All assessed every batch, since a sensor that
stops answering must show within minutes; all cheap. Engine thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from console.budget import share
from console.config import Detection
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.drift import scan_threshold
from console.kernels import quality_ewmas
from console.reference import CONF, ReferenceProfile

if TYPE_CHECKING:
    from console.annunciator import InputAlarms

MISSING = DetectorSpec("missing", "missing", "fraction", "medium", "data_owner")
OUT_OF_RANGE = DetectorSpec("out_of_range", "out of range", "fraction", "medium", "data_owner")
STUCK = DetectorSpec("stuck", "stuck", "parts", "high", "data_owner")
REJECTED = DetectorSpec("rejected", "rejected", "fraction", "low", "data_owner")


class QualityLevels:
    """Short EWMAs of missing and out-of-range values, in time, and their limits."""

    HALF_LIFE_SECONDS = 2400.0  # 40 minutes of the records' time, whatever the line speed
    # ...but never resting on fewer than this many parts (a batch after a night's pause must
    # not set the level alone): a floor on the evidence, not a line speed.
    EVIDENCE_PARTS = 200.0

    def __init__(self, profile: ReferenceProfile, cfg: Detection) -> None:
        width = len(profile.columns)
        self.last_ts: float | None = None
        self.missing = np.asarray(profile.missing_rate, dtype=float).copy()
        self.out_of_range = np.zeros(width)
        self.missing_limit = missing_limit(profile, cfg)
        self.range_limit = cfg.out_of_range_fraction
        # Either level at 0.8 of its limit or more: every `update` says (`quality_ewmas`), and
        # an update comes before every assessment; until the first, look.
        self.near = True

    def update(
        self, parts: int, missing: np.ndarray, outside: np.ndarray, first: float, last: float
    ) -> None:
        """Fold in a batch of `parts` (timestamps `first` … `last`) with these counts of
        missing and out-of-range values, weighted by the time it covers."""
        seconds = max(last - (first if self.last_ts is None else self.last_ts), 0.0)
        self.last_ts = last if self.last_ts is None else max(self.last_ts, last)
        decay = max(0.5 ** (seconds / self.HALF_LIFE_SECONDS), 1.0 - parts / self.EVIDENCE_PARTS)
        # decay · level + (1 − decay) · count / parts, compiled (a few µs of numpy calls).
        levels = np.empty((2, self.missing.size))  # new arrays: readings keep the old ones
        self.near = quality_ewmas(
            decay, parts, self.missing, missing, self.out_of_range, outside, self.missing_limit,
            self.range_limit, levels[0], levels[1],
        )  # fmt: skip
        self.missing, self.out_of_range = levels[0], levels[1]


def missing_limit(profile: ReferenceProfile, cfg: Detection) -> np.ndarray:
    """The `missing` EWMA's limit per input: `missing_fraction`, or where the reference had
    missing values, the level the EWMA reaches by chance at its share of the budget (Poisson
    about the reference's rate, taken at its own upper bound). The EWMA rests on at least
    EVIDENCE_PARTS, i.e. on about twice that many parts' worth of variance, and is looked at
    continuously with a memory of about an hour; a moderate rise is `missing_rate`'s to find."""
    n_ref = max(float(profile.n), 1.0)
    p = np.asarray(profile.missing_rate, float)
    high = np.minimum(p + 2.0 * np.sqrt(p / n_ref) + 2.0 / n_ref, 1.0)
    u = scan_threshold(share(cfg.false_alarms_per_year, "missing"), (1.0,))
    count = 2.0 * QualityLevels.EVIDENCE_PARTS
    expected = high * count
    chance = (expected + u * np.sqrt(expected) + u * u) / count
    return np.maximum(cfg.missing_fraction, np.where(p > 0, chance, 0.0))


class LineQuality:
    """EWMA of the fraction of rejected lines (per line, over every source)."""

    HALF_LIFE = 700.0

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.keep = 0.5 ** (1.0 / self.HALF_LIFE)
        self.fraction = 0.0

    def update(self, accepted: int, rejected: int) -> None:
        total = accepted + rejected
        if total:
            decay = self.keep**total
            self.fraction = decay * self.fraction + (1 - decay) * rejected / total


class StuckValues:
    """Runs of identical values beyond what the reference ever had, every batch."""

    specs = (STUCK,)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.limit = basis.calibration.stuck.astype(float)
        self.limit[basis.profile.columns.index(CONF)] = np.inf  # the model's confidence may repeat
        self.shortest = float(self.limit.min())

    def observe(self, step: Step) -> None:
        pass  # the window counts the runs

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        window = self.window
        if not alarms.active(STUCK) and window.longest_run < alarms.near * self.shortest:
            return
        stuck = window.run / self.limit
        for j in alarms.candidates(STUCK, stuck):
            alarms.column(
                STUCK,
                j,
                score=stuck[j],
                value=float(window.run[j]),
                threshold=float(self.limit[j]),
                seq=step.last_seq,
                ts=step.ts,
                parts=due.parts,
                off_delay=1,
                message=f"same value {window.last_value[j]:g} for {window.run[j]} parts",
            )

    def readings(self) -> dict[str, ColumnReading]:
        stuck = self.window.run / self.limit
        return {"stuck": ColumnReading(score=np.where(np.isfinite(stuck), stuck, 0.0))}


class DataQuality:
    """Missing and out-of-range values per input, rejected lines of the whole line."""

    specs = (MISSING, OUT_OF_RANGE, REJECTED)
    cadence = Cadence.BATCH

    def __init__(self, basis: Basis) -> None:
        self.window = basis.window
        self.levels = QualityLevels(basis.profile, basis.config.detection)
        self.lines = basis.lines

    def observe(self, step: Step) -> None:
        ts = step.batch.ts
        window = self.window
        self.levels.update(
            step.parts, window.new_missing, window.new_outside, float(ts[0]), float(ts[-1])
        )

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None:
        q, lq = self.levels, self.lines
        quiet = (
            not (alarms.active(MISSING) or alarms.active(OUT_OF_RANGE) or alarms.active(REJECTED))
            and not q.near
            and lq.fraction < 0.8 * lq.limit
        )
        if quiet:
            return
        width = len(q.missing)
        for spec, level, limit in (
            (MISSING, q.missing, q.missing_limit),
            (OUT_OF_RANGE, q.out_of_range, np.full(width, q.range_limit)),
        ):
            score = level / limit
            for j in alarms.candidates(spec, score):
                alarms.column(
                    spec,
                    j,
                    score=score[j],
                    value=float(level[j]),
                    threshold=float(limit[j]),
                    seq=step.last_seq,
                    ts=step.ts,
                    parts=due.parts,
                    message=f"{spec.label} {100 * level[j]:.1f} % of parts",
                )
        alarms.line(
            REJECTED, "lines", score=lq.fraction / lq.limit, value=lq.fraction,
            threshold=lq.limit, seq=step.last_seq, ts=step.ts, parts=due.parts,
            message=f"{100 * lq.fraction:.2f} % of lines rejected",
        )  # fmt: skip

    def readings(self) -> dict[str, ColumnReading]:
        q = self.levels
        return {"missing": ColumnReading(score=q.missing / q.missing_limit)}
