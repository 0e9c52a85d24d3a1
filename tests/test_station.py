"""The running station without a window: sources → engine thread → snapshots, and the
commands the screens send (override, acknowledge, escalate), against a real store file."""

import json
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from console.actions import Acknowledge, Escalate, Override
from console.config import demo_config
from console.detectors.line import SOURCE
from console.intake import SourceEvent
from console.runner import CommandRefused, Station
from data import store
from tests.drivers_helpers import wait_for as wait_until

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def station(tmp_path):
    config = demo_config()
    fast = replace(config.source[0], rate=1000.0)
    running = Station(replace(config, source=(fast,)), store_path=str(tmp_path / "line.db"))
    running.first_admin("admin", "9999")
    running.add_user("ana", "operator", "1111")
    running.add_user("lead", "shift_lead", "2222")
    running.start()
    yield running
    running.stop()


def test_the_demo_line_learns_then_watches_and_publishes_snapshots(station):
    wait_until(lambda: not station.snapshot.learning, what="reference learnt")
    snapshot = wait_until(
        lambda: station.snapshot if station.snapshot.columns else None, what="columns"
    )
    assert {c.name for c in snapshot.columns} >= {"brightness", "focus", "conf"}
    assert snapshot.line_state == "running"
    assert snapshot.recent and snapshot.recent[0].part.startswith("P")
    wait_until(
        lambda: any(a.id == "mean_shift:brightness" for a in station.snapshot.alarms),
        timeout=60,
        what="drift alarm",
    )
    assert station.snapshot.health == "drift"


def test_an_override_is_durable_before_it_is_reported_saved(station, tmp_path):
    part = wait_until(
        lambda: station.snapshot.recent[0] if station.snapshot.recent else None, what="a part"
    )
    command = Override(
        part.part,
        part.cls,
        "scratch" if part.cls != "scratch" else "ok",
        "misclassified",
        user="ana",
        role="operator",
        old_conf=part.conf,
    )
    station.login("ana", "1111")
    seq = station.override(replace(command, role="admin"))  # a declared role is ignored
    saved = store.overrides(tmp_path / "line.db")
    assert [(o["seq"], o["part"], o["user_name"], o["reason"]) for o in saved] == [
        (seq, part.part, "ana", "misclassified")
    ]
    assert station.refresh().overrides_last_hour == 1
    with pytest.raises(CommandRefused, match="reason"):
        station.override(replace(command, reason="because"))
    assert store.overrides(tmp_path / "line.db")[0]["role"] == "operator"
    station.lock()
    with pytest.raises(CommandRefused, match="log in"):
        station.override(command)


def trip_alarm(station, source: str) -> str:
    """An instantaneous condition (a lost link): active until reset, whatever the line does."""
    station.engine.alarms.trip(
        SOURCE.name, source, value=1.0, priority="high", seq=0, ts="2026-03-02T06:00:00Z",
        message=f"{source} link lost",
    )  # fmt: skip
    return f"{SOURCE.name}:{source}"


def test_acknowledge_changes_the_state_and_is_journaled(station, tmp_path):
    alarm_id = trip_alarm(station, "plc")
    station.login("lead", "2222")
    event = station.acknowledge(Acknowledge(alarm_id, user="lead", role="shift_lead"))
    assert event.state == "acknowledged"  # still active: acknowledged, not gone
    assert next(a for a in station.refresh().alarms if a.id == alarm_id).state == "acknowledged"
    journal = store.alarm_journal(tmp_path / "line.db")
    assert any(
        j["alarm"] == alarm_id and j["state"] == "acknowledged" and j["user_name"] == "lead"
        for j in journal
    )
    with pytest.raises(CommandRefused):
        station.acknowledge(Acknowledge(alarm_id, user="lead", role="shift_lead"))


def test_acknowledging_a_cleared_alarm_returns_it_to_normal(station):
    alarm_id = trip_alarm(station, "lamp")
    station.login("lead", "2222")
    station.engine.alarms.reset("source", "lamp", seq=1, ts="2026-03-02T06:01:00Z")
    assert next(a for a in station.refresh().alarms if a.id == alarm_id).state == (
        "returned_unacknowledged"
    )
    event = station.acknowledge(Acknowledge(alarm_id, user="lead", role="shift_lead"))
    assert event.state == "normal"


def test_escalate_opens_an_incident_with_a_frozen_snapshot(station, tmp_path):
    wait_until(lambda: station.snapshot.columns, what="columns")
    station.login("ana", "1111")
    incident = station.escalate(Escalate("focus looks soft", "high", user="ana"))
    assert incident.owner and incident.due_at > incident.opened_at
    stored = store.incidents(tmp_path / "line.db")
    assert stored[-1]["incident"] == incident.id
    snapshot = json.loads(stored[-1]["snapshot"])
    assert "focus" in snapshot["snapshot"]["drift"]
    with pytest.raises(CommandRefused):
        station.escalate(Escalate("", "high", user="ana"))


def test_a_lost_source_becomes_an_event_and_an_alarm(station):
    station.intake.event(
        SourceEvent(
            "cam-serial", "disconnected", "device reports readiness to read but returned no data"
        )
    )
    wait_until(
        lambda: any(a.id == "source:cam-serial" for a in station.snapshot.alarms),
        what="source alarm",
    )
    assert any(e[2] == "cam-serial" for e in station.snapshot.events)
    station.intake.event(SourceEvent("cam-serial", "reconnected"))
    wait_until(
        lambda: not next(a for a in station.snapshot.alarms if a.id == "source:cam-serial").active,
        what="cleared",
    )


def test_headless_prints_alarm_events_and_a_summary_on_sigterm(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "h.db"}"\n[reference]\nsize = 2000\n[window]\nparts = 2000\nbatch = 50\n'
        '[[source]]\nkind = "simulator"\nscenario = "jump"\nrate = 2000.0\nparts_per_day = 1000.0\n'
    )
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "headless", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    first = child.stdout.readline()  # a jump at day 3 = part 3,000: within seconds
    child.send_signal(signal.SIGTERM)
    rest = child.communicate(timeout=30)[0].splitlines()
    assert child.returncode == 0
    assert json.loads(first)["event"] == "alarm_raised"
    summary = json.loads(rest[-1])
    assert summary["event"] == "summary" and summary["records"] >= 3000


def test_an_exception_in_any_thread_becomes_a_system_event(station):
    from console.runner import route_errors

    before = (threading.excepthook, sys.excepthook)
    try:
        route_errors(station)
        worker = threading.Thread(target=lambda: 1 / 0, name="camera-reader")
        worker.start()
        worker.join()
        wait_until(
            lambda: any(
                e[2] == "camera-reader" and "ZeroDivisionError" in e[3]
                for e in station.refresh().events
            ),
            what="error event",
        )
    finally:
        threading.excepthook, sys.excepthook = before


def test_a_configured_reference_file_is_the_reference_from_the_start(tmp_path):
    from drivers.simulator import write_stream

    write_stream(str(tmp_path / "ref.jsonl"), "stable", 1.0, parts_per_day=2000)
    config = replace(
        demo_config(), reference=replace(demo_config().reference, file=str(tmp_path / "ref.jsonl"))
    )
    running = Station(config, store_path=str(tmp_path / "s.db"), sources=False)
    assert not running.engine.learning
    assert running.engine.profile.n == 2000
    assert store.latest_reference(tmp_path / "s.db") is not None
    running.stop()


def test_an_unreadable_reference_file_names_the_key(tmp_path):
    from console.config import ConfigError

    config = replace(
        demo_config(),
        reference=replace(demo_config().reference, file=str(tmp_path / "missing.jsonl")),
    )
    with pytest.raises(ConfigError, match="reference.file"):
        Station(config, store_path="", sources=False)


def test_simulate_feeds_a_station_listening_on_tcp(tmp_path):
    import socket

    from console.config import Source
    from drivers.simulator import LineSimulator
    from drivers.sink import open_sink

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = replace(
        demo_config(), source=(Source(kind="tcp", name="camera", url=f"tcp://127.0.0.1:{port}"),)
    )
    running = Station(config, store_path=str(tmp_path / "t.db"))
    running.start()
    try:
        wait_until(
            lambda: any(s.state == "connected" for s in running.snapshot.sources), what="listening"
        )
        sink = open_sink(f"tcp://127.0.0.1:{port}")
        simulator = LineSimulator("noisy", seed=3)
        sent = 0
        for chunk in simulator.chunks(3000, 500):
            sink.write_lines(chunk)
            sent += len(chunk)
        sink.close()
        wait_until(lambda: running.engine.accepted == 3000, what="all records")
        snapshot = running.refresh()
        assert snapshot.lines == sent
        assert sum(snapshot.rejected.values()) == sent - 3000
        assert snapshot.sources[0].name == "camera"
    finally:
        running.stop()


def test_missed_parts_leave_an_alarm_to_acknowledge(station):
    station.intake.event(SourceEvent("plc", "missed_parts", "counter jumped 118 → 121", count=2))
    alarm = wait_until(
        lambda: next((a for a in station.snapshot.alarms if a.id == "missed_parts:plc"), None),
        what="missed-parts alarm",
    )
    assert not alarm.active and alarm.state == "returned_unacknowledged"
    station.login("lead", "2222")
    station.acknowledge(Acknowledge(alarm.id, user="lead", role="shift_lead"))
    assert all(a.id != alarm.id for a in station.refresh().alarms)
