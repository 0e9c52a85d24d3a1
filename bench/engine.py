"""Engine and drift benchmarks for `main.py bench`: the per-batch pipeline beside pandas and River,
one drift refresh beside scipy. Synthetic data: 32 normal features (0.5 % missing) plus the
model's confidence, two classes, one part every 17.28 s (5,000 a day). Main thread only.
"""

from __future__ import annotations

import statistics
import time
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


def bench_engine(quick: bool) -> None:
    n = 30_000 if quick else 200_000
    repeats = 3
    heading(
        "engine",
        f"per-batch pipeline, 32 features + conf, W = {W:,}, batches of {BATCH}, median of {repeats}",
    )
    engine, reference = make_engine(FEATURES)
    start = float(reference.ts[-1]) + SPACING
    batches = _stream_batches(n, start)
    span = n * SPACING
    laps = iter(range(1, 100))

    def engine_pass() -> float:
        shift = next(laps) * span  # each repeat continues the stream in time
        shifted = [replace(b, ts=b.ts + shift) for b in batches]
        t0 = time.perf_counter()
        for batch in shifted:
            engine.watch_batch(batch)
        return time.perf_counter() - t0

    engine_pass()  # warm-up: the first pass pays for first-touch page faults
    seconds, runs = median_seconds(engine_pass, repeats)
    engine_rate = n / seconds
    line(
        "engine.watch_batch records/s",
        f"{engine_rate:,.0f}",
        f"target >= 500,000: {verdict(engine_rate >= 500_000)}",
    )
    line("engine runs (records/s)", ", ".join(f"{n / s:,.0f}" for s in runs))

    # The pipeline computes quantiles and min/max only on demand; price asking every batch too.
    k = 100 if quick else 300

    def engine_with_views() -> float:
        shift = next(laps) * span
        shifted = [replace(b, ts=b.ts + shift) for b in batches[:k]]
        assert engine.watch is not None
        window = engine.watch.window
        t0 = time.perf_counter()
        for batch in shifted:
            engine.watch_batch(batch)
            window.quantiles(QUANTILES), window.extremes(), window.mean, window.sd, window.missing
        return time.perf_counter() - t0

    seconds_views, _ = median_seconds(engine_with_views, repeats)
    views_rate = k * BATCH / seconds_views
    line("engine + quantiles/min/max every batch", f"{views_rate:,.0f} records/s")

    pandas_rates = bench_pandas(reference, batches, quick, repeats)
    river_rate = bench_river(reference, batches, quick)
    best_name, best = max(pandas_rates.items(), key=lambda item: item[1])
    ratio_pd = engine_rate / best
    ratio_river = engine_rate / river_rate
    line(
        f"ratio engine / pandas (fastest: {best_name})",
        f"{ratio_pd:,.1f}x",
        f"target >= 25x: {verdict(ratio_pd >= 25)}",
    )
    line(
        "ratio engine / River",
        f"{ratio_river:,.1f}x",
        f"target >= 50x: {verdict(ratio_river >= 50)}",
    )
    per_batch = {name: rate for name, rate in pandas_rates.items() if name != "rolling API"}
    best_batch_name, best_batch = max(per_batch.items(), key=lambda item: item[1])
    line(
        f"ratio engine / pandas per-batch ({best_batch_name})", f"{engine_rate / best_batch:,.1f}x"
    )
    line("ratio engine+views / pandas per-batch", f"{views_rate / best_batch:,.1f}x")


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


def bench_pandas(
    reference: RecordBatch, batches: list[RecordBatch], quick: bool, repeats: int
) -> dict[str, float]:
    """The same per-batch outputs with pandas: best of two window idioms, and the rolling API."""
    import pandas as pd

    ref_matrix, names, edges = _columns(reference)
    k = 50 if quick else 200  # batches timed once the window is full; the cost per batch is flat
    rates: dict[str, float] = {}

    def outputs(df: pd.DataFrame, classes: np.ndarray) -> tuple:
        count, mean, sd = df.count(), df.mean(), df.std()
        low, high = df.min(), df.max()
        quantiles = df.quantile(list(QUANTILES))
        missing = df.isna().sum()
        hist = [np.histogram(df[c].to_numpy(), bins=edges[j])[0] for j, c in enumerate(names)]
        class_counts = np.bincount(classes, minlength=len(CLASSES))
        return count, mean, sd, low, high, quantiles, missing, hist, class_counts

    def ring() -> float:
        # Column-major, as pandas keeps a float block: wrapping it copies nothing.
        values = np.asfortranarray(ref_matrix[-W:])
        classes = reference.class_codes[-W:].copy()
        head = 0
        t0 = time.perf_counter()
        for batch in batches[:k]:
            m = len(batch)
            rows = (head + np.arange(m)) % W
            values[rows] = np.column_stack([batch.features, batch.conf])
            classes[rows] = batch.class_codes
            head = (head + m) % W
            outputs(pd.DataFrame(values, columns=names, copy=False), classes)
        return time.perf_counter() - t0

    def concat_tail() -> float:
        df = pd.DataFrame(ref_matrix[-W:], columns=names)
        df["class"] = reference.class_codes[-W:]
        t0 = time.perf_counter()
        for batch in batches[:k]:
            new = pd.DataFrame(np.column_stack([batch.features, batch.conf]), columns=names)
            new["class"] = batch.class_codes
            df = pd.concat([df, new], ignore_index=True).tail(W)
            outputs(df[names], df["class"].to_numpy())
        return time.perf_counter() - t0

    for name, task in (("numpy ring in a DataFrame", ring), ("concat + tail(W)", concat_tail)):
        seconds, _ = median_seconds(task, repeats)
        rates[name] = k * BATCH / seconds
        line(f"pandas per-batch, {name}", f"{rates[name]:,.0f} records/s")

    # The rolling API over the whole stream at once: no histograms, missing or class counts.
    rows = 20_000 if quick else 60_000
    stream = np.vstack(
        [ref_matrix[-W:], *(np.column_stack([b.features, b.conf]) for b in batches)]
    )[: W + rows]
    frame = pd.DataFrame(stream, columns=names)

    def rolling() -> float:
        t0 = time.perf_counter()
        roll = frame.rolling(W, min_periods=1)
        roll.count(), roll.mean(), roll.std(), roll.min(), roll.max()
        for q in QUANTILES:
            roll.quantile(q)
        return time.perf_counter() - t0

    seconds, _ = median_seconds(rolling, repeats)
    rates["rolling API"] = (W + rows) / seconds
    line(
        "pandas rolling(W).agg, whole stream at once",
        f"{rates['rolling API']:,.0f} records/s (mean, sd, min, max, 3 quantiles, count)",
    )
    return rates


def bench_river(reference: RecordBatch, batches: list[RecordBatch], quick: bool) -> float:
    """River's rolling mean, variance and three quantiles per column, one record at a time."""
    from river import stats, utils

    ref_matrix, names, _ = _columns(reference)
    columns = len(names)
    trackers = [
        (
            utils.Rolling(stats.Mean, window_size=W),
            utils.Rolling(stats.Var, window_size=W),
            *(stats.RollingQuantile(q, W) for q in QUANTILES),
        )
        for _ in range(columns)
    ]

    def feed(rows: np.ndarray) -> None:
        for row in rows.tolist():
            for x, group in zip(row, trackers, strict=True):
                if x == x:  # River has no notion of a missing value: skip NaN
                    for tracker in group:
                        tracker.update(x)
            for group in trackers:
                for tracker in group:
                    tracker.get()

    fill = 2_000 if quick else W
    feed(ref_matrix[-fill:])  # the window holds data before timing starts (full, without --quick)
    timed = 1_000 if quick else 5_000
    rows = np.vstack([np.column_stack([b.features, b.conf]) for b in batches[: timed // BATCH]])
    runs = []
    for piece in np.array_split(rows, 3):
        t0 = time.perf_counter()
        feed(piece)
        runs.append(piece.shape[0] / (time.perf_counter() - t0))
    rate = statistics.median(runs)
    note = "full window" if fill >= W else f"window of {fill:,} only"
    line(
        "River per-record rolling stats",
        f"{rate:,.0f} records/s (mean, var, 3 quantiles; {timed:,} records timed, {note})",
    )
    return rate


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
