"""The screenshot command renders every main screen of the real window to PNG."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_screenshots_render_every_main_screen(qtbot, tmp_path):
    from PySide6.QtGui import QImage

    from widgets.screenshots import render

    written = render(tmp_path, sizes=((1280, 800, ""),))
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["alarms.png", "detail.png", "escalate.png", "overview-live.png", "override.png"]
    )
    for path in written:
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1280, 800)
