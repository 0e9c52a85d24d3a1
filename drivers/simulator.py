"""The built-in simulated inspection line: seeded, time-compressible, with named scenarios.

`LineSimulator` produces the camera's JSON Lines (WIRE.md §1) for a line making about 5,000
parts a day, with the variation a real line has even when nothing is wrong: each of the three
shifts runs its lamps and set-up slightly differently (a fixed offset of up to ±0.15 sd per shift
slot, repeated every day) and the hall's daylight and temperature make a daily cycle in some
inputs. Scenarios add what goes wrong:

- `stable`: only the normal variation above.
- `drift`: lighting ageing and lens fouling: `brightness` and `focus` slide by 1 sd over six
  weeks from the onset day, and the model's accuracy falls from 94.7 % towards 89.2 %, worst on
  scratches.
- `jump`: the camera is knocked at the onset: `focus` steps down by 2 sd.
- `frozen`: the `temperature` sensor freezes at the onset and repeats its last value.
- `noisy`: as `stable` plus 1 % malformed lines of every kind (may be combined: `drift+noisy`).
- `demo`: a drift compressed into minutes for a newcomer watching the console.

`SimulatedSource` plays a simulator into the engine's intake at a given rate, in its own thread.
Pure numpy generation; no I/O except in `SimulatedSource` and `write_stream`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from console.intake import Intake, SourceEvent, SourceStatus
from console.records import iso

SCENARIOS = ("stable", "drift", "jump", "frozen", "noisy", "demo")
START = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC).timestamp()
SHIFT_HOURS = (6, 14, 22)  # shift slots start at 06:00, 14:00 and 22:00


@dataclass(frozen=True)
class FeatureModel:
    """One input as the camera measures it: mean and sd in its own unit, and its variation.

    `cycle` is the daily cycle's amplitude and `shifts` the three shift slots' offsets, both in
    sd; the part-to-part noise takes the rest of the variance, so the total sd is `sd`.
    """

    name: str
    mean: float
    sd: float
    cycle: float = 0.0
    cycle_peak_hour: float = 13.0
    shifts: tuple[float, float, float] = (0.0, 0.0, 0.0)
    decimals: int = 5

    @property
    def noise(self) -> float:
        shift_var = float(np.var(self.shifts))
        return float(np.sqrt(max(1.0 - self.cycle**2 / 2 - shift_var, 0.05)))


FEATURES: tuple[FeatureModel, ...] = (
    # Daylight through the hall's roof lights dominates brightness; thermal expansion of the
    # camera mount over the day moves focus. Both cycles repeat daily and are in the reference.
    FeatureModel("brightness", 0.58, 0.05, cycle=1.2, shifts=(0.15, -0.05, -0.10)),
    FeatureModel("contrast", 0.27, 0.03, cycle=0.4, shifts=(0.10, 0.0, -0.10)),
    FeatureModel(
        "focus", 117.7, 6.0, cycle=1.0, cycle_peak_hour=17.0, shifts=(-0.15, 0.05, 0.10), decimals=3
    ),
    FeatureModel("edge_density", 0.131, 0.012),
    FeatureModel("hue", 31.0, 2.2, cycle=0.3, cycle_peak_hour=15.0, decimals=3),
    FeatureModel("saturation", 0.42, 0.04, shifts=(0.05, 0.0, -0.05)),
    FeatureModel("part_width", 24.02, 0.05, decimals=4),
    FeatureModel("temperature", 31.5, 1.5, cycle=1.0, cycle_peak_hour=16.0, decimals=2),
)
CLASSES = ("ok", "scratch", "dent", "stain")
CLASS_MIX = (0.90, 0.05, 0.03, 0.02)


@dataclass(frozen=True)
class Scenario:
    name: str = "stable"
    onset_day: float = 3.0
    drift_days: float = 42.0  # days for a 1 sd drift
    drifting: tuple[str, ...] = ("brightness", "focus")
    jump_sd: float = -2.0
    jump_feature: str = "focus"
    frozen_feature: str = "temperature"
    malformed: float = 0.0

    @staticmethod
    def named(text: str, onset_day: float | None = None) -> Scenario:
        names = set(text.split("+"))
        unknown = names - set(SCENARIOS)
        if unknown:
            raise ValueError(
                f"unknown scenario {sorted(unknown)[0]!r}; use one of {', '.join(SCENARIOS)}"
            )
        faults = sorted(names & {"drift", "jump", "frozen", "demo"})
        if len(faults) > 1:
            raise ValueError(
                f"scenario {text!r} combines {' and '.join(faults)}: one fault at a time;"
                " add only noisy or stable, e.g. drift+noisy"
            )
        base = faults[0] if faults else "stable"
        scenario = Scenario(name=base, malformed=0.01 if "noisy" in names else 0.0)
        if base == "demo":
            scenario = Scenario(
                name="drift", onset_day=2.5, drift_days=2.0, malformed=scenario.malformed
            )
        if onset_day is not None:
            scenario = Scenario(**{**scenario.__dict__, "onset_day": onset_day})
        return scenario


class LineSimulator:
    """Generates the records of a simulated line, part after part. Not thread-safe."""

    def __init__(
        self,
        scenario: str | Scenario = "stable",
        *,
        seed: int = 1,
        parts_per_day: float = 5000.0,
        start: float = START,
        station: str = "sim-line1",
        model: str = "defnet-3.2",
    ) -> None:
        self.scenario = Scenario.named(scenario) if isinstance(scenario, str) else scenario
        self.features = FEATURES
        self.parts_per_day = parts_per_day
        self.start = start
        self.station = station
        self.model = model
        self.index = 0
        self._rng = np.random.default_rng(seed)
        self._frozen_value: float | None = None
        self._malformed = Malformer(np.random.default_rng(seed + 1_000_003))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def day_of(self, index: int) -> float:
        return index / self.parts_per_day

    def index_of_day(self, day: float) -> int:
        return int(round(day * self.parts_per_day))

    def generate(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The next n parts: (ts, features matrix, true class, predicted class, conf)."""
        rng = self._rng
        idx = self.index + np.arange(n)
        self.index += n
        spacing = 86400.0 / self.parts_per_day
        ts = self.start + idx * spacing + rng.uniform(0, 0.5 * spacing, n)
        hours = ((ts - START) / 3600.0 + 6.0) % 24.0
        slot = np.searchsorted(np.array(SHIFT_HOURS[1:]), hours, side="right")
        slot = np.where(hours < SHIFT_HOURS[0], 2, slot)
        days = (ts - self.start) / 86400.0
        since = np.maximum(days - self.scenario.onset_day, 0.0)
        matrix = np.empty((n, len(self.features)))
        severity = np.zeros(n)
        for k, f in enumerate(self.features):
            z = f.noise * rng.standard_normal(n)
            z += f.cycle * np.cos(2 * np.pi * (hours - f.cycle_peak_hour) / 24.0)
            z += np.asarray(f.shifts)[slot]
            if self.scenario.name == "drift" and f.name in self.scenario.drifting:
                shift = since / self.scenario.drift_days
                z -= shift
                severity = np.maximum(severity, shift)
            if self.scenario.name == "jump" and f.name == self.scenario.jump_feature:
                step = (days >= self.scenario.onset_day) * self.scenario.jump_sd
                z += step
                severity = np.maximum(severity, np.abs(step) / 4)
            matrix[:, k] = np.round(f.mean + f.sd * z, f.decimals)
        if self.scenario.name == "frozen":
            k = self.feature_names.index(self.scenario.frozen_feature)
            frozen = days >= self.scenario.onset_day
            if frozen.any():
                first = int(np.argmax(frozen))
                if self._frozen_value is None:
                    self._frozen_value = (
                        float(matrix[first - 1, k]) if first > 0 else float(matrix[0, k])
                    )
                matrix[frozen, k] = self._frozen_value
        true_class = rng.choice(len(CLASSES), size=n, p=CLASS_MIX)
        # The model is 94.7 % right at go-live; input drift costs it 5.5 points per sd, mostly
        # on scratches (the surface defects the dimmer, blurrier images hide).
        accuracy = 0.947 - 0.055 * np.minimum(severity, 1.5)
        accuracy = np.where(true_class == 1, accuracy - 3.0 * (0.947 - accuracy), accuracy)
        right = rng.random(n) < accuracy
        wrong = (true_class + rng.integers(1, len(CLASSES), n)) % len(CLASSES)
        predicted = np.where(right, true_class, wrong)
        conf = np.where(right, rng.beta(18, 1.5, n), rng.beta(6, 3, n))
        return ts, matrix, true_class, predicted, np.round(conf, 4)

    def lines(self, n: int) -> list[bytes]:
        """The next n parts as JSON Lines (plus malformed lines where the scenario has them)."""
        ts, matrix, true_class, predicted, conf = self.generate(n)
        first = self.index - n
        names = self.feature_names
        out: list[bytes] = []
        labelled = self._rng.random(n) < 0.02
        conf_list = conf.tolist()
        for i in range(n):
            number = first + i
            stamp = iso(ts[i])
            feats = ",".join(
                f'"{name}":{value!r}' for name, value in zip(names, matrix[i].tolist(), strict=True)
            )
            label = f',"label":"{CLASSES[true_class[i]]}"' if labelled[i] else ""
            out.append(
                (
                    f'{{"ts":"{stamp}","station":"{self.station}","part":"P{number:08d}",'
                    f'"batch":"B{number // 500:04d}","model":"{self.model}",'
                    f'"class":"{CLASSES[predicted[i]]}","conf":{conf_list[i]!r}{label},'
                    f'"features":{{{feats}}}}}'
                ).encode()
            )
        if self.scenario.malformed > 0:
            out = self._malformed.sprinkle(out, self.scenario.malformed)
        return out

    def chunks(self, total: int, size: int = 1000) -> Iterator[list[bytes]]:
        done = 0
        while done < total:
            step = min(size, total - done)
            yield self.lines(step)
            done += step


class Malformer:
    """Inserts malformed lines of every kind a noisy link or a buggy camera program produces."""

    KINDS = (
        "truncated",
        "garbage",
        "nan",
        "infinity",
        "string_number",
        "missing_field",
        "conf_range",
        "bad_ts",
        "bad_feature_name",
        "not_object",
        "too_long",
        "not_utf8",
    )

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.inserted: dict[str, int] = dict.fromkeys(self.KINDS, 0)

    def sprinkle(self, lines: list[bytes], fraction: float) -> list[bytes]:
        """Insert bad lines between the good ones (the good lines stay exactly as they were)."""
        out: list[bytes] = []
        for line in lines:
            if self.rng.random() < fraction:
                out.append(self.bad_line(line))
            out.append(line)
        return out

    def bad_line(self, good: bytes) -> bytes:
        kind = self.KINDS[int(self.rng.integers(len(self.KINDS)))]
        self.inserted[kind] += 1
        record = json.loads(good)
        name = next(iter(record["features"]))
        if kind == "truncated":
            return good[: int(self.rng.integers(1, len(good) - 1))]
        if kind == "garbage":
            return (
                bytes(self.rng.integers(1, 256, int(self.rng.integers(1, 80))).astype(np.uint8))
                .replace(b"\n", b"?")
                .replace(b"\r", b"?")
            )
        if kind == "nan":
            return good.replace(f'"{name}":'.encode(), f'"{name}":NaN,"x_":'.encode(), 1)
        if kind == "infinity":
            return good.replace(f'"{name}":'.encode(), f'"{name}":-Infinity,"x_":'.encode(), 1)
        if kind == "string_number":
            record["features"][name] = str(record["features"][name])
        elif kind == "missing_field":
            del record[("ts", "part", "class", "conf", "features")[int(self.rng.integers(5))]]
        elif kind == "conf_range":
            record["conf"] = 1.0 + float(self.rng.random())
        elif kind == "bad_ts":
            record["ts"] = "02/03/2026 06:00"
        elif kind == "bad_feature_name":
            record["features"]["bad name!"] = 1.0
        elif kind == "not_object":
            return b"[" + good + b"]"
        elif kind == "too_long":
            return good[:-1] + b',"pad":"' + b"x" * 70_000 + b'"}'
        elif kind == "not_utf8":
            return good.replace(b'"part":"', b'"part":"\xff\xfe', 1)
        return json.dumps(record, separators=(",", ":")).encode()


class SimulatedSource:
    """Plays a LineSimulator into the engine's intake at `rate` parts per second (own thread)."""

    def __init__(self, source_cfg, intake: Intake, station_features=None) -> None:
        self.name = source_cfg.name or "simulator"
        self.cfg = source_cfg
        self.intake = intake
        self.simulator = LineSimulator(
            source_cfg.scenario,
            seed=source_cfg.seed,
            parts_per_day=source_cfg.parts_per_day,
            start=time.time(),
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._lines = 0
        self._last: float | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def status(self) -> SourceStatus:
        return SourceStatus(
            name=self.name,
            kind="simulator",
            state="stopped" if self._stop.is_set() else "connected",
            url=f"sim:{self.cfg.scenario}",
            lines=self._lines,
            rate=self.cfg.rate,
            last_data=self._last,
        )

    def _run(self) -> None:
        self.intake.event(SourceEvent(self.name, "connected", f"scenario {self.cfg.scenario}"))
        period = 0.05
        due = time.monotonic()
        owed = 0.0
        while not self._stop.is_set():
            owed += self.cfg.rate * period
            n = int(owed)
            if n:
                owed -= n
                lines = self.simulator.lines(n)
                self.intake.put(self.name, lines)
                self._lines += len(lines)
                self._last = time.time()
            due += period
            self._stop.wait(max(0.0, due - time.monotonic()))
        self.intake.event(SourceEvent(self.name, "stopped"))


def write_stream(
    path: str, scenario: str, days: float, *, seed: int = 1, parts_per_day: float = 5000.0
) -> int:
    """Write `days` of a scenario to a JSON Lines file; returns the number of good records."""
    simulator = LineSimulator(scenario, seed=seed, parts_per_day=parts_per_day)
    total = int(days * parts_per_day)
    with open(path, "wb") as handle:
        for chunk in simulator.chunks(total, 5000):
            handle.write(b"\n".join(chunk) + b"\n")
    return total
