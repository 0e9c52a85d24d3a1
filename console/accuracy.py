"""Live accuracy of the model: realized from ground truth, estimated without it, and the gap.

Ground truth is a part's `label` (WIRE.md §1) or an operator's override (the new class is the
truth for that part; an override wins over a label). From it, over a rolling window and per
batch: accuracy, and per class precision and recall, each with a Wilson score interval with
continuity correction (it keeps its coverage near 0 and 1 and on a hundred labels, where the
normal one does not, and stays at or above 95 % where the plain Wilson dips below). Overridden parts are a chosen sample (people look at doubtful parts), so the realized
figures say "on the parts people checked"; labels from a random audit sample are unbiased.

Without labels, `Calibration` maps the model's confidence to the chance it is right, fitted on
the reference (validation) period where the truth is known, and checked there (expected
calibration error). A plain average of calibrated confidence misses a fall in accuracy when the
inputs drift (the calibration was fitted at the reference's accuracy); `estimate` therefore
re-estimates the share of right answers by EM under the new prior (Saerens, Latinne &
Decaestecker 2002): the confidence distributions of right and of wrong answers stay, their mix
moves. The gap between the realized and the estimated accuracy is a signal of its own.

Pure numpy functions and one small class; the engine thread or a report calls them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959964


@dataclass(frozen=True)
class Rate:
    """k of n, with its Wilson score interval."""

    k: int
    n: int
    lo: float
    hi: float

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else math.nan

    def wire(self) -> dict:
        r = 4
        return {"k": self.k, "n": self.n, "value": round(self.value, r) if self.n else None,
                "lo": round(self.lo, r), "hi": round(self.hi, r)}  # fmt: skip


def wilson(k: int, n: int, z: float = Z95, corrected: bool = True) -> Rate:
    """k of n with its Wilson score interval, by default with the continuity correction
    (Newcombe 1998, method 4): the plain interval's coverage swings around the nominal 95 %
    with n and p (94-95.5 % at ~100 labels near 93 %), the corrected one stays above it."""
    if n <= 0:
        return Rate(0, 0, 0.0, 1.0)
    p = k / n
    if not corrected:
        d = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / d
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
        return Rate(k, n, max(0.0, centre - half), min(1.0, centre + half))
    zz, q, d = z * z, 1.0 - p, 2.0 * (n + z * z)
    lo = (2 * n * p + zz - 1 - z * math.sqrt(max(zz - 2 - 1 / n + 4 * p * (n * q + 1), 0.0))) / d
    hi = (2 * n * p + zz + 1 + z * math.sqrt(max(zz + 2 - 1 / n + 4 * p * (n * q - 1), 0.0))) / d
    return Rate(k, n, 0.0 if k == 0 else max(0.0, lo), 1.0 if k == n else min(1.0, hi))


def scores(predicted: Sequence[str], truth: Sequence[str], classes: Iterable[str]) -> dict:
    """Accuracy, and per class precision and recall, each a `Rate`, over known-truth parts."""
    pred, true = np.asarray(predicted, dtype=object), np.asarray(truth, dtype=object)
    right = pred == true
    per_class = {}
    for name in classes:
        said, was = pred == name, true == name
        per_class[name] = {
            "precision": wilson(int((right & said).sum()), int(said.sum())),
            "recall": wilson(int((right & was).sum()), int(was.sum())),
        }
    return {"accuracy": wilson(int(right.sum()), len(right)), "per_class": per_class}


@dataclass(frozen=True)
class Calibration:
    """P(right | confidence) by confidence bin, fitted where the truth is known."""

    edges: np.ndarray
    right_rate: np.ndarray
    prior: float  # the share of right answers where it was fitted
    ece: float  # expected calibration error of the raw confidence there

    @staticmethod
    def fit(conf: np.ndarray, right: np.ndarray, bins: int = 20) -> Calibration:
        conf, right = np.asarray(conf, float), np.asarray(right, bool)
        if len(conf) == 0:
            raise ValueError("no parts with known truth to calibrate on")
        edges = np.linspace(0.0, 1.0, bins + 1)
        index = _bin(edges, conf)
        # a reference without a single wrong (or right) answer still leaves room to move
        prior = min(max(float(right.mean()), 0.005), 0.995)
        rate, ece = np.full(bins, prior), 0.0
        for b in range(bins):
            inside = index == b
            if inside.any():
                # a little shrinkage towards the prior keeps thin bins away from 0 and 1
                rate[b] = (right[inside].sum() + prior) / (inside.sum() + 1.0)
                ece += inside.sum() * abs(right[inside].mean() - conf[inside].mean())
        return Calibration(edges, np.clip(rate, 1e-4, 1 - 1e-4), prior, ece / len(conf))

    def posterior(self, conf: np.ndarray) -> np.ndarray:
        return self.right_rate[_bin(self.edges, np.asarray(conf, float))]


@dataclass(frozen=True)
class Estimate:
    calibrated: float  # mean calibrated confidence (assumes the reference's prior)
    adjusted: float  # EM re-estimate under the window's own prior: the figure to show
    parts: int

    def wire(self) -> dict:
        return {"calibrated": round(self.calibrated, 4), "adjusted": round(self.adjusted, 4),
                "parts": self.parts}  # fmt: skip


def estimate(calibration: Calibration, conf: np.ndarray, steps: int = 200) -> Estimate:
    """Label-free accuracy of a window of confidences."""
    g = calibration.posterior(conf)
    if len(g) == 0:
        return Estimate(math.nan, math.nan, 0)
    a0, a = calibration.prior, calibration.prior
    for _ in range(steps):
        right = (a / a0) * g
        wrong = ((1 - a) / (1 - a0)) * (1 - g)
        new = float((right / (right + wrong)).mean())
        if abs(new - a) < 1e-7:
            a = new
            break
        a = new
    return Estimate(float(g.mean()), a, len(g))


def _bin(edges: np.ndarray, conf: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, len(edges) - 2)


class LiveAccuracy:
    """A rolling window of parts (class, confidence, batch, truth if known) and its figures."""

    def __init__(self, classes: Sequence[str], window: int = 5000) -> None:
        self.classes = tuple(classes)
        self.parts: deque[tuple[str, str, float, str, str | None]] = deque(maxlen=window)
        self.calibration: Calibration | None = None
        self._truth: dict[str, str] = {}

    def add(self, part: str, predicted: str, conf: float, batch: str, label: str | None) -> None:
        self.parts.append((part, predicted, conf, batch, label or None))

    def override(self, part: str, new_class: str) -> None:
        """An operator's correction is the truth for that part (wins over a label)."""
        self._truth[part] = new_class

    def report(self) -> dict:
        pairs = [(p, self._truth.get(part, t)) for part, p, _, _, t in self.parts]
        known = [(p, t) for p, t in pairs if t]
        figures = scores([p for p, _ in known], [t for _, t in known], self.classes)
        batches: dict[str, list[tuple[str, str]]] = {}
        for part, p, _, batch, t in self.parts:
            truth = self._truth.get(part, t)
            if truth:
                batches.setdefault(batch, []).append((p, truth))
        out = {
            "window": len(self.parts),
            "accuracy": figures["accuracy"].wire(),
            "per_class": {
                c: {k: r.wire() for k, r in v.items()} for c, v in figures["per_class"].items()
            },
            "per_batch": {
                b: wilson(sum(p == t for p, t in rows), len(rows)).wire()
                for b, rows in batches.items()
            },
        }
        if self.calibration is not None:
            est = estimate(self.calibration, np.array([c for _, _, c, _, _ in self.parts]))
            out["estimate"] = est.wire()
            realized = figures["accuracy"]
            out["gap"] = round(realized.value - est.adjusted, 4) if realized.n else None
            # a realized accuracy whose interval misses the estimate: the model or the
            # calibration no longer behaves as on the reference
            out["gap_signal"] = bool(realized.n) and not realized.lo <= est.adjusted <= realized.hi
        return out
