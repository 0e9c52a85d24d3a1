"""The same PDF bytes for the same record: what Qt's PDF writer stamps differently each run.

QPdfWriter writes the wall-clock time (/CreationDate, /ModDate and three XMP dates), a random
document UUID (XMP DocumentID, and the trailer's /ID is that UUID in hex), and lays its objects
out in QHash order, which follows a per-process random seed. `deterministic_hashing()` pins the
seed while one document is printed (a QHash keeps the seed it was made with, so the rest of
the application is untouched); `pin_stamps()` rewrites the stamps from the record: its time and
a UUID from its content hash. Every rewrite keeps the byte length, so the cross-reference
table stays right. Runs on the thread that prints (UI thread or the CLI's main thread).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QHashSeed

_PDF_DATE = re.compile(rb"\((D:\d{14})Z\)")
_XMP_DATE = re.compile(rb'(Date=")\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00(")')
_UUID = re.compile(rb"uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TRAILER_ID = re.compile(rb"/ID \[ <[0-9a-f]+> <[0-9a-f]+> \]")


@contextmanager
def deterministic_hashing() -> Iterator[None]:
    """Qt hashes made inside use seed 0 (the PDF engine's font and object tables)."""
    QHashSeed.setDeterministicGlobalSeed()
    try:
        yield
    finally:
        QHashSeed.resetRandomGlobalSeed()


def pin_stamps(pdf: bytes, at: float, digest: str) -> bytes:
    """The PDF with its dates set to `at` (UTC seconds) and its IDs derived from `digest`."""
    when = time.gmtime(at)
    pdf_date = time.strftime("D:%Y%m%d%H%M%S", when).encode()
    xmp_date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", when).encode()
    document = str(uuid.UUID(hex=digest[:32])).encode()
    out = _PDF_DATE.sub(b"(" + pdf_date + b"Z)", pdf)
    out = _XMP_DATE.sub(lambda m: m.group(1) + xmp_date + m.group(2), out)
    out = _UUID.sub(b"uuid:" + document, out)
    hexed = document.hex().encode()
    out = _TRAILER_ID.sub(b"/ID [ <" + hexed + b"> <" + hexed + b"> ]", out)
    if len(out) != len(pdf):  # a stamp of another shape: refuse rather than break the xref
        raise ValueError("the PDF's stamps changed length; not rewritten")
    return out
