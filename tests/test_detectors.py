"""Detectors are parts: each names itself through its spec, and a new one joins the engine,
the alarm list and incident routing with one module and one registry line."""

from __future__ import annotations

import dataclasses

import numpy as np

import console.watch
from console.alarms import PRIORITIES
from console.config import People, demo_config
from console.detectors import LIVE_VIEW, REGISTRY, SPECS
from console.detectors.base import Basis, Cadence, ColumnReading, DetectorSpec, Due, Step
from console.engine import Engine
from console.incidents import route
from drivers.simulator import LineSimulator

ROLES = {f.name for f in dataclasses.fields(People)}


def test_every_spec_is_complete_and_named_once():
    names = [spec.name for family in REGISTRY for spec in family.specs]
    assert len(names) == len(set(names))
    for spec in SPECS.values():
        assert spec.label and spec.unit
        assert spec.priority in PRIORITIES
        assert spec.route in ROLES
    assert all(spec.name in SPECS for spec in LIVE_VIEW)


def test_an_incident_goes_to_the_role_its_detector_names():
    people = People()
    for spec in SPECS.values():
        assert route((f"{spec.name}:focus",), people) == (spec.route, getattr(people, spec.route))


GLARE = DetectorSpec("glare", "glare", "parts", "urgent", "control_owner")


class GlareDetector:
    """A toy detector: every input's score is 2 (over threshold) once 100 parts were seen."""

    specs = (GLARE,)
    cadence = Cadence.WINDOW

    def __init__(self, basis: Basis) -> None:
        self.width = basis.width
        self.seen = 0

    def observe(self, step: Step) -> None:
        self.seen += step.parts

    def assess(self, step: Step, due: Due, alarms) -> None:  # console.annunciator.InputAlarms
        score = np.full(self.width, 2.0 if self.seen >= 100 else 0.0)
        for j in alarms.candidates(GLARE, score):
            alarms.column(
                GLARE, j, score=score[j], value=float(self.seen), threshold=100.0,
                seq=step.last_seq, ts=step.ts, parts=due.parts, message="glare",
            )  # fmt: skip

    def readings(self) -> dict[str, ColumnReading]:
        return {"glare": ColumnReading(score=np.full(self.width, 2.0 if self.seen >= 100 else 0.0))}


def test_a_registered_detector_raises_alarms_with_its_own_priority(monkeypatch):
    monkeypatch.setattr(console.watch, "REGISTRY", (*REGISTRY, GlareDetector))
    engine = Engine(demo_config())
    simulator = LineSimulator("stable", parts_per_day=1000)
    events = []
    for _ in range(20):
        events += engine.feed_lines(simulator.lines(200))
    glare = [e for e in events if e.detector == "glare"]
    assert glare and all(e.priority == "urgent" and e.event == "alarm_raised" for e in glare)
    assert {e.source for e in glare} == set(engine.features) | {"conf"}
    state = engine.state()
    assert state.watch is not None and "glare" in state.watch.readings
    assert {a.id for a in state.alarms} >= {f"glare:{name}" for name in engine.features}
