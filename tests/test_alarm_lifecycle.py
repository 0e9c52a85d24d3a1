"""The ISA-18.2 alarm lifecycle transition by transition, delays and deadband against a
chattering signal, chattering held, and the alarm-system KPIs over a journal."""

from dataclasses import replace

import pytest

from console.alarm_health import health
from console.alarms import (
    TRANSITIONS,
    AlarmBook,
    AlarmRefused,
    AlarmState,
    JournalEntry,
    Trigger,
)
from console.config import AlarmClass, Alarms


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def book(clock=None, **settings) -> AlarmBook:
    return AlarmBook(replace(Alarms(), **settings), clock=clock or Clock())


def feed(alarms: AlarmBook, scores, clock=None, step=1.0, detector="psi", source="focus", parts=1):
    """Assess one score per part; returns the events' kinds."""
    out = []
    for i, score in enumerate(scores):
        if clock is not None:
            clock.now += step
        event = alarms.assess(detector, source, score=score, value=score, threshold=1.0,
                              priority="high", seq=i, ts="", parts=parts)  # fmt: skip
        if event is not None:
            out.append(event.event)
    return out


def state(alarms: AlarmBook, alarm="psi:focus") -> str:
    return alarms._alarms[alarm].state.value


def test_raise_acknowledge_with_comment_then_clear_to_normal():
    alarms = book(off_delay_parts=1)
    assert feed(alarms, [1.5]) == ["alarm_raised"]
    assert state(alarms) == "unacknowledged"
    event = alarms.acknowledge("psi:focus", "bo", seq=1, ts="", comment="lens cleaned at 06:10")
    assert event.state == "acknowledged"
    assert alarms.views()[0].comment == "lens cleaned at 06:10"
    assert feed(alarms, [0.1]) == ["alarm_cleared"]
    assert state(alarms) == "normal" and alarms.views() == ()
    journal = [(e.trigger, e.old, e.new, e.user, e.comment) for e in alarms.journal]
    assert journal == [
        ("raise", "normal", "unacknowledged", "", ""),
        ("acknowledge", "unacknowledged", "acknowledged", "bo", "lens cleaned at 06:10"),
        ("clear", "acknowledged", "normal", "", ""),
    ]
    assert all(e.at == 1_800_000_000.0 for e in alarms.journal)


def test_returned_unacknowledged_waits_for_acknowledgement_or_raises_again():
    alarms = book(off_delay_parts=1)
    feed(alarms, [1.5, 0.1])
    assert state(alarms) == "returned_unacknowledged"
    assert feed(alarms, [1.5]) == ["alarm_raised"]
    assert state(alarms) == "unacknowledged"
    feed(alarms, [0.1])
    alarms.acknowledge("psi:focus", "bo", seq=3, ts="")
    assert state(alarms) == "normal"
    with pytest.raises(AlarmRefused, match="normal: cannot acknowledge"):
        alarms.acknowledge("psi:focus", "bo", seq=4, ts="")


def test_shelving_hides_the_alarm_until_it_expires_or_is_unshelved():
    clock = Clock()
    alarms = book(clock, off_delay_parts=1)
    feed(alarms, [1.5])
    with pytest.raises(AlarmRefused, match="why"):
        alarms.shelve("psi:focus", "bo", reason=" ", until=clock.now + 60, seq=0, ts="")
    with pytest.raises(AlarmRefused, match="future"):
        alarms.shelve("psi:focus", "bo", reason="lamp change", until=clock.now, seq=0, ts="")
    alarms.shelve("psi:focus", "bo", reason="lamp change", until=clock.now + 600, seq=0, ts="")
    assert alarms.views() == ()
    (hidden,) = alarms.views(hidden=True)
    assert (hidden.state, hidden.shelve_reason, hidden.shelved_until) == (
        "shelved", "lamp change", clock.now + 600,
    )  # fmt: skip
    # The condition is still followed while shelved, without annunciation.
    assert feed(alarms, [0.1, 1.5]) == ["alarm_cleared", "alarm_raised"]
    assert state(alarms) == "shelved"
    clock.now += 599
    assert alarms.expire_shelving(seq=0, ts="") == []
    clock.now += 1
    (expired,) = alarms.expire_shelving(seq=0, ts="")
    assert expired.event == "alarm_unshelved" and expired.state == "unacknowledged"
    assert alarms.journal[-1].user == "system" and alarms.journal[-1].comment == "shelving expired"
    alarms.acknowledge("psi:focus", "bo", seq=0, ts="")
    alarms.shelve("psi:focus", "bo", reason="again", until=clock.now + 60, seq=0, ts="")
    feed(alarms, [0.1])
    assert alarms.unshelve("psi:focus", "bo", seq=0, ts="").state == "normal"


def test_suppressed_by_design_and_out_of_service_and_back():
    alarms = book(off_delay_parts=1)
    feed(alarms, [1.5])
    assert (
        alarms.set_service("psi:focus", Trigger.SUPPRESS, "cy", seq=0, ts="").state == "suppressed"
    )
    with pytest.raises(AlarmRefused):
        alarms.set_service("psi:focus", Trigger.SUPPRESS, "cy", seq=0, ts="")
    assert (
        alarms.set_service("psi:focus", Trigger.REMOVE, "cy", seq=0, ts="").state
        == "out_of_service"
    )
    with pytest.raises(AlarmRefused):
        alarms.shelve("psi:focus", "bo", reason="x", until=2e9, seq=0, ts="")
    feed(alarms, [0.1])
    assert alarms.set_service("psi:focus", Trigger.RETURN, "cy", seq=0, ts="").state == "normal"


@pytest.mark.parametrize("start", list(AlarmState))
@pytest.mark.parametrize(
    "trigger",
    [
        Trigger.ACKNOWLEDGE,
        Trigger.UNSHELVE,
        Trigger.SUPPRESS,
        Trigger.UNSUPPRESS,
        Trigger.REMOVE,
        Trigger.RETURN,
    ],  # fmt: skip
)
def test_people_can_make_exactly_the_transitions_in_the_table(start, trigger):
    alarms = book()
    feed(alarms, [1.5])
    alarm = alarms._alarms["psi:focus"]
    alarm.state = start
    allowed = (start, trigger) in TRANSITIONS
    call = {
        Trigger.ACKNOWLEDGE: lambda: alarms.acknowledge("psi:focus", "u", seq=0, ts=""),
        Trigger.UNSHELVE: lambda: alarms.unshelve("psi:focus", "u", seq=0, ts=""),
    }.get(trigger, lambda: alarms.set_service("psi:focus", trigger, "u", seq=0, ts=""))
    if allowed:
        call()
        assert alarm.state != start or TRANSITIONS[(start, trigger)] == start
    else:
        with pytest.raises(AlarmRefused):
            call()
        assert alarm.state == start


HOVERING = [1.05, 0.95] * 20  # a score that hovers at its threshold


def test_deadband_and_off_delay_keep_a_hovering_signal_from_chattering():
    assert (
        feed(book(deadband=0.0, off_delay_parts=1, chatter_cycles=0), HOVERING).count(
            "alarm_raised"
        )
        == 20
    )
    assert feed(book(deadband=0.2, off_delay_parts=1), HOVERING) == ["alarm_raised"]
    swings = [1.5, 0.1, 0.1, 1.5, 0.1, 0.1] * 5
    assert feed(book(deadband=0.2, off_delay_parts=3), swings) == ["alarm_raised"]
    assert (
        feed(book(deadband=0.2, off_delay_parts=2, chatter_cycles=0), swings).count("alarm_cleared")
        == 10
    )


def test_on_delay_ignores_a_short_spike():
    assert feed(book(on_delay_parts=3), [1.5, 1.5, 0.1, 1.5, 0.1]) == []
    assert feed(book(on_delay_parts=3), [1.5, 1.5, 1.5]) == ["alarm_raised"]


def test_delays_and_deadband_are_per_alarm_class():
    classes = (AlarmClass(detector="jump", off_delay_parts=1, deadband=0.0),)
    alarms = book(off_delay_parts=50, classes=classes, chatter_cycles=0)
    assert feed(alarms, [1.5, 0.99], detector="jump").count("alarm_cleared") == 1
    assert feed(alarms, [1.5, 0.1, 0.1], detector="psi") == ["alarm_raised"]
    assert alarms.delays("jump") == (0, 1, 0.0) and alarms.delays("psi") == (0, 50, 0.2)


def test_a_chattering_alarm_is_held_raised_and_counted():
    clock = Clock()
    alarms = book(clock, off_delay_parts=1, min_active_seconds=60.0)
    swings = [1.5, 0.1] * 30  # raise and clear every 2 s
    events = feed(alarms, swings, clock, step=1.0)
    # three cycles inside a minute, then held: no more raise/clear while it keeps coming back
    assert events[:5] == ["alarm_raised", "alarm_cleared", "alarm_raised", "alarm_cleared",
                          "alarm_raised"]  # fmt: skip
    assert events.count("alarm_raised") == 3 and events.count("alarm_cleared") == 2
    view = alarms.views()[0]
    assert view.chattering and view.chatter_holds == 1 and view.active
    events = feed(alarms, [0.1] * 58, clock, step=1.0)
    assert events == []  # the condition has been gone 59 s: still held
    assert feed(alarms, [0.1], clock, step=1.0) == ["alarm_cleared"]  # 60 s
    assert not alarms._alarms["psi:focus"].chattering


def test_without_a_clock_chattering_is_judged_on_the_records_timestamps():
    alarms = AlarmBook(replace(Alarms(), off_delay_parts=1))
    out = []
    for i, score in enumerate([1.5, 0.1] * 4):
        ts = f"2026-03-02T06:{i // 60:02d}:{i % 60:02d}Z"  # a part a second
        event = alarms.assess("psi", "focus", score=score, value=score, threshold=1.0,
                              priority="high", seq=i, ts=ts, parts=1)  # fmt: skip
        out.append(event and event.event)
    assert out.count("alarm_raised") == 3 and out.count("alarm_cleared") == 2
    slow = AlarmBook(replace(Alarms(), off_delay_parts=1))
    raised = 0
    for i, score in enumerate([1.5, 0.1] * 4):
        ts = f"2026-03-02T{6 + i // 60:02d}:{i % 60:02d}:00Z"  # a part a minute
        event = slow.assess("psi", "focus", score=score, value=score, threshold=1.0,
                            priority="high", seq=i, ts=ts, parts=1)  # fmt: skip
        raised += bool(event and event.event == "alarm_raised")
    assert raised == 4  # a part a minute never chatters


def entry(at, alarm="psi:focus", trigger="raise", priority="high"):
    return JournalEntry(at, alarm, trigger, "", "", priority)


def test_alarm_system_health_over_a_journal():
    now = 1_800_000_000.0
    journal = [entry(now - 3000 + i * 20, f"a{i}", priority="low") for i in range(12)]  # flood
    journal += [
        entry(now - 100),
        entry(now - 80, trigger="clear"),
        entry(now - 70),
        entry(now - 60, trigger="clear"),
        entry(now - 50),
    ]  # fmt: skip  chattering
    journal += [entry(now - 90_000, "stale:line", priority="urgent")]
    kpi = health(journal, now)
    assert kpi.alarms == 16
    assert kpi.floods == 1
    assert kpi.chattering == ("psi:focus",)
    assert kpi.stale == ("stale:line",)
    assert kpi.by_priority == {"low": 12, "high": 3, "urgent": 1}
    assert kpi.last_10_minutes == 3
    assert kpi.per_10_minutes == pytest.approx(16 / (90_000 / 600))
