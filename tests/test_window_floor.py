"""What went wrong on a real floor (issue 13), driven with real key events against a real
station and store: F2 opens the part that was picked, F4 acts on the view on screen, focus stays
in an open sheet, and an override stays findable (and correctable) after its part has gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from console.actions import Override  # noqa: E402
from console.runner import CommandRefused, Station  # noqa: E402
from data import store as stored  # noqa: E402
from drivers.simulator import LineSimulator  # noqa: E402
from widgets.main_window import MainWindow, fit_to_screen, take_focus  # noqa: E402

WAIT = 60_000  # ms, room for a loaded machine


@pytest.fixture
def window(qtbot, station):
    window = MainWindow(station, beep=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    take_focus(window)
    yield window
    window.close()


@pytest.fixture
def line():
    return LineSimulator("demo", parts_per_day=1000)


def feed(station: Station, line: LineSimulator, parts: int, chunk: int = 100) -> None:
    for _ in range(max(parts // chunk, 1)):
        station.intake.put("camera", line.lines(min(chunk, parts)))


def drawn(window: MainWindow, records: int) -> bool:
    return window.snapshot is not None and window.snapshot.records >= records


def press(qtbot, key: Qt.Key, text_widget: QWidget | None = None) -> None:
    """A real key press where the keyboard focus is (as a person would type it)."""
    target = text_widget or QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, key)


def selected_part_id(window: MainWindow) -> str | None:
    rows = window.parts.view.selectionModel().selectedRows()
    return window.parts.model.items[rows[0].row()].part if rows else None


# --- 1. F2 opens the part that was picked -----------------------------------------------------


def test_f2_opens_the_picked_part_after_new_parts_push_the_rows_down(qtbot, window, station, line):
    feed(station, line, 600)
    qtbot.waitUntil(lambda: drawn(window, 600), timeout=WAIT)
    picked = window.parts.shown_parts()[3]
    window.parts.view.selectRow(3)
    feed(station, line, 50)  # new parts arrive; rows move down
    qtbot.waitUntil(lambda: drawn(window, 650), timeout=WAIT)
    assert window.parts.shown_parts()[3] != picked  # the row now holds another part
    assert selected_part_id(window) == picked.part  # the selection followed the part
    press(qtbot, Qt.Key.Key_F2, window)
    sheet = window.override_sheet
    assert sheet.isVisible() and sheet.part is not None
    assert sheet.part.part == picked.part
    assert f"Part {picked.part}" in sheet.part_text.text()


def test_f2_asks_which_part_when_the_picked_one_has_left_the_list(qtbot, window, station, line):
    feed(station, line, 600)
    qtbot.waitUntil(lambda: drawn(window, 600), timeout=WAIT)
    window.parts.view.selectRow(50)
    picked = window.parts.current_part()
    feed(station, line, 100)  # 100 new parts: the 60-part list no longer holds it
    qtbot.waitUntil(lambda: drawn(window, 700), timeout=WAIT)
    assert window.parts.current_part() is None and selected_part_id(window) is None
    assert f"Part {picked.part} left the list" in window.status.text()
    press(qtbot, Qt.Key.Key_F2, window)
    sheet = window.override_sheet
    assert sheet.isVisible() and sheet.part is None
    assert "Which part?" in sheet.part_text.text()
    assert QApplication.focusWidget() is sheet.part_id  # ready to type or scan
    wanted = window.parts.shown_parts()[5]
    qtbot.keyClicks(sheet.part_id, wanted.part)
    press(qtbot, Qt.Key.Key_Return)
    assert sheet.part == wanted
    assert all(b.isEnabled() for n, b in sheet.class_buttons.items() if n != wanted.cls)


# --- 2. F4 acts on what is on screen and says so ----------------------------------------------


def trip(station: Station, source: str, priority: str) -> None:
    station.engine.alarms.trip(
        "source", source, value=1.0, priority=priority, seq=0, ts="2026-03-02T06:00:00Z",
        message=f"{source} link lost",
    )  # fmt: skip


def test_f4_in_live_acknowledges_what_waits_not_the_hidden_alarms_selection(
    qtbot, window, station, line
):
    feed(station, line, 300)
    trip(station, "plc", "high")
    trip(station, "lamp", "medium")
    qtbot.waitUntil(lambda: window.alarms.model.row_of("source:lamp") >= 0, timeout=WAIT)
    station.login("shift_lead", "2222")  # a user switch: operators may not acknowledge
    press(qtbot, Qt.Key.Key_F7, window)
    window.alarms.table.selectRow(window.alarms.model.row_of("source:plc"))
    press(qtbot, Qt.Key.Key_F4, window)
    qtbot.waitUntil(lambda: "Acknowledged source:plc" in window.status.text(), timeout=WAIT)
    assert window.alarms.selected_alarm() == "source:plc"  # still selected, now hidden:
    press(qtbot, Qt.Key.Key_F5, window)
    press(qtbot, Qt.Key.Key_F4, window)
    assert "source:lamp" in window.status.text()  # says at once what it acts on
    qtbot.waitUntil(lambda: "Acknowledged source:lamp" in window.status.text(), timeout=WAIT)
    states = {a.id: a.state for a in station.refresh().alarms}
    assert states["source:lamp"] == "acknowledged"
    # a system event right after does not wipe the note the operator is reading
    station.engine.note_system("disconnected", "cam", "test")
    qtbot.waitUntil(
        lambda: any(e[2] == "cam" for e in window.snapshot.events) and window.refreshes > 0,
        timeout=WAIT,
    )
    feed(station, line, 100)
    qtbot.waitUntil(lambda: drawn(window, 400), timeout=WAIT)
    assert "Acknowledged source:lamp" in window.status.text()


def test_f4_with_nothing_waiting_says_so(qtbot, window, station, line):
    feed(station, line, 200)
    qtbot.waitUntil(lambda: drawn(window, 200), timeout=WAIT)
    # and the header does not count rows "to sync" when no sync is configured: the plant sync's
    # own tile says so (issue 11), the store's says only how the store is
    assert "to sync" not in window.header.store.caption.text()
    assert window.header.sync.value.text() == "no sync configured"
    press(qtbot, Qt.Key.Key_F4, window)
    assert "Nothing to acknowledge" in window.status.text()


# --- 3. focus stays in an open sheet ----------------------------------------------------------


def test_tab_cycles_inside_the_override_sheet_and_hold_cannot_be_toggled_behind_it(
    qtbot, window, station, line
):
    feed(station, line, 300)
    qtbot.waitUntil(lambda: drawn(window, 300), timeout=WAIT)
    window.parts.view.selectRow(0)
    part = window.parts.current_part()
    press(qtbot, Qt.Key.Key_F2, window)
    sheet = window.override_sheet
    focused = QApplication.focusWidget()
    assert sheet.isAncestorOf(focused), "focus did not enter the sheet"
    assert focused in sheet.class_buttons.values()
    assert not window.parts.hold.isEnabled()  # the view behind is out of reach
    seen = set()
    for _ in range(40):
        press(qtbot, Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        assert sheet.isAncestorOf(focused), f"Tab left the sheet for {focused!r}"
        seen.add(focused)
    other = next(n for n in sheet.class_buttons if n != part.cls)
    assert {sheet.class_buttons[other], sheet.note, sheet.close_button} <= seen
    for _ in range(3):
        press(qtbot, Qt.Key.Key_Backtab)
        assert sheet.isAncestorOf(QApplication.focusWidget())
    # pick a class with the keyboard, then the reasons are reachable too
    sheet.class_buttons[other].setFocus()
    press(qtbot, Qt.Key.Key_Space)
    assert sheet.new_class == other
    reached = set()
    for _ in range(40):
        press(qtbot, Qt.Key.Key_Tab)
        reached.add(QApplication.focusWidget())
    assert set(sheet.reason_buttons.values()) <= reached
    hold_before = window.parts.hold.isChecked()
    press(qtbot, Qt.Key.Key_Space)  # whatever has focus, it is in the sheet
    assert window.parts.hold.isChecked() == hold_before
    press(qtbot, Qt.Key.Key_Escape)
    assert not sheet.isVisible()
    assert window.parts.hold.isEnabled()
    assert not sheet.isAncestorOf(QApplication.focusWidget())


def test_escalate_sheet_takes_focus_and_every_button_is_reachable(qtbot, window, station, line):
    feed(station, line, 200)
    qtbot.waitUntil(lambda: drawn(window, 200), timeout=WAIT)
    press(qtbot, Qt.Key.Key_F3, window)
    sheet = window.escalate_sheet
    assert QApplication.focusWidget() is sheet.summary  # ready to say what is wrong
    reached = set()
    for _ in range(40):
        press(qtbot, Qt.Key.Key_Tab)
        assert sheet.isAncestorOf(QApplication.focusWidget())
        reached.add(QApplication.focusWidget())
    assert set(sheet.severity_buttons.values()) <= reached
    assert {sheet.protocol_button, sheet.close_button} <= reached
    press(qtbot, Qt.Key.Key_Escape)
    assert not sheet.isVisible()


# --- 4. an override stays findable and can be corrected ---------------------------------------


def save_override(qtbot, window: MainWindow, new_class: str, reason: str) -> None:
    sheet = window.override_sheet
    sheet.class_buttons[new_class].click()
    sheet.reason_buttons[reason].click()
    qtbot.waitUntil(lambda: "Saved" in sheet.result.text(), timeout=WAIT)


def test_an_override_is_marked_found_afterwards_and_corrected(
    qtbot, window, station, line, tmp_path
):
    feed(station, line, 300)
    qtbot.waitUntil(lambda: drawn(window, 300), timeout=WAIT)
    window.parts.hold.click()  # frozen while picking
    part = next(p for p in window.parts.shown_parts() if p.cls == "ok")
    window.parts.select_part(part.part)
    press(qtbot, Qt.Key.Key_F2, window)
    save_override(qtbot, window, "stain", "missed_defect")
    # marked in the held list at once
    row = window.parts.model.row_of(part.part)
    assert window.parts.model.rows[row][2] == "ok → stain ✎"
    press(qtbot, Qt.Key.Key_Escape)
    window.parts.hold.click()
    feed(station, line, 100)  # the part leaves the 60-part list
    qtbot.waitUntil(lambda: window.parts.model.row_of(part.part) < 0, timeout=WAIT)
    press(qtbot, Qt.Key.Key_F8, window)
    listed = window.overrides
    assert listed.isVisible()
    assert listed.model.rows[0][1] == part.part and listed.model.rows[0][2] == "ok → stain"
    qtbot.waitUntil(
        lambda: any(part.part in t and "override" in t for t in window.events.texts()),
        timeout=WAIT,
    )
    qtbot.keyClicks(listed.search, part.part[-5:])
    assert [r[1] for r in listed.model.rows] == [part.part]
    qtbot.keyClicks(listed.search, "X")
    assert listed.model.rows == ()
    listed.search.clear()
    # a correction: a new override of the override, through the same store path
    listed.table.selectRow(0)
    qtbot.mouseClick(listed.correct, Qt.MouseButton.LeftButton)
    sheet = window.override_sheet
    assert sheet.isVisible() and sheet.part.part == part.part
    assert sheet.current_class == "stain" and not sheet.class_buttons["stain"].isEnabled()
    save_override(qtbot, window, "scratch", "misclassified")
    rows = [r for r in stored.overrides(tmp_path / "s.db") if r["part"] == part.part]
    assert [(r["old_class"], r["new_class"]) for r in rows] == [
        ("ok", "stain"),
        ("stain", "scratch"),
    ]
    assert [r[2] for r in listed.model.rows[:2]] == ["stain → scratch", "ok → stain"]


def test_a_reason_that_does_not_fit_the_new_class_is_refused_on_screen(
    qtbot, window, station, line, tmp_path
):
    feed(station, line, 300)
    qtbot.waitUntil(lambda: drawn(window, 300), timeout=WAIT)
    window.parts.hold.click()
    part = next(p for p in window.parts.shown_parts() if p.cls == "ok")
    window.parts.select_part(part.part)
    press(qtbot, Qt.Key.Key_F2, window)
    sheet = window.override_sheet
    sheet.class_buttons["dent"].click()
    sheet.reason_buttons["not_a_defect"].click()
    qtbot.waitUntil(lambda: "Not saved" in sheet.result.text(), timeout=WAIT)
    assert "'not a defect' does not fit dent" in sheet.result.text()
    assert stored.overrides(tmp_path / "s.db") == []


@pytest.mark.parametrize(
    ("old", "new", "reason", "refused"),
    [
        ("ok", "dent", "not_a_defect", "'not a defect' does not fit dent"),
        ("scratch", "ok", "missed_defect", "'missed defect' does not fit ok"),
        ("scratch", "ok", "not_a_defect", None),
        ("ok", "dent", "missed_defect", None),
    ],
)
def test_the_station_checks_that_the_reason_fits_the_new_class(station, old, new, reason, refused):
    command = Override(part="P1", old_class=old, new_class=new, reason=reason, user="op")
    if refused is None:
        assert station.override(command) > 0
    else:
        with pytest.raises(CommandRefused, match=refused):
            station.override(command)


# --- the window on the station's screen -------------------------------------------------------


@pytest.mark.parametrize("size", [(1280, 800), (1024, 600), (1920, 1080)])
def test_the_window_fits_the_available_screen(qtbot, station, size):
    window = MainWindow(station, beep=False, start_pump=False)
    qtbot.addWidget(window)
    available = QRect(0, 24, size[0], size[1] - 24)  # a panel takes the top
    fit_to_screen(window, available)
    qtbot.waitExposed(window)
    frame = window.geometry()
    assert frame.width() <= available.width() and frame.height() <= available.height()
    window.close()


def test_fullscreen_for_kiosks_and_keys_work_without_a_click(qtbot, station):
    window = MainWindow(station, beep=False, start_pump=False)
    qtbot.addWidget(window)
    fit_to_screen(window, QRect(0, 0, 1280, 800), fullscreen=True)
    take_focus(window)
    qtbot.waitExposed(window)
    assert window.isFullScreen()
    assert QApplication.focusWidget() is not None
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F7)
    assert window.visible_page() is window.alarms
    window.close()


def test_each_demo_run_has_a_store_of_its_own():
    from widgets.main_window import demo_store_path

    first = Path(demo_store_path())
    first.write_bytes(b"another demo's store, still being written")
    second = Path(demo_store_path())
    try:
        assert second.parent != first.parent
        assert first.read_bytes() == b"another demo's store, still being written"  # untouched
    finally:
        shutil.rmtree(first.parent)
        shutil.rmtree(second.parent)
