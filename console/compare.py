"""Compare: a batch against the reference, and against another batch.

Per input (features and `conf`): the batch's histogram on the live view's display bins beside
the reference's (and the other batch's), the KS distance and PSI against the reference on the
reference's own fine and decile bins (the detectors' binning), the mean shift in reference sd;
the class mix and the confidence of each side. Pure functions over arrays; the caller's thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from console.records import RecordBatch
from console.reference import COARSE_BINS, FINE_BINS, ReferenceProfile
from console.snapshot import DisplayBins


@dataclass(frozen=True)
class Side:
    """One batch seen on the reference's bins."""

    name: str
    parts: int
    display: np.ndarray  # columns × display bins, proportions
    ks: np.ndarray  # per column, against the reference
    psi: np.ndarray
    shift_sd: np.ndarray  # (mean − reference mean) / reference sd
    class_mix: dict[str, float]
    conf_mean: float


@dataclass(frozen=True)
class Comparison:
    """A batch, the reference and optionally another batch, column by column."""

    columns: tuple[str, ...]
    edges: np.ndarray  # columns × display bin edges
    reference: np.ndarray  # columns × display bins
    reference_mix: dict[str, float]
    sides: tuple[Side, ...]


def fine_proportions(profile: ReferenceProfile, matrix: np.ndarray) -> np.ndarray:
    """Each column's non-missing values on the reference's fine bins, as proportions."""
    width = len(profile.columns)
    props = np.zeros((width, FINE_BINS))
    for j in range(width):
        values = matrix[:, j]
        values = values[~np.isnan(values)]
        if values.size == 0:
            continue
        k = int(profile.edge_count[j])
        bins = np.searchsorted(profile.edges[j, :k], values, side="right")
        props[j, : k + 1] = np.bincount(bins, minlength=k + 1) / values.size
    return props


def side(
    name: str, batch: RecordBatch, classes: tuple[str, ...], profile: ReferenceProfile
) -> Side:
    """One batch against the reference (`batch.class_codes` index `classes`)."""
    matrix = np.column_stack([batch.features, batch.conf])
    props = fine_proportions(profile, matrix)
    ref = profile.fine_props
    ks = np.abs(np.cumsum(props - ref, axis=1)).max(axis=1)
    coarse = np.stack(
        [
            np.bincount(profile.coarse_of_fine[j], weights=props[j], minlength=COARSE_BINS)
            for j in range(len(profile.columns))
        ]
    )[:, :COARSE_BINS]
    eps = 1e-4
    live, base = np.maximum(coarse, eps), np.maximum(profile.coarse_props, eps)
    psi = ((live - base) * np.log(live / base)).sum(axis=1)
    with np.errstate(all="ignore"):
        mean = np.nanmean(matrix, axis=0) if len(matrix) else np.full(matrix.shape[1], np.nan)
        shift = (mean - profile.mean) / np.where(profile.sd > 0, profile.sd, 1.0)
    counts = np.bincount(batch.class_codes, minlength=len(classes)).astype(float)
    total = max(counts.sum(), 1.0)
    return Side(
        name=name,
        parts=len(batch),
        display=DisplayBins(profile).live(props),
        ks=ks,
        psi=psi,
        shift_sd=shift,
        class_mix={c: float(counts[i] / total) for i, c in enumerate(classes) if counts[i]},
        conf_mean=float(batch.conf.mean()) if len(batch) else float("nan"),
    )


def compare(
    profile: ReferenceProfile,
    batches: list[tuple[str, RecordBatch, tuple[str, ...]]],
) -> Comparison:
    """Batches (name, records, their class names) against the reference and each other."""
    bins = DisplayBins(profile)
    return Comparison(
        columns=profile.columns,
        edges=bins.edges,
        reference=bins.reference,
        reference_mix={
            c: float(p) for c, p in zip(profile.classes, profile.class_props, strict=False)
        },
        sides=tuple(side(name, batch, classes, profile) for name, batch, classes in batches),
    )
