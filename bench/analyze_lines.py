"""Streams for the `analyze` benchmark that are unlike the simulator: a line like the held-out
check of issue 12 (12 inputs, 5,000 parts a day in two 8-hour shifts from 06:00 to 22:00 and no
production at night, fixed shift offsets of ±0.15 sd on one input and ±0.3 sd on another, a daily
cycle on one input, a 5-day reference, then a drift of −1 sd over 42 days in one input and −0.8 sd
in another), written as JSON Lines in the §1 record format (WIRE.md) with the values a Python
float's repr gives. Built from `bench.lines.LineData`. Main thread only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.lines import CLASSES, Drift, LineData, LineDesign

INPUTS = 12


def held_out_like(seed: int = 12) -> LineDesign:
    """The held-out line's design (see the module docstring); drift begins a day after the
    5-day reference."""
    offsets = np.zeros((2, INPUTS))
    offsets[:, 3] = (0.15, -0.15)
    offsets[:, 7] = (0.3, -0.3)
    cycle = np.zeros(INPUTS)
    cycle[5] = 0.8
    return LineDesign(
        seed=seed,
        inputs=INPUTS,
        parts_per_day=5000.0,
        night_gap=True,
        cycle=cycle,
        cycle_phase=np.zeros(INPUTS),
        shift_fixed=offsets,
        shift_daily_sd=np.zeros(INPUTS),
        reference_days=5.0,
        onset_day=1.0,
        drifts=(Drift(column=1, size=-1.0, days=42.0), Drift(column=9, size=-0.8, days=42.0)),
        missing_base=np.zeros(INPUTS),
    )


def write_line(
    design: LineDesign, folder: Path, records: int, *, station: str = "L12"
) -> tuple[Path, Path, int]:
    """The reference days to `reference.jsonl` and then `records` production records to
    `stream.jsonl` in `folder`; returns both paths and the records written to the stream."""
    data = LineData(design)
    reference = folder / "reference.jsonl"
    stream = folder / "stream.jsonl"
    names = data.names
    with reference.open("wb") as out:
        out.write(_lines(data.reference(), names, station))
    written = 0
    day = math.ceil(design.reference_days)
    with stream.open("wb") as out:
        while written < records:
            batch = data.days(day, 1)
            batch = batch.take(slice(0, min(len(batch), records - written)))
            out.write(_lines(batch, names, station))
            written += len(batch)
            day += 1
    return reference, stream, written


def _lines(batch, names: tuple[str, ...], station: str) -> bytes:
    features = batch.features.tolist()
    conf = batch.conf.tolist()
    codes = batch.class_codes.tolist()
    out = []
    for i in range(len(batch)):
        values = ",".join(
            f'"{name}":{"null" if v != v else repr(v)}'
            for name, v in zip(names, features[i], strict=True)
        )
        out.append(
            f'{{"ts":"{batch.ts_text[i]}","station":"{station}","part":"{batch.part[i]}",'
            f'"class":"{CLASSES[codes[i]]}","conf":{conf[i]!r},"features":{{{values}}}}}\n'
        )
    return "".join(out).encode()
