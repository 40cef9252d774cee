"""Facts about our dependencies that the code relies on (docs/dependencies.md), pinned: an
upgrade that changes one fails here instead of silently changing what cpg depends on."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from datafusion import SessionContext

from tests.paths import REPO_ROOT


def test_hamilton_cannot_version_an_arrow_table_by_itself() -> None:
    """Without cpg's handler (a fresh interpreter) a table is "<unhashable>" to Hamilton's cache,
    which then never reuses the node's result."""
    code = (
        "import pyarrow as pa\n"
        "from hamilton.caching.fingerprinting import hash_value\n"
        "print(hash_value(pa.table({'x': [1, 2]})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "<unhashable>"


def test_datafusion_plans_for_every_core_by_default() -> None:
    ctx = SessionContext()
    found = ctx.sql("SHOW datafusion.execution.target_partitions").to_pylist()
    assert int(found[0]["value"]) == (os.cpu_count() or 1)


def test_datafusion_inlines_registered_views() -> None:
    """A view over a registered view plans as scans of the base table: the view-on-view edge is
    not in DataFusion's optimized plan (so dependencies are inferred from the SQL)."""
    ctx = SessionContext()
    ctx.from_arrow(pa.table({"x": [1, 2, 3]}), name="base")
    ctx.register_view("first", ctx.sql("select x from base where x > 1"))
    plan = ctx.sql("select x from first").optimized_logical_plan().display_indent()
    scans = [line.strip() for line in plan.splitlines() if "TableScan" in line]
    assert scans and all(s.startswith("TableScan: base") for s in scans), plan


def test_cpg_process_pools_never_fork() -> None:
    """Every multiprocessing context cpg asks for is spawn (a fork after DataFusion ran would
    deadlock the child), and nothing calls os.fork."""
    contexts: list[str] = []
    forks: list[str] = []
    for path in sorted((REPO_ROOT / "cpg_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{Path(path).relative_to(REPO_ROOT)}:{node.lineno}"
            if name.endswith("get_context"):
                contexts.append(f"{where} {ast.unparse(node.args[0]) if node.args else ''}")
            if name in ("os.fork", "fork"):
                forks.append(where)
    assert contexts, "no multiprocessing context found: the check is looking at nothing"
    assert all(c.endswith("'spawn'") for c in contexts), contexts
    assert not forks


def test_no_file_cites_a_document_outside_the_repository() -> None:
    """Comments and docs point at docs/dependencies.md, which a reader of the code can open."""
    outside = "FACT" + "S"  # the design notes' file of facts lives outside the repository
    found = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("cpg_core", "cpg_dagster", "tests", "benchmarks", "docs")
        for path in sorted((REPO_ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".sql", ".md") and outside in path.read_text(encoding="utf-8")
    ]
    assert not found
