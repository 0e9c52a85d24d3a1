"""Raw JSON Lines in, record batches out: the engine's reading of what the sources deliver.

`RecordReader` learns the feature list from the first records when the config names none,
parses lines with `RecordParser` (console/records.py; records too far ahead of the stream's own
time are rejected as `ts_implausible`, console/stream_time.py) and counts lines and rejections
by reason. Engine thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from console.categories import CategoryNames, infer_categorical
from console.config import Station
from console.records import FUTURE_MARGIN, RecordBatch, RecordParser, Rejected, learn_features


class RecordReader:
    """Parses lines into batches of records; counts lines read and lines rejected."""

    def __init__(
        self,
        station: Station,
        features: Sequence[str] = (),
        on_features: Callable[[tuple[str, ...]], None] | None = None,
        future_margin: float = FUTURE_MARGIN,
    ) -> None:
        self.station = station
        self.future_margin = future_margin
        self.on_features = on_features
        self.features: tuple[str, ...] = tuple(station.features) or tuple(features)
        # Declared categorical inputs, or (none declared) inferred from the first lines read.
        self.categorical: tuple[str, ...] = tuple(station.categorical)
        self.inferred = bool(self.categorical)
        self.on_note: Callable[[str, str], None] | None = None  # (input, text): a system event
        self.parser: RecordParser | None = self._parser() if self.features else None
        self.lines = 0
        self.rejected: Counter[str] = Counter()

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.parser.classes.names) if self.parser else ()

    def read(
        self, lines: Sequence[bytes | str], source: str = ""
    ) -> tuple[RecordBatch, list[Rejected]] | None:
        """Accepted records and rejected lines; None (every line counted as rejected) while no
        record has shown what the features are."""
        parser = self._infer(lines) or self.parser or self._learn(lines)
        if parser is None:
            self.count_reasons(
                [
                    Rejected(_as_bytes(x), "not_json", "no record to learn features from", source)
                    for x in lines
                    if _as_bytes(x).strip()
                ]
            )
            return None
        parser.source = source
        return parser.parse(lines)

    def read_reference(self, lines: Sequence[bytes | str]) -> tuple[RecordBatch, list[Rejected]]:
        """Records of the validation period (old times are no news there: not judged against
        the stream's clock); ValueError when no record names the features."""
        parser = self._infer(lines) or self.parser or self._learn(lines)
        if parser is None:
            raise ValueError("no valid record to take the feature list from")
        return parser.parse(lines, timed=False)

    def adopt(self, features: Sequence[str]) -> None:
        """Take the feature list of the reference in force (a restart before any record)."""
        if not self.features and features:
            self.features = tuple(features)
            self.parser = self._parser()

    def declare_categorical(self, names: Sequence[str]) -> None:
        """Also watch these inputs as categories (replay, a restart: those the store holds
        text values of); from then on nothing more is inferred."""
        if not names:
            return
        wanted = {*self.categorical, *names}
        order = self.features or tuple(dict.fromkeys((*self.categorical, *names)))
        found = tuple(name for name in order if name in wanted)
        if found != self.categorical:
            self.categorical = found
            if self.parser is not None:
                self.parser = self._parser()
        self.inferred = True

    def _infer(self, lines: Sequence[bytes | str]) -> RecordParser | None:
        """Once, on the first lines: inputs sending only text become categorical (said once
        as a system event). Returns the new parser when it changed."""
        if self.inferred:
            return None
        self.inferred = True
        features = self.features or learn_features(lines)
        found = infer_categorical(lines, features)
        if not found:
            return None
        self.categorical = found
        for name in found:
            if self.on_note is not None:
                self.on_note(name, f"{name}: text values, watched as categories")
        if not self.features:
            return None  # _learn makes the parser, with these
        self.parser = self._parser()
        return self.parser

    def count(self, accepted: int, rejected: Sequence[Rejected]) -> None:
        self.lines += accepted + len(rejected)
        self.count_reasons(rejected)

    def count_reasons(self, rejected: Sequence[Rejected]) -> None:
        for item in rejected:
            self.rejected[item.reason] += 1

    def _learn(self, lines: Sequence[bytes | str]) -> RecordParser | None:
        if not self.features:
            self.features = learn_features(lines)
            if not self.features:
                return None
        self.parser = self._parser()
        if self.on_features is not None:
            self.on_features(self.features)
        return self.parser

    def _parser(self) -> RecordParser:
        parser = RecordParser(
            self.features,
            fixed=self.station.fixed_features,
            classes=self.station.classes,
            future_margin=self.future_margin,
        )
        parser.categories = CategoryNames(self.features, self.categorical)
        return parser


def _as_bytes(line: bytes | str) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogateescape")
