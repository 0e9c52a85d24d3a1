"""The core (console/, drivers/, data/) never imports Qt: it runs headless and is tested without
a display. Checked twice: no import statement names Qt, and importing every core module in a
fresh interpreter loads no Qt module."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("console", "drivers", "data")
QT = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def core_modules():
    for package in CORE:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_core_module_names_qt_in_an_import():
    offenders = []
    for path in core_modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in QT]
    assert offenders == []


def test_importing_the_whole_core_loads_no_qt():
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in core_modules()
        if p.stem != "__init__"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {QT!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
