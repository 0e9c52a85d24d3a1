"""Replay across a station restart: the line stopped and started again mid-run on the same store
(the reference kept across the restart, console/station_memory.py) replays with the alarms the
line really raised, in both runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import load_config
from console.replay import replay
from console.runner import Station
from data import replay as stored
from drivers.simulator import LineSimulator, Scenario
from drivers.sink import open_sink
from tests.drivers_helpers import wait_for
from tests.test_replay import _free_port, _same, write_config

PARTS_PER_DAY = 1000
FIRST_RUN = 2700  # the reference (2,000 parts) is learned, the drift (from 2,500) under way
TOTAL = 5200
CHUNK = 173


def _run_station(config, simulator: LineSimulator, upto: int, sent: int, events: list) -> int:
    """A station started on the store, fed until `upto` parts, then stopped; parts sent."""
    offset = sent
    station = Station(
        config,
        on_event=lambda e: (
            events.append({**e.wire(), "seq": e.seq + offset})
            if e.event in ("alarm_raised", "alarm_cleared")
            else None
        ),
    )
    sink = None
    if not offset:
        station.first_admin("admin", "9999")
    station.start()
    try:
        wait_for(lambda: any(s.state == "connected" for s in station.snapshot.sources))
        sink = open_sink(config.source[0].url)
        while sent < upto:
            lines = simulator.lines(min(CHUNK, upto - sent))
            sink.write_lines(lines)
            sent += len(lines)
        wait_for(lambda: station.engine.accepted == upto - offset, what="all parts")
        station.store.flush()
    finally:
        station.stop()
        if sink is not None:
            sink.close()
    return sent


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("restart")
    config = load_config(write_config(folder, _free_port()))
    simulator = LineSimulator(
        Scenario(name="drift", onset_day=2.5, drift_days=1.0), parts_per_day=PARTS_PER_DAY, seed=5
    )
    events: list[dict] = []
    sent = _run_station(config, simulator, FIRST_RUN, 0, events)
    _run_station(config, simulator, TOTAL, sent, events)
    return config, events


def test_the_store_holds_two_runs_and_one_reference(restarted):
    config, events = restarted
    path = config.store.path
    assert {d.run for d in stored.deliveries(path)} == {1, 2}
    assert len(stored.references(path)) == 1, "the restart kept the reference in force"
    assert any(e["event"] == "alarm_raised" and e["seq"] >= FIRST_RUN for e in events)


def test_replay_of_the_whole_store_gives_the_alarms_of_both_runs(restarted):
    config, events = restarted
    done = replay(config.store.path, config, stored.Selection())
    assert done.records == TOTAL and not done.warnings
    assert _same([e.wire() for e in done.events]) == _same(events)


def test_replay_of_the_second_run_alone_gives_its_live_alarms(restarted):
    config, events = restarted
    path = config.store.path
    batches = stored.batches(path)
    at = next(i for i, b in enumerate(batches) if sum(x.parts for x in batches[:i]) > FIRST_RUN)
    first, offset = batches[at], sum(b.parts for b in batches[:at])  # records before it
    done = replay(path, config, stored.Selection(batch=first.batch))
    expected = [
        {**e, "seq": e["seq"] - offset} for e in events if offset <= e["seq"] < offset + first.parts
    ]
    assert expected, "the batch should hold alarms of the second run"
    assert _same([e.wire() for e in done.events]) == _same(expected)


def test_the_view_opens_a_batch_of_the_second_run_with_its_live_alarms(restarted):
    from console.replay_session import ReplaySession

    config, events = restarted
    session = ReplaySession(config.store.path, config)
    batches = session.batches
    at = next(
        i
        for i, b in enumerate(batches)
        if sum(x.parts for x in batches[:i]) > FIRST_RUN and b.alarms
    )
    session.open_batch(batches[at].batch)
    offset = sum(b.parts for b in batches[:at])  # records before the batch
    raised = [m.index for m in session.markers if m.kind == "alarm_raised"]
    live = [
        e["seq"] - FIRST_RUN  # live seq counts from the store's start; the view, the run's
        for e in events
        if e["event"] == "alarm_raised" and offset <= e["seq"] < offset + batches[at].parts
    ]
    assert raised and raised == live
    assert session.replayer is not None and session.replayer.engine is not None
    assert session.replayer.engine.reference_version == 1, "the kept reference, not a new one"
