"""Lines with categorical inputs for the detection study (issue 12), beside a daily χ² peer.

`draw_categorical(seed)` draws a line of the family in bench/lines.py (numeric inputs, no drift)
and adds 1–3 categorical inputs: a yes/no flag, a channel of 3–6 values or a band of 8, with
shares drawn from a Dirichlet, optionally moved a little per shift (a mix that follows the
shift is part of the reference). In a drifting line one categorical input's shares move
linearly over 1–4 weeks toward one category by a total-variation distance of 0.04–0.15.
`CategoricalData` generates the records day by day as `RecordBatch`es with the codes of
console/categories.py. The peer is a daily χ² (homogeneity, each day against the reference) per
categorical input at the same yearly false-alarm budget per input (Bonferroni over the days of a
year). `bench_categories` prints latency, the peer's, and false alarms on stable lines.
Main thread only; never imported by console/.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from bench.lines import CLASSES, DAY, LineData, LineDesign, draw_line
from bench.suite import heading, line
from console.alarms import AlarmEvent
from console.categories import category_code
from console.category_stats import chi2_sf, homogeneity
from console.config import default_config
from console.engine import Engine
from console.records import RecordBatch, parse_timestamp

KINDS = ((("yes", "no"),), tuple(tuple(f"ch{i}" for i in range(k)) for k in (3, 4, 6)))
BAND = tuple(f"band{i}" for i in range(8))


@dataclass(frozen=True)
class CategoricalInput:
    name: str
    values: tuple[str, ...]
    shares: np.ndarray
    shift_tilt: np.ndarray  # (shifts, values): added to the log-shares per shift


@dataclass(frozen=True)
class CategoricalDesign:
    seed: int
    numeric: LineDesign  # the numeric inputs (no drift)
    inputs: tuple[CategoricalInput, ...]
    drifting: int | None  # which categorical input drifts
    target: int  # toward which of its values
    distance: float  # total-variation distance reached
    days: float  # over how many days

    def describe(self) -> str:
        kinds = "/".join(str(len(c.values)) for c in self.inputs)
        drift = (
            f", c{self.drifting} TV {self.distance:.2f}/{self.days:.0f} d"
            if self.drifting is not None
            else ""
        )
        return f"{self.numeric.describe()}, categories {kinds}{drift}"


def draw_categorical(seed: int, *, drift: bool = True) -> CategoricalDesign:
    rng = np.random.default_rng(seed)
    numeric = draw_line(seed, drift=False, max_inputs=8)
    count = int(rng.integers(1, 4))
    shifts = numeric.shift_fixed.shape[0]
    inputs = []
    for c in range(count):
        pick = rng.integers(0, 3)
        values = ("yes", "no") if pick == 0 else BAND if pick == 2 else KINDS[1][rng.integers(3)]
        shares = rng.dirichlet(np.full(len(values), 4.0))
        tilt = rng.normal(0.0, 0.1, (shifts, len(values))) * (rng.random() < 0.3)
        inputs.append(CategoricalInput(f"c{c}", values, shares, tilt))
    drifting = int(rng.integers(count)) if drift else None
    target = int(rng.integers(len(inputs[drifting or 0].values)))
    return CategoricalDesign(
        seed, numeric, tuple(inputs), drifting, target, float(rng.uniform(0.04, 0.15)),
        float(rng.uniform(7.0, 28.0)),
    )  # fmt: skip


class CategoricalData:
    """The records of one categorical line, day by day (reference first, then production)."""

    def __init__(self, design: CategoricalDesign) -> None:
        self.design = design
        self.numbers = LineData(design.numeric)
        self.rng = np.random.default_rng(design.seed + 104_729)
        self.names = (*self.numbers.names, *(c.name for c in design.inputs))

    @property
    def onset(self) -> float:
        return self.numbers.onset

    def days(self, first: float, count: int) -> RecordBatch:
        batch = self.numbers.days(first, count)
        columns = [self._column(c, k, batch.ts) for k, c in enumerate(self.design.inputs)]
        return replace(batch, features=np.column_stack([batch.features, *columns]))

    def _column(self, spec: CategoricalInput, k: int, ts: np.ndarray) -> np.ndarray:
        d = self.design
        begin, end = d.numeric.hours
        hour = (ts % DAY) / 3600.0
        shifts = spec.shift_tilt.shape[0]
        shift = np.clip(((hour - begin) / ((end - begin) / shifts)).astype(int), 0, shifts - 1)
        logits = np.log(spec.shares)[None, :] + spec.shift_tilt[shift]
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        if d.drifting == k:
            elapsed = np.clip((ts - self.onset) / DAY / d.days, 0.0, 1.0)[:, None]
            toward = np.zeros(len(spec.values))
            toward[d.target] = 1.0
            room = 1.0 - spec.shares[d.target]
            probs = (
                probs * (1.0 - elapsed * d.distance / room) + elapsed * d.distance / room * toward
            )
        pick = (self.rng.random(ts.size)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        codes = np.array([category_code(v) for v in spec.values])
        return codes[np.minimum(pick, len(spec.values) - 1)]


def engine_for(data: CategoricalData, reference: RecordBatch, budget: float) -> Engine:
    config = default_config()
    categorical = tuple(c.name for c in data.design.inputs)
    config = replace(
        config,
        station=replace(
            config.station, features=data.names, classes=CLASSES, categorical=categorical
        ),
        detection=replace(config.detection, false_alarms_per_year=budget),
    )
    engine = Engine(config, reference_features=data.names)
    engine.use_reference(reference, "generated reference")
    return engine


def daily_chi2(reference: np.ndarray, days: list[np.ndarray], alpha_year: float) -> np.ndarray:
    """(days,) flags of a daily χ² of one categorical column's counts against the reference's."""
    values = np.unique(reference[~np.isnan(reference)])
    ref_counts = np.array([(reference == v).sum() for v in values], float)
    alpha = alpha_year / 365.0
    flags = []
    for day in days:
        counts = np.array([(day == v).sum() for v in values], float)
        stat, dof = homogeneity(counts, ref_counts)
        flags.append(counts.sum() > 0 and dof > 0 and chi2_sf(stat, dof) < alpha)
    return np.array(flags, bool)


@dataclass(frozen=True)
class CategoricalResult:
    design: CategoricalDesign
    latency: float | None
    peer: float | None
    false: tuple[str, ...]


def run_categorical(
    design: CategoricalDesign, days: int, budget: float = 0.02
) -> CategoricalResult:
    data = CategoricalData(design)
    reference_days = int(np.ceil(design.numeric.reference_days))
    kept = data.days(0.0, reference_days)
    engine = engine_for(data, kept, budget)
    width = len(data.numbers.names)
    reference = kept.features
    first: float | None = None
    false: list[str] = []
    live: list[np.ndarray] = []
    drifting = None if design.drifting is None else f"c{design.drifting}"
    for day in range(reference_days, reference_days + days):
        batch = data.days(day, 1)
        live.append(batch.features)
        for event in engine.process(batch):
            if event.event != "alarm_raised" or event.detector == "rejected":
                continue
            if event.source == drifting and event.detector == "categories":
                at = (_at(event) - data.onset) / DAY
                first = at if first is None else first
            elif event.source not in ("class", "conf") and event.source != drifting:
                false.append(f"{event.detector}:{event.source}")
    peer = None
    if design.drifting is not None:
        column = width + design.drifting
        flags = daily_chi2(reference[:, column], [x[:, column] for x in live], budget)
        onset_day = design.numeric.onset_day
        after = [i + 1 - onset_day for i in np.flatnonzero(flags) if i + 1 - onset_day > 0]
        peer = float(after[0]) if after else None
    return CategoricalResult(design, first, peer, tuple(false))


def bench_categories(quick: bool) -> None:
    """Print the categorical lines' latency beside the daily χ² peer, and stable lines' alarms."""
    heading(
        "detection", "lines with categorical inputs: category shares against a daily chi-square"
    )
    lines = 4 if quick else 20
    results = [run_categorical(draw_categorical(3000 + s), days=45) for s in range(lines)]
    for r in results:
        line(
            f"  line {r.design.seed}: {r.design.describe()}",
            f"engine {_days(r.latency)} daily chi2 {_days(r.peer)} false {len(r.false)}"
            + (f" ({', '.join(sorted(set(r.false)))})" if r.false else ""),
        )
    ratios = [r.latency / r.peer for r in results if r.latency and r.peer]
    line("latency / daily chi-square latency", _ratios(ratios) + f" ({len(ratios)} lines)")
    slower = sum(
        1 for r in results if r.peer is not None and (r.latency is None or r.latency > r.peer)
    )
    line("lines where the engine is slower than daily chi2", f"{slower} of {len(results)}")
    line("missed (engine / daily chi2)", f"{sum(r.latency is None for r in results)} / "
         f"{sum(r.peer is None for r in results)}")  # fmt: skip
    years = 2 if quick else 20
    alarms: list[str] = []
    for s in range(years):
        design = draw_categorical(7000 + s, drift=False)
        rate = float(np.exp(np.random.default_rng(s).uniform(np.log(500), np.log(2000))))
        design = replace(design, numeric=replace(design.numeric, parts_per_day=rate))
        alarms += run_categorical(design, days=365).false
    by = Counter(a.split(":")[0] for a in alarms)
    detail = ", ".join(f"{k} {v}" for k, v in by.most_common()) or "-"
    line(
        f"stable categorical lines: alarms in {years} line-years",
        f"{len(alarms)} = {len(alarms) / years:.3f} per line-year ({detail})",
    )


def _at(event: AlarmEvent) -> float:
    """The alarm's record time, epoch seconds."""
    return parse_timestamp(event.ts)


def _ratios(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.2f} / worst {max(values):.2f}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}d"
