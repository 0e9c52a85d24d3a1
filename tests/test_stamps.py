"""Timestamps of the usual form read in bulk (console/stamps.py) are the floats that
`parse_timestamp` gives, to the last bit; any other form is left to it (None)."""

from datetime import UTC, datetime

import numpy as np

from console.records import iso, parse_timestamp
from console.stamps import usual_stamps


def test_usual_stamps_are_the_floats_parse_timestamp_gives() -> None:
    rng = np.random.default_rng(2)
    moments = rng.uniform(-8e9, 9e9, 20_000).round(3)  # 1716 … 2255, to the millisecond
    texts = [iso(float(m)) for m in moments]
    texts += ["2024-02-29T23:59:59.999Z", "2000-02-29T00:00:00.000Z", "1970-01-01T00:00:00.000Z"]
    got = usual_stamps(texts)
    assert got is not None
    want = np.array([parse_timestamp(t) for t in texts])
    assert np.array_equal(got, want)


def test_any_other_form_is_left_to_the_line_by_line_reader() -> None:
    good = "2026-03-02T06:00:00.000Z"
    for odd in (
        "2026-03-02T06:00:00.000+01:00",  # an offset
        "2026-03-02t06:00:00.000Z",  # lowercase t
        "2026-03-02T06:00:00.000000Z",  # microseconds
        "2026-03-02T06:00:00Z",  # no fraction
        "2026-02-29T06:00:00.000Z",  # not a leap year
        "2026-13-02T06:00:00.000Z",
        "2026-03-02T24:00:00.000Z",
        "2026-03-02T06:00:60.000Z",
        "0000-03-02T06:00:00.000Z",
        "2400-03-02T06:00:00.000Z",  # beyond what a float holds in microseconds
        "2026-03-02T06:0a:00.000Z",
        "2026-03-02T06:00:00.000Ü",
        "2026-03-0é06:00:00.000Z",
        17,
        None,
    ):
        assert usual_stamps([good, odd]) is None, odd
    assert usual_stamps([]) is None
    assert usual_stamps([good])[0] == datetime(2026, 3, 2, 6, tzinfo=UTC).timestamp()
