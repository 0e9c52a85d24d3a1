"""The Replay view, driven as a quality engineer would: pick a batch, scrub, play, click a
marker, compare, what-if; and the Replay tab of the console window. The store is made by the
real station on the demo line (widgets/replay_screenshots.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from console.runner import Station
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
    view.replay.play.setChecked(True)
    qtbot.waitUntil(lambda: view.session.cursor > start + 50, timeout=20000)
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
