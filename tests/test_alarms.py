"""The alarm book's guards against chattering (ISA-18.2): on-delay, off-delay and deadband,
driven part by part through `AlarmBook.assess` with exact counts."""

from __future__ import annotations

from console.alarms import AlarmBook
from console.config import Alarms


def book(on_delay: int = 0, off_delay: int = 0, deadband: float = 0.0) -> AlarmBook:
    return AlarmBook(Alarms(on_delay_parts=on_delay, off_delay_parts=off_delay, deadband=deadband))


def assess(alarms: AlarmBook, score: float, parts: int, seq: int = 0):
    return alarms.assess(
        "mean_shift", "brightness", score=score, value=score * 4.0, threshold=4.0,
        priority="medium", seq=seq, ts="2026-03-02T06:00:00Z", parts=parts,
    )  # fmt: skip


def state(alarms: AlarmBook) -> tuple[bool, str]:
    view = next(a for a in alarms.views() if a.id == "mean_shift:brightness")
    return view.active, view.state


def test_on_delay_raises_only_after_the_condition_held_that_many_parts():
    alarms = book(on_delay=100)
    assert assess(alarms, 1.5, parts=50) is None
    assert assess(alarms, 1.5, parts=49) is None  # 99 parts over: not yet
    event = assess(alarms, 1.5, parts=1, seq=100)
    assert event is not None and event.event == "alarm_raised" and event.seq == 100


def test_on_delay_starts_again_when_the_condition_drops_before_it():
    alarms = book(on_delay=100)
    assert assess(alarms, 1.5, parts=90) is None
    assert assess(alarms, 0.5, parts=10) is None  # gone before the delay ran out
    assert assess(alarms, 1.5, parts=90) is None  # counting from zero again
    assert assess(alarms, 1.5, parts=10).event == "alarm_raised"


def test_off_delay_clears_only_after_the_condition_was_gone_that_many_parts():
    alarms = book(off_delay=500)
    assert assess(alarms, 2.0, parts=1).event == "alarm_raised"
    assert assess(alarms, 0.1, parts=499) is None
    assert state(alarms)[0] is True  # still active after 499 quiet parts
    assert assess(alarms, 0.1, parts=1).event == "alarm_cleared"
    assert state(alarms) == (False, "returned_unacknowledged")


def test_off_delay_restarts_when_the_condition_comes_back():
    alarms = book(off_delay=500)
    assess(alarms, 2.0, parts=1)
    assert assess(alarms, 0.1, parts=400) is None
    assert assess(alarms, 1.2, parts=1) is None  # back over: the quiet count restarts
    assert assess(alarms, 0.1, parts=499) is None
    assert assess(alarms, 0.1, parts=1).event == "alarm_cleared"


def test_deadband_keeps_an_alarm_hovering_just_under_its_threshold_active():
    alarms = book(off_delay=10, deadband=0.2)
    assess(alarms, 1.1, parts=1)
    for _ in range(100):  # 0.85 is under the threshold but inside the deadband
        assert assess(alarms, 0.85, parts=10) is None
    assert state(alarms)[0] is True
    assert assess(alarms, 0.79, parts=10).event == "alarm_cleared"  # below 1 - deadband


def test_without_guards_a_score_crossing_one_raises_and_clears_at_once():
    alarms = book()
    assert assess(alarms, 1.0, parts=1).event == "alarm_raised"
    assert assess(alarms, 0.99, parts=1).event == "alarm_cleared"
