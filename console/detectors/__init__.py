"""The detectors, one module per family, and their registry.

Adding a detector: write its module (a `DetectorSpec` and a class following
`console.detectors.base.Detector`), then add one line to `REGISTRY` below. Names, labels, units,
priorities and routing come from the specs; the engine runs `REGISTRY` in order every batch, each
detector at its own cadence, and alarm events within a batch keep that order.
"""

from __future__ import annotations

from console.detectors.base import DetectorClass, DetectorSpec
from console.detectors.categories import CategoryDetector
from console.detectors.class_mix import ClassMixDetector
from console.detectors.jump import JUMP, JumpDetector
from console.detectors.line import LineAlarms
from console.detectors.mean_shift import MEAN_SHIFT, MeanShiftDetector
from console.detectors.missing_rate import MissingRateDetector
from console.detectors.plant_sync import SyncAlarms
from console.detectors.quality import MISSING, STUCK, DataQuality, StuckValues
from console.detectors.ramp import RampDetector
from console.detectors.shape import KS, PSI, ShapeDetector

# Assessed in this order every batch (each at its cadence).
REGISTRY: tuple[DetectorClass, ...] = (
    JumpDetector,
    StuckValues,
    MeanShiftDetector,
    RampDetector,
    DataQuality,
    MissingRateDetector,
    ShapeDetector,
    ClassMixDetector,
    CategoryDetector,
)

# Every detector's spec by name, those of the line's and the plant sync's own alarms included.
SPECS: dict[str, DetectorSpec] = {
    spec.name: spec
    for specs in (*(family.specs for family in REGISTRY), LineAlarms.specs, SyncAlarms.specs)
    for spec in specs
}

# The order in which the live view lists an input's scores (the first of equals is shown).
LIVE_VIEW: tuple[DetectorSpec, ...] = (MEAN_SHIFT, JUMP, KS, PSI, STUCK, MISSING)
