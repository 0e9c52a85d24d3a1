"""Compile the engine's numba kernels before anything waits for them: `python -m console.warmup`.

Numba compiles a kernel on its first call and holds the GIL while it does (about 15 s for all
of them on a 2-core machine); done inside the running console, that stops the engine and the
screen at the moment the reference completes. `kernels_cached` says whether every kernel (of
console/kernels.py, console/scan_kernels.py, console/shift_kernels.py and
console/ramp_kernels.py) has a compiled version in numba's disk cache
(`cache=True`, console/__pycache__); `warm_kernels` drives a small engine over synthetic
demo-line records so every kernel compiles with the exact types the engine uses, and the cache
keeps them. The console runs this module in a child process at start when the cache is
missing, so the compiling never shares the UI's interpreter. Runs on whatever thread calls it;
no state.
"""

from __future__ import annotations

import sys

import numpy as np
import orjson

from console import kernels, ramp_kernels, scan_kernels, shift_kernels
from console.config import demo_config
from console.engine import Engine
from console.snapshot import take

_NAMES = {
    kernels: (
        "window_step",
        "residuals",
        "batch_rows",
        "bucket_step",
        "cusum_step",
        "window_sums",
        "resum",
        "quality_ewmas",
    ),
    scan_kernels: (
        "hours_add",
        "missing_windows",
        "shape_scan",
        "shift_margins",
        "mean_shift_z",
    ),
    shift_kernels: ("block_sums",),
    ramp_kernels: ("ramp_look",),
}
KERNELS = tuple(getattr(module, name) for module, names in _NAMES.items() for name in names)


def kernels_cached() -> bool:
    """True when every kernel has a usable compiled version in numba's disk cache."""
    try:
        return all(bool(kernel._cache._cache_file._load_index()) for kernel in KERNELS)
    except Exception:  # numba's cache layout changed: assume a compile is needed
        return False


def load_compiler_registries() -> None:
    """Import and register numba's CPU target now, on the calling thread.

    The first kernel a process loads from the disk cache makes numba import and register its
    whole CPU target (numba.np.npyimpl and the like: 0.3 s with bytecode compiled, 0.7 s
    without), holding the GIL. In the running console that was the engine thread's first batch
    after the reference, and the window froze for 100–120 ms (`main.py bench --only window`).
    Called on the UI thread before the window shows, every later load takes a few ms."""
    from numba.core.registry import cpu_target

    cpu_target.target_context.refresh()


def synthetic_lines(count: int, seed: int = 3) -> list[bytes]:
    """Demo-line records (2 simulated days at 1,000 parts a day, then a little drift)."""
    config = demo_config()
    names = config.station.features
    classes = config.station.classes
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(count):
        at = 1_772_431_200 + i * 86.4  # 2026-03-02 06:00 UTC, 1,000 parts a day
        drift = 0.0 if i < count // 2 else 0.002 * (i - count // 2) / 100
        features = {n: float(rng.normal(1.0 + drift, 0.1)) for n in names}
        stamp = np.datetime_as_string(np.datetime64(int(at * 1000), "ms"), unit="ms") + "Z"
        record = {
            "ts": stamp,
            "part": f"W{i:07d}",
            "class": classes[int(rng.integers(len(classes)))],
            "conf": float(rng.uniform(0.6, 1.0)),
            "features": features,
        }
        lines.append(orjson.dumps(record))
    return lines


def warm_kernels() -> None:
    """Run a small engine so every kernel compiles (and lands in the disk cache)."""
    engine = Engine(demo_config())
    lines = synthetic_lines(engine.config.reference.size + 1500)
    for start in range(0, len(lines), 250):
        engine.feed_lines(lines[start : start + 250])
    take(engine)


def main() -> int:
    if not kernels_cached():
        warm_kernels()
    return 0 if kernels_cached() else 1


if __name__ == "__main__":
    sys.exit(main())
