"""The fallback from the console's header, as a user does it: one click (or F9) on any view
switches to manual inspection and the header says FALLBACK; ending it asks why and is refused
to an operator, allowed to the control owner. A screenshot of the state goes to docs/."""

import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

from tests.test_window_people import WAIT, log_in, station, window, with_users  # noqa: E402,F401
from widgets import fallback as fallback_widget  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_header_fallback_from_any_view_and_back_by_role(qtbot, window, station, monkeypatch):  # noqa: F811
    with_users(station)
    log_in(qtbot, window, "olga", "1111")
    window.show_view("History")
    header = window.header
    qtbot.mouseClick(header.fallback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: header.health.value.text() == "FALLBACK", timeout=WAIT)
    assert header.fallback.text() == "End fallback (F12)"
    assert "FALLBACK ON" in window.status.text()
    if os.environ.get("SCREENSHOTS") == "1":
        window.grab().save(str(DOCS / "fallback.png"))
    monkeypatch.setattr(
        fallback_widget.QInputDialog, "getText", lambda *a, **k: ("model checked", True)
    )
    qtbot.mouseClick(header.fallback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not switched" in window.status.text(), timeout=WAIT)
    assert station.fallback is True  # an operator may stop, not restart
    window.lock("Locked.")
    log_in(qtbot, window, "admin", "9999")
    qtbot.mouseClick(header.fallback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: header.health.value.text() != "FALLBACK", timeout=WAIT)
    assert station.fallback is False


def test_one_click_exports_the_incident_record(qtbot, window, station):  # noqa: F811
    from pathlib import Path

    from console.actions import Escalate

    with_users(station)
    log_in(qtbot, window, "lead", "2222")
    incident = station.escalate(Escalate("lens fogged", "high", "x"))
    qtbot.keyClick(window, Qt.Key.Key_F10)
    view = window.incidents
    view.select(incident.id)
    button = next(b for b in view.findChildren(QPushButton) if b.text() == "Export record")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "record written" in view.result.text(), timeout=WAIT)
    folder = Path(station.store.path).parent / "evidence"
    assert (folder / f"{incident.id}.json").exists()
    assert (folder / f"{incident.id}.pdf").read_bytes().startswith(b"%PDF")


def open_window(qtbot, line):  # noqa: ANN001, ANN201
    from widgets.main_window import MainWindow

    win = MainWindow(line, beep=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    return win


def test_the_metrics_view_shows_the_week_from_the_store(qtbot, tmp_path):
    from console.config import load_config
    from console.runner import Station
    from tests.test_incident_record import seeded

    config, _, _, _ = seeded(tmp_path)
    line = Station(load_config(config), sources=False)
    line.start()
    win = open_window(qtbot, line)
    try:
        log_in(qtbot, win, "ann", "123456")
        win.show_view("Metrics")
        view = win.metrics
        qtbot.waitUntil(lambda: bool(view.metrics), timeout=WAIT)
        assert view.tiles["Fallback"].value.text() == "ON now"  # the seeded fallback is still on
        assert line.fallback and win.header.health.value.text() == "FALLBACK"  # after a restart
        assert "%" in view.tiles["Accuracy (labels, overrides)"].value.text()
        assert "Overrides by class" in view.detail.text()
        if os.environ.get("SCREENSHOTS") == "1":
            win.grab().save(str(DOCS / "metrics.png"))
    finally:
        win.close()
        line.stop()


def test_a_rule_recommends_the_fallback_on_every_screen_and_the_lock_screen(qtbot, tmp_path):
    from dataclasses import replace

    from console.config import Fallback, FallbackRule, demo_config
    from console.runner import Station
    from tests.test_fallback import urgent_drift_alarm
    from tests.test_window_people import Clock, tap_pin

    rule = FallbackRule(priority="high", unacknowledged_minutes=10.0)
    config = replace(demo_config(), fallback=Fallback(rule=(rule,)))
    line = Station(config, store_path=str(tmp_path / "s.db"), sources=False, clock=Clock())
    line.start()
    win = open_window(qtbot, line)
    try:
        with_users(line)
        line.people.idle_lock_seconds = 3600.0  # the clock jumps 11 min: stay logged in
        log_in(qtbot, win, "olga", "1111")
        alarm, raised = urgent_drift_alarm(line)
        line.clock.now = raised + 11 * 60
        qtbot.waitUntil(lambda: win.advice.isVisible(), timeout=WAIT)
        text = win.advice.reason.text()
        assert text.startswith("FALLBACK RECOMMENDED") and alarm in text
        assert win.advice.button.minimumHeight() >= 48 and not line.fallback
        for view in ("Live", "History", "Incidents"):
            win.show_view(view)
            assert win.advice.isVisible()
        if os.environ.get("SCREENSHOTS") == "1":
            win.grab().save(str(DOCS / "fallback-recommended.png"))
        qtbot.mouseClick(win.header.lock, Qt.MouseButton.LeftButton)
        screen = win.login_screen
        qtbot.waitUntil(lambda: screen.advice.isVisible(), timeout=WAIT)
        assert alarm in screen.advice.reason.text()
        if os.environ.get("SCREENSHOTS") == "1":
            win.grab().save(str(DOCS / "fallback-recommended-lock.png"))
        screen.refresh()
        screen.user.setCurrentIndex(screen.user.findData("olga"))
        tap_pin(qtbot, win, "1111")
        qtbot.mouseClick(screen.advice.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: line.fallback, timeout=WAIT)
        qtbot.waitUntil(lambda: win.header.health.value.text() == "FALLBACK", timeout=WAIT)
        assert not win.advice.isVisible() and not screen.advice.isVisible()
        rows = [r for r in line.audit_trail(session=line.login("admin", "9999"))
                if r["action"] == "fallback"]  # fmt: skip
        assert [r["user_name"] for r in rows] == ["olga"]
    finally:
        win.close()
        line.stop()
