"""Detection study: how fast the detectors find each simulated fault, and how often they cry wolf.

Runs the engine over the simulator's scenarios, in process and as fast as it can, exactly as
`main.py analyze` would, and reports per run the first alarm on a faulty input (in days or parts
after the fault's onset) and every alarm raised on a stable stream. `main.py bench --only
detection` prints the table; the tests run smaller versions of the same. Main thread only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from console.alarms import AlarmEvent
from console.config import Config, default_config
from console.engine import Engine
from drivers.simulator import LineSimulator, Scenario


@dataclass(frozen=True)
class Run:
    scenario: str
    seed: int
    records: int
    raised: tuple[AlarmEvent, ...]
    onset_index: int | None
    parts_per_day: float

    def first(
        self, detectors: tuple[str, ...] = (), sources: tuple[str, ...] = ()
    ) -> AlarmEvent | None:
        for event in self.raised:
            if (not detectors or event.detector in detectors) and (
                not sources or event.source in sources
            ):
                return event
        return None

    def delay_parts(self, **kw: tuple[str, ...]) -> int | None:
        event = self.first(**kw)
        if event is None or self.onset_index is None:
            return None
        return event.seq - self.onset_index

    def delay_days(self, **kw: tuple[str, ...]) -> float | None:
        parts = self.delay_parts(**kw)
        return None if parts is None else parts / self.parts_per_day


def run(
    scenario: str,
    *,
    days: float,
    seed: int = 1,
    onset_day: float | None = None,
    reference_days: float = 0.0,
    config: Config | None = None,
    parts_per_day: float = 5000.0,
) -> Run:
    """One stream through the engine. With `reference_days`, a separate stable validation
    period (another seed) is the reference; otherwise the first `reference.size` records are."""
    config = config or default_config()
    chosen = Scenario.named(scenario, onset_day)
    simulator = LineSimulator(chosen, seed=seed, parts_per_day=parts_per_day)
    engine = Engine(config, reference_features=simulator.feature_names)
    if reference_days:
        validation = LineSimulator("stable", seed=seed + 100_000, parts_per_day=parts_per_day)
        lines = [
            line
            for chunk in validation.chunks(int(reference_days * parts_per_day), 5000)
            for line in chunk
        ]
        engine.use_reference_lines(lines, "validation period")
        # The stream starts where validation ended: the simulator's clock continues from there.
        later = validation.start + reference_days * 86400.0
        simulator = LineSimulator(chosen, seed=seed, parts_per_day=parts_per_day, start=later)
    raised: list[AlarmEvent] = []
    total = int(days * parts_per_day)
    for chunk in simulator.chunks(total, 5000):
        raised += [e for e in engine.feed_lines(chunk) if e.event == "alarm_raised"]
    onset = None if chosen.name == "stable" else simulator.index_of_day(chosen.onset_day)
    return Run(scenario, seed, engine.accepted, tuple(raised), onset, parts_per_day)


def quick_config(**window: int) -> Config:
    config = default_config()
    return replace(config, window=replace(config.window, **window)) if window else config
