"""The store's module graph: no import loops (issue 18), at run time or for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

STORE = Path(__file__).resolve().parents[3] / "rag" / "store"


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in STORE.glob("*.py"):
        me = "rag.store" if path.stem == "__init__" else f"rag.store.{path.stem}"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rag.store"):
                if node.module == "rag.store":  # ``from rag.store import dense as dense_mod``
                    deps |= {f"rag.store.{a.name}" for a in node.names if (STORE / f"{a.name}.py").exists()}
                else:
                    deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("rag.store.")}
        graph[me] = deps - {me, "rag.store"}
    return graph


def test_no_import_loops_in_the_store():
    graph = _imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    loops: list[list[str]] = []

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph.get(mod, ())):
            if state.get(dep) == 1:
                loops.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert len(graph) > 20 and loops == []


def test_store_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in STORE.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 400} == {}
