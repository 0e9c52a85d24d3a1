"""Folder-drop driver: the camera writes `<name>.json` files into a watched folder (WIRE.md §4).

A file is read once it is complete: its size and modification time have not changed for
`settle` seconds (a file renamed into place qualifies as soon as that much time has passed).
Temporary names (`.*`, `*.tmp`, `*.part`, `*~`) and everything not ending in `.json`/`.jsonl`
(images included) are never touched. A file holds one record (pretty-printed is fine) or JSON
Lines. A file whose last line is cut off mid-record (a writer that crashed) is *incomplete*: it
stays where it is, unread, reported once, and is looked at again only if it changes. Read files
move to `done/`; a file that holds no records at all (empty, not UTF-8, not JSON, a JSON array,
over 64 MiB) moves to `rejected/` beside `<name>.reason`. Nothing is ever deleted; a name already
taken in `done/` or `rejected/` gets a numeric suffix.

Restart safety, and why a journal: delivering lines (into the in-memory intake) and moving the
file cannot be one atomic step. Before a batch of files is handed over, their names are written
to `.linewatch-inflight` (temp file + rename, so it is whole or absent); after the files have
moved to `done/` the journal is emptied. A graceful stop always finishes the batch, so a restart
reads every complete file exactly once. After a crash inside that window, the files still in the
folder and named in the journal are read again — at-least-once, never lost — and each is reported
(`error` event) as possibly delivered twice; part numbers are unique per station, so the
duplicates can be recognised downstream. Moving first would have made the same crash lose data
silently. Runs in the source's thread.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from console.config import Source
from console.records import Rejected
from drivers.base import Batch, Driver, SourceMonitor
from drivers.framing import LineFramer

JOURNAL = ".linewatch-inflight"
DONE = "done"
REJECTED = "rejected"
SUFFIXES = (".json", ".jsonl")
TEMP_SUFFIXES = (".tmp", ".part", "~", ".swp")
MAX_FILE_BYTES = 64 * 1024 * 1024
FILES_PER_BATCH = 256


def is_candidate(name: str) -> bool:
    """A name the camera means as a finished result file (not a temp file, not an image)."""
    if name.startswith(".") or name.endswith(TEMP_SUFFIXES):
        return False
    return name.endswith(SUFFIXES)


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """What a result file holds: lines to deliver, a whole-file rejection, or not finished yet."""

    lines: tuple[bytes, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    bad: str = ""  # reason the whole file is rejected ("" = fine)
    incomplete: bool = False


def judge_file(data: bytes, source: str = "") -> FileVerdict:
    """Pure: a result file's bytes → its lines, or why it is bad, or that it is not finished."""
    if not data.strip():
        return FileVerdict(bad="empty: no records in the file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return FileVerdict(bad=f"not_utf8: {error}")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = _NOT_ONE_VALUE
    if whole is not _NOT_ONE_VALUE:
        if not isinstance(whole, dict):
            return FileVerdict(bad=f"not_object: the file holds a JSON {type(whole).__name__}")
        line = data.strip()
        if b"\n" in line:  # a pretty-printed record: one compact line, same content
            line = json.dumps(whole, separators=(",", ":"), allow_nan=True).encode()
        return FileVerdict(lines=(line,))
    framer = LineFramer(source)
    lines, rejected = framer.feed(data)
    tail, tail_rejected = framer.flush()
    rejected += tail_rejected
    if tail and not _is_json(tail[0]):
        return FileVerdict(incomplete=True)
    lines += tail
    if not any(_is_json_object(line) for line in lines):
        return FileVerdict(bad="not_json: no line of the file is a JSON record")
    return FileVerdict(lines=tuple(lines), rejected=tuple(rejected))


_NOT_ONE_VALUE = object()


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def unique_target(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem.N.suffix` if that is taken: nothing is overwritten."""
    target = folder / name
    stem, dot, suffix = name.rpartition(".")
    n = 1
    while target.exists():
        target = folder / (f"{stem}.{n}.{suffix}" if dot else f"{name}.{n}")
        n += 1
    return target


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temp file and rename: readers see the old or the new file, whole."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)


class FolderDriver(Driver):
    """Watches one drop folder and reads each complete result file once; runs in its SourceThread."""

    kind = "folder"

    def __init__(
        self,
        source: Source,
        monitor: SourceMonitor,
        *,
        settle: float = 1.0,
        scan_interval: float | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        super().__init__(source, monitor)
        self.folder = Path(source.url)
        self.settle = settle
        self.scan_interval = (
            scan_interval if scan_interval is not None else max(source.poll_interval, 0.01)
        )
        self.max_file_bytes = max_file_bytes
        self.files_done = 0
        self.files_rejected = 0
        self._seen: dict[str, tuple[tuple[int, int], float]] = {}  # name → (size, mtime), since
        self._incomplete: dict[str, tuple[int, int]] = {}
        self._redelivered: set[str] = set()
        self._next_scan = 0.0
        self._open = False

    def open(self) -> str:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"drop folder {self.folder} does not exist (not mounted?)")
        (self.folder / DONE).mkdir(exist_ok=True)
        (self.folder / REJECTED).mkdir(exist_ok=True)
        self._redelivered = self._recover_journal()
        self._seen.clear()
        self._open = True
        return f"watching {self.folder}"

    def close(self) -> None:
        self._open = False

    def read_batch(self, timeout: float) -> Batch:
        if not self._open:
            raise ConnectionError("folder is not open")
        wait = self._next_scan - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, timeout))
            if time.monotonic() < self._next_scan:
                return [], []
        self._next_scan = time.monotonic() + self.scan_interval
        ready = self._complete_files()
        if ready:
            self._hand_over(ready)
        return [], []

    # -- finding complete files ---------------------------------------------------------------

    def _complete_files(self) -> list[str]:
        now = time.monotonic()
        present: set[str] = set()
        ready: list[tuple[int, str]] = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not is_candidate(entry.name):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # renamed away between listing and stat
                name = entry.name
                present.add(name)
                signature = (stat.st_size, stat.st_mtime_ns)
                seen = self._seen.get(name)
                if seen is None or seen[0] != signature:
                    self._seen[name] = (signature, now)
                    continue
                if now - seen[1] < self.settle or self._incomplete.get(name) == signature:
                    continue
                ready.append((stat.st_mtime_ns, name))
        for name in self._seen.keys() - present:
            del self._seen[name]
            self._incomplete.pop(name, None)
        ready.sort()  # oldest first: the camera's order, as far as the clock tells
        return [name for _mtime, name in ready[:FILES_PER_BATCH]]

    # -- handing over -------------------------------------------------------------------------

    def _hand_over(self, names: list[str]) -> None:
        lines: list[bytes] = []
        rejected: list[Rejected] = []
        to_done: list[str] = []
        to_reject: list[tuple[str, str]] = []
        for name in names:
            verdict = self._read(name)
            if verdict is None:
                continue
            if verdict.incomplete:
                self._incomplete[name] = self._seen[name][0]
                self.monitor.event(
                    "error", f"{name}: last record cut off; left in place until it changes"
                )
                continue
            if verdict.bad:
                to_reject.append((name, verdict.bad))
                continue
            lines += verdict.lines
            rejected += verdict.rejected
            to_done.append(name)
        for name, reason in to_reject:
            self._reject(name, reason)
        if not to_done:
            return
        for name in to_done:
            if name in self._redelivered:
                self.monitor.event(
                    "error",
                    f"{name}: read again after a crash while handing it over; may be doubled",
                )
        write_atomic(self.folder / JOURNAL, "\n".join(to_done).encode() + b"\n")
        self.monitor.deliver(lines, rejected)
        for name in to_done:
            os.rename(self.folder / name, unique_target(self.folder / DONE, name))
            self._seen.pop(name, None)
            self._redelivered.discard(name)
        self.files_done += len(to_done)
        write_atomic(self.folder / JOURNAL, b"")

    def _read(self, name: str) -> FileVerdict | None:
        path = self.folder / name
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > self.max_file_bytes:
                    return FileVerdict(bad=f"too_large: {size} bytes (over {self.max_file_bytes})")
                data = handle.read(self.max_file_bytes + 1)
                if os.fstat(handle.fileno()).st_size != size or len(data) != size:
                    self._seen.pop(name, None)  # still growing after all: start settling again
                    return None
        except FileNotFoundError:
            self._seen.pop(name, None)
            return None
        return judge_file(data, self.monitor.name)

    def _reject(self, name: str, reason: str) -> None:
        target = unique_target(self.folder / REJECTED, name)
        write_atomic(target.with_suffix(".reason"), reason.encode() + b"\n")
        os.rename(self.folder / name, target)
        self._seen.pop(name, None)
        self.files_rejected += 1
        self.monitor.event("error", f"{name} moved to {REJECTED}/: {reason}")

    def _recover_journal(self) -> set[str]:
        """Names a crash left mid-handover that are still in the folder (they will be re-read)."""
        try:
            text = (self.folder / JOURNAL).read_text("utf-8")
        except FileNotFoundError:
            return set()
        names = {n for n in text.splitlines() if n}
        return {n for n in names if (self.folder / n).exists()}
