"""F-keys on a real X server, as a kiosk station has them: `main.py` (the demo line, Qt's `xcb`
platform) under Xvfb with NO window manager, keys typed with xdotool (the XTEST extension, so
they go to whichever window has the keyboard focus, like a real keyboard), and no click first.
The window names its current view in its title; the test reads it back from the X server. In CI
(`CI=1`) a missing xdotool fails the test: `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_window_xcb import x_display  # noqa: F401 - the Xvfb fixture
from widgets.display import display_problem

ROOT = Path(__file__).resolve().parents[1]
# F5..F11 and the view each opens (F12 is the fallback switch, not a view)
KEYS = (
    ("F6", "Detail"),
    ("F7", "Alarms"),
    ("F8", "Events"),
    ("F9", "History"),
    ("F10", "Incidents"),
    ("F11", "People"),
    ("F5", "Live"),
)


def xdotool(display: str, *args: str) -> str:
    done = subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""


def focused_title(display: str) -> str:
    """The title of the window that has the keyboard focus ("" when none does)."""
    return xdotool(display, "getwindowfocus", "getwindowname")


def wait_for(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


@pytest.fixture
def console_on_x(x_display, tmp_path):  # noqa: F811
    if shutil.which("xdotool") is None:
        message = "xdotool is not installed (apt-get install xdotool)"
        if os.environ.get("CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "TMPDIR": str(tmp_path)}
    problem = display_problem(env)
    if problem and os.environ.get("CI") != "1":
        pytest.skip(problem)
    assert problem is None, problem
    log = (tmp_path / "main.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "main.py"], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield x_display, proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
    log.close()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_f_keys_switch_views_without_a_click_and_without_a_window_manager(console_on_x, tmp_path):
    display, proc = console_on_x

    def opened() -> bool:
        assert proc.poll() is None, (tmp_path / "main.log").read_text()[-2000:]
        return focused_title(display).endswith("— Live")

    # the window takes the keyboard focus at start: no click, no window manager to give it
    wait_for(opened, 240, "the console window to open with the keyboard focus")
    for key, view in KEYS:
        xdotool(display, "key", key)
        wait_for(lambda v=view: focused_title(display).endswith(f"— {v}"), 60, f"{key} → {view}")
    assert proc.poll() is None
