"""A reference's calibration kept with its version, so replay restores it instead of recomputing.

Building the watch of a reference (its profile, the detectors' calibration, the window primed
with the reference records) takes about a second for 10,000 records of 33 columns. When the
station keeps a reference version, `calibration_row` packs the watch it just built, keyed by
everything it was built from: the reference records, the features and classes, the detection
settings and the engine's own code. Replay re-learns the same reference from the same records
and asks `WatchFromStore` for the watch: with the same key it is the stored one, unpacked;
with other settings (a what-if), other code or an older store it is built as live.

Unpacking admits Linewatch's own classes and plain numpy arrays only (`_Unpickler`). The packing
runs on the engine thread when a reference is kept; the restoring on the replaying thread.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.categorical_watch import watched_config
from console.records import RecordBatch
from console.watch import Watch
from data.reference_rows import stored_calibration

if TYPE_CHECKING:
    from console.engine import Engine

CONSOLE = Path(__file__).resolve().parent
# The config sections a watch is built from (the store, sources, people... are not).
SECTIONS = ("station", "reference", "window", "detection", "alarms")
_SHARED = ("annunciator", "config")  # the engine's own objects the watch points at
_NUMPY = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
}
_PLAIN = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("collections", "deque"),
    ("collections", "OrderedDict"),
    ("collections", "Counter"),
    ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


@cache
def code_fingerprint() -> str:
    """SHA-256 over the engine's source (console/): other code, other calibration."""
    digest = hashlib.sha256()
    for path in sorted(CONSOLE.rglob("*.py")):
        digest.update(path.relative_to(CONSOLE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def calibration_key(engine: Engine, reference: RecordBatch, description: str) -> str:
    """What a watch of `reference` is built from, as one SHA-256."""
    digest = hashlib.sha256(code_fingerprint().encode())
    config = watched_config(engine.config, engine.reader)  # categorical inputs as watched
    for name in SECTIONS:
        digest.update(repr(getattr(config, name)).encode())
    digest.update(repr((engine.features, engine.reader.classes, description)).encode())
    for array in (reference.features, reference.conf, reference.ts, reference.class_codes):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


class _Pickler(pickle.Pickler):
    def __init__(self, out: io.BytesIO, engine: Engine) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = {id(getattr(engine, name)): name for name in _SHARED}

    def persistent_id(self, obj: Any) -> str | None:  # noqa: D102 - pickle's hook
        return self.shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    """Linewatch's classes, numpy arrays and a few containers; nothing else is callable."""

    def __init__(self, data: bytes, engine: Engine) -> None:
        super().__init__(io.BytesIO(data))
        self.engine = engine

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102 - pickle's hook
        if pid not in _SHARED:
            raise pickle.UnpicklingError(f"unknown shared object {pid!r}")
        return getattr(self.engine, pid)

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102 - pickle's hook
        found = super().find_class(module, name)
        if (module, name) in _NUMPY or (module, name) in _PLAIN:
            return found
        if module.startswith("numpy.dtypes") and isinstance(found, type):
            return found
        if module.startswith("console.") and isinstance(found, type):
            return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a calibration")


def calibration_row(engine: Engine, reference: RecordBatch, description: str) -> dict[str, Any]:
    """The engine's new watch packed for the store (`calibration_key`, `calibration`)."""
    watch = engine.watch
    assert watch is not None
    out = io.BytesIO()
    _Pickler(out, engine).dump(watch)
    return {
        "calibration_key": calibration_key(engine, reference, description),
        "calibration": out.getvalue(),
    }


class WatchFromStore:
    """The engine's way to build a watch, restoring a stored calibration when one fits (replay).

    `restored` counts the watches unpacked instead of built. Copies of a replaying engine
    (checkpoints) share this object."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.restored = 0

    def __deepcopy__(self, memo: dict) -> WatchFromStore:
        return self

    def __call__(self, engine: Engine, reference: RecordBatch, description: str) -> Watch:
        blob = stored_calibration(self.path, calibration_key(engine, reference, description))
        if blob is not None:
            try:
                watch = _Unpickler(blob, engine).load()
            except Exception:  # an unusable calibration is built again, as live
                watch = None
            if isinstance(watch, Watch):
                self.restored += 1
                return watch
        return Watch(
            watched_config(engine.config, engine.reader),
            reference,
            engine.features,
            engine.reader.classes,
            description,
            engine.annunciator,
        )
