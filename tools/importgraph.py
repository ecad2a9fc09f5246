"""hokoku's import graph as a wheel lays the package out, for import-linter and the cycle test.

``flows/``, ``models/`` and ``notifiers/`` sit beside ``hokoku/`` in the checkout and are mapped
into hokoku's namespace by ``[tool.setuptools.package-dir]``; grimp (under import-linter) reads a
package from its directory on disk and so would not see them. :func:`packaged_tree` lays out, in a
scratch directory, a ``hokoku/`` of symbolic links with the mapped folders inside it — the tree a
wheel installs — and grimp reads that.

    python tools/importgraph.py lint [lint-imports options]   # lint-imports: the contracts in pyproject.toml
    python tools/importgraph.py cycles                        # every import cycle among hokoku's modules
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "hokoku"


def mapped_packages(root: Path = ROOT) -> dict[str, Path]:
    """hokoku's subpackages that live in folders of their own (``hokoku.flows`` → ``flows/``)."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = pyproject["tool"]["setuptools"]["package-dir"]
    return {
        name: root / folder
        for name, folder in mapping.items()
        if name.rpartition(".")[0] == PACKAGE and (root / folder / "__init__.py").is_file()
    }  # templates/ and playbooks/ hold data, not code


def packaged_tree(dest: Path, root: Path = ROOT) -> Path:
    """``dest/hokoku``: links to ``root/hokoku``'s entries plus the mapped subpackages; returns ``dest``."""
    pkg = dest / PACKAGE
    pkg.mkdir(parents=True)
    for entry in (root / PACKAGE).iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name, folder in mapped_packages(root).items():
        sub = name.rpartition(".")[2]
        if (pkg / sub).exists():
            raise SystemExit(f"pyproject.toml: package-dir maps {name} to {folder}, but hokoku/{sub} exists too")
        (pkg / sub).symlink_to(folder)
    return dest


def build_graph():
    """The grimp graph of every hokoku module, function-level imports included."""
    import grimp

    if PACKAGE in sys.modules:
        raise RuntimeError("build_graph() needs a process that has not imported hokoku (run this file)")
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, str(packaged_tree(Path(tmp))))
        try:
            graph = grimp.build_graph(PACKAGE, cache_dir=None)
        finally:
            sys.path.remove(tmp)
    missing = sorted(set(mapped_packages()) - graph.modules)
    if missing:
        raise RuntimeError(f"the import graph lacks {', '.join(missing)}: is hokoku imported from {ROOT}?")
    return graph


def find_cycles(graph) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules (Tarjan, then BFS)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(modules)))
    for m in modules:
        if m not in index:
            visit(m)
    cycles = []
    for group in sorted(groups):
        members, start = set(group), group[0]
        prev: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in prev:
            nxt = []
            for v in frontier:
                for w in edges[v]:
                    if w in members and w not in prev:
                        prev[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        while (v := prev[path[-1]]) != start:
            path.append(v)
        cycles.append([start, *reversed(path[1:]), start])
    return cycles


def describe(graph, cycle: list[str]) -> str:
    """``a -> b (a.py:12: from b import x) -> a (...)``: each step with the line that imports."""
    steps = [cycle[0]]
    for a, b in zip(cycle, cycle[1:], strict=False):
        details = graph.get_import_details(importer=a, imported=b)
        where = f"line {details[0]['line_number']}: {details[0]['line_contents']}" if details else "?"
        steps.append(f"{b}  [{where}]")
    return "\n    -> ".join(steps)


def main(argv: list[str]) -> int:
    command, *rest = argv or ["cycles"]
    if command == "cycles":
        graph = build_graph()
        cycles = find_cycles(graph)
        for cycle in cycles:
            print(describe(graph, cycle))
        print(f"{len(cycles)} import cycle(s) among {len(graph.modules)} hokoku modules", file=sys.stderr)
        return 1 if cycles else 0
    if command == "lint":
        lint_imports = Path(sys.executable).parent / "lint-imports"
        if not lint_imports.exists():
            lint_imports = Path(shutil.which("lint-imports") or "lint-imports")
        with tempfile.TemporaryDirectory() as tmp:
            packaged_tree(Path(tmp))
            # lint-imports puts its working directory first on sys.path: there hokoku is the tree
            config = [str(ROOT / "pyproject.toml"), "--no-cache"]
            return subprocess.run([str(lint_imports), *config, *rest], cwd=tmp).returncode
    print(f"usage: {sys.argv[0]} cycles | lint [lint-imports options]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
