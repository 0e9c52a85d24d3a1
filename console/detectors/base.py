"""What a detector is: its spec (name, label, unit, priority, route), its cadence, and the small
protocol the watch drives it through. Everything here runs on the engine thread.

A detector is built whole from a `Basis` (the reference, its calibration, the rolling window,
the time buckets and the config). Every batch it `observe`s the new parts (cheap running state);
at its cadence it `assess`es: it puts its scores (value / threshold, ≥ 1 is over threshold), with
an onset and a message, to the alarm book through `InputAlarms` (or `line_alarm` for an alarm of
the whole line). `readings` gives the live view its per-input scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from console.config import Config
from console.drift import Calibration
from console.records import RecordBatch
from console.reference import ReferenceProfile
from console.stats import RollingWindow, TimeBuckets

if TYPE_CHECKING:
    from console.annunciator import InputAlarms
    from console.detectors.quality import LineQuality


class Cadence(Enum):
    """How often a detector is assessed."""

    BATCH = "every batch"  # per-part detectors and short EWMAs
    DRIFT_SCAN = "when a time bucket closed, at most every W/40 parts"  # slow drift
    WINDOW = "every W/40 parts"  # views of the whole rolling window

    # Members are singletons: the identity hash (C) serves as well as Enum's hash of the name
    # (Python), and the watch looks cadences up twice per detector per batch.
    __hash__ = object.__hash__


@dataclass(frozen=True)
class DetectorSpec:
    """Who a detector is to the rest of the console: names, units, priority and routing."""

    name: str  # as in alarm ids, the store's journal and WIRE.md: `mean_shift:focus`
    label: str  # short, for the live view's badge and the detail table
    unit: str  # of its value
    priority: str  # ISA-18.2 priority of its alarms
    route: str  # the playbook role an incident about it goes to
    drift: bool = False  # a change of the inputs (the line's health shows "drift")
    signed: bool = False  # its value has a sign worth showing (a z)


@dataclass(frozen=True)
class ColumnReading:
    """A detector's current verdict per input (arrays over the columns) for the live view."""

    score: np.ndarray | None  # None: a value shown without a threshold of its own
    value: np.ndarray | None = None
    threshold: np.ndarray | None = None

    def copy(self) -> ColumnReading:
        """Fresh float arrays that the detector will not write again (for the read model)."""
        return ColumnReading(*(_fresh(a) for a in (self.score, self.value, self.threshold)))


def _fresh(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.array(values, float)


@dataclass(frozen=True)
class Basis:
    """What every detector is built from, once a reference exists."""

    config: Config
    profile: ReferenceProfile
    calibration: Calibration
    window: RollingWindow
    buckets: TimeBuckets
    lines: LineQuality  # rejected lines over every source
    reference: RecordBatch | None = None  # the reference records as they came (category codes)

    @property
    def width(self) -> int:
        return len(self.profile.columns)


@dataclass(frozen=True)
class Step:
    """One micro-batch as the detectors see it, after the window and buckets took it in."""

    batch: RecordBatch
    first: int  # seq of its first part
    scaled: np.ndarray  # residuals in sd units (`console.kernels.residuals`)
    resid: np.ndarray | None = None  # residuals in the hour's own sd (same kernel)

    @property
    def parts(self) -> int:
        return len(self.batch)

    @property
    def last_seq(self) -> int:
        return self.first + len(self.batch) - 1

    @property
    def ts(self) -> str:
        return self.batch.ts_text[-1]


@dataclass(frozen=True)
class Due:
    """An assessment that is due: the parts since the last one, the time buckets closed since."""

    parts: int
    closed: int = 0


class Detector(Protocol):
    """The protocol the watch drives (see the module docstring)."""

    @property
    def specs(self) -> tuple[DetectorSpec, ...]: ...

    @property
    def cadence(self) -> Cadence: ...

    def observe(self, step: Step) -> None: ...

    def assess(self, step: Step, due: Due, alarms: InputAlarms) -> None: ...

    def readings(self) -> dict[str, ColumnReading]: ...


class DetectorClass(Protocol):
    """A detector's class, as the registry lists it: its specs, and built from a basis."""

    @property
    def specs(self) -> tuple[DetectorSpec, ...]: ...

    def __call__(self, basis: Basis) -> Detector: ...
