"""A reference version kept whole in the store, and the explicit learning of a new one.

`stored_form` turns reference records into the exact arrays the store keeps, `rebuilt` turns
them back into a batch on the station's class table, `keep_reference` makes a new version (with
its audit entry) and `learn_next` learns one from the records after an explicit request while
the version in force keeps watching. Engine thread (or the caller's, before the station starts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from console.reader import RecordReader
from console.records import RecordBatch

if TYPE_CHECKING:
    from console.engine import Engine


def stored_form(batch: RecordBatch, features: Sequence[str], classes: Sequence[str]) -> dict:
    """A reference batch as the store keeps it: exact little-endian arrays and JSON names."""
    matrix = np.column_stack([batch.features, batch.conf]).astype("<f8")
    return {
        "features": json.dumps(list(features)),
        "classes": json.dumps(list(classes)),
        "n": len(batch),
        "matrix": matrix.tobytes(),
        "class_codes": np.asarray(batch.class_codes).astype("<i4").tobytes(),
        "ts": np.asarray(batch.ts).astype("<f8").tobytes(),
    }


def rebuilt(row: Mapping[str, Any], reader: RecordReader) -> RecordBatch:
    """The reference records back from their stored form, class codes mapped onto the reader's
    class table; ValueError when the station's features are not the reference's."""
    features = tuple(json.loads(row["features"]))
    if features != reader.features or reader.parser is None:
        raise ValueError(
            f"it watches {', '.join(features)}, the station now {', '.join(reader.features)}"
        )
    table = reader.parser.classes
    codes = np.asarray([table.code(name) for name in json.loads(row["classes"])], np.int32)
    n = int(row["n"])
    matrix = np.frombuffer(row["matrix"], "<f8").reshape(n, len(features) + 1).astype(float)
    stored_codes = np.frombuffer(row["class_codes"], "<i4").astype(np.intp)
    blank: tuple[str, ...] = ("",) * n
    return RecordBatch(
        features=np.ascontiguousarray(matrix[:, :-1]),
        class_codes=codes[stored_codes] if n else np.empty(0, np.int32),
        conf=np.ascontiguousarray(matrix[:, -1]),
        ts=np.frombuffer(row["ts"], "<f8").astype(float),
        ts_text=blank,
        part=blank,
        batch=(None,) * n,
        model=(None,) * n,
    )


AUDITED_BY_CALLER = object()  # the action's own audit entry says who put it in force


def keep_reference(engine: Engine, reference: RecordBatch, description: str, audit: Any) -> int:
    """Keep the engine's new reference as a version in force; its number (0 when the store
    cannot keep it: the reason becomes a system event)."""
    store, watch = engine.store, engine.watch
    if store is None or watch is None:
        return 0
    if audit is None:
        audit = _audit("station", "system", "reference_learned", description, reference)
    elif audit is AUDITED_BY_CALLER:
        audit = None
    records = stored_form(reference, engine.features, watch.classes)
    records.update(_calibration(engine, reference, description))
    try:
        return int(store.keep_reference(watch.profile.to_json(), description, records, audit))
    except Exception as error:  # the line keeps being watched; the failure shows
        engine.note_system("error", "store", f"reference not kept: {error}")
        return 0


def _calibration(engine: Engine, reference: RecordBatch, description: str) -> dict[str, Any]:
    """The new watch packed for replay; nothing (and a system event) when it cannot be."""
    from console.reference_calibration import calibration_row

    try:
        return calibration_row(engine, reference, description)
    except Exception as error:  # replay will build it again: slower, the same alarms
        engine.note_system("error", "store", f"reference calibration not kept: {error}")
        return {}


def learn_next(engine: Engine, batch: RecordBatch) -> None:
    """Records after an explicit request, until the new reference is complete and in force."""
    learner = engine.next_reference
    if learner is None:
        return
    learner.take(batch)
    if not learner.complete:
        return
    engine.next_reference = None
    reference = learner.reference()
    who = engine.next_reference_asked_by or "unknown"
    description = f"{len(reference)} records learned at the request of {who}"
    audit = _audit(who, "", "reference_learned", description, reference)
    engine.use_reference(reference, description, audit=audit)
    engine.note_system(
        "reference", "reference", f"reference version {engine.reference_version} in force"
    )


def _audit(user: str, role: str, action: str, description: str, reference: RecordBatch) -> Any:
    from data.commands import Audit

    detail = {"description": description, "records": len(reference)}
    return Audit(time.time(), user, role, action, detail)
