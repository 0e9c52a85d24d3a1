"""Which file a record's `image` may name: inside its source folder, a regular file, not huge.

A record's `image` (WIRE.md §1) is text from the camera software, and the console must not be
made to show or read anything else: `../outside/secret.png` and absolute paths outside the
source folders are refused, so are FIFOs, devices and directories (a FIFO would block the
reader for ever) and files over `MAX_IMAGE_BYTES`. `read_image` opens without blocking and
re-checks the opened file, so a path swapped for a FIFO between check and open cannot hang it.
Pure file-system look-ups, no Qt; the window's image loader thread calls it (widgets/parts.py).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

MAX_IMAGE_BYTES = 8 * 1024 * 1024


def resolve_image(image: str, roots: Sequence[str]) -> str | None:
    """The real path of `image` if it lies inside one of `roots` (the folders of the sources);
    relative paths are taken relative to each root in turn. None when it is outside all."""
    if not image or "\x00" in image:
        return None
    for root in roots:
        base = os.path.realpath(root)
        path = os.path.realpath(os.path.join(base, image))
        if os.path.commonpath([base, path]) == base and os.path.lexists(path):
            return path
    return None


def read_image(path: str, limit: int = MAX_IMAGE_BYTES) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes; None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)
