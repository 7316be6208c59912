"""No import cycle among ffnn's modules (module-level imports, read from the source), and io
knows no training state."""

from __future__ import annotations

import ast
from pathlib import Path

import ffnn

SRC = Path(ffnn.__file__).parent


def _module_imports() -> dict[str, set[str]]:
    graph = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        deps = set()
        for node in ast.parse(path.read_text()).body:  # module level only: lazy imports may
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:  # cross
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d.startswith("ffnn")}
    return {m: {d for d in ds if d in graph and d != m} for m, ds in graph.items()}


def _cycle(graph, start):
    stack, seen = [(start, [start])], set()
    while stack:
        m, path = stack.pop()
        for d in graph[m]:
            if d == start:
                return path
            if d not in seen and not d.startswith(start + "."):
                seen.add(d)
                stack.append((d, path + [d]))
    return None


def test_train_and_io_modules_are_in_no_import_cycle():
    graph = _module_imports()
    mods = [m for m in graph if m.startswith("ffnn.train") or m == "ffnn.io"]
    assert "ffnn.train.checkpoints" in mods
    for m in mods:
        assert _cycle(graph, m) is None, f"import cycle through {m}: {_cycle(graph, m)}"
    assert not any(d.startswith("ffnn.train") for d in graph["ffnn.io"])
