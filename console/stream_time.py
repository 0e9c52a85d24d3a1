"""The stream's own clock: which records claim a time implausibly far ahead of the stream.

A camera PC with a wrong clock, or one garbled field, can stamp a part 2099. Accepted, such a
record would carry the time buckets (console/stats.py) off into the future, where they would stay.
`StreamClock` keeps the stream's recent time — the latest time stamp it accepted — and judges
each record against it, not against this machine's clock, so `analyze` on last year's logs works.
A record more than `margin` seconds ahead (plus, live, the time that passed on the monotonic clock
since the stream's time last moved: a line stopped over a weekend resumes without loss) is
implausible, unless the stream confirms the jump: `CONFIRM` records within `margin` of each other
(the next ones in the same batch, or ones among the last `RECENT` judged, so that a second source
whose clock runs ahead, interleaved with the first, confirms itself) mean the stream really moved
on. A lone wrong time, or wrong times far apart, never confirm. Implausible records are rejected
as `ts_implausible`. Owned by the parser's thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

# Records agreeing within the margin that show the stream really moved on, and how many of the
# last records judged may lie between them.
CONFIRM = 3
RECENT = 16
# Records in a row far behind the clock that reset it (a wrong time that was accepted first).
BEHIND_RESET = 100
# Jumps in one call judged by skipping to them; more (a clock gone wrong) go one at a time.
FEW_JUMPS = 8


class StreamClock:
    """The latest accepted record time and the plausibility test against it (one thread)."""

    def __init__(self, margin: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.margin = float(margin)
        self.latest: float | None = None
        self._clock = clock
        self._moved_at = 0.0  # monotonic time `latest` last moved forward
        self._judged = 0  # records judged so far: positions for `_ahead`
        self._ahead: list[tuple[int, float]] = []  # (position, stamp) of recent implausible ones
        self._behind: list[float] = []  # the stamps far behind `latest`, in a row

    def judge(self, stamps: np.ndarray) -> np.ndarray:
        """A mask of the implausible stamps (True = reject); the others move the clock."""
        n = stamps.size
        if n == 0:
            return np.zeros(0, bool)
        latest = float(np.median(stamps)) if self.latest is None else self.latest
        allowance = self.margin + (self._clock() - self._moved_at if self.latest is not None else 0)
        before = np.maximum.accumulate(np.concatenate(([latest], stamps[:-1])))
        if not (stamps - before > allowance).any():
            self._judged += n
            newest = float(stamps.max())
            if newest > latest or self.latest is None:
                self._move(max(newest, latest))
            self._note_behind(stamps)
            return np.zeros(n, bool)
        return self._judge_each(stamps, latest, allowance)

    def _judge_each(self, stamps: np.ndarray, latest: float, allowance: float) -> np.ndarray:
        """Record by record from the first jump beyond the allowance; the runs of records
        between jumps (a night's pause is one jump a day) are judged whole, as `judge` does,
        up to `FEW_JUMPS` jumps; past that, one at a time."""
        bad = np.zeros(stamps.size, bool)
        start = 0
        for _ in range(FEW_JUMPS):
            rest = stamps[start:]
            before = np.maximum.accumulate(np.concatenate(([latest], rest[:-1])))
            jumps = np.flatnonzero(rest - before > allowance)
            run = int(jumps[0]) if jumps.size else rest.size
            if run:  # all within the allowance: accepted, the clock moves to their newest
                self._judged += run
                newest = float(rest[:run].max())
                if newest > latest:
                    latest = newest
                    self._move(latest)
            start += run
            if start == stamps.size:
                return bad
            latest = self._judge_from(stamps, start, start + 1, latest, allowance, bad)
            start += 1
        self._judge_from(stamps, start, stamps.size, latest, allowance, bad)
        return bad

    def _judge_from(
        self,
        stamps: np.ndarray,
        begin: int,
        end: int,
        latest: float,
        allowance: float,
        bad: np.ndarray,
    ) -> float:
        """Judge stamps[begin:end] one at a time (marking `bad`); returns the clock's latest."""
        margin = self.margin
        for i in range(begin, end):
            t = float(stamps[i])
            self._judged += 1
            if t - latest <= allowance:
                if t > latest:
                    latest = t
                    self._move(latest)
                continue
            following = stamps[i + 1 : i + CONFIRM]
            confirmed = following.size == CONFIRM - 1 and bool(
                (np.abs(following - t) <= margin).all()
            )
            recent = self._judged - RECENT
            self._ahead = [(at, a) for at, a in self._ahead if at > recent]
            earlier = [a for _, a in self._ahead if abs(a - t) <= margin]
            if confirmed or len(earlier) >= CONFIRM - 1:
                self._ahead.clear()
                latest = t
                self._move(latest)
                continue
            bad[i] = True
            self._ahead.append((self._judged, t))
        return latest

    def _move(self, latest: float) -> None:
        self.latest = latest
        self._moved_at = self._clock()

    def _note_behind(self, stamps: np.ndarray) -> None:
        """A stream that keeps coming far behind its clock (a wrong first record) resets it."""
        assert self.latest is not None
        far = stamps < self.latest - self.margin
        if not far.all():
            self._behind.clear()
            return
        self._behind = (self._behind + stamps.tolist())[-BEHIND_RESET:]
        if len(self._behind) >= BEHIND_RESET:
            self._move(max(self._behind))
            self._behind.clear()
