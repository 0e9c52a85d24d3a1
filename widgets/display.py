"""Can this machine open the console window? Checked before Qt starts (main thread).

Qt's xcb platform plugin needs a dozen X libraries that a minimal Debian or Ubuntu lacks; without
them Qt prints a paragraph and aborts the process. `display_problem` tries to load each library
the plugin links against (by soname, with ctypes) and, when some are missing, returns one line
that names the packages and the apt command, so `main.py` can print it and exit. It also says so
when there is no display to open at all. Pure standard library: it must run before PySide6 loads.
"""

from __future__ import annotations

import ctypes
import os

# soname → Debian/Ubuntu package, for every library Qt needs beyond the C/C++ runtime.
QT_LIBRARIES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libxkbcommon.so.0": "libxkbcommon0",
}
XCB_LIBRARIES = {
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}
APT_LINE = "sudo apt-get install -y " + " ".join([*QT_LIBRARIES.values(), *XCB_LIBRARIES.values()])


def missing_packages(libraries: dict[str, str]) -> list[str]:
    """The packages whose library cannot be loaded here, in the order given."""
    missing = []
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(package)
    return missing


def platform_name(environ: dict[str, str] | None = None) -> str:
    """The Qt platform the window will use: QT_QPA_PLATFORM, else xcb (wayland if only that)."""
    env = os.environ if environ is None else environ
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if chosen:
        return chosen
    if not env.get("DISPLAY") and env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """One line saying why the window cannot open here, or None when it can."""
    env = os.environ if environ is None else environ
    platform = platform_name(env)
    libraries = dict(QT_LIBRARIES)
    if platform == "xcb":
        libraries |= XCB_LIBRARIES
    missing = missing_packages(libraries)
    if missing:
        return (
            f"linewatch: the console window needs system libraries this machine lacks "
            f"({' '.join(missing)}); install them with: sudo apt-get install -y {' '.join(missing)}"
        )
    if platform == "xcb" and not env.get("DISPLAY"):
        return (
            "linewatch: no display to open the window on (DISPLAY is not set); run it on the "
            "station's screen, or use `uv run main.py headless`"
        )
    return None
