"""After a restart the console shows what the store remembers: the Alarms view lists the alarms
that were active (not "0 active") and the open incident; the header shows no learning. A real
store written by a first station, a second station with its engine thread, the window offscreen."""

import os
from dataclasses import replace

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from console.actions import Escalate  # noqa: E402
from console.config import demo_config  # noqa: E402
from console.runner import Station  # noqa: E402
from drivers.simulator import LineSimulator, Scenario  # noqa: E402
from widgets.main_window import MainWindow  # noqa: E402

WAIT = 60_000  # ms, room for a loaded machine (a wait ends as soon as its condition holds)


def test_the_alarms_view_shows_the_alarms_and_incident_of_before_the_restart(qtbot, tmp_path):
    config = demo_config()
    config = replace(config, source=(), store=replace(config.store, path=str(tmp_path / "s.db")))
    lines = LineSimulator(Scenario.named("demo"), seed=1, parts_per_day=1000).lines(4500)
    first = Station(config, sources=False)
    for begin in range(0, len(lines), 250):
        first.engine.feed_lines(lines[begin : begin + 250])
    first.first_admin("admin", "9999")
    active = sorted(v.id for v in first.engine.alarms.views() if v.active)
    assert active
    incident = first.escalate(Escalate("drift on brightness", "high", "admin"))
    first.stop()

    station = Station(config, sources=False)
    station.start()
    window = MainWindow(station, beep=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    try:
        screen = window.login_screen
        qtbot.waitUntil(lambda: window.screens.currentWidget() is screen, timeout=WAIT)
        screen.refresh()
        screen.user.setCurrentIndex(screen.user.findData("admin"))
        for digit in "9999":
            qtbot.mouseClick(screen.keys[digit], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(screen.keys["Log in"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.screens.currentWidget() is window.console, timeout=WAIT)
        view = window.alarms
        qtbot.waitUntil(
            lambda: view.title.text().startswith(f"Alarms: {len(active)} active"), timeout=WAIT
        )
        assert sorted(view.model.keys) == sorted(v.id for v in station.snapshot.alarms) and set(
            active
        ) <= set(view.model.keys)
        assert incident.id in view.incidents.keys
        assert not station.snapshot.learning
    finally:
        window.close()
        station.stop()
