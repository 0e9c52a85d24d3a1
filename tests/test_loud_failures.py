"""No failure is silent: `analyze` on a closed pipe or a SQLite file, source configuration errors
in `headless`, and operator actions that are reported done only once they are on disk."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from console.actions import Acknowledge
from console.config import demo_config
from console.runner import CommandRefused, Station
from data.store import StoreWriter
from drivers.simulator import write_stream
from tests.store_faults import ROOT, headless, json_lines, station_toml


def test_analyze_into_head_ends_quietly(tmp_path):
    stream = tmp_path / "s.jsonl"
    write_stream(str(stream), "jump", 6.0, parts_per_day=5000)
    shell = f"{sys.executable} main.py analyze {stream} | head -1"
    run = subprocess.run(
        ["bash", "-c", shell], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.stdout.count("\n") == 1
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr


def test_analyze_refuses_a_store_file_with_a_hint(tmp_path):
    path = tmp_path / "store.db"
    with StoreWriter(path, "line1-cam1", ["a"]):
        pass
    run = subprocess.run(
        [sys.executable, "main.py", "analyze", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "SQLite" in run.stderr and "export" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ('[[source]]\nkind = "tcp"\nname = "cam"\nurl = "tcp://127.0.0.1:99999"\n', "99999"),
        ('[[source]]\nkind = "tcp"\nname = "cam"\nurl = "tcp://0.0.0.0:9100"\n', "allow_remote"),
    ],
)
def test_a_source_configuration_error_is_printed_and_raises_an_alarm(tmp_path, source, says):
    run = headless(station_toml(tmp_path, tmp_path / "line.db", source), "--for", "2")
    assert run.returncode == 0
    errors = [e for e in json_lines(run.stderr) if e.get("event") == "system"]
    assert any(e["source"] == "cam" and says in e["detail"] for e in errors), run.stderr
    raised = [e for e in json_lines(run.stdout) if e.get("event") == "alarm_raised"]
    assert any(e["alarm"] == "source:cam" for e in raised)


@pytest.fixture
def station(tmp_path):
    config = demo_config()
    running = Station(
        replace(config, source=(replace(config.source[0], rate=1000.0),)),
        store_path=str(tmp_path / "line.db"),
    )
    running.first_admin("admin", "9999")
    running.add_user("ann", "shift_lead", "2222")
    running.login("ann", "2222")
    running.start()
    yield running
    running.stop()


def some_alarm(station: Station) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        views = [a for a in station.refresh().alarms if a.state == "unacknowledged"]
        if views:
            return views[0].id
        time.sleep(0.05)
    raise AssertionError("no alarm to acknowledge")


def test_an_acknowledgement_is_on_disk_when_it_returns(station, tmp_path):
    alarm = some_alarm(station)
    station.acknowledge(Acknowledge(alarm, "ann", "shift_lead"))
    with sqlite3.connect(f"file:{tmp_path / 'line.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT user_name FROM alarm_journal WHERE alarm = ? AND state = 'acknowledged'",
            (alarm,),
        ).fetchall()
    assert rows == [("ann",)]


def test_an_acknowledgement_that_cannot_be_saved_is_refused_and_changes_nothing(station):
    alarm = some_alarm(station)
    station.store.close()  # the store is gone: nothing can be committed
    with pytest.raises(CommandRefused, match="not saved"):
        station.acknowledge(Acknowledge(alarm, "ann", "shift_lead"))
    view = next(a for a in station.refresh().alarms if a.id == alarm)
    assert view.state == "unacknowledged"


def test_a_wall_clock_step_back_does_not_delay_the_stale_alarm(monkeypatch):
    from tests.drivers_helpers import record_line

    config = demo_config()
    config = replace(config, detection=replace(config.detection, stale_seconds=1.0))
    station = Station(config, sources=False)
    station.start()
    try:
        station.intake.put("cam", [record_line(i) for i in range(10)], ())
        deadline = time.monotonic() + 30
        while station.engine.accepted < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() - 3600.0)  # the clock steps back 1 h
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(a.id == "stale:line" and a.active for a in station.refresh().alarms):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no stale alarm")
    finally:
        monkeypatch.undo()
        station.stop()
