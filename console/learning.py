"""Learning the reference from the stream's first records, when no reference file is given.

`ReferenceLearning` keeps the first `reference.size` accepted records; once it has them all, the
engine builds its watch from them. No alarm can fire while it learns. Engine thread.
"""

from __future__ import annotations

from console.records import RecordBatch


class ReferenceLearning:
    """The records kept so far for a reference learned from the stream."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.learned = 0
        self._batches: list[RecordBatch] = []

    @property
    def progress(self) -> float:
        return self.learned / max(self.size, 1)

    @property
    def complete(self) -> bool:
        return self.learned >= self.size

    def take(self, batch: RecordBatch) -> int:
        """Keep what the reference still needs of `batch`; returns how many records it took."""
        take = min(self.size - self.learned, len(batch))
        self._batches.append(batch.take(slice(0, take)))
        self.learned += take
        return take

    def reference(self) -> RecordBatch:
        return RecordBatch.concat(self._batches)
