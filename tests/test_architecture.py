"""The layers hold: no import cycle among hokoku's modules, and the import contracts of
``pyproject.toml`` are kept (ARCHITECTURE.md shows the picture).

Both read the import graph grimp builds — function-level imports included — over the tree a
wheel installs (``tools/importgraph.py``), in a fresh interpreter: this one has imported hokoku
from the checkout, where ``flows/``, ``models/`` and ``notifiers/`` sit beside ``hokoku/``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "importgraph.py"


def _tool():
    spec = importlib.util.spec_from_file_location("importgraph", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300)


def test_no_import_cycle_among_hokoku_modules():
    """Every module of hokoku, flows/models/notifiers included, is reachable without a cycle."""
    done = _run("cycles")
    assert done.returncode == 0, f"import cycles (each step names the importing line):\n{done.stdout}{done.stderr}"
    assert "hokoku modules" in done.stderr


def test_import_contracts_are_kept():
    """lint-imports keeps every contract of [tool.importlinter] (layers, pure core, leaf models)."""
    done = _run("lint")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and " KEPT" in done.stdout


def test_the_cycle_finder_reports_each_cycle_with_its_steps():
    """A two-module cycle and a three-module cycle are both found, each as a closed path."""
    graph = grimp.ImportGraph()
    for a, b in [("p.a", "p.b"), ("p.b", "p.a"), ("p.c", "p.d"), ("p.d", "p.e"), ("p.e", "p.c"), ("p.e", "p.f")]:
        graph.add_import(importer=a, imported=b, line_number=1, line_contents=f"import {b}")
    cycles = _tool().find_cycles(graph)
    assert cycles == [["p.a", "p.b", "p.a"], ["p.c", "p.d", "p.e", "p.c"]]


def test_the_packaged_tree_holds_the_mapped_subpackages(tmp_path):
    """The tree grimp reads has hokoku/flows, hokoku/models and hokoku/notifiers as a wheel does."""
    tree = _tool().packaged_tree(tmp_path)
    for sub in ("flows", "models", "notifiers", "core", "services"):
        assert (tree / "hokoku" / sub / "__init__.py").is_file(), sub
    assert (tree / "hokoku" / "models").resolve() == ROOT / "models"
