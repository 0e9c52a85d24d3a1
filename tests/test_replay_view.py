"""The Replay view, driven as a quality engineer would: pick a batch, scrub, play, click a
marker, compare, what-if; and the Replay tab of the console window. The store is made by the
real station on the demo line (widgets/replay_screenshots.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from console.runner import Station
from data import replay as stored
from data.reading import incidents as incidents_of
from widgets.main_window import MainWindow
from widgets.replay import ReplayView
from widgets.replay_screenshots import demo_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replay-view")
    return demo_store(str(folder / "line.db"))


@pytest.fixture
def view(qtbot, store):
    config, _ = store
    widget = ReplayView(config.store.path, config)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    return widget


def _alarmed(view: ReplayView) -> str:
    return next(b.batch for b in view.session.batches if b.alarms)


def test_the_batch_list_filters_by_alarm(view):
    everything = view.batches.model.rowCount()
    assert everything >= 10
    view.batches.filter.setText("mean_shift")
    shown = view.batches.model.items
    assert 0 < len(shown) < everything
    assert all(any(a.startswith("mean_shift") for a in b.alarm_ids) for b in shown)


def test_a_click_on_a_marker_jumps_there(view, qtbot):
    view.open_batch(_alarmed(view))
    marker = next(m for m in view.session.markers if m.kind == "alarm_raised")
    timeline = view.replay.timeline
    x = int(round(timeline.x_of(marker.index)))
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, 20))
    assert view.session.cursor == marker.index + 1
    assert view.replay.grid.charts, "the live charts are drawn at the cursor"
    assert any(alarm.id == f"{marker.label.split()[0]}" for alarm in view.session.snapshot().alarms)


def test_step_and_play_move_the_cursor_part_by_part(view, qtbot):
    view.open_batch(_alarmed(view))
    start = view.session.cursor
    qtbot.mouseClick(view.replay.forward, Qt.MouseButton.LeftButton)
    assert view.session.cursor == start + 1
    assert view.replay.parts.model.items[0].part == view.session.parts_at(start + 1)[0].part
    qtbot.mouseClick(view.replay.back, Qt.MouseButton.LeftButton)
    assert view.session.cursor == start
    view.replay.speed.setCurrentIndex(3)
    assert view.session.play_step(1000, 0.1) >= view.session.play_step(1, 0.1) >= 1
    view.replay.play.setChecked(True)
    # Playing moves the cursor tick by tick (how fast is for the benchmarks, not a test).
    qtbot.waitUntil(lambda: view.session.cursor > start + 3, timeout=60000)
    view.replay.play.setChecked(False)


def test_the_override_shows_on_its_part(store, view):
    config, part = store
    batch = next(b.batch for b in view.session.batches if b.overrides)
    view.open_batch(batch)
    marker = next(m for m in view.session.markers if m.kind == "override")
    view.replay.move_to(marker.index + 1)
    shown = view.replay.parts.model.items[0]
    assert shown.part == part and shown.overridden_to


def test_compare_and_what_if(view):
    view.open_batch(_alarmed(view))
    view.tabs.setCurrentWidget(view.compare)
    view.compare.other.setCurrentIndex(1)
    view.compare.refresh()
    comparison = view.compare.comparison
    assert comparison is not None and len(comparison.sides) == 2
    assert view.compare.scores.rowCount() == len(comparison.columns)
    view.tabs.setCurrentWidget(view.what_if)
    view.what_if.settings.setText("detection.false_alarms_per_year=5")
    view.what_if.run_what_if()
    assert view.what_if.result is not None
    assert "really at part" in view.what_if.verdict.text()
    view.what_if.settings.setText("window.parts=lots")
    view.what_if.run_what_if()
    assert "takes a number" in view.what_if.verdict.text()


def test_the_console_has_a_replay_tab_on_its_own_store(qtbot, store, tmp_path):
    config, _ = store
    station = Station(config, store_path=str(tmp_path / "live.db"), sources=False)
    try:
        window = MainWindow(station, start_pump=False, beep=False)
        qtbot.addWidget(window)
        window.show_view("Replay")
        assert window.stack.currentWidget() is window.replay_view
        assert window.replay_view.session.path == str(tmp_path / "live.db")
    finally:
        station.stop()


def test_an_incident_replays_from_its_first_alarm_to_its_close(view, qtbot):
    incidents = view.incidents.model
    # The demo's escalated incident, closed; a policy may open another one by itself (an alarm
    # left unacknowledged past its response time on a slow machine): pick the closed one.
    row = next(i for i in range(incidents.rowCount()) if incidents.rows[i][2] == "closed")
    qtbot.mouseClick(
        view.incidents.view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.incidents.view.visualRect(incidents.index(row, 0)).center(),
    )
    session = view.session
    assert session.batch is not None and session.batch.batch.startswith("incident ")
    first = next(m for m in session.markers if m.kind == "alarm_raised")
    margin = session.config.window.parts
    delivery = max(d.parts for d in stored.deliveries(session.path))
    assert margin <= first.index - session.start <= margin + delivery, (
        "the range opens a window before the alarm's delivery"
    )
    states = [m.label.split()[1] for m in session.markers if m.kind == "incident"]
    assert states[0] == "open"
    closed = next(
        r
        for r in incidents_of(session.path)
        if r["status"] == "closed" and r["incident"] == incidents.keys[row]
    )
    records = session.replayer.records
    assert records is not None
    assert records.seq[session.end - 1] < closed["seq"], "the range ends at the close..."
    assert session.end == len(records) or records.seq[session.end] > closed["seq"], "...exactly"
    assert (
        view.heading.text().startswith(f"Incident {incidents.keys[row]}:")
        and f"{session.parts:,} parts" in view.heading.text()
    )
    view.tabs.setCurrentWidget(view.compare)
    view.compare.refresh()
    assert view.compare.comparison is not None, view.compare.mix.text()


def test_replay_and_export_take_an_incident(store, tmp_path, capsys):
    import json

    from console.cli import build_parser
    from console.incident_replay import incident_range
    from console.replay_cli import run_export, run_replay
    from data.reading import incidents

    config, _ = store
    incident = incidents(config.store.path)[0]["incident"]
    found = incident_range(config.store.path, config, incident)
    args = build_parser().parse_args(["replay", "--incident", incident])
    assert run_replay(args, config) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    raised = [e for e in lines if e["event"] == "alarm_raised"]
    assert raised[0]["alarm"] == found.first_alarm
    delivery = max(d.parts for d in stored.deliveries(config.store.path))
    assert config.window.parts <= raised[0]["seq"] <= config.window.parts + delivery, (
        "seq counts the range's records, from a window before the alarm's delivery"
    )
    assert lines[-1]["records"] == found.summary.parts
    out = tmp_path / "incident.jsonl"
    args = build_parser().parse_args(
        ["export", "--incident", incident, "--format", "jsonl", "--out", str(out)]
    )
    assert run_export(args, config, None) == 0
    assert len(out.read_text().splitlines()) == found.summary.parts
    bad = build_parser().parse_args(["replay", "--incident", "INC-nope"])
    with pytest.raises(Exception, match="no incident 'INC-nope'"):
        run_replay(bad, config)


def test_the_incidents_view_replays_the_selected_incident(qtbot, store, tmp_path):
    import shutil

    config, _ = store
    live = tmp_path / "live.db"
    shutil.copy(config.store.path, live)
    incident = incidents_of(str(live))[0]["incident"]
    station = Station(config, store_path=str(live), sources=False)
    try:
        window = MainWindow(station, start_pump=False, beep=False)
        qtbot.addWidget(window)
        window.show_view("Incidents")
        window.incidents.select(incident)
        qtbot.mouseClick(window.incidents.replay, Qt.MouseButton.LeftButton)
        assert window.stack.currentWidget() is window.replay_view
        opened = window.replay_view.session.batch
        assert opened is not None and opened.batch == f"incident {incident}"
    finally:
        station.stop()


def test_the_timeline_marks_what_people_and_the_line_did(view):
    """Alarms, acknowledgements, overrides, escalations (incidents), reference changes and
    logins each have markers on the run the demo line stored."""
    view.open_incident(incidents_of(view.session.path)[0]["incident"])
    replayer = view.session.replayer
    assert replayer is not None and replayer.records is not None
    from console.timeline import timeline
    from data import replay as stored

    replayer.advance(len(replayer.records))
    marks = timeline(view.session.path, replayer.records, stored.deliveries(view.session.path, 1),
                     list(replayer.events))  # fmt: skip
    kinds = {m.kind for m in marks}
    for kind in ("alarm_raised", "acknowledged", "override", "incident", "reference", "login"):
        assert kind in kinds, kind
    ack = next(m for m in marks if m.kind == "acknowledged")
    assert ack.user == "admin" and "acknowledged by admin" in ack.label


def test_the_batch_list_filters_by_model_and_by_date(view):
    batches = view.session.batches
    model = batches[0].models[0]
    view.batches.filter.setText(model)
    assert len(view.batches.model.items) == len([b for b in batches if model in b.models])
    day = batches[-1].last_ts[:10]
    view.batches.filter.setText(day)
    shown = view.batches.model.items
    assert shown and all(day in (b.first_ts[:10], b.last_ts[:10]) for b in shown)
    view.batches.filter.setText("no-such-model-v9")
    assert view.batches.model.rowCount() == 0


def test_the_pdf_report_has_charts_alarms_overrides_and_audit_entries(store, tmp_path):
    import shutil
    import subprocess

    from data import replay as stored
    from widgets.report import write_batch_report

    config, part = store
    batch = next(b for b in stored.batches(config.store.path) if b.overrides and b.alarms)
    out = tmp_path / "report.pdf"
    write_batch_report(config.store.path, config, stored.Selection(batch=batch.batch), str(out))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    for heading in ("Inputs, part by part", "Alarms (as the line raised them",
                    "Overrides of these parts", "Alarm journal and audit entries"):  # fmt: skip
        assert heading in text, heading
    assert part in text and "q.engineer" in text
    assert "raised" in text
    images = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]  # fmt: skip
    assert len(images) >= len(config.station.features), "a chart per feature"
