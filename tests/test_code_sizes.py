"""Classes and functions of the core stay small enough to read: no class over about 250 lines
and no function over about 60 in console/ and data/ (split by concept instead)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASS_LINES = 260
FUNCTION_LINES = 65


def sizes() -> list[tuple[str, str, int]]:
    found = []
    for package in ("console", "data"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    kind = "class" if isinstance(node, ast.ClassDef) else "function"
                    found.append((kind, where, node.end_lineno - node.lineno + 1))
    return found


def test_no_class_is_over_about_250_lines():
    assert [(w, n) for kind, w, n in sizes() if kind == "class" and n > CLASS_LINES] == []


def test_no_function_is_over_about_60_lines():
    assert [(w, n) for kind, w, n in sizes() if kind == "function" and n > FUNCTION_LINES] == []
