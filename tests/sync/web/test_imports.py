"""The web layer and its queue hand-off import each other in one direction: no cycle, hidden or not."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEB_LAYER = {
    "sync.web",
    "sync.dispatch",
    "sync.tasks",
    "sync.celery_app",
    "sync.webhook_actions",
    "sync.webhook_inbox",
    "sync.webhook_flags",
}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of `sync` it imports anywhere in its body (function-level imports too)."""
    modules = {_module_name(p): p for p in (ROOT / "sync").rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, path = stack.pop()
        for imported in graph.get(module, ()):
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_no_module_of_the_web_layer_is_in_an_import_cycle() -> None:
    graph = import_graph()
    ours = [m for m in graph if m in WEB_LAYER or m.startswith("sync.web.")]
    assert len(ours) >= len(WEB_LAYER)
    cycles = {m: cycle for m in ours if (cycle := cycle_through(graph, m))}
    assert cycles == {}


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle_through(graph, "a") == ["a", "b", "c", "a"]
    assert cycle_through(graph, "d") is None
