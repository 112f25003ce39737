"""planner/ is pure: it imports only numpy, scipy, OR-Tools, PyVRP, `holidays` (public holidays as
in-memory rules) and the standard library, and reads no clock, file or network."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PLANNER = Path(__file__).resolve().parents[2] / "planner"
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "ortools", "pyvrp", "holidays"}
FORBIDDEN_STDLIB = {
    "socket", "http", "urllib", "sqlite3", "subprocess", "shutil", "requests", "io", "pathlib",
    "os", "glob", "tempfile", "pickle", "logging", "threading", "multiprocessing", "asyncio",
}
# a clock read or file access makes a plan depend on when and where it ran
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"),
                   ("time", "time"), ("datetime", "today")}
FORBIDDEN_NAMES = {"open", "input", "print", "exec", "eval"}

MODULES = sorted(PLANNER.glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_planner_package_has_modules_to_check() -> None:
    assert len(MODULES) >= 5


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_planner_module_imports_nothing_impure(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    stdlib = set(sys.stdlib_module_names)
    for name in _imports(tree):
        if name in {"planner", "__future__"} or name in ALLOWED_THIRD_PARTY:
            continue
        assert name in stdlib, f"{module.name} imports {name!r}: planner/ must stay pure"
        assert name not in FORBIDDEN_STDLIB, f"{module.name} imports {name!r} (I/O)"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_planner_module_reads_no_clock_and_opens_no_file(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            assert func.id not in FORBIDDEN_NAMES, f"{module.name} calls {func.id}()"
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            pair = (func.value.id, func.attr)
            assert pair not in FORBIDDEN_CALLS, f"{module.name} calls {'.'.join(pair)}()"
