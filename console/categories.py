"""Categorical inputs (WIRE.md §1): text values such as a channel, a salary band or a yes/no flag.

A categorical value travels through the engine as a float64 *code* in the ordinary feature
matrix (NaN = missing, as for every input), so that batches, the store's feature blob, replay
and the reference records keep one representation. The code is a pure function of the text
(48 bits of its BLAKE2b hash, exact in a float64): every parser, every restart, replay and an
export analyzed again give the same text the same code without sharing a table. The text of a
code is kept in `CategoryNames` (the parser's), `TEXTS` (the process's) and the store's
`categories` table (migration 9); a collision of two texts of one input is refused as a bad line.

This module also infers categorical inputs from the first records when the config declares
none (an input whose values there are all text). Pure functions and small objects; the thread
that owns the parser (the engine's) runs them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence

MAX_CATEGORY_CHARS = 64
_STR = {str}
MAX_CATEGORIES = 256  # per input, as for classes: more is a garbled stream or a serial number
_CONTROL = frozenset(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)))


class BadCategory(ValueError):
    """A value a categorical input cannot take; `reason` is one of records.REJECT_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# The text of every code met in this process: the inverse of `category_code`, a pure function,
# so one cache serves every parser and reader (filled by parsing and by reading the store).
TEXTS: dict[float, str] = {}


def category_text(code: float) -> str:
    """The text of a code met in this process (`#code` for one never met)."""
    return TEXTS.get(code) or f"#{int(code)}"


def category_code(text: str) -> float:
    """The code of a category's text: 48 bits of its BLAKE2b hash, as an exact float64."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=6).digest()
    return float(int.from_bytes(digest, "big"))


class CategoryNames:
    """Code → text of every category met, per input; `fresh` holds those not yet stored.

    Owned by the thread that owns the parser (the engine's); readers copy what they need."""

    def __init__(self, features: Sequence[str], categorical: Sequence[str]) -> None:
        declared = set(categorical)
        # The categorical inputs in matrix order, and their (column, name).
        self.features = tuple(name for name in features if name in declared)
        self.columns = tuple((j, name) for j, name in enumerate(features) if name in declared)
        self.names: dict[str, dict[float, str]] = {name: {} for name in self.features}
        # text → code of the values met: hashing each value again would cost more than parsing
        self.codes: dict[str, dict[str, float]] = {name: {} for name in self.features}
        self.fresh: list[tuple[str, float, str]] = []

    def encode(self, feature: str, value: object) -> float | None:
        """The code of one value of a categorical input (None: missing); BadCategory when
        the value is neither text of 1-64 printable characters, an integer nor null."""
        if value is None:
            return None
        if type(value) is int:  # integer-coded categories: "3" is a category like any other
            value = str(value)
        if type(value) is not str or not 1 <= len(value) <= MAX_CATEGORY_CHARS:
            raise BadCategory(
                "bad_type", f"feature {feature!r} is categorical: a string of 1-64 characters"
            )
        if not _CONTROL.isdisjoint(value):
            raise BadCategory("bad_id", f"feature {feature!r} holds control characters")
        code = category_code(value)
        known = self.names[feature]
        text = known.get(code)
        if text is None:
            if len(known) >= MAX_CATEGORIES:
                raise BadCategory(
                    "too_many_categories",
                    f"feature {feature!r} has {MAX_CATEGORIES} values already; {value[:40]!r} is one more",
                )
            known[code] = TEXTS[code] = value
            self.codes[feature][value] = code
            self.fresh.append((feature, code, value))
        elif text != value:
            raise BadCategory("bad_type", f"feature {feature!r}: {value!r} collides with {text!r}")
        return code

    def encode_rows(self, rows: list) -> list[list[float | None]]:
        """Rows of raw feature values (matrix order) with the categorical values as codes."""
        out = list(map(list, rows))
        encode = self.encode
        for j, name in self.columns:
            seen = self.codes[name]
            values = [row[j] for row in out]
            if set(map(type, values)) == _STR:  # the usual column: text only, all met before
                codes = list(map(seen.get, values))
                if None not in codes:
                    for row, code in zip(out, codes, strict=True):
                        row[j] = code
                    continue
            for row, value in zip(out, values, strict=True):
                code = seen.get(value) if type(value) is str else None
                row[j] = encode(name, value) if code is None else code
        return out

    def encode_record(self, feats: dict) -> dict:
        """A record's `features` object with its categorical values as codes."""
        coded = dict(feats)
        for _, name in self.columns:
            if name in coded:
                coded[name] = self.encode(name, coded[name])
        return coded

    def take_fresh(self) -> list[tuple[str, float, str]]:
        """The categories met since the last call (for the store's dictionary)."""
        fresh, self.fresh = self.fresh, []
        return fresh


def sampled_features(lines: Iterable[bytes | str], limit: int = 1000) -> Iterator[dict]:
    """The `features` object of each decodable record among the first `limit` lines."""
    for count, raw in enumerate(lines):
        if count >= limit:
            break
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        feats = record.get("features") if isinstance(record, dict) else None
        if isinstance(feats, dict):
            yield feats


def infer_categorical(
    lines: Iterable[bytes | str], features: Sequence[str], limit: int = 1000
) -> tuple[str, ...]:
    """Inputs whose values in the first `limit` lines' records are all text (at least one),
    in feature order: a stream that sends text where the config declares nothing."""
    text: set[str] = set()
    other: set[str] = set()
    for feats in sampled_features(lines, limit):
        for name, value in feats.items():
            if isinstance(value, str):
                text.add(name)
            elif value is not None:
                other.add(name)
    return tuple(name for name in features if name in text and name not in other)
