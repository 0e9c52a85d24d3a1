"""Does the console window ever freeze? `uv run python -m bench.window_start [SECONDS]`.

Starts the real console on the demo line (simulator source, a store in a temporary folder) the
way `main.py` does, from a COLD numba cache: the caller points NUMBA_CACHE_DIR at a fresh empty
folder before this process starts (`bench/suite.py` does), so the kernels are compiled as on a
station's first start. A 10 ms probe timer records when the event loop runs; a gap between two
ticks is time the window could not react. Reported for three phases: the first SECONDS after the
window shows (warm-up, reference learning, the first drift), an override saved through the sheet,
and an acknowledge (F4's action). A measurement, never a timed test; the target is no gap over
100 ms. Runs on the main (UI) thread; the station runs its own threads.
"""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from console.config import demo_config
from console.runner import Station
from console.warmup import kernels_cached
from widgets.alarms import needs_ack
from widgets.main_window import (
    MainWindow,
    fit_to_screen,
    settle_before_showing,
    start_kernel_warmup,
    take_focus,
)

TARGET_MS = 100.0
ROOT = Path(__file__).resolve().parents[1]


class TickProbe:
    """A 10 ms precise timer (UI thread). Each tick keeps the wall time, the UI thread's CPU time
    and the process's CPU time, so a late tick tells whether the UI thread was working (a freeze
    of ours), other threads of the process had the CPU (and the GIL), or the machine did not run
    the process at all. faulthandler, re-armed on every tick, writes every thread's stack to
    `dumps` every 80 ms while a tick is late: the cause of a freeze, by name (BENCH_LATE_TICKS
    names a file to keep them in)."""

    def __init__(self, dumps: Path) -> None:
        self.ticks: list[tuple[float, float, float]] = []
        self.dump_file = dumps.open("w+")
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.ticks.append((time.perf_counter(), time.thread_time(), time.process_time()))
        faulthandler.dump_traceback_later(0.08, repeat=True, file=self.dump_file)

    def stop(self) -> None:
        self.timer.stop()
        faulthandler.cancel_dump_traceback_later()

    def gaps(self, since: float, until: float) -> dict:
        """Gaps (ms) between ticks whose later tick falls in [since, until]; for the longest, the
        CPU time the UI thread and the whole process used during it."""
        ticks = np.array(self.ticks)
        wall, ui, process = (np.diff(ticks[:, k]) * 1000 for k in range(3))
        ends = ticks[1:, 0]
        inside = (ends >= since) & (ends <= until)
        if not inside.any():
            return {"ticks": 0}
        chosen = wall[inside]
        worst = int(np.argmax(np.where(inside, wall, -1)))
        late = inside & (wall > TARGET_MS)
        return {
            "ticks": int(chosen.size),
            "gap_ms_p50": round(float(np.percentile(chosen, 50)), 1),
            "gap_ms_p99": round(float(np.percentile(chosen, 99)), 1),
            "gap_ms_max": round(float(chosen.max()), 1),
            "worst_at_s": round(float(ends[worst] - ticks[0, 0]), 1),
            "worst_ui_cpu_ms": round(float(ui[worst]), 1),
            "worst_process_cpu_ms": round(float(process[worst]), 1),
            "over_100_ms": int(late.sum()),
            # late ticks during which the UI thread itself ran most of the time: work to move
            "over_100_ms_ui_busy": int((late & (ui > 0.5 * wall)).sum()),
        }

    def stalls(self) -> dict[str, int]:
        """Where the UI thread was when a tick was late: its innermost project frame, counted."""
        self.dump_file.seek(0)
        found: Counter[str] = Counter()
        for block in self.dump_file.read().split("\n\n"):
            if "in run_for" not in block:
                continue  # not the UI thread's stack
            ours = [ln.strip() for ln in block.splitlines() if str(ROOT) in ln]
            ours = [ln.replace(str(ROOT) + "/", "") for ln in ours if "/.venv/" not in ln]
            if ours:
                found[ours[0]] += 1
        return dict(found.most_common(8))


def run_for(seconds: float, until=None) -> None:  # noqa: ANN001 - a () -> bool or None
    """Run the event loop for `seconds`, or until `until()` is true (checked every 50 ms)."""
    deadline = time.monotonic() + seconds
    loop = QEventLoop()
    check = QTimer()
    check.timeout.connect(
        lambda: loop.quit() if time.monotonic() > deadline or (until and until()) else None
    )
    check.start(50)
    loop.exec()
    check.stop()


def bench_window_start(seconds: float = 60.0) -> dict:
    """Start the console from a cold kernel cache; the event loop's gaps per phase."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv)
    cold = not kernels_cached()
    with tempfile.TemporaryDirectory() as tmp:
        station = Station(demo_config(), store_path=os.path.join(tmp, "demo.db"))
        station.first_admin("admin", "9999")
        station.add_user("shift_lead", "shift_lead", "2222")
        station.login("shift_lead", "2222")  # may override and acknowledge
        probe = TickProbe(Path(os.environ.get("BENCH_LATE_TICKS", Path(tmp) / "late-ticks.txt")))
        t0 = time.perf_counter()
        window = MainWindow(station, beep=False)
        window.start_after_warmup(start_kernel_warmup())
        settle_before_showing()
        screen = app.primaryScreen()
        fit_to_screen(window, screen.availableGeometry())
        take_focus(window)
        built = time.perf_counter() - t0
        probe.timer.start()
        try:
            phases = _phases(window, probe, seconds)
        finally:
            probe.stop()
            window.close()
            station.stop()
        stalls = probe.stalls()
        probe.dump_file.close()
        if os.environ.get("BENCH_TICKS"):  # every tick (wall, UI CPU, process CPU), to study
            np.save(os.environ["BENCH_TICKS"], np.array(probe.ticks))
    worst = max((p.get("gap_ms_max", 0.0) for p in phases.values()), default=0.0)
    return {
        "cold_kernel_cache": cold,
        "window_built_s": round(built, 2),
        **phases,
        "worst_gap_ms": worst,
        "no_freeze_over_100_ms": worst <= TARGET_MS,
        "ui_thread_when_late": stalls,
    }


def _phases(window: MainWindow, probe: TickProbe, seconds: float) -> dict:
    start = time.perf_counter()
    run_for(seconds)
    phases = {"first_seconds": probe.gaps(start, time.perf_counter())}
    parts = [p for p in window.parts.shown_parts() if p.cls == "ok"]
    if parts:
        at = time.perf_counter()
        window.parts.select_part(parts[0].part)
        window.open_override()
        sheet = window.override_sheet
        sheet.class_buttons["stain"].click()
        sheet.reason_buttons["missed_defect"].click()
        run_for(15, lambda: "Saved" in sheet.result.text())
        saved = "Saved" in sheet.result.text()
        run_for(1)
        phases["override"] = {**probe.gaps(at, time.perf_counter()), "saved": saved}
        window.show_view("Live")
    run_for(30, lambda: any(needs_ack(a) for a in window.alarms.model.items))
    at = time.perf_counter()
    window.acknowledge()
    run_for(15, lambda: not window.alarms.busy)
    run_for(1)
    phases["acknowledge"] = {**probe.gaps(at, time.perf_counter()), "note": window.status.text()}
    return phases


def from_a_cold_cache(seconds: float = 60.0) -> dict:
    """`bench_window_start` in a fresh process whose numba cache is an empty folder."""
    with tempfile.TemporaryDirectory(prefix="linewatch-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "QT_QPA_PLATFORM": "offscreen"}
        done = subprocess.run(
            [sys.executable, "-m", "bench.window_start", str(seconds)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 600,
        )  # fmt: skip
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no message"]
        return {"failed": f"exit {done.returncode}: {last[0]}"}
    return json.loads(done.stdout[done.stdout.index("{") :])


if __name__ == "__main__":
    result = bench_window_start(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
    print(json.dumps(result, indent=2))
