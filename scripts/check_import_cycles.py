"""Fail when modules inside a package import each other in a cycle.

Every import counts: at module level, inside functions (lazy imports) and under
``TYPE_CHECKING``, because a lazy import only hides a cycle from the interpreter, not from
the reader. ``from pkg import name`` depends on ``pkg.name`` when that is a module, else on
``pkg`` itself. Run by ``make lint`` and CI:

    python scripts/check_import_cycles.py dmp
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_graph(package: Path) -> dict[str, set[str]]:
    """``module -> modules it imports`` for every ``.py`` file under ``package``."""
    files: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in files else base)
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def main(argv: list[str]) -> int:
    """Print each cycle of the package named in ``argv`` (default ``dmp``); 1 if any."""
    package = Path(argv[0] if argv else "dmp")
    found = cycles(module_graph(package))
    for component in found:
        graph = module_graph(package)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]
        print(f"import cycle among {', '.join(component)}:\n  " + "\n  ".join(edges))
    if found:
        print(f"{len(found)} import cycle(s) in {package}/: break them (see docs/ARCHITECTURE.md)")
        return 1
    print(f"no import cycles in {package}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
