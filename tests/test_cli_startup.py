"""What the often-run commands import: the discipline that keeps them starting fast.

Not timed (benchmarks/bench_cli_startup.py measures); it pins what each command loads, by
running it in a fresh interpreter and reading `sys.modules` at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import click
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from cpg_core import cli
from cpg_core.cli_store import SHALLOW_CHARS
from cpg_core.plan.sql_parse import MAX_DEPTH
from cpg_core.settings import ExecutionMode, ExecutorKind, setting_fields
from cpg_core.store.delta_store import DeltaStore

# Runs `cpg ARGS` in this interpreter and prints every loaded module at exit, as JSON.
_RUN_CPG = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nLOADED " + json.dumps(sorted(sys.modules))))
sys.argv = ["cpg", *sys.argv[1:]]
runpy.run_module("cpg_core.cli", run_name="__main__")
"""
BUILD_MACHINERY = {
    "hamilton",
    "dagster",
    "dask",
    "rustworkx",
    "cpg_core.pipeline",
    "cpg_core.execute",
    "cpg_core.plan.compiler",
}


def _loaded(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _RUN_CPG, *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.rsplit("\nLOADED ", 1)[1]))


def _store(root: Path) -> Path:
    store = DeltaStore(root / "store")
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", "a"]})
    store.write("small", table, fingerprint="f", run_id="r")
    store.write("other", table, fingerprint="f", run_id="r")
    return store.root


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["query", "--help"]])
def test_help_imports_click_and_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    loaded = _loaded(*args, cwd=tmp_path)
    heavy = BUILD_MACHINERY | {"pandas", "numpy", "pyarrow", "datafusion", "deltalake", "sqlglot"}
    assert not heavy & loaded, heavy & loaded
    # msgspec (≈ 10 ms) is allowed: the build options are defined from `cpg_core.settings`
    assert "rich" not in loaded


def test_status_reads_the_store_without_engine_or_build_machinery(tmp_path: Path) -> None:
    loaded = _loaded("status", "--store", str(_store(tmp_path)), cwd=tmp_path)
    assert "deltalake" in loaded and "cpg_core.store.delta_store" in loaded
    forbidden = BUILD_MACHINERY | {"pandas", "datafusion", "sqlglot"}
    assert not forbidden & loaded, forbidden & loaded


def test_query_loads_datafusion_but_not_pandas_sqlglot_or_the_build(tmp_path: Path) -> None:
    store = str(_store(tmp_path))
    loaded = _loaded("query", "select count(*) as n from small", "--store", store, cwd=tmp_path)
    assert {"datafusion", "deltalake"} <= loaded
    forbidden = BUILD_MACHINERY | {"pandas", "sqlglot"}
    assert not forbidden & loaded, forbidden & loaded
    # text long enough to nest too deep is still checked by sqlglot before DataFusion plans it
    long_sql = "select count(*) as n from small where " + " or ".join(["id = 1"] * 100)
    assert len(long_sql) > SHALLOW_CHARS
    assert "sqlglot" in _loaded("query", long_sql, "--store", store, cwd=tmp_path)


def test_build_options_are_the_build_settings() -> None:
    """`cpg build`'s setting options are derived from ExecutorConfig, choices included."""
    params = {p.name: p for p in cli.build_command.params}
    for field in setting_fields():
        assert field.name in params, field.name
    mode, executor = params["mode"].type, params["executor"].type
    assert isinstance(mode, click.Choice) and isinstance(executor, click.Choice)
    assert tuple(mode.choices) == tuple(m.value for m in ExecutionMode)
    assert tuple(executor.choices) == get_args(ExecutorKind)


def test_datafusion_still_pulls_pandas_in_so_hiding_it_is_still_worth_it() -> None:
    """If this fails, DataFusion stopped importing pandas: delete import_datafusion_without_pandas."""
    code = "import sys, datafusion; print('pandas' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_hidden_pandas_is_only_hidden_during_the_import() -> None:
    code = (
        "import sys\n"
        "from cpg_core.cli_store import import_datafusion_without_pandas\n"
        "import_datafusion_without_pandas()\n"
        "assert 'datafusion' in sys.modules and 'pandas' not in sys.modules\n"
        "import pyarrow as pa\n"
        "frame = pa.table({'x': [1, 2]}).to_pandas()\n"  # pandas still loads when asked for
        "import pandas\n"
        "print(type(frame).__name__, pa.array(pandas.Series([3])).to_pylist())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "DataFrame [3]"


def test_short_text_cannot_nest_past_the_depth_limit() -> None:
    assert 2 * SHALLOW_CHARS <= MAX_DEPTH


# Ways to wrap an expression one level deeper (prefix, suffix); `- ` keeps `--` from being a comment.
_WRAPS = [
    ("(", ")"),
    ("- ", ""),
    ("~ ", ""),  # `~~` would be LIKE
    ("not ", ""),
    ("abs(", ")"),
    ("(select ", ")"),
    ("case when true then ", " end"),
    ("", "::int"),
    ("(", ")[1]"),
    ("", "+1"),
    ("(", " is null)"),
    ("coalesce(", ", 1)"),
    ("exists(select ", ")"),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_WRAPS), min_size=1, max_size=60))
def test_every_level_of_nesting_takes_at_least_one_character(
    wraps: list[tuple[str, str]],
) -> None:
    expression = "x"
    for prefix, suffix in wraps:
        expression = f"{prefix}{expression}{suffix}"
    sql = f"select {expression}"
    depth = max(node.depth for node in sqlglot.parse_one(sql, read="postgres").bfs())
    assert depth <= len(sql)
