"""The package's shape (ARCHITECTURE.md): layers that import only downward, no import cycle, small
modules, and a public API that survives importing every submodule.

Imports are read from the source (``ast``), lazy ones inside functions and ``TYPE_CHECKING`` ones
included: a dependency is a dependency whenever it runs.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import costlab
from tests.conftest import REPO

PACKAGE = REPO / "costlab"
BASE = ("errors", "units", "dtypes", "files", "config", "progress", "stats", "_lazy")
LAYERS = {
    "base": 0,
    "zoo": 1,
    "load": 1,
    "cost": 2,
    "rules": 3,
    "timing": 3,
    "ci": 4,
    "compare": 4,
    "experiments": 4,
    "publish": 4,
    "render": 5,
    "cli": 6,
}
MAX_LINES = 500


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``costlab.cost.report``), the package root left out."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name not in ("costlab", "costlab.__main__"):
            found[name] = path
    return found


def part(module: str) -> str:
    """The layer part a module belongs to: ``costlab.cost.report`` → ``cost``; a base module → ``base``."""
    first = module.split(".")[1]
    return "base" if first in BASE else first


def imports(path: Path, names: set[str], top_level_only: bool = False) -> set[str]:
    """The costlab modules ``path`` imports (``from pkg import sub`` counts as ``pkg.sub`` when it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("costlab.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("costlab") and not node.level:
            if node.module == "costlab":  # `from costlab import __version__`: the root, which imports nothing
                continue
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & names
            found |= subs or {node.module}
    return {name for name in found if name in names}


def test_every_module_belongs_to_a_layer():
    unknown = sorted({part(m) for m in modules()} - set(LAYERS))
    assert unknown == [], f"modules outside the layers of ARCHITECTURE.md: {unknown}"


def test_nothing_imports_upward():
    names = set(modules())
    upward = [
        f"{module} ({part(module)}) imports {target} ({part(target)})"
        for module, path in modules().items()
        for target in imports(path, names)
        if LAYERS[part(target)] > LAYERS[part(module)]
    ]
    assert upward == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_parts():
    names = set(modules())
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules().items():
        for target in imports(path, names):
            if part(target) != part(module):
                graph[part(module)].add(part(target))
    assert _cycle(graph) is None


def test_no_import_cycle_between_modules_at_import_time():
    names = set(modules())
    graph = {module: imports(path, names, top_level_only=True) - {module} for module, path in modules().items()}
    # a package's __init__ importing its own submodules (to register them) is how Python packages work
    for module in graph:
        graph[module] = {t for t in graph[module] if not t.startswith(module + ".")}
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(m for m in modules() if part(m) != "zoo"))
def test_modules_stay_small(module):
    lines = len(modules()[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it along what it does"


def test_no_subpackage_shadows_the_api():
    for name in costlab.__all__:
        if name != "__version__":
            assert not (PACKAGE / name).is_dir() and not (PACKAGE / f"{name}.py").exists(), name


def test_the_api_is_callable_after_importing_every_submodule():
    code = (
        "import importlib, pkgutil, costlab\n"
        "for info in pkgutil.walk_packages(costlab.__path__, 'costlab.'):\n"
        "    importlib.import_module(info.name)\n"
        "assert callable(costlab.profile) and callable(costlab.lint) and callable(costlab.measure_latency)\n"
        "report = costlab.profile('mobilenet_v2')\n"
        "assert report.totals.macs == 300_774_272\n"
        "assert costlab.lint(report).findings\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_every_submodule_imports():
    for info in pkgutil.walk_packages(costlab.__path__, "costlab."):
        importlib.import_module(info.name)


def test_the_command_line_does_not_import_torch():
    code = "import sys, costlab.cli; assert 'torch' not in sys.modules, 'costlab --help imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_benchmarks_import_what_exists():
    """Benchmarks import costlab inside their functions: check every such import resolves, so a rename
    in the package cannot leave a benchmark broken until someone runs it."""
    missing = []
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "costlab":
                module = importlib.import_module(node.module)
                missing += [f"{script.name}: {node.module}.{a.name}" for a in node.names if not hasattr(module, a.name)
                            and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
    assert missing == []
