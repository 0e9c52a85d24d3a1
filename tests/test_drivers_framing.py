"""Line framing and delimited decoding: literal bytes, then a million fuzzed frames."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.records import MAX_LINE_BYTES, REJECT_REASONS, RecordParser
from drivers.framing import (
    DelimitedDecoder,
    LineFramer,
    nmea_checksum,
    strip_checksum,
    with_checksum,
)
from tests.drivers_helpers import record_line

FEATURES = ("brightness", "contrast", "focus")


def feed_all(framer: LineFramer, chunks: list[bytes]) -> tuple[list[bytes], list]:
    lines, rejected = [], []
    for chunk in chunks:
        got, bad = framer.feed(chunk)
        lines += got
        rejected += bad
    return lines, rejected


def test_framer_joins_split_lines_and_strips_crlf() -> None:
    framer = LineFramer()
    lines, rejected = feed_all(framer, [b'{"a":', b"1}\r", b"\n{", b'"b":2}\n\n\r\n', b"tail"])
    assert lines == [b'{"a":1}', b'{"b":2}']
    assert rejected == []
    assert framer.buffered() == 4
    assert framer.flush() == ([b"tail"], [])


def test_framer_rejects_over_long_line_once_and_resyncs_at_newline() -> None:
    framer = LineFramer(source="s")
    good = record_line(1)
    chunks = [good + b"\n" + b"x" * 40_000, b"y" * 40_000, b"z" * 100 + b"\n" + good + b"\n"]
    lines, rejected = feed_all(framer, chunks)
    assert lines == [good, good]
    assert [r.reason for r in rejected] == ["too_long"]
    assert rejected[0].raw == b"x" * 1024
    assert "80100 bytes" in rejected[0].detail
    assert framer.buffered() == 0


def test_framer_accepts_a_line_of_exactly_64_kib() -> None:
    framer = LineFramer()
    exact = b"a" * MAX_LINE_BYTES
    lines, rejected = feed_all(framer, [exact[:1000], exact[1000:] + b"\r", b"\n", exact + b"b\n"])
    assert lines == [exact]
    assert [r.reason for r in rejected] == ["too_long"]


def test_nmea_checksum_matches_a_known_sentence() -> None:
    sentence = b"$GPGLL,5057.970,N,00146.110,E,142451,A*27"
    assert nmea_checksum(b"GPGLL,5057.970,N,00146.110,E,142451,A") == 0x27
    assert strip_checksum(sentence) == b"GPGLL,5057.970,N,00146.110,E,142451,A"
    assert strip_checksum(sentence.replace(b"*27", b"*28")) is None
    assert strip_checksum(b"GPGLL,1*27") is None
    assert (
        with_checksum(b"P1,ok,0.9")
        == b"$P1,ok,0.9*" + f"{nmea_checksum(b'P1,ok,0.9'):02X}".encode()
    )


def test_delimited_line_becomes_one_canonical_json_record() -> None:
    decoder = DelimitedDecoder(("part", "class", "conf", "brightness", "focus"), ";", source="s")
    lines, rejected = decoder.decode(
        [b"P7;scratch;0.97;0.58;", b"P8;ok;0.5;0.6;117.7;extra"], now=0.0
    )
    assert json.loads(lines[0]) == {
        "part": "P7",
        "class": "scratch",
        "conf": 0.97,
        "features": {"brightness": 0.58, "focus": None},
        "ts": "1970-01-01T00:00:00.000Z",
    }
    assert [(r.raw, r.reason) for r in rejected] == [
        (b"P8;ok;0.5;0.6;117.7;extra", "bad_field_count")
    ]
    batch, bad = RecordParser(("brightness", "focus")).parse(lines)
    assert len(batch) == 1 and not bad


def test_delimited_checksum_rejects_bad_and_missing_checksums() -> None:
    decoder = DelimitedDecoder(("_", "part", "class", "conf", "x"), checksum=True)
    good = with_checksum(b"INSP,P1,ok,0.9,1.5")
    bad = good[:-1] + (b"0" if good[-1:] != b"0" else b"1")
    lines, rejected = decoder.decode([good, bad, b"INSP,P2,ok,0.9,1.5"])
    assert [json.loads(line)["part"] for line in lines] == ["P1"]
    assert [r.reason for r in rejected] == ["bad_checksum", "bad_checksum"]
    assert rejected[0].raw == bad


def test_delimited_values_are_judged_by_the_record_parser() -> None:
    decoder = DelimitedDecoder(("part", "class", "conf", "x"))
    lines, rejected = decoder.decode([b"P1,ok,1.5,1", b"P2,ok,0.5,nan", b"P3,ok,0.5,abc"])
    assert rejected == []
    _batch, bad = RecordParser(("x",)).parse(lines)
    assert [r.reason for r in bad] == ["bad_conf", "non_finite", "bad_type"]


# -- fuzzing ------------------------------------------------------------------------------


def _mutate(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(len(data)) if data else 0
        if op < 0.3 and data:
            data[pos] ^= 1 << rng.randrange(8)
        elif op < 0.5 and data:
            del data[pos]
        elif op < 0.7:
            data.insert(pos, rng.randrange(256))
        elif op < 0.85:
            del data[rng.randrange(len(data) + 1) :]
        else:
            data[pos:pos] = rng.choice((b"NaN", b"1e999", b'"', b"{", b"}", b"\xff\xfe", b"\r"))
    return bytes(data).replace(b"\n", b" ")


def _garbage(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(0, 200)).replace(b"\n", b"\x00")


def _frames(rng: random.Random, n: int, first_part: int) -> tuple[list[bytes], set[bytes]]:
    frames: list[bytes] = []
    valid: set[bytes] = set()
    for i in range(n):
        kind = rng.random()
        if kind < 0.6:
            line = record_line(first_part + i)
            valid.add(line)
            frames.append(line)
        elif kind < 0.8:
            frames.append(_mutate(rng, record_line(first_part + i, part_prefix="M")))
        elif kind < 0.9995:
            frames.append(_garbage(rng))
        else:
            size = rng.choice(
                (MAX_LINE_BYTES, MAX_LINE_BYTES + 1, rng.randint(MAX_LINE_BYTES, 70_000))
            )
            frames.append(b"{" + b"x" * (size - 1))
    return frames, valid


def _expected_lines(frames: list[bytes], crlf: list[bool]) -> tuple[list[bytes], int]:
    lines, too_long = [], 0
    for frame, cr in zip(frames, crlf, strict=True):
        segment = frame + b"\r" if cr else frame
        segment = segment[:-1] if segment.endswith(b"\r") else segment
        if not segment:
            continue
        if len(segment) > MAX_LINE_BYTES:
            too_long += 1
        else:
            lines.append(segment)
    return lines, too_long


def _chunks(rng: random.Random, blob: bytes, style: int) -> list[bytes]:
    sizes = {0: (1, 16), 1: (1, 4096), 2: (1000, 100_000)}[style]
    out, pos = [], 0
    while pos < len(blob):
        step = rng.randint(*sizes)
        out.append(blob[pos : pos + step])
        pos += step
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)  # room for a loaded machine
def test_framer_and_parser_survive_a_million_fuzzed_frames() -> None:
    """Random, mutated, garbage and over-long frames in random chunks: counts always add up."""
    total = 0
    per_example = 20_000
    parser = RecordParser(FEATURES, fixed=False)

    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(seed=st.integers(0, 2**32 - 1), style=st.sampled_from((0, 1, 1, 2, 2, 2)))
    def check(seed: int, style: int) -> None:
        nonlocal total
        rng = random.Random(seed)
        n = per_example // 8 if style == 0 else per_example
        frames, valid = _frames(rng, n, first_part=seed % 10_000_000)
        crlf = [rng.random() < 0.3 for _ in frames]
        blob = b"".join(f + (b"\r\n" if cr else b"\n") for f, cr in zip(frames, crlf, strict=True))
        framer = LineFramer("fuzz")
        lines, rejected = [], []
        for chunk in _chunks(rng, blob, style):
            got, bad = framer.feed(chunk)
            lines += got
            rejected += bad
            assert framer.buffered() <= MAX_LINE_BYTES + 1
        tail, tail_bad = framer.flush()
        assert tail == [] and tail_bad == []
        expected, too_long = _expected_lines(frames, crlf)
        assert lines == expected  # every line, garbage or not, exactly once and in order
        assert [r.reason for r in rejected] == ["too_long"] * too_long
        assert all(len(r.raw) <= 1024 for r in rejected)
        batch, parse_rejected = parser.parse(lines)
        blank = sum(1 for line in lines if _parser_blank(line))
        assert len(batch) + len(parse_rejected) + blank == len(lines)
        assert {r.reason for r in parse_rejected} <= set(REJECT_REASONS)
        accepted = set(batch.part)
        assert {json.loads(v)["part"] for v in valid} <= accepted
        total += len(frames)

    while total < 1_000_000:  # each run is 40 fresh examples; the mix of chunk styles varies
        check()
    assert total >= 1_000_000


def _parser_blank(line: bytes) -> bool:
    try:
        return not line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


@pytest.mark.slow
def test_delimited_decoder_fuzz_every_line_accounted_for() -> None:
    rng = random.Random(7)
    decoder = DelimitedDecoder(("_", "part", "class", "conf", "x", "y"), checksum=True, source="s")
    parser = RecordParser(("x", "y"))
    total = 0
    for _ in range(20):
        lines = []
        for i in range(10_000):
            payload = f"INSP,P{i},ok,0.{i % 10},{i / 7:.3f},{i % 13}".encode()
            line = with_checksum(payload)
            lines.append(_mutate(rng, line) if rng.random() < 0.3 else line)
        lines = [line for line in lines if line.strip()]
        records, rejected = decoder.decode(lines)
        assert len(records) + len(rejected) == len(lines)
        batch, bad = parser.parse(records)
        assert len(batch) + len(bad) == len(records)
        assert {r.reason for r in rejected} <= {"bad_checksum", "bad_field_count", "not_utf8"}
        total += len(lines)
    assert total >= 190_000
