"""A restart on the same store: the reference in force, the active alarms with their
acknowledgement, the open incidents come back; a new reference only by an explicit, audited
action; the rate is the line's, not the backlog's. Real store files, stations fed their lines on
the test's thread (no engine thread: every step is deterministic)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from console import cli
from console.actions import Acknowledge, Escalate
from console.alarms import AlarmBook
from console.config import Config, demo_config
from console.line_rate import LineRate
from console.runner import CommandRefused, Station
from console.station_memory import restore_alarms
from drivers.simulator import write_stream


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def demo_stream(tmp_path_factory) -> list[bytes]:
    """Five simulated days of the demo line, 1,000 parts a day: drift from day 2.5."""
    path = tmp_path_factory.mktemp("stream") / "demo.jsonl"
    write_stream(str(path), "demo", 5.0, parts_per_day=1000)
    return lines_of(path)


def config_for(tmp_path: Path) -> Config:
    config = demo_config()
    return replace(config, source=(), store=replace(config.store, path=str(tmp_path / "s.db")))


def run(config: Config, lines: list[bytes]) -> Station:
    """A station on the config's store, fed these lines in chunks of 250 (not stopped)."""
    station = Station(config, sources=False)
    for begin in range(0, len(lines), 250):
        station.engine.feed_lines(lines[begin : begin + 250], "test")
    return station


def query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_a_restart_keeps_the_reference_in_force_and_does_not_relearn(tmp_path, demo_stream):
    config = config_for(tmp_path)
    first = run(config, demo_stream[:2300])
    assert first.engine.reference_version == 1
    stored_sha = first.engine.profile.sha256
    first.stop()

    second = Station(config, sources=False)
    assert not second.engine.learning, "the station relearns after a restart"
    assert second.refresh().learning is False
    assert second.engine.reference_version == 1
    assert second.engine.profile.sha256 == stored_sha, "rebuilt reference differs"
    for begin in range(2300, 3000, 250):
        second.engine.feed_lines(demo_stream[begin : begin + 250])
    second.stop()
    assert query(tmp_path / "s.db", "SELECT count(*) FROM reference_profiles") == [(1,)]


def test_a_restart_while_the_line_drifts_keeps_the_baseline_and_the_alarms(tmp_path, demo_stream):
    config = config_for(tmp_path)
    first = run(config, demo_stream[:4500])
    before = {view.id: view.state for view in first.engine.alarms.views()}
    assert any(v.startswith("mean_shift:") for v in before), before
    alarm = next(a for a in before if before[a] == "unacknowledged")
    first.first_admin("ana", "9999")
    first.acknowledge(Acknowledge(alarm, "ana"))
    before[alarm] = "acknowledged"
    incident = first.escalate(Escalate("brightness drifting", "high", "ana"))
    window_mean = first.engine.watch.window.mean.copy()
    first.stop()

    second = Station(config, sources=False)
    shown = second.refresh()
    assert {view.id: view.state for view in shown.alarms} == before
    assert next(v for v in shown.alarms if v.id == alarm).acknowledged_by == "ana"
    assert [i.id for i in second.incidents] == [incident.id]
    assert second.remembered.active_alarms
    # The window holds the line's last records again, not the reference.
    np.testing.assert_allclose(second.engine.watch.window.mean, window_mean, rtol=1e-9)
    # The drifted records after the restart are judged against the old baseline: still drift.
    events = []
    for begin in range(4500, 5000, 250):
        events += second.engine.feed_lines(demo_stream[begin : begin + 250])
    assert not any(e.event == "alarm_cleared" and e.alarm.startswith("mean_shift") for e in events)
    assert second.engine.reference_version == 1
    second.stop()


def test_the_journal_replays_into_alarm_states():
    def row(seq, alarm, state, user=""):
        return {
            "seq": seq, "at": 1.0e9 + seq, "alarm": alarm, "source": "x", "detector": "psi",
            "state": state, "priority": "high", "value": 0.5, "user_name": user, "note": "",
        }  # fmt: skip

    book = AlarmBook(demo_config().alarms)
    active = restore_alarms(
        book,
        [
            row(1, "psi:a", "raised"),
            row(2, "psi:b", "raised"),
            row(3, "psi:c", "raised"),
            row(4, "psi:b", "acknowledged", "ana"),
            row(5, "psi:c", "cleared"),
            row(6, "psi:d", "raised"),
            row(7, "psi:d", "acknowledged", "bo"),
            row(8, "psi:d", "cleared"),
        ],
    )
    assert active == ("psi:a", "psi:b")
    states = {v.id: (v.state, v.active) for v in book.views()}
    assert states == {
        "psi:a": ("unacknowledged", True),
        "psi:b": ("acknowledged", True),
        "psi:c": ("returned_unacknowledged", False),
    }


def test_reference_new_from_a_file_is_recorded_audited_and_used_at_the_next_start(
    tmp_path, demo_stream, capsys
):
    config = config_for(tmp_path)
    run(config, demo_stream[:2100]).stop()
    reference = tmp_path / "validation.jsonl"
    reference.write_bytes(b"".join(demo_stream[:1500]))
    toml = tmp_path / "station.toml"
    features = json.dumps(list(config.station.features))
    toml.write_text(
        f'[station]\nid = "{config.station.id}"\nfeatures = {features}\n'
        f'[store]\npath = "{tmp_path / "s.db"}"\n[reference]\nsize = 2000\n'
    )
    code = cli.main(["reference", "new", "--config", str(toml), "--from", str(reference)])
    assert code == 0
    said = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (said["event"], said["version"], said["records"]) == ("reference_new", 2, 1500)
    audit = query(tmp_path / "s.db", "SELECT action, detail FROM audit ORDER BY seq")
    assert [a for a, _ in audit] == ["reference_learned", "reference_new"]
    assert json.loads(audit[-1][1])["version"] == 2

    again = Station(config, sources=False)
    assert (again.engine.reference_version, again.engine.profile.n) == (2, 1500)
    again.stop()


def test_reference_new_without_a_file_learns_the_next_records_while_the_old_one_watches(
    tmp_path, demo_stream
):
    config = config_for(tmp_path)
    run(config, demo_stream[:2100]).stop()
    toml = tmp_path / "station.toml"
    toml.write_text(
        f'[station]\nid = "{config.station.id}"\n[store]\npath = "{tmp_path / "s.db"}"\n'
        "[reference]\nsize = 2000\n"
    )
    assert cli.main(["reference", "new", "--config", str(toml), "--user", "qe"]) == 0
    station = run(config, demo_stream[2100:3500])
    assert station.engine.reference_version == 1, "switched before 2,000 new records"
    assert not station.engine.learning
    for begin in range(3500, 4200, 250):
        station.engine.feed_lines(demo_stream[begin : begin + 250])
    assert station.engine.reference_version == 2
    station.stop()
    audit = query(tmp_path / "s.db", "SELECT action, user_name FROM audit ORDER BY seq")
    assert audit[-2:] == [("reference_new", "qe"), ("reference_learned", "qe")]
    assert query(tmp_path / "s.db", "SELECT value FROM meta WHERE key LIKE 'reference%'") == []


def test_a_signed_new_reference_from_the_console_is_kept_and_used_at_the_next_start(
    tmp_path, demo_stream
):
    config = config_for(tmp_path)
    station = run(config, demo_stream[:2100])
    station.first_admin("admin", "9999")
    station.add_user("op", "operator", "1111")
    lines = demo_stream[:1200]
    operator = station.login("op", "1111")
    with pytest.raises(CommandRefused):
        station.new_reference(lines, "validation", "1111", "approval", session=operator)
    station.login("admin", "9999")
    with pytest.raises(CommandRefused, match="at least 100"):
        station.new_reference(lines[:50], "too short", "9999", "approval")
    station.new_reference(lines, "validation", "9999", "approval")
    assert (station.engine.reference_version, station.engine.profile.n) == (2, 1200)
    station.stop()
    audit = query(tmp_path / "s.db", "SELECT action, user_name, detail FROM audit ORDER BY seq")
    signed = [json.loads(d) for a, u, d in audit if a == "new_reference" and u == "admin"]
    assert len(signed) == 1 and '"version": 2' in json.dumps(signed[0])
    again = Station(config, sources=False)
    try:
        assert again.engine.reference_version == 2
    finally:
        again.stop()  # its store writer is a thread: never leave it running after the test


def test_the_rate_is_the_lines_not_the_backlogs():
    rate = LineRate()
    ts = 1.7e9 + np.arange(12_000) / 100.0  # 100 parts a second of record time: 6,000 a minute
    for begin in range(0, 12_000, 500):  # read back in a burst, all "now"
        rate.note(ts[begin : begin + 500], arrived=10.0)
    assert rate.per_minute(now=10.5) == pytest.approx(6000, rel=0.02)
    assert rate.per_minute(now=100.0) == 0.0  # nothing arrived for a minute: the line stands
