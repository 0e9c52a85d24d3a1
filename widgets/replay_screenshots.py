"""Screenshots of the Replay view for docs/: `uv run python -m widgets.replay_screenshots`.

Runs the real station on the demo line (its simulator played fast) into a throw-away store until
the drift has been alarmed, saves an override of a part as a quality engineer would, stops the
line, then opens the store read-only in the Replay view offscreen and saves: the batch list, a
batch replayed with its timeline markers, Compare, What-if, and page 1 of the PDF batch report
rendered to PNG with pdftoppm (poppler-utils), an incident replayed from its first alarm, and File ›
Open store (the menu open, a file that is not a store answered). Main thread; the station runs its own threads.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication

from console.actions import Acknowledge, Escalate, Override
from console.config import Config, Source, Store, demo_config
from console.runner import Station
from data import replay as stored
from widgets.replay_window import ReplayWindow

DEMO_PARTS = 7000


def demo_store(path: str, parts: int = DEMO_PARTS, timeout: float = 120.0) -> tuple[Config, str]:
    """A store of the demo line's first `parts` parts, with one override and one incident
    (escalated on the first drift alarm, closed 1,500 parts later) once the drift is alarmed;
    returns the config (its `[store] path` set) and the overridden part."""
    config = demo_config()
    config = dataclasses.replace(
        config,
        source=(Source(kind="simulator", name="camera", scenario="demo", rate=3000.0),),
        store=Store(path=path),
    )
    raised: list[tuple[int, str]] = []
    station = Station(
        config,
        on_event=lambda e: raised.append((e.seq, e.alarm)) if e.event == "alarm_raised" else None,
    )
    station.first_admin("admin", "9999")
    station.add_user("q.engineer", "quality_engineer", "4321")
    station.start()
    part, incident = "", None
    deadline = time.monotonic() + timeout
    try:
        while (station.engine.accepted < parts or incident) and time.monotonic() < deadline:
            if not part and raised:
                # A quality engineer corrects a part just after the drift alarm, and escalates.
                part = f"P{raised[0][0] + 10:08d}"
                station.login("q.engineer", "4321")
                station.override(Override(part, "ok", "scratch", "misclassified",
                                          user="q.engineer", role="quality_engineer"))  # fmt: skip
                station.login("admin", "9999")
                incident = station.escalate(Escalate("inputs drifting: lens?", "high", "admin",
                                                     alarms=(raised[0][1],))).id  # fmt: skip
                station.acknowledge(Acknowledge(raised[0][1], "admin", note="lens checked"))
            if incident and station.engine.accepted > raised[0][0] + 1500:
                _close(station, incident)
                incident = None
            time.sleep(0.02)
    finally:
        station.stop()
    return config, part


def _close(station: Station, incident: str) -> None:
    """The incident worked through to closed, signed by the admin logged in."""
    station.move_incident(incident, "acknowledge", "looking at the lens")
    station.move_incident(incident, "mitigate", "lens cleaned")
    station.move_incident(incident, "close", "drift gone", pin="9999", meaning="approval")


def _settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def render(out_dir: str | Path = "docs") -> list[Path]:
    """Write the screenshots into `out_dir`; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as folder:
        config, _part = demo_store(str(Path(folder) / "line.db"))
        path = config.store.path
        window = ReplayWindow(path, config)
        window.resize(1920, 1080)
        window.show()
        view = window.view
        ranked = sorted(view.session.batches, key=lambda b: (not (b.alarms and b.overrides),
                                                             not b.alarms))  # fmt: skip
        batch = ranked[0].batch
        view.batches.view.selectRow(view.batches.model.row_of(batch))
        _settle(app)
        written.append(_grab(window, out / "replay-batches.png"))
        view.open_batch(batch)
        shown = [m.index for m in view.session.markers if m.kind in ("alarm_raised", "override")]
        view.replay.move_to(max(shown) + 3 if shown else view.session.end)
        _settle(app)
        written.append(_grab(window, out / "replay-markers.png"))
        view.tabs.setCurrentWidget(view.compare)
        before = [b.batch for b in view.session.batches if b.batch < batch]
        if before:
            view.compare.other.setCurrentText(before[0])
        view.compare.refresh()
        _settle(app)
        written.append(_grab(window, out / "replay-compare.png"))
        view.tabs.setCurrentWidget(view.what_if)
        view.what_if.settings.setText("detection.false_alarms_per_year=5")
        view.what_if.run_what_if()
        _settle(app)
        written.append(_grab(window, out / "replay-what-if.png"))
        written += _report_page(config, batch, out)
        view.open_incident(stored_incident(path))
        view.tabs.setCurrentWidget(view.replay)
        first = next((m.index for m in view.session.markers if m.kind == "alarm_raised"), 0)
        view.replay.move_to(first + 1)
        _settle(app)
        written.append(_grab(window, out / "replay-incident.png"))
        written.append(_open_store_shot(app, window, Path(folder), out / "replay-open-store.png"))
        window.close()
    return written


def stored_incident(path: str) -> str:
    from data.reading import incidents

    return str(incidents(path)[0]["incident"])


def _open_store_shot(app: QApplication, window: ReplayWindow, folder: Path, out: Path) -> Path:
    """File › Open store: the menu open over the window, whose header names the read-only store
    and answers a file that is not one."""
    stream = folder / "shift-3.jsonl"
    stream.write_text('{"ts":"2026-03-05T06:00:00Z","part":"P1"}\n')
    window.open_store(str(stream))
    menu = window.menuBar().actions()[0].menu()
    spot = window.menuBar().actionGeometry(window.menuBar().actions()[0]).bottomLeft()
    menu.popup(window.menuBar().mapToGlobal(spot))
    _settle(app)
    _charts_built(window)
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(menu.pos()), menu.grab())
    painter.end()
    menu.hide()
    shot.save(str(out))
    return out


def _charts_built(window) -> None:
    """Wait until every chart grid of the window has created all its charts (they are built one
    per turn of the event loop, widgets/live.py)."""
    from widgets.live import FeatureGrid

    app = QApplication.instance()
    end = time.monotonic() + 30.0
    while time.monotonic() < end and not all(
        grid.complete for grid in window.findChildren(FeatureGrid)
    ):
        app.processEvents()
        time.sleep(0.01)
    _settle(app, 0.2)


def _grab(window, path: Path) -> Path:
    _charts_built(window)
    window.grab().save(str(path))
    return path


def _report_page(config: Config, batch: str, out: Path) -> list[Path]:
    from widgets.report import write_batch_report

    pdf = out / "replay-report.pdf"
    write_batch_report(config.store.path, config, stored.Selection(batch=batch), str(pdf))
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found (apt-get install poppler-utils): PDF page not rendered")
        return [pdf]
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "2",
            str(pdf),
            str(out / "replay-report"),
        ],
        check=True,
    )
    return [pdf, *sorted(out.glob("replay-report-*.png"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs")
    for path in render(parser.parse_args().out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
