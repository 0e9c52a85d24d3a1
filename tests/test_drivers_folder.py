"""Folder-drop driver: complete files read exactly once, across slow and crashing writers and restarts."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from console.config import Source
from drivers.base import SourceMonitor, SourceThread
from drivers.folder import JOURNAL, FolderDriver, judge_file
from tests.drivers_helpers import IntakeCollector, part_of, record_line, wait_for

# -- judging a file's bytes ----------------------------------------------------------------


def test_one_record_file_is_one_line_even_pretty_printed() -> None:
    line = record_line(1)
    assert judge_file(line).lines == (line,)
    assert judge_file(line + b"\n").lines == (line,)
    pretty = json.dumps(json.loads(line), indent=2).encode()
    (only,) = judge_file(pretty).lines
    assert json.loads(only) == json.loads(line) and b"\n" not in only


def test_json_lines_file_keeps_bad_lines_for_the_parser() -> None:
    data = record_line(1) + b"\n" + b"not json\n" + record_line(2) + b"\r\n"
    verdict = judge_file(data)
    assert verdict.lines == (record_line(1), b"not json", record_line(2))
    assert not verdict.bad and not verdict.incomplete


def test_file_cut_mid_record_is_incomplete_not_bad() -> None:
    assert judge_file(record_line(1) + b"\n" + record_line(2)[:40]).incomplete
    assert judge_file(record_line(2)[:40]).incomplete


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\xff\xfe{}", "not_utf8"),
        (b"[1, 2, 3]", "not_object"),
        (b"part,class\nP1,ok\n", "not_json"),
    ],
)
def test_files_without_records_are_bad(data: bytes, reason: str) -> None:
    assert judge_file(data).bad.startswith(reason)


# -- the driver against real writers --------------------------------------------------------


@pytest.fixture
def collector():
    collector = IntakeCollector()
    yield collector
    collector.close()


def start(
    folder: Path, collector: IntakeCollector, settle: float = 0.3
) -> tuple[FolderDriver, SourceThread]:
    source = Source(kind="folder", name="drop", url=str(folder), poll_interval=0.02)
    driver = FolderDriver(
        source, SourceMonitor("drop", "folder", str(folder), collector.intake), settle=settle
    )
    thread = SourceThread(driver, first_retry=0.01)
    thread.start()
    return driver, thread


def write_renamed(folder: Path, name: str, lines: list[bytes]) -> None:
    """The well-behaved camera: temp name, then rename into place."""
    temp = folder / f"{name}.tmp"
    temp.write_bytes(b"".join(line + b"\n" for line in lines))
    os.replace(temp, folder / name)


def write_slowly(folder: Path, name: str, lines: list[bytes], piece: int = 64) -> None:
    """A camera that writes in place, a few bytes at a time (pauses well under `settle`)."""
    data = b"".join(line + b"\n" for line in lines)
    with open(folder / name, "wb") as handle:
        for start_at in range(0, len(data), piece):
            handle.write(data[start_at : start_at + piece])
            handle.flush()
            time.sleep(0.002)  # the writer's own pace, not a wait for the driver


def test_every_complete_file_read_exactly_once_across_a_restart(tmp_path: Path, collector) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "part-0001.png").write_bytes(b"\x89PNG image the camera saved")
    # A writer that crashed mid-file, in place and under a temp name: neither is read nor lost.
    (folder / "crashed.json").write_bytes(record_line(900_000) + b"\n" + record_line(900_001)[:70])
    (folder / "crashed-too.json.tmp").write_bytes(record_line(900_002)[:30])
    expected: list[str] = []

    def renamer() -> None:
        for f in range(40):
            lines = [record_line(f * 10 + i, part_prefix="R") for i in range(1 + f % 3)]
            write_renamed(folder, f"r{f:03d}.json", lines)
            expected.extend(part_of(line) for line in lines)
            time.sleep(0.005)  # the camera's pace

    restarted = threading.Event()

    def slow() -> None:
        for f in range(6):
            if f == 2:
                restarted.wait(timeout=120)  # the rest is written across the restart
            lines = [record_line(f * 10 + i, part_prefix="S") for i in range(5)]
            write_slowly(folder, f"s{f:03d}.jsonl", lines)
            expected.extend(part_of(line) for line in lines)

    writers = [threading.Thread(target=renamer), threading.Thread(target=slow)]
    driver, thread = start(folder, collector, settle=0.5)
    for writer in writers:
        writer.start()
    wait_for(lambda: driver.files_done >= 10, what="some files read")
    thread.stop()  # restart in the middle, writers still busy
    assert not thread.is_alive()
    first_run = driver.files_done
    assert first_run < 46  # stopped mid-stream: the slow writer waits for the restart
    driver, thread = start(folder, collector, settle=0.5)
    restarted.set()
    for writer in writers:
        writer.join()
    (folder / "bad.json").write_bytes(b"this is not a record\n")
    total_files = 40 + 6
    try:
        wait_for(lambda: first_run + driver.files_done == total_files, timeout=20, what="all files")
        wait_for(lambda: driver.files_rejected == 1)
    finally:
        thread.stop()
    parts = [part_of(line) for line in collector.lines]
    assert sorted(parts) == sorted(expected)  # each complete result exactly once
    assert len(parts) == len(set(parts))
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        JOURNAL,
        "crashed-too.json.tmp",
        "crashed.json",
        "part-0001.png",
    ]
    assert (folder / JOURNAL).read_bytes() == b""
    assert len(list((folder / "done").iterdir())) == total_files
    assert sorted(p.name for p in (folder / "rejected").iterdir()) == ["bad.json", "bad.reason"]
    assert (folder / "rejected" / "bad.reason").read_text().startswith("not_json")
    incomplete = [e for e in collector.events if e.kind == "error" and "crashed.json" in e.detail]
    assert len(incomplete) == 2  # reported once per driver run, then left alone


def test_crashed_writer_file_is_read_once_it_is_finished(tmp_path: Path, collector) -> None:
    (tmp_path / "late.json").write_bytes(record_line(1) + b"\n" + record_line(2)[:60])
    driver, thread = start(tmp_path, collector, settle=0.1)
    try:
        wait_for(lambda: collector.count("error") == 1, what="incomplete file reported")
        assert collector.lines == []
        with open(tmp_path / "late.json", "ab") as handle:
            handle.write(record_line(2)[60:] + b"\n")
        wait_for(lambda: driver.files_done == 1)
    finally:
        thread.stop()
    assert [part_of(line) for line in collector.lines] == ["P00000001", "P00000002"]


def test_a_crash_during_handover_re_reads_the_file_and_says_so(tmp_path: Path, collector) -> None:
    write_renamed(tmp_path, "a.json", [record_line(1)])
    write_renamed(tmp_path, "b.json", [record_line(2)])
    (tmp_path / JOURNAL).write_text("a.json\ngone.json\n")  # what a crash mid-handover leaves
    driver, thread = start(tmp_path, collector, settle=0.05)
    try:
        wait_for(lambda: driver.files_done == 2)
    finally:
        thread.stop()
    assert sorted(part_of(line) for line in collector.lines) == ["P00000001", "P00000002"]
    doubled = [e.detail for e in collector.events if "may be doubled" in e.detail]
    assert len(doubled) == 1 and doubled[0].startswith("a.json")


def test_done_names_are_never_overwritten(tmp_path: Path, collector) -> None:
    driver, thread = start(tmp_path, collector, settle=0.05)
    try:
        for i in range(3):
            write_renamed(tmp_path, "same.json", [record_line(i)])
            wait_for(lambda n=i + 1: driver.files_done == n)
    finally:
        thread.stop()
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
        "same.1.json",
        "same.2.json",
        "same.json",
    ]


def test_missing_folder_is_retried_until_it_appears(tmp_path: Path, collector) -> None:
    folder = tmp_path / "share"
    driver, thread = start(folder, collector, settle=0.05)
    try:
        wait_for(lambda: collector.count("error") >= 1, what="open failure reported")
        folder.mkdir()
        write_renamed(folder, "x.json", [record_line(7)])
        wait_for(lambda: driver.files_done == 1, timeout=10)
    finally:
        thread.stop()
    assert thread.status().lines == 1
