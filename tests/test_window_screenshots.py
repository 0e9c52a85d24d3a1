"""The screenshot command renders every main screen of the real window to PNG, and what is on
them is what an operator should read: the drift tiles framed in the drift colour with a badge in
plain words, the refusal of a reason that does not fit, the override found again under Events."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")

SCREENS = [
    "acknowledge-live.png",
    "alarm-history.png",
    "alarms.png",
    "detail.png",
    "escalate.png",
    "events-overrides.png",
    "incident-detail.png",
    "login.png",
    "override-ask.png",
    "override-correction.png",
    "override-refused.png",
    "override.png",
    "overview-live.png",
]
BADGE = re.compile(r"^\d+\.\d× its limit — (drifting|stepped) (up|down)( since \d\d:\d\d)?$")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_screenshots_render_every_main_screen_with_readable_content(qtbot, tmp_path):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QImage

    from widgets import theme
    from widgets.screenshots import render

    seen: dict[str, dict] = {}

    def inspect(window, name: str) -> None:
        if name == "overview-live.png":
            drifting = {n: c for n, c in window.grid.charts.items() if c.property("drift") is True}
            image = QImage(str(tmp_path / name))
            frames = {}
            for chart_name, chart in drifting.items():
                corner = chart.mapTo(window, QPoint(chart.width() // 2, 1))  # top border
                frames[chart_name] = QColor(image.pixel(corner)).name()
            seen[name] = {
                "badges": {n: c.badge.text() for n, c in drifting.items()},
                "states": {n: c.state.text() for n, c in drifting.items()},
                "frames": frames,
                "calm": [
                    c.badge.text() for c in window.grid.charts.values() if c.state.text() == ""
                ],
            }
        elif name == "alarms.png":
            table = window.alarms.table
            seen[name] = {
                "rows_visible": table.viewport().height()
                / table.verticalHeader().defaultSectionSize(),
                "tabs": [
                    window.alarms.lists.tabText(i) for i in range(window.alarms.lists.count())
                ],
            }
        elif name == "override-refused.png":
            seen[name] = {"result": window.override_sheet.result.text()}
        elif name == "acknowledge-live.png":
            seen[name] = {"status": window.status.text(), "view": window.windowTitle()}
        elif name == "override-ask.png":
            seen[name] = {"text": window.override_sheet.part_text.text()}
        elif name == "events-overrides.png":
            seen[name] = {
                "rows": window.overrides.model.rows,
                "events": window.events.texts(),
            }

    written = render(tmp_path, sizes=((1280, 800, ""),), inspect=inspect)
    assert sorted(p.name for p in written) == SCREENS
    for path in written:
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1280, 800)
    live = seen["overview-live.png"]
    assert {"brightness", "focus"} <= set(live["badges"])  # the demo's two drifting inputs
    for chart_name, text in live["badges"].items():
        assert BADGE.match(text), f"{chart_name}: {text!r} is not plain words"
        assert live["states"][chart_name] == "DRIFT"
        assert live["frames"][chart_name] == QColor(theme.DRIFT).name()
    assert all(t.startswith("normal (") for t in live["calm"])
    alarms = seen["alarms.png"]
    assert alarms["rows_visible"] >= 4, alarms  # a short screen still shows the alarms
    assert re.match(r"^Incidents: \d+ open, \d+ in all$", alarms["tabs"][0])
    assert re.match(r"^Shelved, suppressed, out of service: \d+$", alarms["tabs"][1])
    assert "'not a defect' does not fit dent" in seen["override-refused.png"]["result"]
    assert "Which part?" in seen["override-ask.png"]["text"]
    acknowledged = seen["acknowledge-live.png"]
    assert acknowledged["view"].endswith("— Live")
    assert re.match(r"^Acknowledged [\w:.-]+ \(Sam Lead\)\.$", acknowledged["status"])
    rows = seen["events-overrides.png"]["rows"]
    assert len(rows) == 1 and rows[0][2] == "ok → scratch"
    assert any(
        rows[0][1] in text and "override" in text for text in seen["events-overrides.png"]["events"]
    )
