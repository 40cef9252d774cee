"""The product code keeps its shape: short functions, imports that point down the layers.

Layers of `cpg_core`, lowest first (a package may import its own layer and those below):
problems, gc_pause → store → views, extract → project, settings → plan → artifacts → checks → execute → pipeline →
CLI. `cpg_dagster` sits on top of all of them and `cpg_core` never imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.paths import REPO_ROOT

MAX_FUNCTION_LINES = 80
LAYERS: dict[str, int] = {
    "problems": 0,
    "gc_pause": 0,
    "store": 1,
    "views": 2,
    "extract": 2,
    "project": 3,
    "settings": 3,
    "plan": 4,
    "artifacts": 5,
    "checks": 6,
    "execute": 7,
    "pipeline": 8,
    "cli": 9,
    "cli_build": 9,
    "cli_test": 9,
    "cli_store": 9,
}


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((REPO_ROOT / package).rglob("*.py"))


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cpg_core" or len(parts) < 2:
        return None
    return parts[1]


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def test_no_function_is_longer_than_80_lines() -> None:
    long = [
        f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for package in ("cpg_core", "cpg_dagster")
        for path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert not long


def test_cpg_core_imports_point_down_the_layers() -> None:
    upward: list[str] = []
    unknown: set[str] = set()
    for path in _modules("cpg_core"):
        relative = path.relative_to(REPO_ROOT / "cpg_core")
        own = relative.parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        if own not in LAYERS:
            unknown.add(own)
            continue
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.startswith("cpg_dagster"):
                upward.append(f"cpg_core/{relative}:{line} imports {module}")
            target = _layer_of(module)
            if target is None or target == own:
                continue
            if target not in LAYERS:
                unknown.add(target)
            elif LAYERS[target] > LAYERS[own] or (LAYERS[target] == LAYERS[own] != 9):
                upward.append(f"cpg_core/{relative}:{line} ({own}) imports {module} ({target})")
    assert not unknown, f"packages with no layer: {sorted(unknown)} (add them to LAYERS)"
    assert not upward


def test_the_checks_can_fail() -> None:
    """The layer rule really rejects an upward import (the test is not looking at nothing)."""
    tree = ast.parse("from cpg_core.execute.build import build\n")
    ((_, module),) = list(_imports(tree))
    assert LAYERS[_layer_of(module) or ""] > LAYERS["plan"]
