"""The console window on a real X server: Qt's `xcb` platform under Xvfb, as on a station's
screen. The test starts Xvfb on a display number Xvfb picks itself (`-displayfd`), opens the
real window in a child process, and takes a screenshot from the X server. In CI (`CI=1`) a
missing Xvfb fails the test: `.ci/run` installs it with the libraries the README lists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from widgets.display import APT_LINE, XCB_LIBRARIES, display_problem, missing_packages

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1280, 800)

CHILD = r"""
import json, os, sys, tempfile, time
from PySide6.QtWidgets import QApplication
from console.config import demo_config
from console.runner import Station
from widgets.main_window import MainWindow, fit_to_screen, take_focus

app = QApplication(sys.argv)
station = Station(demo_config(), store_path=os.path.join(sys.argv[2], "s.db"), sources=False)
station.start()
window = MainWindow(station, beep=False)
screen = app.primaryScreen()
fit_to_screen(window, screen.availableGeometry())
take_focus(window)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not (window.isVisible() and window.snapshot is not None):
    app.processEvents()
    time.sleep(0.01)
for _ in range(50):
    app.processEvents()
    time.sleep(0.01)
shot = screen.grabWindow(0)
shot.save(sys.argv[1])
frame = window.frameGeometry()
print(json.dumps({
    "platform": app.platformName(),
    "screen": [screen.geometry().width(), screen.geometry().height()],
    "window": [frame.x(), frame.y(), frame.width(), frame.height()],
    "title": window.windowTitle(),
    "active": app.activeWindow() is window,
}))
window.close()
station.stop()
"""


def start_xvfb() -> tuple[subprocess.Popen, str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        message = f"Xvfb is not installed (apt-get install xvfb; the libraries: {APT_LINE})"
        if os.environ.get("CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not report its display number")
    return proc, f":{number}"


@pytest.fixture
def x_display():
    proc, display = start_xvfb()
    yield display
    proc.terminate()
    proc.wait(timeout=30)


def test_the_real_window_opens_on_xcb_and_is_screenshotted(x_display, tmp_path):
    from PySide6.QtGui import QColor, QImage

    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb"}
    problem = display_problem(env)
    if problem and os.environ.get("CI") != "1":
        pytest.skip(problem)
    assert problem is None, problem
    shot = tmp_path / "xcb.png"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(shot), str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["platform"] == "xcb"
    assert seen["active"], "no keyboard focus at start: F-keys would need a click first"
    assert seen["screen"] == list(SCREEN)
    x, y, width, height = seen["window"]
    assert x >= 0 and y >= 0 and x + width <= SCREEN[0] and y + height <= SCREEN[1]
    image = QImage(str(shot))
    assert (image.width(), image.height()) == SCREEN
    # the window is on the X server's screen: its grey header, not Xvfb's black root window
    colours = {QColor(image.pixel(px, py)).name() for px in range(0, 1280, 64) for py in (5, 60)}
    assert colours - {"#000000"}, "the screenshot is empty: no window was drawn"


def test_a_missing_display_library_is_named_in_one_line():
    assert missing_packages({"libno-such-lib.so.9": "libno-such-lib9"}) == ["libno-such-lib9"]
    assert set(XCB_LIBRARIES.values()) <= set(APT_LINE.split())
    message = display_problem({"QT_QPA_PLATFORM": "xcb"})  # no DISPLAY at all
    assert message is not None and "\n" not in message
