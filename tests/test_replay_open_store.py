"""The console opened on a store file, read-only: `main.py --replay` from a fresh start, File ›
Open store in the replay window and in the live console, a clear answer for a file that cannot
be replayed, and proof that nothing writes to the store (its bytes are the same afterwards)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from console.config import load_config
from console.runner import Station
from data.schema import LATEST_VERSION
from data.store_file import look_at
from widgets.main_window import MainWindow
from widgets.replay_window import ReplayWindow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A station config and the store its first headless run made, as a new user would."""
    folder = tmp_path_factory.mktemp("fresh")
    config = folder / "station.toml"
    config.write_text(
        '[station]\nid = "fresh1"\n\n[[source]]\nkind = "simulator"\nname = "camera"\n'
        'scenario = "demo"\nrate = 3000\n\n[store]\npath = "line.db"\n'
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "headless", "--config", str(config),
         "--for", "8"], capture_output=True, text=True, cwd=folder, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (folder / "line.db").exists()
    return config


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _alarmed(window: ReplayWindow) -> str:
    assert window.view is not None
    batches = window.view.session.batches
    return next((b.batch for b in batches if b.alarms), batches[-1].batch)


# `main.py --replay` runs the application's own event loop to its end (app.exec, then quit):
# done in this test process, the QApplication shared by later tests stops delivering their
# timers, so it runs in a child process, as a user starts it; the child looks at its window.
LOOK = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from console.cli import main
from widgets.replay_window import ReplayWindow

app = QApplication(sys.argv[:1])
seen = []

def look():
    for widget in app.topLevelWidgets():
        if isinstance(widget, ReplayWindow) and widget.isVisible():
            seen.extend([widget.heading.text(), widget.windowTitle()])
            widget.close()
    app.quit()

QTimer.singleShot(0, look)
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seen": seen}))
"""


def _main_replay(*args: str) -> tuple[int, list[str]]:
    """`main.py --replay ...` in a child process: its exit code and what its window said."""
    import json
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", LOOK, "--replay", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=200,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["code"], found["seen"]


def test_main_replay_opens_the_store_read_only_from_a_fresh_start(fresh):
    code, seen = _main_replay("--config", str(fresh))
    assert code == 0
    store = str(fresh.parent / "line.db")
    assert seen and store in seen[0] and "read-only" in seen[0]
    assert seen[1].endswith("(read-only)")


def test_main_replay_without_a_store_opens_an_empty_window_that_says_how():
    code, seen = _main_replay()
    assert code == 0
    assert seen and "File › Open store" in seen[0]


def test_nothing_writes_to_the_store_it_opens(qtbot, fresh, tmp_path):
    store = fresh.parent / "line.db"
    before = _digest(store)
    window = ReplayWindow(None, load_config(fresh))
    qtbot.addWidget(window)
    assert window.open_store(str(store))
    view = window.view
    assert view is not None and view.session.batches
    view.open_batch(_alarmed(window))
    session = view.session
    view.replay.move_to(session.end)
    view.replay.move_to(session.start + 7)
    view.compare.refresh()
    view.what_if.settings.setText("detection.false_alarms_per_year=5")
    view.what_if.run_what_if()
    assert view.what_if.result is not None
    window.close()
    assert _digest(store) == before, "the store's bytes changed"


def test_a_file_that_is_not_a_store_is_answered_and_the_open_store_stays(qtbot, fresh, tmp_path):
    store = fresh.parent / "line.db"
    stream = tmp_path / "run.jsonl"
    stream.write_text('{"ts":"2026-01-01T00:00:00Z","part":"P1"}\n')
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE parts (id)").connection.close()
    window = ReplayWindow(str(store), load_config(fresh))
    qtbot.addWidget(window)
    opened = window.view
    for path, words in (
        (stream, "JSON Lines stream"),
        (other, "not a Linewatch store"),
        (tmp_path / "missing.db", "no such file"),
    ):
        assert not window.open_store(str(path))
        assert words in window.problem.text() and window.problem.isVisibleTo(window)
        assert window.view is opened and str(store) in window.heading.text()


def _copy(store: Path, tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copy(store, copy)
    return copy


def test_a_newer_an_older_a_locked_and_a_damaged_store_each_say_what_to_do(fresh, tmp_path):
    store = fresh.parent / "line.db"
    newer = _copy(store, tmp_path, "newer.db")
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    older = _copy(store, tmp_path, "older.db")
    with sqlite3.connect(older) as db:
        db.execute("PRAGMA user_version = 4")
    damaged = _copy(store, tmp_path, "damaged.db")
    size = damaged.stat().st_size
    with damaged.open("r+b") as handle:
        handle.seek(size // 3)
        handle.write(bytes(range(256)) * (size // 768))
    answers = {}
    for path in (newer, older, damaged):
        with pytest.raises(Exception) as refused:
            look_at(path)
        answers[path.name] = str(refused.value)
    assert "newer Linewatch" in answers["newer.db"]
    assert "before replay" in answers["older.db"]
    assert "damaged" in answers["damaged.db"]
    locked = _copy(store, tmp_path, "locked.db")
    holder = sqlite3.connect(locked)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(Exception, match="locked by another program"):
            look_at(locked)
    finally:
        holder.rollback()
        holder.close()


def test_main_replay_on_a_file_that_is_not_a_store_exits_2_with_the_reason(fresh, tmp_path):
    stream = tmp_path / "run.jsonl"
    stream.write_text("{}\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--replay", "--config", str(fresh),
         "--store", str(stream)], capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "JSON Lines stream" in done.stderr


def test_file_open_store_in_the_live_console_opens_a_replay_window(
    qtbot, fresh, tmp_path, monkeypatch
):
    store = fresh.parent / "line.db"
    config = load_config(fresh)
    station = Station(config, store_path=str(tmp_path / "live.db"), sources=False)
    try:
        window = MainWindow(station, start_pump=False, beep=False)
        qtbot.addWidget(window)
        menu = next(a for a in window.menuBar().actions() if a.text() == "&File").menu()
        action = next(a for a in menu.actions() if a.text().startswith("Open store"))
        # The file dialog is the user's pick; answer it as they would.
        monkeypatch.setattr("widgets.replay_window.ask_for_store", lambda *_: str(store))
        action.trigger()
        opened = [w for w in QApplication.topLevelWidgets() if isinstance(w, ReplayWindow)]
        replay = next(w for w in opened if w.isVisible() and w.store is not None)
        qtbot.addWidget(replay)
        assert replay.store is not None and replay.store.path == str(store)
        assert "read-only" in replay.heading.text()
    finally:
        station.stop()
