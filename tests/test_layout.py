"""The test and benchmark trees keep their shape: helpers live in helper modules, measurements in
one harness.

- No module imports a test module (`test_*`) or a `conftest` as a library, not even in the code it
  hands to a child interpreter: shared code goes to a plain module (`tests/<folder>/projects.py`,
  `helpers.py`, `tests/paths.py`), so running one test file never runs another's tests.
- The repository root and the fixture repository are computed in `tests/paths.py` only.
- Benchmarks read clocks, peak RSS and options through `benchmarks/harness.py`: two figures make a
  ratio only when both came from the same clocks. No benchmark script imports another one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"
BENCHMARKS = REPO_ROOT / "benchmarks"
HARNESS = BENCHMARKS / "harness.py"
# `from x import` / `import x` inside a string: code run by `python -c` or written for a child
IMPORT_IN_TEXT = re.compile(r"(?:^|\n)\s*(?:from|import)\s+([A-Za-z_][\w.]*)")
# what only the harness may call: the clocks, resource usage, the load average, a bare parser
HARNESS_ONLY = {
    ("time", "perf_counter"),
    ("time", "process_time"),
    ("time", "monotonic"),
    ("resource", "getrusage"),
    ("os", "getloadavg"),
    ("argparse", "ArgumentParser"),
}


def python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if "fixtures" not in path.relative_to(REPO_ROOT).parts:
            yield path


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of every import statement, and of every import written in a string."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from ((node.lineno, m) for m in IMPORT_IN_TEXT.findall(node.value))


def is_test_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in ("tests", "benchmarks") and any(
        part.startswith("test_") or part == "conftest" for part in parts
    )


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def test_no_module_imports_a_test_module_or_a_conftest() -> None:
    found = [
        f"{relative(path)}:{line} imports {module}"
        for root in (TESTS, BENCHMARKS)
        for path in python_files(root)
        for line, module in imported_modules(parse(path))
        if is_test_module(module)
    ]
    assert not found, "move what they share to a helper module:\n" + "\n".join(found)


def test_the_repository_root_is_computed_once() -> None:
    found = [
        f"{relative(path)}:{node.lineno}"
        for path in python_files(TESTS)
        if path != TESTS / "paths.py"
        for node in ast.walk(parse(path))
        if isinstance(node, ast.Attribute)
        and node.attr == "parents"
        and "__file__" in ast.unparse(node.value)
    ]
    assert not found, "import REPO_ROOT / FIXTURE_REPO from tests.paths:\n" + "\n".join(found)


def harness_names() -> set[str]:
    tree = parse(HARNESS)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    return {name for name in defined if not name.startswith("_")}


def benchmark_modules() -> list[Path]:
    return [
        p for p in sorted(BENCHMARKS.glob("*.py")) if p not in (HARNESS, BENCHMARKS / "__init__.py")
    ]


def harness_only_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Uses of `module.name` (or `from module import name`) that only the harness may make."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in HARNESS_ONLY:
                yield node.lineno, f"{node.value.id}.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in HARNESS_ONLY:
                    yield node.lineno, f"{node.module}.{alias.name}"


@pytest.mark.parametrize("path", benchmark_modules(), ids=lambda p: p.name)
def test_benchmarks_measure_through_the_harness(path: Path) -> None:
    tree = parse(path)
    redefined = [
        f"{n.name} (line {n.lineno})"
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name.lstrip("_") in harness_names()
    ]
    assert not redefined, f"{path.name} redefines harness helpers: {redefined}"
    direct = [f"{what} (line {line})" for line, what in harness_only_calls(tree)]
    assert not direct, f"{path.name} measures or parses options itself: {direct}"
    imports = {module for _, module in imported_modules(tree)}
    scripts = sorted(m for m in imports if m.startswith("benchmarks.bench_"))
    assert not scripts, f"{path.name} imports benchmark scripts {scripts}: share a module instead"
    if path.name.startswith("bench_"):
        assert "benchmarks.harness" in imports, f"{path.name} does not use benchmarks.harness"


def test_the_checks_see_what_they_forbid() -> None:
    """The AST checks above find a violation when there is one (so a pass means something)."""
    # spelled in pieces, so this module's own strings do not trip the first check
    test_module, conftest = "tests.cpg." + "test_determinism", "tests.store." + "conftest"
    script = f'"""\nfrom {conftest} import run_child\n"""'
    bad = ast.parse(
        f"import time\nfrom {test_module} import digest\nSCRIPT = {script}\n"
        "def _timed():\n    return time.perf_counter()\n"
    )
    modules = [m for _, m in imported_modules(bad)]
    assert [m for m in modules if is_test_module(m)] == [
        test_module,
        f"{test_module}.digest",
        conftest,
    ]
    assert [what for _, what in harness_only_calls(bad)] == ["time.perf_counter"]
    assert "timed" in harness_names()
