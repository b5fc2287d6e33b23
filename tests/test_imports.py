"""No import cycle among the project's modules: every `import` counts, at module level or inside a
function (a function-level import only hides a cycle until the function runs)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("build_data", "macros")


def modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its file, relative imports resolved."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when there is one, else pkg itself.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        else:
            continue
        for target in targets:
            # `import a.b.c` runs a.b.c (and its packages): keep the deepest project module named.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_import_cycle_among_the_project_modules():
    graph = import_graph()
    assert "build_data.compute.catalog" in graph and "macros.snapshot" in graph
    assert "build_data.compute.catalog" in graph["build_data.compute.values"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_config_imports_nothing_from_compute():
    assert not {m for m in import_graph()["build_data.config"] if m.startswith("build_data.compute")}


def test_the_catalog_and_the_key_listing_import_no_pandas():
    """`build_data list` answers at once: the keys path never imports pandas, at any depth."""
    graph = import_graph()
    seen, todo = set(), ["build_data.compute.keys"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    heavy = [m for m in sorted(seen) if any(
        isinstance(n, (ast.Import, ast.ImportFrom)) and any(
            (a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0] in ("pandas", "numpy")
            for a in n.names)
        for n in ast.walk(ast.parse(modules(ROOT)[m].read_text(encoding="utf-8"))))]
    assert "build_data.compute.catalog" in seen and not heavy, heavy


def test_a_cycle_hidden_in_a_function_is_found_and_printed(tmp_path):
    pkg = tmp_path / "build_data"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from build_data.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .c import g\n")
    (pkg / "sub" / "c.py").write_text("import build_data.a\n")
    graph = import_graph(tmp_path, ("build_data",))
    assert graph["build_data.sub.b"] == {"build_data.sub.c"}
    assert find_cycle(graph) == ["build_data.a", "build_data.sub.b", "build_data.sub.c", "build_data.a"]
    (pkg / "sub" / "c.py").write_text("import json\n")
    assert find_cycle(import_graph(tmp_path, ("build_data",))) is None
