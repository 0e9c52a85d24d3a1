"""Line framing and delimited-text decoding: pure functions over bytes, no I/O, no threads.

`LineFramer` cuts a byte stream (any chunking) into lines at `\\n`, drops a trailing `\\r`, and
never holds more than 64 KiB: a longer line is rejected once as `too_long` and the framer
resyncs at the next newline. Every newline-terminated, non-empty segment becomes exactly one
item, either a line or a `Rejected`, so counts add up; garbage between lines costs only the
line it sits in. `DelimitedDecoder` turns one delimited text line (optionally `$...*HH` with an
NMEA XOR checksum, WIRE.md §2) into one canonical JSON line (WIRE.md §1); value checks (conf
range, finite numbers, types) are left to `console.records.RecordParser`, so a record is judged
the same way whatever framing carried it. Used by the serial and TCP drivers (their threads).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from console.records import MAX_LINE_BYTES, Rejected, iso

# A rejected over-long line keeps this much of its start: enough to recognise it, bounded.
KEEP_OF_LONG_LINE = 1024
RECORD_TEXT_FIELDS = ("ts", "part", "class", "station", "batch", "model", "image", "label")
IGNORED_FIELD = "_"


class LineFramer:
    """Bytes → lines for one stream (one serial port, one TCP client); bounded, pure."""

    def __init__(self, source: str = "", max_line: int = MAX_LINE_BYTES) -> None:
        self.source = source
        self.max_line = max_line
        self._pending = b""
        self._discarding = 0  # > 0: inside an over-long line, this many bytes dropped so far
        self._long_head = b""

    def buffered(self) -> int:
        """Bytes held for an unfinished line (never more than max_line + 1)."""
        return len(self._pending)

    def feed(self, data: bytes) -> tuple[list[bytes], list[Rejected]]:
        """Complete lines in `data` (terminators stripped, empty lines dropped) and rejects."""
        rejected: list[Rejected] = []
        if self._discarding:
            cut = data.find(b"\n")
            if cut < 0:
                self._discarding += len(data)
                return [], rejected
            self._end_long_line(self._discarding + cut, rejected)
            data = data[cut + 1 :]
        buffer = self._pending + data if self._pending else data
        parts = buffer.split(b"\n")
        tail = parts.pop()
        limit = self.max_line
        lines = [p[:-1] if p[-1:] == b"\r" else p for p in parts if p and p != b"\r"]
        if lines and max(map(len, lines)) > limit:
            kept = []
            for line in lines:
                if len(line) > limit:
                    rejected.append(self._too_long(line[:KEEP_OF_LONG_LINE], len(line)))
                else:
                    kept.append(line)
            lines = kept
        if len(tail) > limit + 1:  # + 1: the line's content may still end in a `\r`
            self._pending = b""
            self._discarding = len(tail)
            self._long_head = tail[:KEEP_OF_LONG_LINE]
        else:
            self._pending = tail
        return lines, rejected

    def flush(self) -> tuple[list[bytes], list[Rejected]]:
        """At end of stream: the unterminated last line, if any, as a line (or a reject)."""
        rejected: list[Rejected] = []
        lines: list[bytes] = []
        if self._discarding:
            self._end_long_line(self._discarding, rejected)
        tail = self._pending.removesuffix(b"\r")
        self._pending = b""
        if tail:
            lines.append(tail)
        return lines, rejected

    def _end_long_line(self, length: int, rejected: list[Rejected]) -> None:
        rejected.append(self._too_long(self._long_head, length))
        self._discarding = 0
        self._long_head = b""

    def _too_long(self, head: bytes, length: int) -> Rejected:
        detail = f"{length} bytes (over {self.max_line}); first {len(head)} kept"
        return Rejected(head, "too_long", detail, self.source)


def nmea_checksum(payload: bytes) -> int:
    """XOR of the bytes between `$` and `*`."""
    value = 0
    for byte in payload:
        value ^= byte
    return value


def strip_checksum(line: bytes) -> bytes | None:
    """The payload of `$payload*HH` if HH matches, else None."""
    if len(line) < 4 or line[:1] != b"$" or line[-3:-2] != b"*":
        return None
    try:
        expected = int(line[-2:], 16)
    except ValueError:
        return None
    payload = line[1:-3]
    return payload if nmea_checksum(payload) == expected else None


def with_checksum(payload: bytes) -> bytes:
    """`$payload*HH`: how a device that checksums its lines sends them (for tests and sinks)."""
    return b"$" + payload + b"*" + f"{nmea_checksum(payload):02X}".encode()


def utc_now_text(now: float | None = None) -> str:
    """Now (or `now`) as records carry it."""
    return iso(time.time() if now is None else now)


def _number_or_text(text: str) -> float | int | str | None:
    """A field as the record carries it: a number, null when empty, else the text (→ bad_type)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


class DelimitedDecoder:
    """Delimited text line → canonical JSON line, with the configured field order; pure."""

    def __init__(
        self,
        fields: Sequence[str],
        delimiter: str = ",",
        *,
        checksum: bool = False,
        source: str = "",
    ) -> None:
        if not fields:
            raise ValueError("delimited text needs the field order (source.fields)")
        if not delimiter:
            raise ValueError("delimiter must not be empty")
        self.fields = tuple(fields)
        self.delimiter = delimiter
        self.checksum = checksum
        self.source = source

    def decode(
        self, lines: Sequence[bytes], now: float | None = None
    ) -> tuple[list[bytes], list[Rejected]]:
        """Each line → one JSON line, or a Rejected kept verbatim (bad_checksum, bad_field_count…)."""
        out: list[bytes] = []
        rejected: list[Rejected] = []
        stamp = None
        for raw in lines:
            try:
                record = self._record(raw)
            except _Reject as error:
                rejected.append(Rejected(raw, error.reason, error.detail, self.source))
                continue
            if record is None:
                continue
            if "ts" not in record:
                stamp = stamp or utc_now_text(now)
                record["ts"] = stamp
            out.append(json.dumps(record, separators=(",", ":"), allow_nan=True).encode())
        return out, rejected

    def _record(self, raw: bytes) -> dict | None:
        line = raw.strip()
        if not line:
            return None
        if self.checksum:
            payload = strip_checksum(line)
            if payload is None:
                raise _Reject("bad_checksum", _checksum_detail(line))
            line = payload
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Reject("not_utf8", str(error)[:80]) from error
        values = text.split(self.delimiter)
        if len(values) != len(self.fields):
            raise _Reject("bad_field_count", f"{len(values)} fields, expected {len(self.fields)}")
        record: dict = {}
        features: dict = {}
        for name, value in zip(self.fields, values, strict=True):
            if name == IGNORED_FIELD:
                continue
            if name in RECORD_TEXT_FIELDS:
                value = value.strip()
                if value or name in ("part", "class", "ts"):
                    record[name] = value
            elif name == "conf":
                record["conf"] = _number_or_text(value)
            else:
                number = _number_or_text(value)
                features[name] = number
        record["features"] = features
        return record


def _checksum_detail(line: bytes) -> str:
    if line[:1] != b"$" or line[-3:-2] != b"*":
        return "no $...*HH checksum"
    payload = line[1:-3]
    return f"got {line[-2:].decode('ascii', 'replace')}, computed {nmea_checksum(payload):02X}"


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
