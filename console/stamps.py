"""Timestamps of a chunk of records read in one numpy pass, when all have the usual form.

A line's `ts` is RFC 3339; almost every source writes it as `YYYY-MM-DDTHH:MM:SS.mmmZ` (24
characters, UTC, milliseconds), the form `console.records.iso` writes. `usual_stamps` reads a
whole chunk of those as one byte matrix: the digits and separators are checked in place, the
calendar date is validated (month, day of the month with leap years, hour, minute, second
below 60, as `datetime.fromisoformat` does) and the epoch seconds are the whole microseconds
divided by 10⁶, which is what `datetime.timestamp()` computes (an exact integer over 10⁶,
rounded once), so the floats are the same to the last bit as `parse_timestamp` gives (a test
compares them). Any other form, an offset, a lowercase `t`, other digits of the second, a
character outside ASCII, makes it return None, and the caller reads the chunk line by line.
Runs on the thread that parses (the engine's, or `analyze`'s main thread); no state.
"""

from __future__ import annotations

import numpy as np

WIDTH = 24  # YYYY-MM-DDTHH:MM:SS.mmmZ
SEPARATORS = {4: b"-", 7: b"-", 10: b"T", 13: b":", 16: b":", 19: b".", 23: b"Z"}
DIGITS = np.array([k for k in range(WIDTH) if k not in SEPARATORS])
EXACT = 2**53  # whole microseconds that a float holds exactly
DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def usual_stamps(texts: list) -> np.ndarray | None:
    """Epoch seconds of every text, or None unless all have the usual form (see above)."""
    count = len(texts)
    if not count:
        return None
    try:
        joined = "".join(texts).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if len(joined) != count * WIDTH:
        return None
    chars = np.frombuffer(joined, np.uint8).reshape(count, WIDTH)
    for column, separator in SEPARATORS.items():
        if not (chars[:, column] == separator[0]).all():
            return None
    digits = chars[:, DIGITS].astype(np.int64) - ord("0")
    if ((digits < 0) | (digits > 9)).any():
        return None
    d = digits
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    hour = d[:, 8] * 10 + d[:, 9]
    minute = d[:, 10] * 10 + d[:, 11]
    second = d[:, 12] * 10 + d[:, 13]
    milli = d[:, 14] * 100 + d[:, 15] * 10 + d[:, 16]
    if not ((year >= 1) & (month >= 1) & (month <= 12)).all():
        return None
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = DAYS_IN_MONTH[month] + (leap & (month == 2))
    if not ((day >= 1) & (day <= last) & (hour < 24) & (minute < 60) & (second < 60)).all():
        return None
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    micro = seconds * 1_000_000 + milli * 1000
    if not (np.abs(micro) < EXACT).all():  # beyond 2255: a float would round it twice
        return None
    return micro / 1e6


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
