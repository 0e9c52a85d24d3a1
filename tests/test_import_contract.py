"""The import contract: `widgets → console → data`, `drivers` as plain I/O, benchmarks apart.

Every import statement of every module counts, those inside functions and under TYPE_CHECKING
included (a dependency tucked into a function still runs the wrong way). Only `main.py`,
`console/cli.py` and `console/runner.py` wire the packages together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("console", "data", "drivers", "widgets", "bench")
QT = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
WIRING = ("console/cli.py", "console/runner.py")
# Pure domain types: everything may import them; they import no other module of ours.
# console/stream_time.py is the parser's clock (records.py rejects `ts_implausible` with it).
LEAVES = (
    "console/records.py",
    "console/actions.py",
    "console/config.py",
    "console/stream_time.py",
    "console/categories.py",
    "console/stamps.py",
)


def modules() -> list[Path]:
    found = [ROOT / "main.py"]
    for package in PACKAGES:
        found += sorted((ROOT / package).rglob("*.py"))
    return found


def imports(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names imported from it) for every import statement in the file."""
    out: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = tuple(alias.name for alias in node.names)
            out.append((node.lineno, node.module or "", names))
    return out


def where(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def violations(rule) -> list[str]:  # a rule(file, module, names) -> bool
    return [
        f"{where(path)}:{line} imports {module}"
        for path in modules()
        for line, module, names in imports(path)
        if rule(where(path), module, names)
    ]


def top(module: str) -> str:
    return module.split(".")[0]


def package(file: str) -> str:
    return file.split("/")[0]


def test_console_and_data_never_import_widgets_or_drivers():
    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        return (
            package(file) in ("console", "data")
            and file not in WIRING
            and top(module) in ("widgets", "drivers")
        )

    assert violations(rule) == []


def test_drivers_never_import_widgets():
    assert violations(lambda f, m, n: f.startswith("drivers/") and top(m) == "widgets") == []


def test_the_core_never_imports_qt():
    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        return package(file) in ("console", "data", "drivers") and top(module) in QT

    assert violations(rule) == []


def test_data_uses_only_the_domain_types_of_console():
    leaves = {leaf.removesuffix(".py").replace("/", ".") for leaf in LEAVES}

    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        return file.startswith("data/") and top(module) == "console" and module not in leaves

    assert violations(rule) == []


def test_domain_types_are_leaves():
    leaves = {leaf.removesuffix(".py").replace("/", ".") for leaf in LEAVES}

    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        ours = top(module) in PACKAGES
        return file in LEAVES and ours and module not in leaves

    assert violations(rule) == []


def test_only_the_command_line_reaches_the_benchmarks():
    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        return top(module) == "bench" and package(file) != "bench" and file != "console/cli.py"

    assert violations(rule) == []


def test_no_module_imports_another_module_s_private_name():
    def rule(file: str, module: str, names: tuple[str, ...]) -> bool:
        ours = top(module) in PACKAGES
        return ours and any(name.startswith("_") and not name.startswith("__") for name in names)

    assert violations(rule) == []


@pytest.mark.parametrize("path", modules(), ids=where)
def test_no_module_changes_the_environment_on_import(path):
    """Setting QT_QPA_PLATFORM and the like is for entry functions, never module level."""
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            continue  # run as a script: an entry point
        text = ast.unparse(node)
        assert "os.environ" not in text and "putenv" not in text, f"{where(path)}:{node.lineno}"
