"""The people screens driven like a user would: first start, PIN pad, badge, lock and idle lock,
acknowledge with a comment, shelve with a signature, incident transitions and an escalation by
the clock showing up on screen. A real station (engine thread, store) with an injected clock."""

import os
import time

import pytest

pytest.importorskip("pytestqt")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from console.actions import Escalate  # noqa: E402
from console.config import demo_config  # noqa: E402
from console.runner import Station  # noqa: E402
from data import audit, store  # noqa: E402
from widgets.main_window import MainWindow  # noqa: E402

WAIT = 60_000  # ms, room for a loaded machine (a wait ends as soon as its condition holds)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def station(tmp_path):
    station = Station(
        demo_config(), store_path=str(tmp_path / "s.db"), sources=False, clock=Clock()
    )
    station.start()
    yield station
    station.stop()


@pytest.fixture
def window(qtbot, station):
    window = MainWindow(station, beep=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    yield window
    window.close()


def tap_pin(qtbot, window, pin: str) -> None:
    for digit in pin:
        qtbot.mouseClick(window.login_screen.keys[digit], Qt.MouseButton.LeftButton)


def with_users(station: Station) -> None:
    station.first_admin("admin", "9999")
    station.add_user("lead", "shift_lead", "2222", badge="BADGE-7")
    station.add_user("olga", "operator", "1111")
    station.lock()


def log_in(qtbot, window, name: str, pin: str) -> None:
    screen = window.login_screen
    qtbot.waitUntil(lambda: window.screens.currentWidget() is screen, timeout=WAIT)
    screen.refresh()
    screen.user.setCurrentIndex(screen.user.findData(name))
    tap_pin(qtbot, window, pin)
    qtbot.mouseClick(screen.keys["Log in"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.screens.currentWidget() is window.console, timeout=WAIT)


def test_first_start_asks_for_the_admin_then_opens_the_console(qtbot, window, station):
    screen = window.login_screen
    assert window.screens.currentWidget() is screen and "First start" in screen.title.text()
    qtbot.keyClicks(screen.new_name, "ada")
    tap_pin(qtbot, window, "4821")
    screen.pin_again.setFocus()
    tap_pin(qtbot, window, "4821")
    qtbot.mouseClick(screen.keys["Log in"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.screens.currentWidget() is window.console, timeout=WAIT)
    assert window.header.user.text() == "ada (admin)"
    assert all(b.minimumHeight() >= 48 for b in screen.keys.values())


def test_wrong_pin_refused_inline_lock_button_and_idle_lock(qtbot, window, station):
    with_users(station)
    screen = window.login_screen
    qtbot.waitUntil(lambda: window.screens.currentWidget() is screen, timeout=WAIT)
    screen.refresh()
    screen.user.setCurrentIndex(screen.user.findData("olga"))
    tap_pin(qtbot, window, "0000")
    qtbot.mouseClick(screen.keys["Log in"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not logged in" in screen.message.text(), timeout=WAIT)
    station.clock.now += 2  # the wait a wrong PIN costs
    log_in(qtbot, window, "olga", "1111")
    assert window.header.user.text() == "olga (operator)"
    qtbot.mouseClick(window.header.lock, Qt.MouseButton.LeftButton)
    assert window.screens.currentWidget() is screen and station.session is None
    log_in(qtbot, window, "lead", "2222")  # a user switch is a login
    station.clock.now += 301
    window.check_idle()
    assert window.screens.currentWidget() is screen
    assert "Locked after 5 min" in screen.hint.text()
    actions = [t["action"] for t in reversed(audit.trail(station.store.path))]
    assert actions.count("login") >= 3 and "login_failed" in actions and "lock" in actions


def test_a_touch_on_the_window_keeps_the_session_and_none_lets_it_lock(qtbot, window, station):
    """The idle lock counts presses and keys as the native window receives them (what a finger,
    a mouse or a keyboard sends), not every internal event of the application."""
    from PySide6.QtTest import QTest

    with_users(station)
    log_in(qtbot, window, "olga", "1111")
    qtbot.waitUntil(lambda: window.windowHandle() is not None, timeout=WAIT)
    station.clock.now += 200
    QTest.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton)  # a tap, 200 s in
    station.clock.now += 200  # 400 s after the login, 200 s after the tap
    window.check_idle()
    assert window.screens.currentWidget() is window.console
    assert window.header.user.text() == "olga (operator)"
    station.clock.now += 301  # no touch for more than the 5 min of the idle lock
    window.check_idle()
    assert window.screens.currentWidget() is window.login_screen


def test_badge_login(qtbot, window, station):
    with_users(station)
    screen = window.login_screen
    qtbot.waitUntil(lambda: window.screens.currentWidget() is screen, timeout=WAIT)
    screen.refresh()
    qtbot.keyClicks(screen.badge, "BADGE-7")
    qtbot.keyClick(screen.badge, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.screens.currentWidget() is window.console, timeout=WAIT)
    assert window.header.user.text() == "lead (shift lead)"


def raise_alarm(station: Station, source: str = "cam") -> str:
    event = station.engine.alarms.trip(
        "source", source, value=1, priority="high", seq=0, ts="", message="camera lost"
    )
    station.engine.emit(event)
    station.refresh()
    return event.alarm


def test_acknowledge_with_comment_and_shelve_with_signature(qtbot, window, station):
    with_users(station)
    log_in(qtbot, window, "lead", "2222")
    first, second = raise_alarm(station, "cam1"), raise_alarm(station, "cam2")
    qtbot.keyClick(window, Qt.Key.Key_F7)
    view = window.alarms
    qtbot.waitUntil(lambda: view.model.row_of(first) >= 0, timeout=WAIT)
    view.table.selectRow(view.model.row_of(first))
    qtbot.keyClicks(view.comment, "camera cable reseated")
    qtbot.keyClick(view.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Acknowledged" in view.result.text(), timeout=WAIT)
    journal = store.alarm_journal(station.store.path)
    assert (journal[-1]["state"], journal[-1]["user_name"], journal[-1]["note"]) == (
        "acknowledged", "lead", "camera cable reseated",
    )  # fmt: skip
    view.table.selectRow(view.model.row_of(second))
    form = view.shelve_form
    qtbot.keyClicks(form.reason, "camera being replaced")
    form.pick(60, "responsibility")
    qtbot.keyClicks(form.pin, "2222")
    qtbot.mouseClick(form.sign, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.hidden.row_of(second) >= 0, timeout=WAIT)
    qtbot.waitUntil(lambda: view.model.row_of(second) < 0, timeout=WAIT)
    entry = next(t for t in audit.trail(station.store.path) if t["action"] == "alarm_shelved")
    assert (entry["user_name"], entry["meaning"]) == ("lead", "responsibility")
    view.hidden_table.selectRow(view.hidden.row_of(second))
    qtbot.mouseClick(view.unshelve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of(second) >= 0, timeout=WAIT)


def test_an_operator_is_refused_shelving_on_screen(qtbot, window, station):
    with_users(station)
    log_in(qtbot, window, "olga", "1111")
    alarm = raise_alarm(station)
    qtbot.keyClick(window, Qt.Key.Key_F7)
    view = window.alarms
    qtbot.waitUntil(lambda: view.model.row_of(alarm) >= 0, timeout=WAIT)
    view.table.selectRow(view.model.row_of(alarm))
    qtbot.keyClicks(view.shelve_form.reason, "annoying")
    qtbot.keyClicks(view.shelve_form.pin, "1111")
    qtbot.mouseClick(view.shelve_form.sign, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "may not shelve alarms" in view.shelve_form.result.text(), timeout=WAIT)


def test_incident_transitions_and_escalation_by_the_clock_on_screen(qtbot, window, station):
    with_users(station)
    log_in(qtbot, window, "lead", "2222")
    late = station.escalate(Escalate("nobody answers", "urgent", "x", alarms=("stuck:focus",)))
    station.clock.now += 15 * 60 + 1  # past the urgent response time of level 1
    window.check_idle()  # the console locked itself meanwhile
    log_in(qtbot, window, "lead", "2222")
    qtbot.keyClick(window, Qt.Key.Key_F10)
    view = window.incidents
    view.select(late.id)
    qtbot.waitUntil(lambda: "level 2" in view.timer.text(), timeout=WAIT)
    assert "escalated to" in view.path.text()
    incident = station.escalate(Escalate("lens fogged", "high", "x"))
    view.select(incident.id)
    qtbot.keyClicks(view.note, "going to look")
    qtbot.mouseClick(view.buttons["acknowledge"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "acknowledge saved" in view.result.text(), timeout=WAIT)
    qtbot.mouseClick(view.buttons["mitigate"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "(mitigated)" in view.result.text(), timeout=WAIT)
    qtbot.keyClicks(view.pin, "2222")
    qtbot.mouseClick(view.buttons["close"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "(closed)" in view.result.text(), timeout=WAIT)
    assert "going to look" in view.notes.text()
    statuses = [
        r["status"] for r in store.incidents(station.store.path) if r["incident"] == incident.id
    ]
    assert statuses == ["open", "acknowledged", "mitigated", "closed"]


def test_admin_adds_a_user_and_the_audit_trail_is_shown_and_exported_by_role(
    qtbot, window, station, tmp_path
):
    with_users(station)
    log_in(qtbot, window, "admin", "9999")
    qtbot.keyClick(window, Qt.Key.Key_F11)
    page = window.people
    qtbot.keyClicks(page.name, "kim")
    page.role.setCurrentIndex(page.role.findData("quality_engineer"))
    qtbot.keyClicks(page.pin, "3333")
    page.add_user()
    qtbot.waitUntil(lambda: page.users.row_of("kim") >= 0, timeout=WAIT)
    assert page.audit.rows and page.audit.rows[0][4] == "user_add"
    page.export_path.setText(str(tmp_path / "audit.csv"))
    page.export()
    qtbot.waitUntil(lambda: "Anchor" in page.result.text(), timeout=WAIT)
    assert (tmp_path / "audit.csv").read_text().count("user_add") >= 1
    qtbot.mouseClick(window.header.lock, Qt.MouseButton.LeftButton)
    log_in(qtbot, window, "olga", "1111")
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert "may not read the audit trail" in page.audit_title.text() and not page.audit.rows
    qtbot.keyClicks(page.name, "eve")
    qtbot.keyClicks(page.pin, "4444")
    page.add_user()
    qtbot.waitUntil(lambda: "may not manage users" in page.result.text(), timeout=WAIT)


def test_the_fallback_is_reachable_from_the_lock_screen(qtbot, window, station):
    with_users(station)
    screen = window.login_screen
    qtbot.waitUntil(lambda: window.screens.currentWidget() is screen, timeout=WAIT)
    screen.refresh()
    screen.user.setCurrentIndex(screen.user.findData("olga"))
    tap_pin(qtbot, window, "1111")
    qtbot.mouseClick(screen.fallback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.screens.currentWidget() is window.console, timeout=WAIT)
    assert station.fallback is True
    entry = audit.trail(station.store.path, limit=1)[0]
    assert (entry["action"], entry["user_name"], entry["new"]["on"]) == ("fallback", "olga", True)
    assert entry["new"]["via"] == "instruction"  # no PLC on this station: people are told
