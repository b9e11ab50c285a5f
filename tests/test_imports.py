"""No import cycle in vidcolor: the layers of docs/architecture.md's table form a tree, type-only imports included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vidcolor"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, me: str, modules: set[str]) -> set[str]:
    """The vidcolor modules ``me`` imports, anywhere in it (functions and ``TYPE_CHECKING`` blocks too),
    with the packages Python runs on the way (``a.b`` for ``a.b.c``), but not the top package (the public
    API, which imports everything) nor ``me``'s own packages (already being imported when it runs)."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vidcolor":
            named |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names
            }
        elif isinstance(node, ast.Import):
            named |= {a.name for a in node.names if a.name.split(".")[0] == "vidcolor"}
    found = set()
    for name in named:
        parts = name.split(".")
        for i in range(2, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if i == len(parts) or not me.startswith(prefix + "."):
                found.add(prefix)
    return (found & modules) - {me}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_in_vidcolor() -> None:
    paths = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = {m: _imports(p, m, set(paths)) for m, p in paths.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_imports_with_the_garbage_collector_paused_and_leaves_it_as_it_was() -> None:
    """A start's ~150 collections over every object were 45-70 ms of it, for no garbage (``vidcolor.collector``):
    none while the package imports, and the objects of the imports frozen (later collections skip them)."""
    import subprocess
    import sys

    count = (
        "import gc; runs = []; gc.callbacks.append(lambda phase, info: runs.append(phase)); {before}"
        "import vidcolor; print(len(runs) // 2, gc.isenabled(), gc.get_freeze_count() > 10_000)"
    )
    for before, enabled in (("", "True"), ("gc.disable(); ", "False")):
        out = subprocess.run([sys.executable, "-c", count.format(before=before)], capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
        assert int(out[0]) < 5 and out[1:] == [enabled, "True"]  # (a collection or two before the package's first line)
