"""Inspection records (WIRE.md §1): parse and validate JSON Lines into numpy batches.

This module owns the record schema, the fixed list of reasons a line is rejected for, and the
`RecordParser` that turns raw lines into a `RecordBatch` (features matrix with NaN for missing,
class codes, confidences, timestamps) plus the `Rejected` lines kept verbatim. It is pure: no
I/O, no threads; drivers call it from their own reader thread, `analyze` from the main thread.
orjson decodes each line; a line it refuses is decoded again by the stdlib decoder, which tells
why (NaN and Infinity literals, bad UTF-8, a number too large). The matrix is built once per
batch.
"""

from __future__ import annotations

import gc
import json
import math
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any

import numpy as np
import orjson

from console.categories import BadCategory, CategoryNames, sampled_features
from console.stamps import usual_stamps
from console.stream_time import StreamClock

MAX_LINE_BYTES = 64 * 1024
MAX_FEATURES = 256
FEATURE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")

# Every rejected line carries exactly one of these reasons (counted per reason, shown, stored).
REJECT_REASONS: tuple[str, ...] = (
    "too_long",  # longer than 64 KiB
    "not_utf8",  # bytes that are not UTF-8
    "not_json",  # not parseable as JSON
    "not_object",  # JSON, but not an object
    "missing_field",  # ts, part, class, conf or features absent
    "bad_type",  # a field of the wrong type (string where a number belongs, ...)
    "bad_timestamp",  # ts not RFC 3339
    "bad_conf",  # conf outside [0, 1]
    "non_finite",  # NaN or Infinity anywhere a number belongs
    "bad_feature_name",  # a feature name outside [A-Za-z0-9_.-]{1,64}
    "too_many_features",  # more than 256 features
    "unknown_feature",  # a feature not in the station's fixed feature list
    "bad_checksum",  # delimited serial line whose *HH checksum does not match
    "bad_field_count",  # delimited serial line with the wrong number of fields
    "too_many_classes",  # a class name beyond the first 256 different ones (a garbled stream)
    "too_many_categories",  # a categorical input's value beyond its first 256 different ones
    "bad_text",  # a string that is not valid Unicode (a lone surrogate such as "\\ud800")
    "bad_id",  # part, batch, station, model or class holding control characters
    "ts_implausible",  # ts too far ahead of the stream's own recent time (console/stream_time.py)
    "unprocessable",  # the engine failed on the line (a bug, reported as a system event)
    "store_refused",  # parsed, but the store still refused the row (data/store.py)
)
# Seconds a record may claim to be ahead of the stream's recent time (config overrides it).
FUTURE_MARGIN = 300.0
_IDS = ("part", "class", "station", "batch", "model")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CLASSES = 256

_REQUIRED = ("ts", "part", "class", "conf", "features")
_REQUIRED_SET = frozenset(_REQUIRED)
_OPTIONAL_TEXT = ("station", "batch", "model", "image", "label")
_TEXT_TYPES = frozenset((str, type(None)))
_STR = {str}
_DICT = {dict}
_FEATURES_OF = operator.itemgetter("features")
_PART_OF = operator.itemgetter("part")
_CLASS_OF = operator.itemgetter("class")
_CONF_OF = operator.itemgetter("conf")
_TS_OF = operator.itemgetter("ts")
_NUMBER_TYPES = frozenset((int, float))
_FEATURE_VALUE_TYPES = frozenset((int, float, type(None)))


class RejectedLine(ValueError):
    """A line that cannot be accepted; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Rejected:
    """One rejected line, verbatim, with its reason and where it came from."""

    raw: bytes
    reason: str
    detail: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A batch of accepted records as numpy arrays (rows in arrival order).

    `features` is float64 (rows × features, NaN = missing), `class_codes` int32 codes into the
    parser's class table, `conf` float64, `ts` float64 UTC epoch seconds; the string columns
    are plain tuples for the store and the UI.
    """

    features: np.ndarray
    class_codes: np.ndarray
    conf: np.ndarray
    ts: np.ndarray
    ts_text: tuple[str, ...]
    part: tuple[str, ...]
    batch: tuple[str | None, ...]
    model: tuple[str | None, ...]
    image: tuple[str | None, ...] = ()
    label: tuple[str | None, ...] = ()
    station: tuple[str | None, ...] = ()

    def __len__(self) -> int:
        return len(self.part)

    def __deepcopy__(self, memo: dict) -> RecordBatch:
        """A batch is never written after it is built: a copy of an engine (replay's
        checkpoints) shares its batches instead of copying every string."""
        return self

    @staticmethod
    def empty(n_features: int) -> RecordBatch:
        return RecordBatch(
            features=np.empty((0, n_features)),
            class_codes=np.empty(0, np.int32),
            conf=np.empty(0),
            ts=np.empty(0),
            ts_text=(),
            part=(),
            batch=(),
            model=(),
            image=(),
            label=(),
            station=(),
        )

    def select(self, rows: np.ndarray) -> RecordBatch:
        """The rows at the given indices (in that order), as a new batch."""
        pick = rows.tolist()

        def column(values: tuple) -> tuple:
            return tuple(values[i] for i in pick) if values else ()

        return RecordBatch(
            features=self.features[rows],
            class_codes=self.class_codes[rows],
            conf=self.conf[rows],
            ts=self.ts[rows],
            ts_text=column(self.ts_text),
            part=column(self.part),
            batch=column(self.batch),
            model=column(self.model),
            image=column(self.image),
            label=column(self.label),
            station=column(self.station),
        )

    def take(self, index: slice) -> RecordBatch:
        """The rows in `index` (a slice), as a new batch sharing no mutable state."""
        return RecordBatch(
            features=self.features[index],
            class_codes=self.class_codes[index],
            conf=self.conf[index],
            ts=self.ts[index],
            ts_text=self.ts_text[index],
            part=self.part[index],
            batch=self.batch[index],
            model=self.model[index],
            image=self.image[index],
            label=self.label[index],
            station=self.station[index],
        )

    @staticmethod
    def concat(batches: Sequence[RecordBatch]) -> RecordBatch:
        if len(batches) == 1:
            return batches[0]
        return RecordBatch(
            features=np.concatenate([b.features for b in batches]),
            class_codes=np.concatenate([b.class_codes for b in batches]),
            conf=np.concatenate([b.conf for b in batches]),
            ts=np.concatenate([b.ts for b in batches]),
            ts_text=sum((b.ts_text for b in batches), ()),
            part=sum((b.part for b in batches), ()),
            batch=sum((b.batch for b in batches), ()),
            model=sum((b.model for b in batches), ()),
            image=sum((b.image for b in batches), ()),
            label=sum((b.label for b in batches), ()),
            station=sum((b.station for b in batches), ()),
        )


@dataclass
class ClassTable:
    """Class name ↔ code, growing in order of first appearance (configured classes first)."""

    names: list[str] = field(default_factory=list)
    _codes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in list(self.names):
            self._codes.setdefault(name, len(self._codes))
        self.names = list(self._codes)

    def knows(self, name: str) -> bool:
        return name in self._codes

    def code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    def codes(self, names: list[str]) -> list[int]:
        """`code` of each name: new names are added in order of first appearance, as one by
        one would, then the rest is a C-level lookup."""
        for name in dict.fromkeys(names):
            self.code(name)
        return list(map(self._codes.__getitem__, names))


def iso(ts: float) -> str:
    """Epoch seconds as records carry them: RFC 3339 UTC with milliseconds and `Z`."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> float:
    """RFC 3339 (`Z` or an offset) → UTC epoch seconds; raises RejectedLine."""
    if not isinstance(text, str) or len(text) < 20 or text[10] not in "Tt ":
        raise RejectedLine("bad_timestamp", repr(text)[:80])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise RejectedLine("bad_timestamp", repr(text)[:80]) from error
    if moment.tzinfo is None:
        raise RejectedLine("bad_timestamp", f"{text!r} has no Z or offset")
    return moment.timestamp()


_fast_loads = orjson.loads


def _reject_constant(token: str) -> float:
    raise RejectedLine("non_finite", token)


# The stdlib decoder, for lines orjson refuses: it names the reason, and rejects NaN/Infinity.
_DECODE = json.JSONDecoder(parse_constant=_reject_constant).decode


def _decode_line(raw: bytes | str) -> dict | None:
    """One line as a JSON object; None for a blank line; RejectedLine naming what is wrong."""
    if len(raw) > MAX_LINE_BYTES:
        raise RejectedLine("too_long", f"{len(raw)} bytes")
    try:
        record = _fast_loads(raw)
    except orjson.JSONDecodeError:
        return _decode_slowly(raw)  # blank, or bad: the stdlib names the reason
    if not isinstance(record, dict):
        raise RejectedLine("not_object", type(record).__name__)
    return record


def _decode_slowly(raw: bytes | str) -> dict | None:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RejectedLine("not_utf8", str(error)[:80]) from error
    text = raw.strip()
    if not text:
        return None
    try:
        record = _DECODE(text)
    except RejectedLine:
        raise
    except (ValueError, RecursionError) as error:
        raise RejectedLine("not_json", str(error)[:80]) from error
    if not isinstance(record, dict):
        raise RejectedLine("not_object", type(record).__name__)
    try:  # the stdlib lets "\\ud800" through; no store or screen can hold it
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise RejectedLine(
            "bad_text", f"not a Unicode scalar value: {error.object[error.start : error.end]!a}"
        ) from error
    record["_slow"] = True
    return record


def named_features(features: Sequence[str]) -> tuple[str, ...]:
    """The feature list, each name checked against WIRE §1 (ValueError naming the bad one)."""
    for name in features:
        if not FEATURE_NAME.match(name):
            raise ValueError(f"feature name {name!r} does not match [A-Za-z0-9_.-]{{1,64}}")
    return tuple(features)


class RecordParser:
    """Turns raw JSON Lines into RecordBatches for one station's feature list.

    `features` fixes the matrix columns. With `fixed=True` a record naming any other feature is
    rejected (`unknown_feature`); otherwise extra features are ignored. Owned by one thread.
    """

    def __init__(
        self,
        features: Sequence[str],
        *,
        fixed: bool = False,
        classes: Sequence[str] = (),
        source: str = "",
        future_margin: float = FUTURE_MARGIN,
    ) -> None:
        self.features = named_features(features)
        self.fixed = fixed
        self.classes = ClassTable(list(classes))
        self.source = source
        self._feature_set = frozenset(self.features)
        self._row_of = operator.itemgetter(*self.features) if self.features else None
        self.clock = StreamClock(future_margin)
        self.categories = CategoryNames(self.features, ())  # the owner names categorical ones

    def parse(
        self, lines: Iterable[bytes | str], *, timed: bool = True
    ) -> tuple[RecordBatch, list[Rejected]]:
        """Parse lines (with or without their terminator); blank lines are skipped silently.

        Usual lines are checked a column at a time (one C-level pass per field); a line that
        looks unusual is judged on its own. Should a column check fail, the whole chunk is
        judged line by line, which names each bad line's reason. With `timed` (a stream, not a
        reference file) records too far ahead of the stream's time are rejected."""
        lines = lines if isinstance(lines, list) else list(lines)
        with _no_cycle_search():
            result = self._parse_in_bulk(lines)
            parsed = result if result is not None else self._parse_line_by_line(lines)
        batch, rejected, raws = parsed
        if timed and len(batch):
            batch = self._judge_time(batch, raws, rejected)
        return batch, rejected

    def _judge_time(self, batch: RecordBatch, raws: list, rejected: list[Rejected]) -> RecordBatch:
        bad = self.clock.judge(batch.ts)
        if not bad.any():
            return batch
        for i in np.flatnonzero(bad).tolist():
            detail = f"{batch.ts_text[i]!r} is ahead of the stream's time"
            rejected.append(Rejected(_kept(raws[i]), "ts_implausible", detail[:120], self.source))
        return batch.select(np.flatnonzero(~bad))

    def _parse_in_bulk(self, lines: list[bytes | str]) -> tuple[RecordBatch, list, list] | None:
        good = self._decode_all(lines)
        rejected: list[Rejected] = []
        raws: list = lines
        if good is None:
            good, rejected, raws = self._decode_each(lines)
        parts = list(map(_PART_OF, good))  # C-level getters: a Python loop per field costs
        classes = list(map(_CLASS_OF, good))  # twice as much at hundreds of thousands of lines
        confs = list(map(_CONF_OF, good))
        if good and not (
            set(map(type, parts)) == _STR
            and set(map(type, classes)) == _STR
            and set(map(type, confs)) <= _NUMBER_TYPES
            and min(map(len, parts)) >= 1 and max(map(len, parts)) <= 64
            and min(map(len, classes)) >= 1 and max(map(len, classes)) <= 64
        ):  # fmt: skip
            return None
        conf = np.array(confs, dtype=np.float64)
        if ((conf < 0.0) | (conf > 1.0)).any():
            return None
        names = self.features
        feats = list(map(_FEATURES_OF, good))
        try:  # every feature present: one C-level getter per record
            rows = (
                list(map(self._row_of, feats))
                if self._row_of is not None and len(names) > 1
                else [[f[names[0]]] for f in feats]
            )
        except KeyError:
            rows = [[f.get(name) for name in names] for f in feats]
        rows = _coded_rows(rows, self.categories)  # None: a bad category, judged line by line
        if rows is None or not set(map(type, chain.from_iterable(rows))) <= _FEATURE_VALUE_TYPES:
            return None
        if max(map(len, feats), default=0) > MAX_FEATURES:
            return None
        texts = list(map(_TS_OF, good))
        stamps = _stamps(texts)  # None: a bad timestamp, judged line by line
        if stamps is None:
            return None
        table = self.classes
        if len(table.names) + len(set(classes)) > MAX_CLASSES and not all(
            map(table.knows, set(classes))
        ):
            return None
        text = {key: list(map(dict.get, good, repeat(key))) for key in _OPTIONAL_TEXT}
        if not all(set(map(type, column)) <= _TEXT_TYPES for column in text.values()):
            return None
        ids = chain(parts, classes, *(filter(None, text[k]) for k in ("station", "batch", "model")))
        joined = "".join(ids)  # isprintable is a fast C pass; the regex names control chars
        if not joined.isprintable() and _CONTROL.search(joined):
            return None
        try:
            matrix = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
        except OverflowError:
            return None
        codes = table.codes(classes)
        return _assemble(matrix, codes, conf, stamps, texts, parts, text), rejected, raws

    def _decode_all(self, lines: list[bytes | str]) -> list[dict] | None:
        """Every line decoded and shaped as a record, in C-level passes; None if any is not."""
        if not lines or max(map(len, lines)) > MAX_LINE_BYTES:
            return None
        try:
            records = list(map(_fast_loads, lines))
        except orjson.JSONDecodeError:
            return None
        if set(map(type, records)) != _DICT or not all(
            map(operator.le, repeat(_REQUIRED_SET), map(dict.keys, records))
        ):
            return None
        feats = list(map(_FEATURES_OF, records))
        if set(map(type, feats)) != _DICT or not all(
            map(operator.le, map(dict.keys, feats), repeat(self._feature_set))
        ):
            return None
        return records

    def _decode_each(self, lines: list[bytes | str]) -> tuple[list[dict], list[Rejected], list]:
        """Decode line by line: usual records pass straight on, unusual lines are judged."""
        good: list[dict] = []
        raws: list[bytes | str] = []
        rejected: list[Rejected] = []
        required, known = _REQUIRED_SET, self._feature_set
        loads = _fast_loads
        for raw in lines:
            try:
                record = loads(raw) if len(raw) <= MAX_LINE_BYTES else None
            except orjson.JSONDecodeError:
                record = None
            if (
                type(record) is dict
                and required <= record.keys()
                and type(feats := record["features"]) is dict
                and feats.keys() <= known
            ):
                good.append(record)
                raws.append(raw)
                continue
            try:  # an unusual line: judged on its own
                record = _decode_line(raw)
                if record is None:
                    continue
                self._check(record)
            except RejectedLine as error:
                rejected.append(Rejected(_kept(raw), error.reason, error.detail, self.source))
                continue
            good.append(record)
            raws.append(raw)
        return good, rejected, raws

    def _parse_line_by_line(self, lines: list[bytes | str]) -> tuple[RecordBatch, list, list]:
        good: list[dict] = []
        raws: list[bytes | str] = []
        rows: list[list[float | None]] = []
        rejected: list[Rejected] = []
        check = self._check
        decode = _decode_line
        for raw in lines:
            try:
                record = decode(raw)
                if record is None:
                    continue
                rows.append(check(record))
            except RejectedLine as error:
                rejected.append(Rejected(_kept(raw), error.reason, error.detail, self.source))
                continue
            good.append(record)
            raws.append(raw)
        # The optional text fields are checked a column at a time: one pass in C per field.
        text = {key: list(map(dict.get, good, repeat(key))) for key in _OPTIONAL_TEXT}
        if not all(set(map(type, column)) <= _TEXT_TYPES for column in text.values()):
            good, rows, text, raws = self._drop_bad_text(good, raws, rows, rejected)
        names = self.features
        matrix = (
            np.array(rows, dtype=np.float64)
            if rows
            else np.empty((0, len(names)), dtype=np.float64)
        )
        if matrix.ndim != 2:
            matrix = matrix.reshape(len(rows), len(names))
        codes, conf, stamps, texts, parts = (
            [r[key] for r in good] for key in ("_code", "conf", "_ts", "ts", "part")
        )
        return _assemble(matrix, codes, conf, stamps, texts, parts, text), rejected, raws

    def _drop_bad_text(
        self, good: list[dict], raws: list, rows: list, rejected: list[Rejected]
    ) -> tuple[list[dict], list, dict, list]:
        """Reject the records whose optional text fields are not strings (the rare case)."""
        keep_good, keep_rows, keep_raws = [], [], []
        for record, raw, row in zip(good, raws, rows, strict=True):
            bad = next((k for k in _OPTIONAL_TEXT if type(record.get(k)) not in _TEXT_TYPES), None)
            if bad is None:
                keep_good.append(record)
                keep_rows.append(row)
                keep_raws.append(raw)
            else:
                detail = f"{bad} must be a string"
                rejected.append(Rejected(_kept(raw), "bad_type", detail, self.source))
        text = {key: [r.get(key) for r in keep_good] for key in _OPTIONAL_TEXT}
        return keep_good, keep_rows, text, keep_raws

    def _check(self, record: dict) -> list[float | None]:
        """Validate one decoded record (adds `_ts`); returns its feature row."""
        if not record.keys() >= _REQUIRED_SET:
            raise RejectedLine("missing_field", next(k for k in _REQUIRED if k not in record))
        part, cls, conf, feats = record["part"], record["class"], record["conf"], record["features"]
        if type(part) is not str or not 1 <= len(part) <= 64:
            raise RejectedLine("bad_type", "part must be a string of 1-64 characters")
        if type(cls) is not str or not 1 <= len(cls) <= 64:
            raise RejectedLine("bad_type", "class must be a string of 1-64 characters")
        if len(self.classes.names) >= MAX_CLASSES and not self.classes.knows(cls):
            raise RejectedLine("too_many_classes", cls)
        if type(conf) not in _NUMBER_TYPES:
            raise RejectedLine("bad_type", "conf must be a number")
        if not 0.0 <= conf <= 1.0:
            raise RejectedLine("bad_conf" if _finite(conf) else "non_finite", repr(conf)[:80])
        for key in _IDS:
            value = record.get(key)
            if type(value) is str and _CONTROL.search(value):
                raise RejectedLine("bad_id", f"{key} holds control characters: {value[:40]!a}")
        if type(feats) is not dict:
            raise RejectedLine("bad_type", "features must be an object")
        if len(feats) > MAX_FEATURES:
            raise RejectedLine("too_many_features", str(len(feats)))
        record["_ts"] = parse_timestamp(record["ts"])
        feats = _coded_record(feats, self.categories)
        if not set(map(type, feats.values())) <= _FEATURE_VALUE_TYPES:
            bad = next(k for k, v in feats.items() if type(v) not in _FEATURE_VALUE_TYPES)
            raise RejectedLine("bad_type", f"feature {bad[:64]!r} must be a number or null")
        if not feats.keys() <= self._feature_set:
            unknown = sorted(feats.keys() - self._feature_set)
            bad_names = [n for n in unknown if not FEATURE_NAME.match(n)]
            if bad_names:
                raise RejectedLine("bad_feature_name", repr(bad_names[0])[:80])
            if self.fixed:
                raise RejectedLine("unknown_feature", repr(unknown[0]))
        get = feats.get
        row = [get(name) for name in self.features]
        # orjson refuses non-finite numbers; only the stdlib path can bring them in.
        if record.get("_slow"):
            for value in row:
                if not (value is None or _finite(value)):
                    raise RejectedLine("non_finite", repr(value)[:80])
        record["_code"] = self.classes.code(cls)
        return row


def _coded_rows(rows: list, categories: CategoryNames) -> Any:
    """Rows with their categorical values as codes; None when one is bad (judged per line).
    (Typed Any: the caller's `rows` holds either.)"""
    if not categories.columns:
        return rows
    try:
        return categories.encode_rows(rows)
    except BadCategory:
        return None


def _coded_record(feats: dict, categories: CategoryNames) -> dict:
    """One record's features with their categorical values as codes; RejectedLine if bad."""
    if not categories.columns:
        return feats
    try:
        return categories.encode_record(feats)
    except BadCategory as error:
        raise RejectedLine(error.reason, error.detail) from error


def _finite(value: float) -> bool:
    """Finite as a float64: an integer too large for one (400 digits) is not."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _kept(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")


def _stamps(texts: list) -> Any:
    """Epoch seconds of the texts: the usual form in one numpy pass (console/stamps.py), any
    other one by one; None if one is not a timestamp."""
    stamps = usual_stamps(texts)
    if stamps is not None:
        return stamps
    try:
        return [parse_timestamp(t) for t in texts]
    except RejectedLine:
        return None


@contextmanager
def _no_cycle_search() -> Iterator[None]:
    """Hold the cyclic garbage collector while a chunk is parsed: the decoded records (dicts,
    strings, numbers) hold no cycles and go by reference counting, and the collector would only
    walk the thousands of them again and again (a fifth of the parse). It runs again after,
    unless someone else had stopped it."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _assemble(
    matrix: np.ndarray, codes: list, conf, stamps: list, texts: list, parts: list, text: dict
) -> RecordBatch:
    """A RecordBatch from checked columns (both parse paths end here)."""
    return RecordBatch(
        features=matrix,
        class_codes=np.array(codes, dtype=np.int32),
        conf=np.asarray(conf, dtype=np.float64),
        ts=np.array(stamps, dtype=np.float64),
        ts_text=tuple(texts),
        part=tuple(parts),
        batch=tuple(text["batch"]),
        model=tuple(text["model"]),
        image=tuple(text["image"]),
        label=tuple(text["label"]),
        station=tuple(text["station"]),
    )


def learn_features(lines: Iterable[bytes | str], limit: int = 1000) -> tuple[str, ...]:
    """Feature names of the first well-formed record among the first `limit` lines (in its
    order), for a station whose config does not list them; empty if none is found."""
    for feats in sampled_features(lines, limit):
        if feats and all(isinstance(k, str) and FEATURE_NAME.match(k) for k in feats):
            return tuple(feats)[:MAX_FEATURES]
    return ()
