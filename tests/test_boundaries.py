"""The package boundaries of DESIGN.md hold: who may import whom, read off the code itself.

- `connectors/` imports nothing of `planner/`, `sync/` or `emulators/` (a fake must not
  share the real client's bugs, so the real client may not lean on the fake);
- `emulators/` imports nothing of ours: it stands alone, a product of its own;
- `planner/` imports nothing of ours (tests/planner/test_purity.py checks the rest).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"planner", "connectors", "emulators", "sync", "bench"}
MAY_IMPORT = {
    "connectors": {"connectors"},
    "emulators": {"emulators"},
    "planner": {"planner"},
}


def _our_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & OURS


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_has_modules_to_check(package: str) -> None:
    assert len(_modules(package)) >= 3


@pytest.mark.parametrize(
    "module",
    [m for package in sorted(MAY_IMPORT) for m in _modules(package)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_a_package_imports_only_what_the_design_allows(module: Path) -> None:
    package = module.relative_to(ROOT).parts[0]
    crossing = _our_imports(module) - MAY_IMPORT[package]
    assert not crossing, f"{module.relative_to(ROOT)} imports {sorted(crossing)}: see DESIGN.md"
