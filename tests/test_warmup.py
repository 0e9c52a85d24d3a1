"""The engine's kernels are compiled before the console needs them: in a child process on first
start (the window says so and starts the station when they are ready), cached afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHED = "from console.warmup import kernels_cached; print(kernels_cached())"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_warmup_fills_an_empty_kernel_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def cached() -> str:
        run = subprocess.run([sys.executable, "-c", CACHED], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        return run.stdout.strip()

    assert cached() == "False"
    warm = subprocess.run([sys.executable, "-m", "console.warmup"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=500)  # fmt: skip
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert cached() == "True"


def test_the_station_starts_once_the_warmup_has_finished(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from console.config import demo_config
    from console.runner import Station
    from drivers.simulator import LineSimulator
    from widgets.main_window import MainWindow

    station = Station(demo_config(), store_path=str(tmp_path / "s.db"), sources=False)
    window = MainWindow(station, beep=False)
    qtbot.addWidget(window)
    window.show()
    # a stand-in for the compiling child: a real process that ends when its stdin closes
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        window.start_after_warmup(child)
        assert "Preparing the detectors" in window.grid.learning.text()
        assert "Preparing the detectors" in window.status.text()
        station.intake.put("camera", LineSimulator("demo", parts_per_day=1000).lines(200))
        qtbot.wait(500)  # proving a negative: nothing is processed while the child compiles
        assert station.snapshot.records == 0
        child.stdin.close()
        qtbot.waitUntil(lambda: station.snapshot.records == 200, timeout=30_000)
        qtbot.waitUntil(lambda: "Detectors ready" in window.status.text(), timeout=30_000)
    finally:
        child.kill()
        child.wait()
        window.close()
        station.stop()


def test_a_cached_kernel_loads_without_importing_once_the_registries_are_loaded():
    """The console loads numba's registries before its window shows (`start_kernel_warmup`):
    then the engine thread's first cached kernel imports nothing, so it never holds the GIL for
    the tenth of a second an import of numba's CPU target takes (the window froze for that)."""
    fill = (
        "from console.warmup import warm_kernels\n"
        "warm_kernels()\n"  # fills the cache (as the warm-up child does); a later process loads
    )
    check = (
        "import sys\n"
        "from console.warmup import kernels_cached, load_compiler_registries, warm_kernels\n"
        "assert kernels_cached()\n"
        "load_compiler_registries()\n"
        "before = set(sys.modules)\n"
        "warm_kernels()\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('numba')))\n"
    )
    for code in (fill, check):
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=500)  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
