"""Time sanity: a record far ahead of the stream's own time is rejected (`ts_implausible`),
judged against the stream and not this machine's clock, and no single record can carry the time
buckets off for good."""

from __future__ import annotations

import json

import numpy as np

from console.config import default_config
from console.engine import Engine
from console.records import RecordParser
from console.stream_time import StreamClock
from drivers.simulator import LineSimulator

FEATURES = ("brightness", "contrast", "focus")
DAY = 86400.0


def stamp(line: bytes, ts: str) -> bytes:
    record = json.loads(line)
    record["ts"] = ts
    return json.dumps(record).encode()


def alarms_of(deliveries: list[list[bytes]]) -> tuple[list[tuple], dict]:
    seen = []
    engine = Engine(default_config(), on_event=seen.append)
    for lines in deliveries:
        engine.feed_lines(lines)
    changes = [(e.event, e.alarm, e.seq) for e in seen if e.event.startswith("alarm_")]
    return changes, dict(engine.rejected)


def test_one_2099_record_in_a_drift_stream_leaves_the_drift_alarms_as_without_it():
    deliveries = list(LineSimulator("drift", seed=3).chunks(40_000, 4000))
    plain, _ = alarms_of(deliveries)
    assert any(change[0] == "alarm_raised" for change in plain)  # the drift is caught
    poisoned = [list(lines) for lines in deliveries]
    poisoned[6].insert(1000, stamp(poisoned[6][1000], "2099-01-01T00:00:00Z"))
    with_2099, rejected = alarms_of(poisoned)
    assert with_2099 == plain
    assert rejected == {"ts_implausible": 1}


def test_last_years_logs_are_judged_against_themselves_not_the_wall_clock():
    old = [stamp(line, f"2025-01-0{1 + i // 1000}T0{(i // 60) % 10}:{i % 60:02d}:00Z")
           for i, line in enumerate(LineSimulator("stable").lines(3000))]  # fmt: skip
    batch, rejected = RecordParser(FEATURES).parse(old)
    assert len(batch) == 3000 and not rejected


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_stream_that_resumes_after_a_weekend_loses_nothing():
    clock = StreamClock(300.0, clock=Clock())
    friday = np.arange(1000.0, 2000.0, 10.0)
    assert not clock.judge(friday).any()
    monday = friday + 3 * DAY  # the line stood still; the batch confirms its own time
    assert not clock.judge(monday).any()
    assert clock.latest == monday.max()


def test_live_the_time_that_passed_counts_toward_the_margin():
    tick = Clock()
    clock = StreamClock(300.0, clock=tick)
    assert not clock.judge(np.array([1000.0])).any()
    tick.now = 3 * DAY  # a weekend passed on the monotonic clock, one record at a time
    assert not clock.judge(np.array([1000.0 + 3 * DAY])).any()


def test_single_records_far_ahead_are_rejected_until_the_stream_confirms_them():
    clock = StreamClock(300.0, clock=Clock())
    assert not clock.judge(np.array([1000.0, 1001.0])).any()
    far = 1000.0 + 10 * DAY
    assert clock.judge(np.array([far])).all()
    assert not clock.judge(np.array([1002.0])).any()  # the stream goes on where it was
    verdicts = [bool(clock.judge(np.array([far + i])).any()) for i in range(3)]
    assert verdicts == [True, False, False]  # the third that agrees shows the stream moved


def test_a_wrong_first_record_cannot_hold_the_buckets():
    lines = LineSimulator("stable", seed=2).lines(13_000)
    first = stamp(lines[0], "2099-01-01T00:00:00Z")  # nothing to judge the very first against
    engine = Engine(default_config())
    engine.feed_lines([first])
    for begin in range(1, len(lines), 1000):
        engine.feed_lines(lines[begin : begin + 1000])
    assert engine.watch is not None
    hours = engine.watch.buckets.summary(1.0)
    assert int(hours["parts"]) > 0  # the last hour of the real stream is counted


def test_a_second_source_whose_clock_runs_ahead_confirms_itself_when_interleaved():
    clock = StreamClock(300.0, clock=Clock())
    assert not clock.judge(np.array([1000.0])).any()
    lost = 0
    for i in range(20):  # camera A 10 minutes ahead, camera B on time, one record each
        lost += int(clock.judge(np.array([1600.0 + i])).sum())
        assert not clock.judge(np.array([1001.0 + i])).any()
    assert lost == 2  # the two before A's third record showed A's time is real


def test_wrong_times_far_apart_never_confirm_each_other():
    clock = StreamClock(300.0, clock=Clock())
    assert not clock.judge(np.arange(1000.0, 1010.0)).any()
    for k in range(5):
        assert clock.judge(np.array([4e9])).all()
        assert not clock.judge(np.arange(1010.0 + 20 * k, 1030.0 + 20 * k)).any()


def test_judging_runs_between_jumps_whole_gives_the_record_by_record_verdicts() -> None:
    """Night pauses, lone wrong clocks and confirmed jumps: the skipping judge and the plain
    record-by-record judge reject the same records and leave the same clock."""
    rng = np.random.default_rng(11)
    rejected = 0
    for trial in range(40):
        stamps = np.cumsum(rng.exponential(17.0, 600)) + 1.7e9
        for at in rng.choice(600, int(rng.integers(1, 14)), replace=False):
            kind = rng.integers(3)
            if kind == 0:  # a pause: every later record moves on
                stamps[at:] += rng.uniform(3_000, 40_000)
            elif kind == 1:  # a lone wrong clock
                stamps[at] += rng.uniform(1e5, 1e8)
            else:  # a few records in a row far ahead (confirmed if three)
                stamps[at : at + int(rng.integers(1, 4))] += 5e6
        fast = StreamClock(600.0, clock=lambda: 0.0)
        plain = StreamClock(600.0, clock=lambda: 0.0)
        for clock in (fast, plain):
            clock.judge(stamps[:5])
        bad_fast = fast._judge_each(stamps[5:], fast.latest, 600.0)
        bad_plain = np.zeros(595, bool)
        plain._judge_from(stamps[5:], 0, 595, plain.latest, 600.0, bad_plain)
        assert np.array_equal(bad_fast, bad_plain), trial
        assert fast.latest == plain.latest
        assert fast._judged == plain._judged and fast._ahead == plain._ahead
        rejected += int(bad_plain.sum())
    assert rejected > 40  # the wrong clocks were there to judge
