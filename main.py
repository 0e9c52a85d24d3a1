"""Linewatch: `uv run main.py` opens the console on the built-in simulated line.

See README.md for the sub-commands (analyze, headless, simulate, bench, ...).
"""

import os
import sys

# One BLAS thread (before numpy loads): the console's few BLAS calls are small (a reference's
# autocorrelation, the display's bins), and on a busy two-core machine a second BLAS thread
# spin-waits for a core: a 25,000-value dot product took 10 ms of CPU instead of 5 µs.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from console.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
