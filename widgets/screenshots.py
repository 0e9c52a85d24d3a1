"""Screenshots of the main screens for docs/: `uv run python -m widgets.screenshots [--out docs]`.

Runs the real station on the built-in demo line (its simulator played faster, so the drift
alarms come within seconds), with a throw-away store, until mean-shift alarms exist; then drives
the real window offscreen through its screens (live, detail, alarms, an override saved through
the override sheet, F2 with no part selected asking for the part id, F4 on the Live view
acknowledging the most urgent alarm, a reason refused for not fitting the class, the
correction of an override, the recent overrides under Events, an escalation, the alarm history,
the incident detail, the lock screen) and saves each to PNG at 1920×1080, and again at 1280×800
with a `-1280x800` suffix. `inspect(window, name)`, when given, is called right after each
screen is saved, so a test can read the widgets that were drawn. Runs on the main thread; the
station runs its own threads.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from console.actions import Acknowledge
from console.config import Source, demo_config
from console.detectors.mean_shift import MEAN_SHIFT
from console.runner import Station
from widgets.main_window import MainWindow

SIZES = ((1920, 1080, ""), (1280, 800, "-1280x800"))


def wait_for(app: QApplication, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def demo_station(store_path: str, rate: float = 300.0) -> Station:
    """The demo line with its simulator at `rate` parts per second, and a store."""
    config = demo_config()
    config = dataclasses.replace(
        config, source=(Source(kind="simulator", name="camera", scenario="demo", rate=rate),)
    )
    station = Station(config, store_path=store_path)
    station.first_admin("Ada Admin", "4821")
    station.add_user("Sam Lead", "shift_lead", "2468")
    station.add_user("Olga Operator", "operator", "1357")
    station.login("Sam Lead", "2468")
    return station


def drifted(station: Station) -> bool:
    return (
        sum(a.detector == MEAN_SHIFT.name and a.source != "conf" for a in station.snapshot.alarms)
        >= 2
    )


Inspect = Callable[[MainWindow, str], None]


def render(
    out_dir: str | Path = "docs",
    sizes=SIZES,
    timeout: float = 120.0,
    inspect: Inspect | None = None,
) -> list[Path]:
    """Render the screens into `out_dir`; returns the files written."""
    app = QApplication.instance() or QApplication(sys.argv)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        station = demo_station(os.path.join(tmp, "screens.db"))
        station.start()
        try:
            wait_for(app, lambda: drifted(station), timeout, "the demo drift alarms")
            window = MainWindow(station, beep=False)
            for width, height, suffix in sizes:
                written += _screens(app, window, out, (width, height, suffix), inspect)
            window.close()
        finally:
            station.stop()
    return written


def _shot(
    app: QApplication, window: MainWindow, path: Path, inspect: Inspect | None = None
) -> Path:
    station = window.station
    station.refresh()
    wait_for(app, lambda: window.snapshot is station.snapshot, 5.0, "the window to draw")
    wait_for(app, lambda: window.grid.complete, 10.0, "every chart to be created")
    for _ in range(5):
        app.processEvents()
    window.grab().save(str(path))
    if inspect is not None:
        inspect(window, path.name)
    return path


def _screens(
    app: QApplication,
    window: MainWindow,
    out: Path,
    size: tuple[int, int, str],
    inspect: Inspect | None,
) -> list[Path]:
    width, height, suffix = size
    window.resize(width, height)
    window.show()
    written = []

    def shot(name: str) -> None:
        written.append(_shot(app, window, out / f"{name}{suffix}.png", inspect))

    window.show_view("Live")
    shot("overview-live")
    window.open_detail("brightness")
    shot("detail")
    window.show_view("Live")
    window.parts.hold.setChecked(True)
    part = next(p for p in window.parts.shown_parts() if p.cls == "ok")
    window.parts.select_part(part.part)
    window.open_override()
    sheet = window.override_sheet
    sheet.pick_class("dent")
    sheet.save("not_a_defect")
    wait_for(app, lambda: "Not saved" in sheet.result.text(), 10.0, "the refusal")
    shot("override-refused")
    sheet.pick_class("scratch")
    sheet.note.setText("scratch near the edge, visible under the lamp")
    sheet.save("missed_defect")
    wait_for(app, lambda: "Saved" in sheet.result.text(), 10.0, "the override to save")
    shot("override")
    sheet.close_sheet()
    window.parts.hold.setChecked(False)
    window.parts.view.clearSelection()
    window.open_override()  # F2 with nothing selected: which part?
    shot("override-ask")
    sheet.close_sheet()
    window.acknowledge()  # F4 on the Live view: the most urgent alarm waiting, said in words
    wait_for(app, lambda: not window.alarms.busy, 10.0, "the acknowledge to be saved")
    shot("acknowledge-live")
    window.show_view("Events")
    window.overrides.search.setText(part.part)
    shot("events-overrides")
    window.overrides.table.selectRow(0)
    window.overrides.correct.click()  # a correction: a new override of the override
    sheet.pick_class("stain")
    shot("override-correction")
    sheet.close_sheet()
    window.overrides.search.clear()
    window.open_escalate()
    window.escalate_sheet.summary.setText("Images darker than usual")
    window.escalate_sheet.pick_severity("high")
    window.escalate_sheet.send()
    window.escalate_sheet.protocol_button.setChecked(True)
    wait_for(app, lambda: window.escalate_sheet.incident is not None, 10.0, "the incident")
    shot("escalate")
    window.escalate_sheet.protocol_button.setChecked(False)
    window.show_view("Alarms")
    shot("alarms")
    _people_screens(window, suffix, shot)
    window.show_view("Live")
    return written


def _people_screens(window: MainWindow, suffix: str, shot: Callable[[str], None]) -> None:
    """Alarm history after an acknowledgement and a signed shelving, the incident detail, and
    the lock screen."""
    station = window.station
    waiting = [a for a in station.snapshot.alarms if a.state == "unacknowledged"]
    if waiting and not suffix:
        station.acknowledge(Acknowledge(waiting[0].id, "", note="lamp checked, drift confirmed"))
    if len(waiting) > 1 and not suffix:
        station.shelve(
            waiting[1].id, "known: lamp replacement at 14:00", 60, "2468", "responsibility"
        )
    window.show_view("History")
    shot("alarm-history")
    incident = window.escalate_sheet.incident
    if incident is not None and not suffix:
        station.move_incident(incident.id, "acknowledge", "lamp output down 8 %, spare ordered")
        station.note_incident(incident.id, "model owner informed by phone")
    if incident is not None:
        window.open_incident(incident.id)
    shot("incident-detail")
    window.lock("Locked.")
    shot("login")
    window.unlocked(station.login("Sam Lead", "2468"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the console's screens to PNG.")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for path in render(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
