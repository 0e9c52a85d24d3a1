"""Incidents that move: open → acknowledged → mitigated → closed, reassignment and notes, the
playbook's levels, escalation by the clock past the response time, re-notification, alarms left
unacknowledged turned into incidents, and the local notification command."""

import json
import sys
from dataclasses import replace

import pytest

from console.actions import CommandRefused, Escalate
from console.config import Escalation, EscalationLevel, Notify, People, demo_config
from console.incidents import escalation_path, move, open_incident, overdue
from console.runner import Station
from data import audit, store

PLAYBOOK = (
    Escalation(
        kinds=("psi", "jump"),
        level=(
            EscalationLevel("model_owner", ("Mia Model",), 15.0),
            EscalationLevel("operations_lead", ("Otto Ops", "Una Ops"), 30.0),
        ),
        renotify_minutes=10.0,
    ),
    Escalation(kinds=("*",), level=(EscalationLevel("data_owner", (), 60.0),)),
)
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_playbook_picks_levels_by_alarm_kind_and_falls_back_to_star_and_people():
    levels, renotify = escalation_path(("psi:focus",), "high", People(), PLAYBOOK)
    assert [(lv.role, lv.people, lv.response_seconds) for lv in levels] == [
        ("model_owner", ("Mia Model",), 900.0),
        ("operations_lead", ("Otto Ops", "Una Ops"), 1800.0),
    ]
    assert renotify == 600.0
    (level,), _ = escalation_path(("stuck:focus",), "high", People(data_owner="Dana"), PLAYBOOK)
    assert (level.role, level.people, level.response_seconds) == ("data_owner", ("Dana",), 3600.0)
    levels, _ = escalation_path(("missing:focus",), "urgent", People(data_owner="Dana"))
    assert levels[0].people == ("Dana",) and levels[0].response_seconds == 15 * 60


def test_an_incident_moves_only_forward_and_keeps_its_story():
    incident = open_incident(
        Escalate("focus soft", "high", "ana", alarms=("psi:focus",), at=T0),
        None,
        People(),
        PLAYBOOK,
    )
    assert (incident.status, incident.owner, incident.due_at) == ("open", "Mia Model", T0 + 900)
    with pytest.raises(ValueError, match="open: cannot close"):
        move(incident, "close", "bo", T0 + 1)
    incident = move(incident, "acknowledge", "bo", T0 + 60, "looking at the lens")
    incident = move(incident, "mitigate", "bo", T0 + 120)
    incident = move(incident, "close", "bo", T0 + 180, "lens cleaned, drift gone")
    assert incident.status == "closed"
    assert [step[2] for step in incident.path][1:] == ["acknowledged", "mitigated", "closed"]
    assert [n[2] for n in incident.notes] == ["looking at the lens", "lens cleaned, drift gone"]
    assert overdue(incident, T0 + 10_000) is None


def test_the_clock_escalates_an_unacknowledged_incident_then_renotifies():
    incident = open_incident(
        Escalate("focus soft", "high", "ana", alarms=("jump:focus",), at=T0),
        None,
        People(),
        PLAYBOOK,
    )
    assert overdue(incident, T0 + 599) is None
    reminded, what = overdue(incident, T0 + 600)  # re-notified every 10 min while open
    assert what == "renotified" and reminded.level == 0
    assert overdue(reminded, T0 + 899) is None
    escalated, what = overdue(reminded, T0 + 900)
    assert what == "escalated" and escalated.owner == "Otto Ops, Una Ops"
    assert escalated.level == 1 and escalated.due_at == T0 + 900 + 1800
    assert overdue(escalated, T0 + 900 + 599) is None
    again, what = overdue(escalated, T0 + 900 + 1800)
    assert what == "renotified" and again.level == 1  # no level left: re-notify
    acknowledged = move(again, "acknowledge", "otto", T0 + 3000)
    later, what = overdue(acknowledged, T0 + 3000 + 600)
    assert what == "renotified"  # unresolved: still reminded


@pytest.fixture
def station(tmp_path):
    clock = Clock()
    log = tmp_path / "notified.jsonl"
    hook = (sys.executable, "-c", f"import sys; open({str(log)!r}, 'a').write(sys.stdin.read())")
    config = replace(demo_config(), playbook=PLAYBOOK, notify=Notify(command=hook))
    station = Station(config, store_path=str(tmp_path / "line.db"), sources=False, clock=clock)
    station.first_admin("admin", "9999")
    station.add_user("lead", "shift_lead", "2222")
    station.add_user("olga", "operator", "1111")
    station.notified = log
    yield station
    station.stop()


def notified(station) -> list[dict]:
    station.notifier.close()
    station.notifier._thread = None
    if not station.notified.exists():
        return []
    return [json.loads(line) for line in station.notified.read_text().splitlines()]


def test_incident_transitions_through_the_station_are_role_checked_signed_and_stored(
    station, tmp_path
):
    station.login("olga", "1111")
    incident = station.escalate(Escalate("focus soft", "high", "x", alarms=("psi:focus",)))
    with pytest.raises(CommandRefused, match="may not move incidents"):
        station.move_incident(incident.id, "acknowledge")
    station.login("lead", "2222")
    station.move_incident(incident.id, "acknowledge", "on my way")
    station.reassign_incident(incident.id, "Rita Repair", "control_owner")
    station.note_incident(incident.id, "lens fogged")
    station.move_incident(incident.id, "mitigate")
    with pytest.raises(CommandRefused):
        station.move_incident(incident.id, "close", "fixed", pin="0000", meaning="approval")
    station.clock.now += 2  # past the wait a wrong PIN costs
    closed = station.move_incident(incident.id, "close", "fixed", pin="2222", meaning="approval")
    assert closed.status == "closed" and closed.owner == "Rita Repair"
    rows = store.incidents(tmp_path / "line.db")
    assert [r["status"] for r in rows] == [
        "open", "acknowledged", "acknowledged", "acknowledged", "mitigated", "closed",
    ]  # fmt: skip
    entry = next(t for t in audit.trail(tmp_path / "line.db") if t["action"] == "incident_close")
    assert (entry["user_name"], entry["meaning"]) == ("lead", "approval")


def test_past_its_response_time_an_incident_escalates_by_itself_visibly(station, tmp_path):
    station.login("olga", "1111")
    incident = station.escalate(Escalate("focus soft", "high", "x", alarms=("psi:focus",)))
    station.clock.now += 899
    station.tick()
    assert station.incident(incident.id).level == 0
    station.clock.now += 1
    station.tick()
    escalated = station.incident(incident.id)
    assert escalated.level == 1 and escalated.owner == "Otto Ops, Una Ops"
    assert "escalated to Otto Ops" in escalated.path[-1][2]
    rows = store.incidents(tmp_path / "line.db")
    assert rows[-1]["owner"] == "Otto Ops, Una Ops"
    kinds = dict(store.outbox_entries(tmp_path / "line.db"))
    assert kinds[rows[-1]["seq"]] == "incident"
    assert any("escalated" in text for _at, _k, _s, text in station.engine.system_events)
    messages = notified(station)
    assert [m["event"] for m in messages] == [
        "incident_opened", "incident_renotified", "incident_escalated"
    ]  # fmt: skip
    assert messages[-1]["owner"] == "Otto Ops, Una Ops"


def test_an_alarm_left_unacknowledged_past_its_response_time_opens_an_incident(station):
    station.engine.alarms.trip("jump", "focus", value=9, priority="high", seq=0, ts="", message="")
    station.clock.now += 901
    station.tick()
    (incident,) = station.incidents
    assert incident.opened_by == "system" and incident.alarms == ("jump:focus",)
    assert incident.owner == "Mia Model"
    station.clock.now += 5
    station.tick()
    assert len(station.incidents) == 1  # once per raise


def test_a_failing_notification_command_becomes_an_event(tmp_path):
    config = replace(
        demo_config(), notify=Notify(command=(sys.executable, "-c", "import sys; sys.exit(3)"))
    )
    station = Station(config, store_path="", sources=False)
    try:
        station.first_admin("admin", "9999")
        station.escalate(Escalate("check", "low", "x"))
        station.notifier.close()
        assert any(
            source == "notify" and "exited 3" in text
            for _at, _k, source, text in station.engine.system_events
        )
    finally:
        station.stop()


def test_shelving_through_the_station_is_signed_journaled_and_expires(station, tmp_path):
    station.engine.alarms.trip("jump", "focus", value=9, priority="high", seq=0, ts="", message="")
    station.login("lead", "2222")
    with pytest.raises(CommandRefused, match="means one of"):
        station.shelve("jump:focus", "lamp change", 30, "2222", "")
    station.shelve("jump:focus", "lamp change", 30, "2222", "responsibility")
    assert station.engine.alarms.views() == ()
    station.clock.now += 30 * 60 - 2
    station.tick()
    assert station.engine.alarms.views(hidden=True)[0].state == "shelved"
    station.clock.now += 2
    station.tick()
    assert station.engine.alarms.views()[0].state == "unacknowledged"
    journal = [
        (j["state"], j["user_name"], j["note"]) for j in store.alarm_journal(tmp_path / "line.db")
    ]
    assert journal == [
        ("shelved", "lead", "lamp change"), ("unshelved", "system", "shelving expired")
    ]  # fmt: skip
    entry = next(t for t in audit.trail(tmp_path / "line.db") if t["action"] == "alarm_shelved")
    assert (entry["user_name"], entry["meaning"], entry["reason"]) == (
        "lead", "responsibility", "lamp change"
    )  # fmt: skip
