"""How the engine's watch treats categorical inputs (console/categories.py).

The numeric detectors (mean shift, KS/PSI on bins, ramp, jump, stuck, out of range) must not read
meaning into arbitrary category codes: they see a categorical input as a constant (0 where a
value is present, NaN where missing), so they stay silent on it while the missing-value
detectors still count its missing values. The categories detector
(console/detectors/categories.py) reads the codes themselves from the batch. This module also
gives the watch its config with the inputs found categorical, and hands the store the
categories met since the last delivery. Engine thread.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from console.config import Config
from console.drift import Calibration

if TYPE_CHECKING:
    from console.reader import RecordReader


def watched_config(config: Config, reader: RecordReader) -> Config:
    """The config with `[station] categorical` as the reader watches it (declared or inferred)."""
    if tuple(config.station.categorical) == reader.categorical:
        return config
    return replace(config, station=replace(config.station, categorical=reader.categorical))


def keep_categories(store: Any, reader: RecordReader) -> None:
    """Give the store the text of every category met since the last call (its dictionary)."""
    parser = reader.parser
    if parser is not None and parser.categories.fresh:
        store.append_categories(parser.categories.take_fresh())


def categorical_columns(config: Config, columns: tuple[str, ...]) -> np.ndarray:
    """Matrix column indices of the categorical inputs among `columns`."""
    declared = set(config.station.categorical)
    return np.array([j for j, name in enumerate(columns) if name in declared], dtype=np.intp)


def as_constant(features: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The matrix with the categorical `columns` as a constant 0 (NaN kept: missing)."""
    if not columns.size:
        return features
    out = features.copy()
    block = out[:, columns]
    out[:, columns] = np.where(np.isnan(block), np.nan, 0.0)
    return out


def without_stuck(calibration: Calibration, columns: np.ndarray) -> Calibration:
    """A categorical input repeats its values by nature (the constant the numeric detectors see
    even more so): no stuck limit for it; a category that takes over moves the shares."""
    if not columns.size:
        return calibration
    stuck = calibration.stuck.copy()
    stuck[columns] = np.iinfo(stuck.dtype).max
    return replace(calibration, stuck=stuck)
