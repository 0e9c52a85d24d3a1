"""Stored records written out for people and other tools: JSON Lines in the §1 record format
(exact values: export, then `analyze`, gives replay's alarms) and CSV with one column per
feature. Pure functions over `StoredRecords`; the caller's thread runs them.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from typing import IO, Any

from console.categories import category_text
from data.reading import StoredRecords

CSV_FIXED = ("seq", "ts", "station", "part", "batch", "model", "class", "conf", "image", "label")


def record_objects(stored: StoredRecords) -> Iterator[dict[str, Any]]:
    """Each record as its §1 object: `ts` as the line gave it, numbers exact (a Python float's
    repr round-trips), missing features as null, optional fields only where stored."""
    b = stored.batch
    names = stored.feature_names
    classes = stored.class_names
    features = as_values(stored)
    conf = b.conf.tolist()
    codes = b.class_codes.tolist()
    optional = (("station", b.station), ("batch", b.batch), ("model", b.model))
    for i in range(len(stored)):
        record: dict[str, Any] = {"ts": b.ts_text[i]}
        for key, values in optional:
            if values and values[i] is not None:
                record[key] = values[i]
        record["part"] = b.part[i]
        record["class"] = classes[codes[i]]
        record["conf"] = conf[i]
        record["features"] = {
            name: (None if v != v else v) for name, v in zip(names, features[i], strict=True)
        }
        for key, values in (("image", b.image), ("label", b.label)):
            if values and values[i] is not None:
                record[key] = values[i]
        yield record


def as_values(stored: StoredRecords) -> list[list[Any]]:
    """The feature rows as values: numbers, NaN where missing, a categorical input's text."""
    rows = stored.batch.features.tolist()
    for j, name in enumerate(stored.feature_names):
        if name in stored.categories:
            texts = stored.categories[name]
            for row in rows:
                code = row[j]
                if code == code:  # not NaN
                    row[j] = texts.get(code) or category_text(code)
    return rows


def write_jsonl(stored: StoredRecords, out: IO[str]) -> int:
    """JSON Lines, one record a line; returns the number of records written."""
    n = 0
    dumps = json.dumps
    for record in record_objects(stored):
        out.write(dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(stored: StoredRecords, out: IO[str]) -> int:
    """CSV: the record's fields, then one column per feature (empty where not measured)."""
    writer = csv.writer(out, lineterminator="\n")
    names = stored.feature_names
    writer.writerow([*CSV_FIXED, *names])
    features = as_values(stored)
    seqs = stored.seq.tolist()
    for i, record in enumerate(record_objects(stored)):
        fixed = [seqs[i], *(record.get(key, "") for key in CSV_FIXED[1:])]
        writer.writerow([*fixed, *(_cell(v) for v in features[i])])
    return len(stored)


def _cell(value: Any) -> str:
    """A CSV cell: empty where missing, a number exactly (repr), a category's text as is."""
    if isinstance(value, str):
        return value
    return "" if math.isnan(value) else repr(value)
