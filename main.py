"""Linewatch: `uv run main.py` opens the console on the built-in simulated line.

See README.md for the sub-commands (analyze, headless, simulate, bench, ...).
"""

import sys

from console.cli import main

if __name__ == "__main__":
    sys.exit(main())
