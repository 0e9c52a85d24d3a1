"""`main.py sync --init` and `main.py sync` as a plant engineer runs them: exit codes, one line
of JSON on stdout, a one-line reason on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from console.config import Sync
from tests.postgres_server import PASSWORD, free_port
from tests.sync_helpers import (
    CLASSES,
    Plant,
    add_journal_rows,
    assert_central_equals_local,
    make_batch,
    open_store,
)

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PGPASSWORD": PASSWORD, **(env or {})},
    )


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "station.toml"
    config.write_text(
        f'[station]\nid = "line1-cam1"\n\n[store]\npath = "station.db"\n\n'
        f'[sync]\nurl = "{url}"\nretention_days = 36500\n'
    )
    return config


def test_init_then_sync_exit_0_and_everything_arrives(postgres, tmp_path):
    postgres.create_database("cli_plant")
    config = write_config(tmp_path, postgres.url("cli_plant"))
    first = run("sync", "--init", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"event": "sync_init", "version_before": 0, "version": 1}
    again = run("sync", "--init", "--config", str(config))
    assert json.loads(again.stdout)["version_before"] == 1
    with open_store(tmp_path / "station.db") as store:
        store.append_records(make_batch(5000, 0), CLASSES)
        add_journal_rows(store, 1)
    done = run("sync", "--config", str(config))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] and out["pending"] == 0 and out["high_water"] == 5004
    os.environ["PGPASSWORD"] = PASSWORD
    try:
        plant = Plant(postgres, "cli_plant", Sync(url=postgres.url("cli_plant")))
        assert_central_equals_local(plant, tmp_path / "station.db", "line1-cam1")
    finally:
        del os.environ["PGPASSWORD"]


def test_sync_with_the_database_unreachable_exits_1_with_one_line(tmp_path):
    config = write_config(tmp_path, f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    with open_store(tmp_path / "station.db") as store:
        store.append_records(make_batch(10, 0), CLASSES)
    result = run("sync", "--config", str(config), "--timeout", "1")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "10 rows not synced" in result.stderr
    init = run("sync", "--init", "--config", str(config))
    assert init.returncode == 1 and init.stderr.startswith("main.py: sync --init:")


def test_sync_without_a_sync_url_is_a_config_error(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text('[station]\nid = "x"\n')
    result = run("sync", "--config", str(config))
    assert result.returncode == 2 and "sync.url" in result.stderr
