"""Fallback to manual inspection: the "stop" reaches the PLC's coil every time, on a quiet line
and on a busy one with the plant network down; each switch is audited; switching back needs
the role; without a PLC the screen tells people what to do; a config rule recommends or
switches it by itself."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.fallback import fallback_line, run_trials
from console.actions import CommandRefused
from console.alarms import AlarmView
from console.config import Fallback, FallbackRule, demo_config
from console.fallback import FallbackSwitch
from console.runner import Station
from tests.drivers_helpers import wait_for
from tests.drivers_plc import PlcServer

TRIALS = 200  # `main.py bench --only fallback` runs 1,000 of each and gives the 500 ms figure


@pytest.mark.parametrize("busy", [False, True], ids=["quiet", "busy-store-network-down"])
def test_every_fallback_switch_reaches_the_plc_coil_and_is_audited(tmp_path, busy):
    plc = PlcServer(8)
    station = fallback_line(tmp_path, plc, busy=busy, network_down=busy)
    station.start()
    try:
        station.first_admin("owner", "123456")
        wait_for(lambda: station.engine.accepted > 10, 60, "parts from the PLC")
        if busy:
            wait_for(lambda: station.engine.accepted > 2000, 60, "the store filling")
        trials = run_trials(station, plc, TRIALS)
        figures = trials.figures()
        print("fallback trials", "busy" if busy else "quiet", figures)
        assert trials.confirmed == TRIALS and trials.reached == TRIALS
        assert trials.audited == TRIALS
        assert figures["max_ms"] < 5000  # generous; the 500 ms figure is in main.py bench
        if busy:
            assert not station.refresh().sync.connected  # the network really was down
    finally:
        station.stop()
        plc.close()


def test_the_header_state_follows_and_switching_back_needs_the_role(tmp_path):
    plc = PlcServer(8)
    station = fallback_line(tmp_path, plc, busy=False, network_down=False)
    station.start()
    try:
        owner = station.first_admin("owner", "123456")
        station.add_user("olga", "operator", "2468")
        operator = station.login("olga", "2468")
        wait_for(lambda: station.engine.accepted > 10, 60, "parts from the PLC")
        done = station.set_fallback(True, "model is clearly wrong", operator)
        assert done.confirmed and done.via == "plc" and plc.coil(0)
        assert station.refresh().health == "fallback"
        with pytest.raises(CommandRefused):
            station.set_fallback(False, "looks fine", operator)
        assert plc.coil(0)
        with pytest.raises(CommandRefused):
            station.set_fallback(False, "", owner)  # a reason is needed to switch back
        assert station.set_fallback(False, "model checked", owner).confirmed
        assert not plc.coil(0) and station.refresh().health != "fallback"
        rows = station.audit_trail(session=owner)
        actions = [(r["action"], r["user_name"]) for r in rows if "fallback" in r["action"]]
        assert actions[:2] == [("fallback_back", "owner"), ("fallback", "olga")]
    finally:
        station.stop()
        plc.close()


def test_without_a_plc_the_screen_gives_the_instruction(tmp_path):
    config = replace(demo_config(), store=replace(demo_config().store, path=str(tmp_path / "l.db")))
    station = Station(config, sources=False)
    station.first_admin("owner", "123456")
    done = station.set_fallback(True, "no PLC here")
    assert not done.confirmed and done.via == "instruction"
    assert "manual inspection" in done.detail
    texts = [e[-1] for e in station.engine.system_events]
    assert any("manual inspection" in str(t) for t in texts)
    station.stop()


def _alarm(priority: str, raised_at: float, state: str = "unacknowledged") -> AlarmView:
    return AlarmView(
        "mean_shift:brightness", "sim", "mean_shift", priority, state, True, 1.0, 0.5,
        "drift", "", None, "", raised_at=raised_at,
    )  # fmt: skip


def test_rules_pick_unacknowledged_alarms_of_high_enough_priority_long_enough():
    rules = (FallbackRule(priority="urgent", unacknowledged_minutes=10.0),)
    switch = FallbackSwitch(Fallback(rule=rules))
    now = 10_000.0
    assert switch.due_rules([_alarm("urgent", now - 601)], now)
    assert not switch.due_rules([_alarm("urgent", now - 500)], now)
    assert not switch.due_rules([_alarm("high", now - 3600)], now)
    assert not switch.due_rules([_alarm("urgent", now - 3600, "acknowledged")], now)


def test_a_rule_with_switch_set_switches_by_itself_and_audits_as_the_system(tmp_path):
    station = station_with_rule(tmp_path, switch=True)
    try:
        alarm, raised = urgent_drift_alarm(station)
        station.clock.now = raised + 9 * 60
        station.fallback_tick()
        assert not station.fallback
        station.clock.now = raised + 10 * 60 + 1
        station.fallback_tick()
        assert station.fallback and station.fallback_switch.recommended == ""
        rows = station.audit_trail(session=station.login("owner", "123456"))
        switched = [r for r in rows if r["action"] == "fallback"]
        assert [r["user_name"] for r in switched] == ["system"]
        assert alarm in switched[0]["detail"] and "switching to fallback" in switched[0]["detail"]
    finally:
        station.stop()


def test_a_bad_rule_priority_is_a_config_error_naming_the_key():
    from console.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match=r"fallback.rule\[0\].priority"):
        parse_config({"fallback": {"rule": [{"priority": "critical"}]}})
    with pytest.raises(ConfigError, match="policy.drift_priorities"):
        parse_config({"policy": {"drift_priorities": ["severe"]}})


def test_a_failing_store_does_not_undo_or_hide_the_switch(tmp_path):
    config = replace(demo_config(), store=replace(demo_config().store, path=str(tmp_path / "l.db")))
    station = Station(config, sources=False)
    station.first_admin("owner", "123456")
    station.store.close()  # the audit write will fail
    done = station.set_fallback(True, "store gone")
    assert station.fallback and done.on
    texts = [str(e[-1]) for e in station.engine.system_events]
    assert any("fallback not saved" in t for t in texts)
    station.stop()


def test_costs_and_rule_minutes_are_range_checked():
    from console.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="costs.hourly_rate"):
        parse_config({"costs": {"hourly_rate": -5}})
    with pytest.raises(ConfigError, match=r"fallback.rule\[0\].unacknowledged_minutes"):
        parse_config({"fallback": {"rule": [{"unacknowledged_minutes": float("nan")}]}})


def station_with_rule(tmp_path, *, switch: bool) -> Station:  # noqa: ANN001 - pytest's tmp_path
    """A station on a settable clock, with its owner, whose one fallback rule fires on a high
    alarm left unacknowledged for 10 minutes (and switches by itself when `switch`)."""
    from tests.test_window_people import Clock

    rule = FallbackRule(priority="high", unacknowledged_minutes=10.0, switch=switch)
    config = replace(demo_config(), fallback=Fallback(rule=(rule,)))
    station = Station(config, store_path=str(tmp_path / "l.db"), sources=False, clock=Clock())
    try:
        station.first_admin("owner", "123456")
    except BaseException:
        station.stop()
        raise
    return station


def urgent_drift_alarm(station: Station) -> tuple[str, float]:
    """A real urgent drift alarm in the station's alarm book: its id and when it was raised."""
    event = station.engine.alarms.trip(
        "mean_shift", "brightness", value=2.0, priority="urgent", seq=0, ts="",
        message="brightness drifting",
    )  # fmt: skip
    assert event is not None
    station.engine.emit(event)
    raised = next(a.raised_at for a in station.engine.alarms.views() if a.id == event.alarm)
    return event.alarm, raised


def test_a_rule_recommends_until_the_alarm_is_acknowledged_and_says_it_once(tmp_path):
    from console.actions import Acknowledge

    station = station_with_rule(tmp_path, switch=False)
    try:
        alarm, raised = urgent_drift_alarm(station)
        station.clock.now = raised + 9 * 60
        station.fallback_tick()
        assert station.fallback_switch.recommended == ""  # not yet 10 minutes
        for minutes in (11, 12):
            station.clock.now = raised + minutes * 60
            station.fallback_tick()
        advice = station.fallback_switch.recommended
        assert alarm in advice and "12 min" in advice and "fallback" in advice
        assert not station.fallback  # recommended only: the control owner did not enable switching
        said = [e for e in station.engine.system_events if "consider fallback" in str(e[-1])]
        assert len(said) == 1
        owner = station.login("owner", "123456")  # the minutes idled the session out
        station.acknowledge(Acknowledge(alarm, "owner"), owner)
        station.clock.now += 2
        station.fallback_tick()
        assert station.fallback_switch.recommended == ""
    finally:
        station.stop()
