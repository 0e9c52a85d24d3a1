"""Replay of a stored run: a simulated drift with a known onset and a known override, stored
through a running station listening on TCP, then replayed, looked at and exported."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from console.actions import Override
from console.config import load_config
from console.replay import Replayer, ReplayError, replay, with_settings
from console.runner import Station
from console.snapshot import take
from console.timeline import timeline
from data import replay as stored
from drivers.simulator import LineSimulator, Scenario
from drivers.sink import open_sink
from tests.drivers_helpers import wait_for

ROOT = Path(__file__).resolve().parents[1]
PARTS_PER_DAY = 1000
ONSET_DAY = 2.5
TOTAL = 5200
CURSOR = 3337  # a cursor that is not on a micro-batch boundary
OVERRIDDEN = 4100  # the part a quality engineer overrode
# Deliveries as a camera sends them: uneven, never on the engine's micro-batch boundaries.
CHUNKS = (137, 411, 59, 1003, 263, 17, 891)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, port: int) -> Path:
    features = LineSimulator().feature_names
    path = folder / "station.toml"
    path.write_text(
        f"""
[station]
id = "sim-line1"
features = {json.dumps(list(features))}

[[source]]
kind = "tcp"
name = "camera"
url = "tcp://127.0.0.1:{port}"

[store]
path = "{folder / "line.db"}"

[reference]
size = 2000

[window]
parts = 2000
batch = 50
"""
    )
    return path


class LiveRun:
    """What the running station did, as the test saw it."""

    def __init__(self, tmp_path: Path) -> None:
        self.config_path = write_config(tmp_path, _free_port())
        self.config = load_config(self.config_path)
        self.events: list[dict] = []
        self.lines: list[bytes] = []
        self.cursor_state = None
        self.cursor_snapshot = None
        self.override_part = ""


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> LiveRun:
    run = LiveRun(tmp_path_factory.mktemp("replay"))
    station = Station(
        run.config,
        on_event=lambda e: (
            run.events.append(e.wire()) if e.event in ("alarm_raised", "alarm_cleared") else None
        ),
    )
    sink = None
    station.first_admin("admin", "9999")
    station.add_user("qe1", "quality_engineer", "3333")
    station.start()
    try:
        wait_for(lambda: any(s.state == "connected" for s in station.snapshot.sources))
        sink = open_sink(run.config.source[0].url)
        simulator = LineSimulator(
            Scenario(name="drift", onset_day=ONSET_DAY, drift_days=1.0),
            parts_per_day=PARTS_PER_DAY,
            seed=5,
        )
        sent = 0
        sizes = iter(CHUNKS * 100)
        while sent < TOTAL:
            size = min(next(sizes), TOTAL - sent, CURSOR - sent if sent < CURSOR else TOTAL)
            lines = simulator.lines(size)
            sink.write_lines(lines)
            run.lines += lines
            sent += size
            if sent == CURSOR:
                wait_for(lambda: station.engine.accepted == CURSOR, what="the cursor's parts")
                run.cursor_snapshot = station.refresh()
            if sent > OVERRIDDEN and not run.override_part:
                wait_for(lambda n=sent: station.engine.accepted == n, what="parts to override")
                run.override_part = f"P{OVERRIDDEN:08d}"
                station.login("qe1", "3333")
                station.override(
                    Override(run.override_part, "ok", "scratch", "misclassified", user="qe1",
                             role="quality_engineer")
                )  # fmt: skip
        wait_for(lambda: station.engine.accepted == TOTAL, what="all parts")
        station.store.flush()
    finally:
        station.stop()  # before the camera hangs up: no `source` alarm to compare
        if sink is not None:
            sink.close()
    return run


def test_the_live_run_caught_the_drift_after_its_onset(live):
    raised = [e for e in live.events if e["event"] == "alarm_raised"]
    assert raised, "the drift should have raised alarms"
    onset = ONSET_DAY * PARTS_PER_DAY
    assert all(e["seq"] > onset for e in raised if e["detector"] == "mean_shift")


LINE_ALARMS = ("source", "stale", "missed_parts", "sync_stale")


def _same(events: list[dict]) -> list[dict]:
    """Events as compared: the line's own alarms (a lost source when the line stops) are read
    back from the journal, whose time is when it was written, not the source event's."""
    return [{**e, "ts": ""} if e["detector"] in LINE_ALARMS else e for e in events]


def test_replay_raises_the_live_alarms_at_the_same_parts(live):
    done = replay(live.config.store.path, live.config, stored.Selection())
    assert _same([e.wire() for e in done.events]) == _same(live.events)
    assert done.records == TOTAL and not done.warnings


def test_replay_of_a_batch_counts_seq_within_the_batch(live):
    summary = next(b for b in stored.batches(live.config.store.path) if b.batch == "B0007")
    done = replay(live.config.store.path, live.config, stored.Selection(batch="B0007"))
    expected = [{**e, "seq": e["seq"] - 3500} for e in live.events if 3500 <= e["seq"] < 4000]
    assert [e.wire() for e in done.events] == expected
    assert summary.parts == done.records == 500


def test_the_command_line_replay_prints_the_live_events(live):
    out = _main("replay", "--config", str(live.config_path))
    lines = [json.loads(line) for line in out.splitlines()]
    assert _same(lines[:-1]) == _same(live.events)
    assert lines[-1]["event"] == "summary" and lines[-1]["records"] == TOTAL


def test_the_charts_at_a_cursor_are_what_the_live_engine_showed(live, monkeypatch):
    monkeypatch.setattr("console.replay.CHECKPOINT_PARTS", 1000)
    replayer = Replayer(live.config.store.path, live.config, checkpoints=True)
    replayer.open_run(1)
    replayer.state_at(TOTAL)  # go past the cursor first: scrubbing back starts from a copy
    assert replayer.checkpoints
    replayer.state_at(CURSOR)
    assert replayer.engine is not None
    shown = take(replayer.engine, ())
    seen = live.cursor_snapshot
    assert shown.records == seen.records == CURSOR
    assert [c.name for c in shown.columns] == [c.name for c in seen.columns]
    for mine, theirs in zip(shown.columns, seen.columns, strict=True):
        for field in ("mean", "sd", "p5", "p50", "p95", "low", "high", "missing"):
            assert getattr(mine, field) == getattr(theirs, field), (mine.name, field)
        assert np.array_equal(mine.live, theirs.live)
        assert mine.scores == theirs.scores
    assert np.array_equal(shown.class_live, seen.class_live)


def test_markers_sit_at_the_right_parts(live):
    path = live.config.store.path
    replayer = Replayer(path, live.config)
    replayer.open_run(1)
    replayer.finish()
    assert replayer.records is not None
    marks = timeline(path, replayer.records, stored.deliveries(path, 1), replayer.events)
    raised = [m for m in marks if m.kind == "alarm_raised"]
    assert [m.index for m in raised] == [
        e["seq"] for e in live.events if "raised" in e["event"] and e["detector"] not in LINE_ALARMS
    ]
    override = next(m for m in marks if m.kind == "override")
    assert override.index == OVERRIDDEN and override.user == "qe1"
    assert replayer.records.batch.part[override.index] == live.override_part
    reference = next(m for m in marks if m.kind == "reference")
    assert 2000 - 1 <= reference.index < 2000 + max(CHUNKS)


def test_the_json_lines_export_round_trips_value_for_value(live, tmp_path):
    out = tmp_path / "run.jsonl"
    _main("export", "--config", str(live.config_path), "--from", "2026-01-01T00:00:00Z",
          "--to", "2027-01-01T00:00:00Z", "--format", "jsonl", "--out", str(out))  # fmt: skip
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    sent = [json.loads(line) for line in live.lines]
    assert exported == sent
    analyzed = _main("analyze", str(out), "--config", str(live.config_path))
    detected = [e for e in live.events if e["detector"] not in LINE_ALARMS]
    assert [json.loads(x) for x in analyzed.splitlines()[:-1]] == detected


def test_the_csv_export_has_a_column_per_feature(live, tmp_path):
    out = tmp_path / "b.csv"
    _main("export", "--config", str(live.config_path), "--batch", "B0002", "--format", "csv",
          "--out", str(out))  # fmt: skip
    rows = out.read_text().splitlines()
    header = rows[0].split(",")
    assert header[-len(LineSimulator().feature_names) :] == list(LineSimulator().feature_names)
    assert len(rows) == 501


def test_what_if_a_tighter_budget_alarms_earlier(live):
    path = live.config.store.path
    first = replay(path, live.config, stored.Selection())
    loose = replay(path, live.config, stored.Selection(), {"detection.false_alarms_per_year": "50"})

    def drift_seq(events):
        return min(e.seq for e in events if e.detector == "mean_shift")

    assert drift_seq(loose.events) <= drift_seq(first.events)


def test_batches_are_listed_with_their_mix_and_overrides(live):
    batches = stored.batches(live.config.store.path)
    assert [b.batch for b in batches][:3] == ["B0000", "B0001", "B0002"]
    assert sum(b.parts for b in batches) == TOTAL
    assert sum(b.overrides for b in batches) == 1
    flagged = stored.batches(live.config.store.path, alarm="mean_shift")
    assert flagged and all(b.alarms for b in flagged)


def test_bad_settings_and_selections_say_what_to_do(live):
    with pytest.raises(ReplayError, match="no key"):
        with_settings(live.config, {"detection.nothing": "1"})
    with pytest.raises(ReplayError, match="takes a number"):
        with_settings(live.config, {"window.parts": "many"})
    with pytest.raises(ReplayError, match="no stored record"):
        replay(live.config.store.path, live.config, stored.Selection(batch="nope"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "export", "--config", str(live.config_path),
         "--format", "csv", "--out", "x.csv"], capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and "--batch" in done.stderr


def _main(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_pdf_report_of_a_batch_is_written(live, tmp_path):
    out = tmp_path / "B0008.pdf"
    line = _main("export", "--config", str(live.config_path), "--batch", "B0008", "--format",
                 "pdf", "--out", str(out))  # fmt: skip
    assert json.loads(line)["records"] == 500
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 10_000


def test_opening_a_later_batch_goes_on_from_the_open_one(live):
    from console.replay_session import ReplaySession

    path = live.config.store.path
    walked = ReplaySession(path, live.config)
    walked.open_batch("B0003")
    walked.open_batch("B0008")
    direct = ReplaySession(path, live.config)
    direct.open_batch("B0008")
    assert walked.markers == direct.markers
    cursor = direct.start + 123
    mine, theirs = walked.move_to(cursor), direct.move_to(cursor)
    assert [(c.name, c.mean, c.sd) for c in mine.columns] == [
        (c.name, c.mean, c.sd) for c in theirs.columns
    ]
