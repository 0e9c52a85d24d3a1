"""Engine and drift benchmarks for `main.py bench`: the per-batch pipeline beside pandas and River,
one drift refresh beside scipy. Synthetic data: 32 normal features (0.5 % missing) plus the
model's confidence, two classes, one part every 17.28 s (5,000 a day). Main thread only.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from bench.suite import heading, line, median_seconds, verdict
from console.config import Reference, Window, default_config
from console.engine import Engine
from console.records import RecordBatch

FEATURES = tuple(f"f{k:02d}" for k in range(32))
CLASSES = ("ok", "bad")
W = 10_000
BATCH = 100
SPACING = 17.28  # seconds between parts: 5,000 a day
START = 1_772_430_000.0
QUANTILES = (0.05, 0.5, 0.95)


def synthetic(
    n: int, features: tuple[str, ...], *, seed: int, start: float = START, shift: float = 0.0
):
    """(values, class codes, conf, ts) of n plausible parts."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, len(features))) * (1.0 + 0.5 * shift) + shift
    values[rng.random(values.shape) < 0.005] = np.nan
    codes = (rng.random(n) < 0.1).astype(np.int32)
    conf = np.round(rng.beta(18, 1.5, n), 4)
    ts = start + np.arange(n) * SPACING
    return values, codes, conf, ts


def as_batch(
    values: np.ndarray, codes: np.ndarray, conf: np.ndarray, ts: np.ndarray
) -> RecordBatch:
    n = values.shape[0]
    empty = (None,) * n
    return RecordBatch(
        features=values,
        class_codes=codes,
        conf=conf,
        ts=ts,
        ts_text=("2026-03-02T06:00:00.000Z",) * n,
        part=tuple(f"P{i:08d}" for i in range(n)),
        batch=empty,
        model=empty,
        image=empty,
        label=empty,
        station=empty,
    )


def make_engine(
    features: tuple[str, ...], reference_size: int = 20_000
) -> tuple[Engine, RecordBatch]:
    """An engine with a 20,000-part reference set, as the brief of the benchmark says."""
    cfg = default_config()
    cfg = replace(
        cfg,
        station=replace(cfg.station, features=features, classes=CLASSES),
        window=Window(parts=W, batch=BATCH),
        reference=Reference(size=W),
    )
    engine = Engine(cfg)
    reference = as_batch(*synthetic(reference_size, features, seed=1))
    engine.use_reference(reference, "bench")
    return engine, reference


def _stream_batches(n: int, start: float, seed: int = 2) -> list[RecordBatch]:
    values, codes, conf, ts = synthetic(n, FEATURES, seed=seed, start=start)
    return [
        as_batch(
            values[i : i + BATCH], codes[i : i + BATCH], conf[i : i + BATCH], ts[i : i + BATCH]
        )
        for i in range(0, n, BATCH)
    ]


# --- engine vs pandas vs River ------------------------------------------------------------------


class Stopwatch:
    """Wall and CPU seconds of this thread since `start` (every task here is single-threaded:
    on a shared machine the CPU seconds leave out the time other processes held the cores)."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.thread_time() - self.cpu


def bench_engine(quick: bool) -> None:
    """The engine beside pandas and River, interleaved: every round times the engine, then each
    peer, on the same data, so that the load of the moment weighs on all of them alike; the
    ratios are taken within each round and their median is printed."""
    n = 30_000 if quick else 200_000
    rounds = 3 if quick else 5
    heading(
        "engine",
        f"per-batch pipeline, 32 features + conf, W = {W:,}, batches of {BATCH}, "
        f"{rounds} rounds with the peers interleaved",
    )
    engine, reference = make_engine(FEATURES)
    start = float(reference.ts[-1]) + SPACING
    batches = _stream_batches(n, start)
    span = n * SPACING
    laps = iter(range(1, 1000))

    def engine_pass() -> tuple[float, float]:
        shift = next(laps) * span  # each pass continues the stream in time
        shifted = [replace(b, ts=b.ts + shift) for b in batches]
        watch = Stopwatch()
        for batch in shifted:
            engine.watch_batch(batch)
        return watch.stop()

    engine_pass()  # warm-up: the first pass pays for first-touch page faults
    peers = pandas_peers(reference, batches, quick)
    river = RiverPeer(reference, batches, quick)
    names = ["engine", *peers, "River"]
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}

    def note(name: str, records: int, seconds: tuple[float, float]) -> None:
        wall[name].append(records / seconds[0])
        cpu[name].append(records / seconds[1])

    for _ in range(rounds):
        note("engine", n, engine_pass())
        for name, (task, records) in peers.items():
            note(name, records, task())
        note("River", *river.piece())
    _print_engine(cpu, "CPU seconds of the thread", verdicts=True)
    _print_engine(wall, "wall clock")
    views_rate = _engine_with_views(engine, batches, laps, span, quick)
    line("engine + quantiles/min/max every batch (wall)", f"{views_rate:,.0f} records/s")


def _print_engine(rates: dict[str, list[float]], clock: str, verdicts: bool = False) -> None:
    """Rates (median of the rounds) and, round by round, the engine's ratio to its peers."""
    print(f"  -- by {clock}", flush=True)
    runs = rates["engine"]
    engine_rate = statistics.median(runs)
    target = f"target >= 500,000: {verdict(engine_rate >= 500_000)}" if verdicts else ""
    line("engine.watch_batch records/s (median)", f"{engine_rate:,.0f}", target)
    line("engine runs (records/s)", ", ".join(f"{r:,.0f}" for r in runs))
    for name, values in rates.items():
        if name != "engine":
            line(f"{name} records/s (median)", f"{statistics.median(values):,.0f}")
    pandas = [name for name in rates if name not in ("engine", "River")]
    # Within each round: the engine against the fastest pandas idiom of that round.
    rounds = range(len(runs))
    ratio_pd = [runs[k] / max(rates[name][k] for name in pandas) for k in rounds]
    ratio_river = [runs[k] / rates["River"][k] for k in rounds]
    per_batch = [name for name in pandas if name != ROLLING]
    ratio_batch = [runs[k] / max(rates[p][k] for p in per_batch) for k in rounds]
    median_pd, median_river = statistics.median(ratio_pd), statistics.median(ratio_river)
    fastest = max(pandas, key=lambda name: statistics.median(rates[name]))
    line(
        f"ratio engine / fastest pandas ({fastest.split(',')[0]})",
        f"{median_pd:,.1f}x",
        f"target >= 25x: {verdict(median_pd >= 25)}" if verdicts else "",
    )
    line("  per round", ", ".join(f"{r:.1f}x" for r in ratio_pd))
    line(
        "ratio engine / River",
        f"{median_river:,.1f}x",
        f"target >= 100x: {verdict(median_river >= 100)}" if verdicts else "",
    )
    line("  per round", ", ".join(f"{r:.0f}x" for r in ratio_river))
    line("ratio engine / pandas per-batch idioms", f"{statistics.median(ratio_batch):,.1f}x")


def _engine_with_views(
    engine: Engine, batches: list[RecordBatch], laps, span: float, quick: bool
) -> float:
    """The pipeline computes quantiles and min/max only on demand: price asking every batch."""
    k = 100 if quick else 300

    def task() -> float:
        shift = next(laps) * span
        shifted = [replace(b, ts=b.ts + shift) for b in batches[:k]]
        assert engine.watch is not None
        window = engine.watch.window
        t0 = time.perf_counter()
        for batch in shifted:
            engine.watch_batch(batch)
            window.quantiles(QUANTILES), window.extremes(), window.mean, window.sd, window.missing
        return time.perf_counter() - t0

    seconds, _ = median_seconds(task, 3)
    return k * BATCH / seconds


def _columns(reference: RecordBatch) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    matrix = np.column_stack([reference.features, reference.conf])
    names = [*FEATURES, "conf"]
    profile_edges = []
    from console.reference import build_profile

    profile = build_profile(reference, FEATURES, list(CLASSES))
    for j in range(len(names)):
        k = int(profile.edge_count[j])
        profile_edges.append(np.concatenate([[-np.inf], profile.edges[j, :k], [np.inf]]))
    return matrix, names, profile_edges


ROLLING = "pandas rolling(W).agg, whole stream at once"


def pandas_peers(
    reference: RecordBatch, batches: list[RecordBatch], quick: bool
) -> dict[str, tuple[Callable[[], tuple[float, float]], int]]:
    """The same per-batch outputs with pandas, as tasks that time themselves (seconds, records):
    two window idioms, and the rolling API over the whole stream at once (mean, sd, min, max,
    three quantiles and count; no histograms, missing or class counts)."""
    import pandas as pd

    ref_matrix, names, edges = _columns(reference)
    k = 50 if quick else 200  # batches timed once the window is full; the cost per batch is flat

    def outputs(df: pd.DataFrame, classes: np.ndarray) -> tuple:
        count, mean, sd = df.count(), df.mean(), df.std()
        low, high = df.min(), df.max()
        quantiles = df.quantile(list(QUANTILES))
        missing = df.isna().sum()
        hist = [np.histogram(df[c].to_numpy(), bins=edges[j])[0] for j, c in enumerate(names)]
        class_counts = np.bincount(classes, minlength=len(CLASSES))
        return count, mean, sd, low, high, quantiles, missing, hist, class_counts

    def ring() -> tuple[float, float]:
        # Column-major, as pandas keeps a float block: wrapping it copies nothing.
        values = np.asfortranarray(ref_matrix[-W:])
        classes = reference.class_codes[-W:].copy()
        head = 0
        watch = Stopwatch()
        for batch in batches[:k]:
            m = len(batch)
            rows = (head + np.arange(m)) % W
            values[rows] = np.column_stack([batch.features, batch.conf])
            classes[rows] = batch.class_codes
            head = (head + m) % W
            outputs(pd.DataFrame(values, columns=names, copy=False), classes)
        return watch.stop()

    def concat_tail() -> tuple[float, float]:
        df = pd.DataFrame(ref_matrix[-W:], columns=names)
        df["class"] = reference.class_codes[-W:]
        watch = Stopwatch()
        for batch in batches[:k]:
            new = pd.DataFrame(np.column_stack([batch.features, batch.conf]), columns=names)
            new["class"] = batch.class_codes
            df = pd.concat([df, new], ignore_index=True).tail(W)
            outputs(df[names], df["class"].to_numpy())
        return watch.stop()

    rows = 20_000 if quick else 60_000
    stream = np.vstack(
        [ref_matrix[-W:], *(np.column_stack([b.features, b.conf]) for b in batches)]
    )[: W + rows]
    frame = pd.DataFrame(stream, columns=names)

    def rolling() -> tuple[float, float]:
        watch = Stopwatch()
        roll = frame.rolling(W, min_periods=1)
        roll.count(), roll.mean(), roll.std(), roll.min(), roll.max()
        for q in QUANTILES:
            roll.quantile(q)
        return watch.stop()

    return {
        "pandas per-batch, numpy ring in a DataFrame": (ring, k * BATCH),
        "pandas per-batch, concat + tail(W)": (concat_tail, k * BATCH),
        ROLLING: (rolling, W + rows),
    }


class RiverPeer:
    """River's rolling mean, variance and three quantiles per column, one record at a time;
    the window is filled before timing (full without --quick). `piece` times the next piece."""

    def __init__(self, reference: RecordBatch, batches: list[RecordBatch], quick: bool) -> None:
        from river import stats, utils

        ref_matrix, names, _ = _columns(reference)
        self.trackers = [
            (
                utils.Rolling(stats.Mean, window_size=W),
                utils.Rolling(stats.Var, window_size=W),
                *(stats.RollingQuantile(q, W) for q in QUANTILES),
            )
            for _ in names
        ]
        fill = 2_000 if quick else W
        self.feed(ref_matrix[-fill:])
        piece = 300 if quick else 1_500
        rows = np.vstack([np.column_stack([b.features, b.conf]) for b in batches])
        self.pieces = iter([rows[i : i + piece] for i in range(0, len(rows), piece)])

    def feed(self, rows: np.ndarray) -> None:
        trackers = self.trackers
        for row in rows.tolist():
            for x, group in zip(row, trackers, strict=True):
                if x == x:  # River has no notion of a missing value: skip NaN
                    for tracker in group:
                        tracker.update(x)
            for group in trackers:
                for tracker in group:
                    tracker.get()

    def piece(self) -> tuple[int, tuple[float, float]]:
        """Records fed and (wall, CPU) seconds of the next piece of the stream."""
        piece = next(self.pieces)
        watch = Stopwatch()
        self.feed(piece)
        return piece.shape[0], watch.stop()


# --- drift refresh vs scipy ---------------------------------------------------------------------


def bench_drift(quick: bool) -> None:
    from scipy.stats import ks_2samp, wasserstein_distance

    from console.detectors.shape import ShapeDrift
    from console.drift import calibrate
    from console.reference import build_profile
    from console.stats import RollingWindow

    repeats = 5
    heading(
        "drift",
        f"one shape-drift refresh of 32 features (+conf), window {W:,} vs 20,000 reference, median of {repeats}",
    )
    reference = as_batch(*synthetic(20_000, FEATURES, seed=1))
    profile = build_profile(reference, FEATURES, list(CLASSES))
    ref_matrix = np.column_stack([reference.features, reference.conf])
    calibration = calibrate(profile, ref_matrix, reference.ts, W, default_config().detection)
    window = RollingWindow(profile, W)
    values, codes, conf, ts = synthetic(
        W, FEATURES, seed=3, start=float(reference.ts[-1]) + SPACING, shift=0.05
    )
    window.add(np.column_stack([values, conf]), codes, ts)
    shape = ShapeDrift(profile, calibration)
    loops = 50 if quick else 200

    def engine_refreshes() -> float:
        t0 = time.perf_counter()
        for _ in range(loops):
            shape.evaluate(window)
        return (time.perf_counter() - t0) / loops

    engine_s, _ = median_seconds(engine_refreshes, repeats)
    readings = shape.evaluate(window)
    columns = len(FEATURES)
    win = [window.values[:, j][~np.isnan(window.values[:, j])] for j in range(columns)]
    ref = [ref_matrix[:, j][~np.isnan(ref_matrix[:, j])] for j in range(columns)]
    ks = np.zeros(columns)
    wd = np.zeros(columns)

    def scipy_refresh() -> None:
        for j in range(columns):
            ks[j] = ks_2samp(win[j], ref[j]).statistic
            wd[j] = wasserstein_distance(win[j], ref[j])

    scipy_s, _ = median_seconds(scipy_refresh, 3 if quick else repeats)
    gap = float(np.abs(readings["ks"][:columns] - ks).max())
    wgap = float((np.abs(readings["wasserstein"][:columns] - wd) / np.maximum(wd, 1e-12)).max())
    line(
        "engine µs per refresh (33 columns)",
        f"{engine_s * 1e6:,.0f}",
        f"target <= 1,000 µs: {verdict(engine_s <= 1e-3)}",
    )
    line("scipy ks_2samp + wasserstein µs (32 columns)", f"{scipy_s * 1e6:,.0f}")
    line("ratio scipy / engine", f"{scipy_s / engine_s:,.0f}x")
    line(
        "max |KS engine - KS scipy| over features",
        f"{gap:.4f}",
        f"target <= 0.003: {verdict(gap <= 0.003)}",
    )
    line("KS scipy, range over features", f"{ks.min():.4f} .. {ks.max():.4f}")
    line("max relative Wasserstein difference", f"{100 * wgap:.1f} %")
