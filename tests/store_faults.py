"""Helpers for the store-fault tests: a headless child on a folder source, small mounts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMPLE_FEATURES = '["brightness", "contrast", "focus"]'


def station_toml(tmp_path: Path, store: Path | str, source: str = "", extra: str = "") -> Path:
    """A station config: three features, a small reference, the given store and source."""
    config = tmp_path / "station.toml"
    config.write_text(
        f'[station]\nid = "line1-cam1"\nfeatures = {SIMPLE_FEATURES}\n'
        f'[store]\npath = "{store}"\n[reference]\nsize = 200\n[window]\nparts = 200\nbatch = 50\n'
        f"{source}{extra}"
    )
    return config


def folder_source(folder: Path) -> str:
    return f'[[source]]\nkind = "folder"\nurl = "{folder}"\nsettle = 0.0\n'


def headless(config: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "headless", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_headless(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "headless", "--config", str(config), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def summary_of(stdout: str) -> dict:
    return next(o for o in reversed(json_lines(stdout)) if o.get("event") == "summary")


def can_mount() -> str:
    """'' when this process may mount a tmpfs (root, mount present); else why not."""
    if os.geteuid() != 0:
        return "needs root to mount a small tmpfs"
    if shutil.which("mount") is None:
        return "no mount command"
    return ""


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)


def unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)
