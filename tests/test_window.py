"""The console window against a real station and store: override, acknowledge, escalate, live
charts, driver errors. The station's engine thread runs; records go in through its intake."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from console.config import demo_config  # noqa: E402
from console.intake import SourceEvent  # noqa: E402
from console.runner import Station  # noqa: E402
from data import store as stored  # noqa: E402
from drivers.simulator import LineSimulator  # noqa: E402
from tests.window_helpers import shown_grid  # noqa: E402
from widgets.bridge import install_error_hooks  # noqa: E402
from widgets.main_window import MainWindow  # noqa: E402

WAIT = 60_000  # ms, room for a loaded machine (a wait ends as soon as its condition holds)


def feed(
    station: Station, parts: int, chunk: int = 200, simulator: LineSimulator | None = None
) -> LineSimulator:
    """Push demo-line records through the intake, as a source would."""
    simulator = simulator or LineSimulator("demo", parts_per_day=1000)
    for _ in range(parts // chunk):
        station.intake.put("camera", simulator.lines(chunk))
    return simulator


def has_drift_alarm(window: MainWindow) -> bool:
    """The window shows a mean-shift alarm on an input."""
    snapshot = window.snapshot
    return snapshot is not None and any(
        a.detector == "mean_shift" and a.source != "conf" for a in snapshot.alarms
    )


def shows_records(window: MainWindow, n: int) -> bool:
    """The window has drawn a snapshot with at least `n` records."""
    return window.snapshot is not None and window.snapshot.records >= n


@pytest.fixture
def window(qtbot, station):
    window = MainWindow(station, beep=False)
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def ui_errors(station: Station) -> list[str]:
    return [
        text
        for _at, kind, source, text in station.snapshot.events
        if kind == "error" and source == "ui"
    ]


def test_override_through_the_sheet_lands_in_the_store_with_user_and_reason(
    qtbot, window, station, tmp_path
):
    feed(station, 2400)
    qtbot.waitUntil(
        lambda: shows_records(window, 2400) and len(window.parts.shown_parts()) > 5, timeout=WAIT
    )
    window.parts.hold.click()
    parts = window.parts.shown_parts()
    row = next(i for i, p in enumerate(parts) if p.cls != "scratch")
    part = parts[row]
    view = window.parts.view
    # tap 1: the part
    qtbot.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.visualRect(view.model().index(row, 1)).center(),
    )
    sheet = window.override_sheet
    assert sheet.isVisible() and sheet.part == part
    # tap 2: the class; tap 3: the reason (saves)
    qtbot.mouseClick(sheet.class_buttons["scratch"], Qt.MouseButton.LeftButton)
    sheet.note.setText("seen on the bench")
    assert "Saved" not in sheet.result.text()
    qtbot.mouseClick(sheet.reason_buttons["missed_defect"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Saved" in sheet.result.text(), timeout=WAIT)
    rows = stored.overrides(tmp_path / "s.db")
    assert len(rows) == 1
    saved = rows[0]
    assert (saved["part"], saved["old_class"], saved["new_class"]) == (
        part.part,
        part.cls,
        "scratch",
    )
    assert (saved["reason"], saved["user_name"], saved["role"], saved["note"]) == (
        "missed_defect",
        "operator",
        "operator",
        "seen on the bench",
    )
    assert f"#{saved['seq']}" in sheet.result.text()
    qtbot.waitUntil(lambda: window.snapshot.overrides_last_hour == 1, timeout=WAIT)
    assert window.header.overrides.value.text() == "1"
    assert not ui_errors(station)


def test_a_refused_override_shows_its_reason_inline_and_nothing_blocks(qtbot, tmp_path):
    station = Station(demo_config(), store_path="", sources=False)  # no store: refused
    station.first_admin("admin", "9999")
    station.start()
    try:
        window = MainWindow(station, beep=False)
        qtbot.addWidget(window)
        window.show()
        feed(station, 400)
        qtbot.waitUntil(
            lambda: shows_records(window, 400) and bool(window.parts.shown_parts()), timeout=WAIT
        )
        window.parts.hold.click()
        window.parts.view.selectRow(0)
        qtbot.keyClick(window, Qt.Key.Key_F2)
        sheet = window.override_sheet
        assert sheet.isVisible() and sheet.part == window.parts.shown_parts()[0]
        other = next(c for c in sheet.class_buttons if c != sheet.part.cls)
        sheet.class_buttons[other].click()
        sheet.reason_buttons["misclassified"].click()
        qtbot.waitUntil(lambda: "Not saved" in sheet.result.text(), timeout=WAIT)
        assert "no store" in sheet.result.text()
        before = window.refreshes
        feed(station, 200)
        qtbot.waitUntil(lambda: window.refreshes > before, timeout=WAIT)  # the window kept drawing
        window.close()
    finally:
        station.stop()


def test_acknowledge_changes_the_alarm_state_and_journals_it(qtbot, window, station, tmp_path):
    feed(station, 4000)
    qtbot.waitUntil(lambda: has_drift_alarm(window), timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_F7)
    alarms = window.alarms
    assert alarms.isVisible()
    target = next(a for a in window.snapshot.alarms if a.detector == "mean_shift")
    alarms.table.selectRow(alarms.model.row_of(target.id))
    station.login("shift_lead", "2222")  # a user switch
    qtbot.keyClick(window, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: "Acknowledged" in alarms.result.text(), timeout=WAIT)
    now = next(a for a in station.refresh().alarms if a.id == target.id)
    assert now.state == "acknowledged" and now.acknowledged_by == "shift_lead"
    journal = [r for r in stored.alarm_journal(tmp_path / "s.db") if r["alarm"] == target.id]
    assert [r["state"] for r in journal][-1] == "acknowledged"
    assert journal[-1]["user_name"] == "shift_lead"
    qtbot.waitUntil(
        lambda: alarms.model.rows[alarms.model.row_of(target.id)][1] == "active, ack.", timeout=WAIT
    )


def test_escalate_creates_an_incident_with_its_snapshot(qtbot, window, station, tmp_path):
    feed(station, 4000)
    qtbot.waitUntil(lambda: has_drift_alarm(window), timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_F3)
    sheet = window.escalate_sheet
    assert sheet.isVisible()
    qtbot.mouseClick(sheet.protocol_button, Qt.MouseButton.LeftButton)  # the protocol, one tap away
    assert sheet.protocol.isVisible() and "Model owner" in sheet.protocol.toPlainText()
    sheet.summary.setText("Images darker than usual")
    qtbot.mouseClick(sheet.severity_buttons["high"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(sheet.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sheet.incident is not None, timeout=WAIT)
    incident = sheet.incident
    assert incident.id in sheet.result.text() and incident.owner in sheet.result.text()
    assert incident.role == "model_owner"
    rows = stored.incidents(tmp_path / "s.db")
    assert [r["incident"] for r in rows] == [incident.id]
    import json

    frozen = json.loads(rows[0]["snapshot"])
    assert "brightness" in frozen["snapshot"]["drift"]
    assert any(a["alarm"].startswith("mean_shift:") for a in frozen["snapshot"]["alarms"])
    qtbot.keyClick(window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: window.alarms.incidents.row_of(incident.id) == 0, timeout=WAIT)


def test_the_live_charts_show_the_engines_data(qtbot, window, station):
    feed(station, 2600)
    qtbot.waitUntil(lambda: shows_records(window, 2600) and window.grid.complete, timeout=WAIT)
    window.pump.stop()  # hold the picture still while comparing
    snapshot = window.snapshot
    assert snapshot.columns and set(window.grid.charts) == {c.name for c in snapshot.columns}
    for column in snapshot.columns:
        chart = window.grid.charts[column.name]
        x, y = chart.live_curve.getData()
        np.testing.assert_array_equal(y, column.live)
        np.testing.assert_array_equal(x, column.edges)
        np.testing.assert_array_equal(chart.reference_curve.getData()[1], column.reference)
    assert window.header.health.value.text() in ("OK", "watch", "DRIFT")
    window.open_detail("brightness")
    qtbot.waitUntil(
        lambda: window.detail.name == "brightness" and "brightness" in window.detail.title.text(),
        timeout=WAIT,
    )
    assert not ui_errors(station)


def test_learning_shows_progress_in_the_header(qtbot, window, station):
    feed(station, 1000)
    qtbot.waitUntil(lambda: shows_records(window, 1000), timeout=WAIT)
    assert window.header.health.value.text() == "Learning 50 %"
    assert "Learning reference 50 %" in window.grid.learning.text()


def test_a_driver_error_shows_as_an_event_and_the_window_keeps_running(qtbot, window, station):
    feed(station, 2200)
    qtbot.waitUntil(lambda: shows_records(window, 2200), timeout=WAIT)
    station.intake.event(SourceEvent(source="cam", kind="disconnected", detail="test"))
    qtbot.waitUntil(
        lambda: "cam" in window.status.text() and "disconnected" in window.status.text(),
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: window.alarms.model.row_of("source:cam") >= 0, timeout=WAIT)
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(
        lambda: any("disconnected: test" in t for t in window.events.texts()), timeout=WAIT
    )
    records = window.snapshot.records
    feed(station, 400)
    qtbot.waitUntil(lambda: shows_records(window, records + 400), timeout=WAIT)
    assert window.isVisible()


def test_an_exception_in_any_thread_becomes_an_event(qtbot, station):
    restore = install_error_hooks(station)
    try:

        def boom() -> None:
            raise RuntimeError("lamp driver crashed")

        thread = threading.Thread(target=boom, name="lamp")
        thread.start()
        thread.join()
    finally:
        restore()
    events = station.refresh().events
    assert any(
        kind == "error" and source == "lamp" and "lamp driver crashed" in text
        for _at, kind, source, text in events
    )


def test_a_new_high_alarm_shows_a_dismissable_banner(qtbot, window, station):
    feed(station, 2200)
    qtbot.waitUntil(lambda: shows_records(window, 2200), timeout=WAIT)
    assert not window.banner.isVisible()
    station.engine.alarms.trip(
        "source",
        "plc",
        value=1.0,
        priority="high",
        seq=0,
        ts="2026-03-02T06:00:00Z",
        message="PLC link lost",
    )
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT)
    assert "HIGH" in window.banner.text.text() and "PLC link lost" in window.banner.text.text()
    window.banner.findChildren(type(window.override_sheet.close_button))[-1].click()  # Dismiss
    assert not window.banner.isVisible()


def test_a_new_chart_takes_its_own_cell_and_never_resizes_the_ones_built_before(qtbot):
    """The charts appear one per turn of the event loop; each one's grid cell is held from the
    first turn, so a chart is laid out once and later charts do not resize (and repaint) it."""
    from console.engine import Engine
    from console.snapshot import take

    engine = Engine(demo_config())
    engine.feed_lines(LineSimulator("demo", parts_per_day=1000).lines(2600))
    snapshot = take(engine)
    grid = shown_grid(qtbot, 1600, 900)
    grid.show_snapshot(snapshot)
    first = snapshot.columns[0].name
    sizes: list = []
    while not grid.complete:
        qtbot.wait(1)  # one turn of the loop: the next chart is built
        if first in grid.charts:
            sizes.append(grid.charts[first].geometry().getRect())
    qtbot.wait(50)
    sizes.append(grid.charts[first].geometry().getRect())
    assert len(grid.charts) == len(snapshot.columns) > 8
    assert len(set(sizes)) == 1, sizes
