"""Linewatch: `uv run main.py` opens the console on the built-in simulated line.

See README.md for the sub-commands (analyze, headless, simulate, bench, ...).
"""

import os
import sys

if __name__ == "__main__":
    # One BLAS thread, set before numpy loads: the console's few BLAS calls are small (a
    # reference's autocorrelation, the display's bins), and on a busy two-core machine a second
    # BLAS thread spin-waits for a core: a 25,000-value dot product took 10 ms of CPU, not 5 µs.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")

    from console.cli import main

    sys.exit(main())
