"""The engine: records in, statistics → detectors → alarms out, in micro-batches.

`Engine` owns the parser, the reference profile and its calibration, the rolling window, the
time buckets, the detectors and the alarm book. It is driven by exactly one thread: `analyze`
calls `feed_lines` from the main thread as fast as it can; the console and `headless` run an
`EngineThread` (console/runner.py) that drains the intake. Until a reference exists (a file, or
the first `reference.size` records of the stream), the engine is *learning*: records are kept,
no alarm can fire. Operator commands (override, acknowledge, escalate) may come from other
threads; they touch only the alarm book (locked), the store (its own queue) and counters
guarded by `_lock`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import numpy as np

from console.alarms import AlarmBook, AlarmEvent
from console.config import Config
from console.drift import (
    PRIORITY,
    Calibration,
    DataQuality,
    JumpCusum,
    LineQuality,
    MeanShift,
    ShapeDrift,
    calibrate,
)
from console.kernels import residuals
from console.records import RecordBatch, RecordParser, Rejected, learn_features
from console.reference import ReferenceProfile, build_profile
from console.snapshot import DisplayBins
from console.stats import BUCKET_COUNT, BUCKET_SECONDS, RollingWindow, TimeBuckets

RECENT_PARTS = 60
BANDS_DUE = 2 * BUCKET_COUNT


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Engine:
    """Statistics, detectors and alarms for one station (one driving thread; see module doc)."""

    def __init__(
        self,
        config: Config,
        *,
        reference: RecordBatch | None = None,
        reference_features: Sequence[str] = (),
        store=None,  # noqa: ANN001 - data.store.StoreWriter, optional (analyze runs without)
        on_event: Callable[[AlarmEvent], None] | None = None,
        on_features: Callable[[tuple[str, ...]], None] | None = None,
    ) -> None:
        self.on_features = on_features
        self.on_system: Callable[[tuple[float, str, str, str]], None] | None = None
        self.config = config
        self.store = store
        self.on_event = on_event
        self.alarms = AlarmBook(config.alarms)
        self.features: tuple[str, ...] = tuple(config.station.features) or tuple(reference_features)
        self.parser: RecordParser | None = None
        if self.features:
            self._make_parser()
        self.accepted = 0  # accepted records: the `seq` of WIRE.md §5
        self.lines = 0
        self.rejected = Counter()
        self.reference_size = config.reference.size
        self.profile: ReferenceProfile | None = None
        self.calibration: Calibration | None = None
        self._learning: list[RecordBatch] = []
        self._learned = 0
        self._recent_batches: deque[RecordBatch] = deque(maxlen=RECENT_PARTS)
        self.system_events: deque[tuple[float, str, str, str]] = deque(maxlen=200)
        self.overrides: deque[tuple[float, str, str]] = deque(maxlen=10000)
        self.last_ts = float("nan")
        self.last_ts_text = ""
        self.started = time.time()
        self.raised = 0
        self.model_name = ""
        self.rate = ArrivalRate()
        self.overridden: dict[str, str] = {}  # part → new class, for the recent parts list
        self._lock = threading.Lock()  # guards the override counters (UI thread writes)
        if reference is not None and len(reference):
            self._use_reference(reference, "reference file")

    # --- input ------------------------------------------------------------------------------

    def feed_lines(self, lines: Sequence[bytes | str], source: str = "") -> list[AlarmEvent]:
        """Parse raw JSON Lines and process the accepted records; returns the alarm events."""
        if self.parser is None:
            self.features = learn_features(lines)
            if not self.features:
                batch_rejected = [
                    Rejected(_as_bytes(x), "not_json", "no record to learn features from", source)
                    for x in lines
                    if _as_bytes(x).strip()
                ]
                self._count_rejected(batch_rejected)
                return []
            self._make_parser()
            if self.on_features is not None:
                self.on_features(self.features)
        assert self.parser is not None
        self.parser.source = source
        batch, rejected = self.parser.parse(lines)
        events = self.note_rejected(rejected, accepted=len(batch))
        events += self.process(batch)
        return events

    def note_rejected(self, rejected: Sequence[Rejected], accepted: int = 0) -> list[AlarmEvent]:
        """Count rejected lines (by reason), keep them in the store, watch their rate."""
        self.lines += accepted + len(rejected)
        self._count_rejected(rejected)
        if self.store is not None and rejected:
            self.store.append_rejected(rejected)
        if self.profile is None:
            return []
        self.line_quality.update(accepted, len(rejected))
        return []

    def _count_rejected(self, rejected: Sequence[Rejected]) -> None:
        for item in rejected:
            self.rejected[item.reason] += 1

    def process(self, batch: RecordBatch) -> list[AlarmEvent]:
        """Process accepted records in micro-batches of `window.batch`."""
        n = len(batch)
        if n == 0:
            return []
        if self.store is not None:
            self.store.append_records(batch, self.parser.classes.names if self.parser else ())
        self.rate.note(n)
        if batch.model and batch.model[-1]:
            self.model_name = batch.model[-1]
        self._remember(batch)
        events: list[AlarmEvent] = []
        start = 0
        if self.profile is None:
            take = min(self.reference_size - self._learned, n)
            self._learning.append(batch.take(slice(0, take)))
            self._learned += take
            self.accepted += take
            start = take
            if self._learned >= self.reference_size:
                reference = RecordBatch.concat(self._learning)
                self._learning = []
                self._use_reference(reference, f"first {len(reference)} records of the stream")
            if start >= n:
                return events
        step = self.config.window.batch
        for begin in range(start, n, step):
            events += self._watch(batch.take(slice(begin, min(begin + step, n))))
        for event in events:
            self.emit(event)
        return events

    # --- reference --------------------------------------------------------------------------

    def use_reference_lines(self, lines: Sequence[bytes | str], description: str) -> int:
        """Take raw JSON Lines of the validation period as the reference (instead of learning
        from the stream's first records). Returns how many lines were skipped as malformed;
        raises ValueError when fewer than 100 valid records remain."""
        if not self.features:
            self.features = learn_features(lines)
            if not self.features:
                raise ValueError("no valid record to take the feature list from")
        if self.parser is None:
            self._make_parser()
            if self.on_features is not None:
                self.on_features(self.features)
        assert self.parser is not None
        batch, rejected = self.parser.parse(lines, timed=False)
        if len(batch) < 100:
            raise ValueError(f"a reference needs at least 100 valid records, found {len(batch)}")
        self._use_reference(batch, description)
        return len(rejected)

    def _make_parser(self) -> None:
        self.parser = RecordParser(
            self.features,
            fixed=self.config.station.fixed_features,
            classes=self.config.station.classes,
            future_margin=self.config.detection.future_margin_seconds,
        )

    def _use_reference(self, reference: RecordBatch, description: str) -> None:
        classes = list(self.parser.classes.names) if self.parser else []
        profile = build_profile(reference, self.features, classes, description)
        matrix = np.column_stack([reference.features, reference.conf])
        calibration = calibrate(
            profile, matrix, reference.ts, self.config.window.parts, self.config.detection
        )
        self.profile = profile
        self.calibration = calibration
        self.columns = profile.columns
        self.window = RollingWindow(profile, self.config.window.parts)
        self.display = DisplayBins(profile)
        self.buckets = TimeBuckets(profile)
        self.shape = ShapeDrift(profile, calibration)
        self.cusum = JumpCusum(profile, calibration, self.config.detection.jump_baseline_parts)
        self.mean_shift = MeanShift(profile, calibration)
        self.quality = DataQuality(profile, calibration, self.config.detection)
        self.line_quality = LineQuality(self.config.detection.rejected_fraction)
        self.shape_readings = {
            "ks": np.zeros(len(self.columns)),
            "psi": np.zeros(len(self.columns)),
            "wasserstein": np.zeros(len(self.columns)),
        }
        self.class_psi = 0.0
        self.z_history = np.full((BUCKET_COUNT, len(self.columns)), np.nan)
        self.band_history = np.full((BUCKET_COUNT, len(self.columns), 3), np.nan)
        self._since_shape = 0
        self._since_buckets = 0
        self._closed = 0
        self._bands_due: list[int] = []
        self._active: dict[str, np.ndarray] = {}
        self._active_count: Counter[str] = Counter()
        self._shortest_stuck = float(self.quality.stuck_limit.min())
        # Window-wide views (KS, PSI, class mix, missing, out of range) change little in a tenth
        # of the window: they are evaluated every W/10 parts; the slow-drift scan every W/40 (an
        # hour of production at 5,000 parts a day); the per-part detectors every batch.
        self._evaluate_every = max(self.config.window.batch, self.config.window.parts // 10)
        self._drift_every = max(self.config.window.batch, self.config.window.parts // 40)
        # Prime the window with the reference so that its statistics start at "as validated".
        tail = slice(max(len(reference) - self.config.window.parts, 0), len(reference))
        self.window.add(matrix[tail], reference.class_codes[tail], reference.ts[tail])
        self.window.total = 0
        self.window.run[:] = 0
        if self.store is not None:
            self.store.save_reference(profile.to_json(), description)

    # --- the per-batch pipeline -------------------------------------------------------------

    def _watch(self, batch: RecordBatch) -> list[AlarmEvent]:
        assert self.profile is not None and self.calibration is not None
        m = len(batch)
        first = self.accepted
        self.accepted += m
        matrix = np.column_stack([batch.features, batch.conf])
        self.window.add(matrix, batch.class_codes, batch.ts)
        resid = np.empty_like(matrix)
        scaled = np.empty_like(matrix)
        residuals(
            matrix,
            batch.ts,
            self.profile.phase_mean,
            self.profile.phase_sd,
            self.cusum.units,
            resid,
            scaled,
        )
        closed = self.buckets.add(matrix, batch.ts, resid)
        self.quality.update(m, self.window.new_missing, self.window.new_outside)
        crossing, onset = self.cusum.update(scaled, first)
        last_seq = self.accepted - 1
        ts_text = batch.ts_text[-1]
        self.last_ts, self.last_ts_text = float(batch.ts[-1]), ts_text
        events: list[AlarmEvent] = []
        # Jump: raised at the exact part where the CUSUM crossed. Most batches have nothing
        # near a threshold and no such alarm active: the kernels' summaries say so cheaply.
        near = 1.0 - self.config.alarms.deadband
        quiet = (
            not self._active_count["jump"] and not self.cusum.crossed and self.cusum.highest < near
        )
        score = self.cusum.score if not quiet else None
        for j in () if quiet else self._candidates("jump", score, crossing >= 0):
            at = int(crossing[j]) if crossing[j] >= 0 else last_seq
            row = at - first
            text = batch.ts_text[row] if 0 <= row < m else ts_text
            onset_text = self._ts_of(int(onset[j]), batch, first) if onset[j] >= 0 else None
            level = (
                float(self.cusum.peak[j])
                if crossing[j] >= 0
                else float(max(self.cusum.up[j], self.cusum.down[j]))
            )
            direction = "up" if self.cusum.up[j] >= self.cusum.down[j] else "down"
            self._assess(
                events,
                "jump",
                j,
                max(score[j], 1.0) if crossing[j] >= 0 else score[j],
                level,
                float(self.calibration.cusum_h[j]),
                at,
                text,
                m,
                onset=onset_text,
                message=f"sudden step {direction}",
            )
        # Stuck value: runs of identical values beyond what the reference ever had.
        quiet = (
            not self._active_count["stuck"]
            and self.window.longest_run < near * self._shortest_stuck
        )
        stuck = self.window.run / self.quality.stuck_limit if not quiet else None
        for j in () if quiet else self._candidates("stuck", stuck, None):
            self._assess(
                events,
                "stuck",
                j,
                stuck[j],
                float(self.window.run[j]),
                float(self.quality.stuck_limit[j]),
                last_seq,
                ts_text,
                m,
                off_delay=1,
                message=f"same value {self.window.last_value[j]:g} for {self.window.run[j]} parts",
            )
        self._since_buckets += m
        self._closed += closed
        if closed:
            current = self.buckets.current
            self._bands_due.extend(range(current - min(closed, 8), current))
            del self._bands_due[:-BANDS_DUE]
        # Slow drift needs no look more often than every `_evaluate_every` parts.
        if self._closed and self._since_buckets >= self._drift_every:
            self._on_buckets_closed(events, self._closed, last_seq, ts_text)
            self._closed = 0
        self._evaluate_quality(events, last_seq, ts_text, m)
        self._since_shape += m
        if self._since_shape >= self._evaluate_every:
            self._evaluate_window(events, last_seq, ts_text, self._since_shape)
            self._since_shape = 0
        return events

    def _ts_of(self, seq: int, batch: RecordBatch, first: int) -> str | None:
        """The timestamp of part `seq`: from this batch as given, or from the window's ring."""
        if 0 <= seq - first < len(batch):
            return batch.ts_text[seq - first]
        back = self.accepted - seq
        if 0 < back <= self.window.filled:
            return iso(float(self.window.ts[(self.window.head - back) % self.window.size]))
        return None

    def _candidates(
        self, detector: str, score: np.ndarray, hit: np.ndarray | None
    ) -> Iterable[int]:
        """Columns worth a look: near or over the threshold, or with this alarm active."""
        near = score >= 1.0 - self.config.alarms.deadband
        if hit is not None:
            near |= hit
        active = self._active_mask(detector)
        return np.flatnonzero(near | active).tolist()

    def _active_mask(self, detector: str) -> np.ndarray:
        mask = self._active.get(detector)
        if mask is None:
            mask = self._active[detector] = np.zeros(len(self.columns), bool)
        return mask

    def _assess(
        self,
        events: list[AlarmEvent],
        detector: str,
        column: int,
        score: float,
        value: float,
        threshold: float,
        seq: int,
        ts: str,
        parts: int,
        **kw,
    ) -> None:
        event = self.alarms.assess(
            detector,
            self.columns[column],
            score=float(score),
            value=value,
            threshold=threshold,
            priority=PRIORITY[detector],
            seq=seq,
            ts=ts,
            parts=parts,
            **kw,
        )
        if event is not None:
            mask = self._active_mask(detector)
            mask[column] = event.event == "alarm_raised"
            self._active_count[detector] = int(mask.sum())
            events.append(event)

    def _assess_line(
        self,
        events: list[AlarmEvent],
        detector: str,
        source: str,
        score: float,
        value: float,
        threshold: float,
        seq: int,
        ts: str,
        parts: int,
        message: str,
    ) -> None:
        """`_assess` for an alarm of the line as a whole (class mix, rejected lines)."""
        event = self.alarms.assess(
            detector, source, score=float(score), value=value, threshold=threshold,
            priority=PRIORITY[detector], seq=seq, ts=ts, parts=parts, message=message,
        )  # fmt: skip
        if event is not None:
            self._active_count[detector] = int(event.event == "alarm_raised")
            events.append(event)

    def _on_buckets_closed(self, events: list[AlarmEvent], closed: int, seq: int, ts: str) -> None:
        cal = self.calibration
        assert cal is not None
        z = self.mean_shift.evaluate(self.buckets)
        slot = self.buckets.current % BUCKET_COUNT
        for back in range(min(closed, BUCKET_COUNT)):
            self.z_history[(slot - back) % BUCKET_COUNT] = np.nan
        previous = (slot - 1) % BUCKET_COUNT
        self.z_history[previous] = z
        score = np.abs(z) / cal.z_mean
        for j in self._candidates("mean_shift", score, None):
            onset = self.mean_shift.onset(self.buckets, j) if score[j] >= 1.0 else None
            self._assess(
                events,
                "mean_shift",
                j,
                score[j],
                float(z[j]),
                cal.z_mean,
                seq,
                ts,
                self._since_buckets,
                onset=iso(onset) if onset else None,
                message=f"mean {'up' if z[j] > 0 else 'down'} over {self.mean_shift.window_hours[j]:g} h (z = {z[j]:+.1f})",
            )
        self._since_buckets = 0

    def record_bands(self) -> None:
        """p5/p50/p95 (nearest rank) of each bucket closed since the last call, for the detail
        chart: done when a snapshot is taken, not per batch, from the parts still in the window."""
        due, self._bands_due = self._bands_due, []
        if not due or self.window.filled == 0:
            return
        rows = self.window.recent(self.window.filled)
        of_row = (self.window.ts[rows] // BUCKET_SECONDS).astype(np.int64)
        keep = of_row >= due[0]
        rows, of_row = rows[keep], of_row[keep]
        for number in due:
            values = self.window.values[rows[of_row == number]]
            if values.shape[0] < 5:
                continue
            ordered = np.sort(values, axis=0)  # NaN sorts last
            count = (~np.isnan(values)).sum(axis=0)
            picks = np.rint(np.outer((0.05, 0.5, 0.95), np.maximum(count - 1, 0))).astype(np.intp)
            band = ordered[picks, np.arange(values.shape[1])].T
            band[count == 0] = np.nan
            self.band_history[number % BUCKET_COUNT] = band

    def _evaluate_window(self, events: list[AlarmEvent], seq: int, ts: str, parts: int) -> None:
        cal = self.calibration
        assert cal is not None
        readings = self.shape.evaluate(self.window)
        self.shape_readings = readings
        warm = self.window.filled >= self.window.size
        for detector, thresholds in (("ks", cal.ks), ("psi", cal.psi)):
            score = readings[detector] / thresholds if warm else np.zeros(len(self.columns))
            for j in self._candidates(detector, score, None):
                self._assess(
                    events,
                    detector,
                    j,
                    score[j],
                    float(readings[detector][j]),
                    float(thresholds[j]),
                    seq,
                    ts,
                    parts,
                    message=f"distribution differs from reference ({detector.upper()} {readings[detector][j]:.3f})",
                )
        self.class_psi = self.shape.class_mix(self.window)
        score = self.class_psi / cal.class_psi if warm else 0.0
        self._assess_line(
            events, "class_mix", "class", score, self.class_psi, cal.class_psi, seq, ts, parts,
            "class mix differs from reference",
        )  # fmt: skip

    def _evaluate_quality(self, events: list[AlarmEvent], seq: int, ts: str, parts: int) -> None:
        """Missing and out-of-range values per input, rejected lines: every batch, since a
        sensor that stops answering must show within minutes (cheap: short EWMAs)."""
        q = self.quality
        quiet = (
            not (
                self._active_count["missing"]
                or self._active_count["out_of_range"]
                or self._active_count["rejected"]
            )
            and (q.missing / q.missing_limit).max() < 0.8
            and q.out_of_range.max() < 0.8 * q.range_limit
            and self.line_quality.fraction < 0.8 * self.line_quality.limit
        )
        if quiet:
            return
        q = self.quality
        for detector, level, limit in (
            ("missing", q.missing, q.missing_limit),
            ("out_of_range", q.out_of_range, np.full(len(self.columns), q.range_limit)),
        ):
            score = level / limit
            for j in self._candidates(detector, score, None):
                self._assess(
                    events,
                    detector,
                    j,
                    score[j],
                    float(level[j]),
                    float(limit[j]),
                    seq,
                    ts,
                    parts,
                    message=f"{detector.replace('_', ' ')} {100 * level[j]:.1f} % of parts",
                )
        lq = self.line_quality
        self._assess_line(
            events, "rejected", "lines", lq.fraction / lq.limit, lq.fraction, lq.limit, seq, ts, parts,
            f"{100 * lq.fraction:.2f} % of lines rejected",
        )  # fmt: skip

    # --- bookkeeping ------------------------------------------------------------------------

    def _remember(self, batch: RecordBatch) -> None:
        """Keep the last batches; the recent-parts list is built only when someone looks."""
        self._recent_batches.append(batch)

    @property
    def recent_parts(self) -> list[tuple]:
        """The last 60 parts, oldest first: (part, class, conf, ts, image, model)."""
        classes = self.parser.classes.names if self.parser else []
        rows: list[tuple] = []
        for batch in reversed(self._recent_batches):
            for i in range(len(batch) - 1, -1, -1):
                rows.append(
                    (
                        batch.part[i],
                        classes[batch.class_codes[i]],
                        float(batch.conf[i]),
                        batch.ts_text[i],
                        batch.image[i] if batch.image else None,
                        batch.model[i] if batch.model else None,
                    )
                )
                if len(rows) == RECENT_PARTS:
                    return rows[::-1]
        return rows[::-1]

    def emit(self, event: AlarmEvent) -> None:
        """Count, journal and hand on an alarm event (also for events the station raises)."""
        if event.event == "alarm_raised":
            self.raised += 1
        if self.store is not None:
            self.store.journal_alarm(
                event.alarm,
                event.source,
                event.detector,
                event.event.removeprefix("alarm_"),
                event.priority,
                event.value,
                event.user,
                event.message,
            )
        if self.on_event is not None:
            self.on_event(event)

    def note_override(self, part: str, old_class: str, new_class: str, at: float) -> None:
        """Count a saved override (any thread): labels for per-class override rates."""
        with self._lock:
            self.overrides.append((at, old_class, new_class))
            self.overridden[part] = new_class
            if len(self.overridden) > 5000:
                self.overridden.pop(next(iter(self.overridden)))

    def overrides_since(self, since: float) -> int:
        with self._lock:
            return sum(1 for at, _, _ in self.overrides if at >= since)

    def override_rates(self) -> dict[str, float]:
        """Overrides per class among the parts in the window (the model's class as given)."""
        with self._lock:
            counts = Counter(old for _, old, _ in self.overrides)
        if self.profile is None or self.parser is None:
            return {}
        names = self.parser.classes.names
        seen = self.window.class_counts
        return {
            name: counts.get(name, 0) / max(int(seen[i]) if i < seen.size else 0, 1)
            for i, name in enumerate(names)
        }

    def note_system(self, kind: str, source: str, text: str, at: float | None = None) -> None:
        """A system or data-quality event for the screen's event list (engine thread)."""
        self.system_events.append((time.time() if at is None else at, kind, source, text))
        if self.on_system is not None:
            self.on_system(self.system_events[-1])

    @property
    def learning(self) -> bool:
        return self.profile is None

    def summary(self, seconds: float) -> dict:
        return {
            "event": "summary",
            "records": self.accepted,
            "rejected": sum(self.rejected.values()),
            "alarms": self.raised,
            "seconds": round(seconds, 3),
        }


class ArrivalRate:
    """Parts per minute from arrival times (monotonic clock: a clock step changes nothing)."""

    def __init__(self) -> None:
        self._arrivals: deque[tuple[float, int]] = deque()
        self.last_arrival: float | None = None

    def note(self, n: int, at: float | None = None) -> None:
        at = time.monotonic() if at is None else at
        self._arrivals.append((at, n))
        self.last_arrival = at
        while self._arrivals and self._arrivals[0][0] < at - 60.0:
            self._arrivals.popleft()

    def per_minute(self, now: float) -> float:
        recent = [(t, n) for t, n in self._arrivals if t >= now - 60.0]
        if not recent:
            return 0.0
        span = max(now - recent[0][0], 1.0)
        return sum(n for _, n in recent) * 60.0 / span


def _as_bytes(line: bytes | str) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogateescape")
