"""`cpg query` and `cpg status`: ask the store questions, without loading the build machinery.

Why a module of its own: these commands run often and must start fast, so they import only the
store, DataFusion (query) and rich — never Hamilton, the compiler or the pipeline (pinned by
tests/test_cli_startup.py).
"""

from __future__ import annotations

import importlib.abc
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec
from rich.console import Console
from rich.table import Table

from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.runs import load_state

if TYPE_CHECKING:
    import pyarrow as pa

SHALLOW_CHARS: Final = 500  # see depth_problem
_WORD: Final = re.compile(r"[a-z_][a-z0-9_]*")  # a stored table's name (NAME_PATTERN) as a word


class _PandasHidden(importlib.abc.MetaPathFinder):
    """Answers `import pandas` with ModuleNotFoundError (pyarrow takes that as "no pandas")."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "pandas":
            raise ModuleNotFoundError("hidden while DataFusion is imported", name=fullname)


def import_datafusion_without_pandas() -> None:
    """Import DataFusion without letting it pull in pandas, which `cpg query` never uses.

    At import, `datafusion.functions.spark` builds a literal with `pa.scalar`, and pyarrow's
    scalar constructor probes for pandas objects by importing pandas (~0.3 s, half of the
    command's start-up). Hidden during that import only, pyarrow records "no pandas" for its
    probes; a later explicit use (`to_pandas()`) still imports it. Pinned by
    tests/test_cli_startup.py, including that DataFusion still needs this.
    """
    if "datafusion" in sys.modules or "pandas" in sys.modules:
        return
    finder = _PandasHidden()
    sys.meta_path.insert(0, finder)
    try:
        import datafusion  # noqa: F401 - imported here, with pandas hidden, for the callers
    finally:
        sys.meta_path.remove(finder)


def query_store(store: Path, sql: str) -> pa.Table:
    """Run one read-only SQL query over the stored tables it names (latest versions).

    Tables are registered through deltalake's DataFusion table provider, so the whole scan runs
    in Rust: a scan of an Arrow dataset called back into Python from native threads that could
    still be running at interpreter exit and abort the process (docs/cli.md). Only the tables
    whose names occur in the text are opened (a superset of those the query reads), so the cost
    does not grow with the store.
    """
    too_deep = depth_problem(sql)
    if too_deep is not None:  # DataFusion's planner would overflow its stack (SIGSEGV)
        raise ValueError(too_deep)
    import_datafusion_without_pandas()
    from datafusion import SessionContext

    from cpg_core.plan.engine_check import READ_ONLY

    delta = DeltaStore(store)
    words = set(_WORD.findall(sql.lower()))
    ctx = SessionContext()
    for name in delta.names():
        if name in words:
            ctx.register_table(name, delta.table(name))
    return ctx.sql_with_options(sql, READ_ONLY).to_arrow_table()


def depth_problem(sql: str) -> str | None:
    """`sql_parse.depth_error`, without loading sqlglot for text too short to nest too deep.

    Every level of nesting takes at least one character (`(`, `~`, `-`...), so text of at most
    `SHALLOW_CHARS` characters stays far below `sql_parse.MAX_DEPTH` (pinned by
    tests/test_cli_startup.py); sqlglot is ~0.07 s of start-up.
    """
    if len(sql) <= SHALLOW_CHARS:
        return None
    from cpg_core.plan.sql_parse import depth_error

    return depth_error(sql)


def print_table(table: pa.Table, fmt: str, limit: int) -> None:
    """Write `table` to stdout as a rich table, CSV or JSON lines."""
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(table.column_names)
        for batch in table.to_batches():
            writer.writerows(zip(*(c.to_pylist() for c in batch.columns), strict=True))
        return
    if fmt == "json":
        for row in table.to_pylist():
            sys.stdout.write(msgspec.json.encode(row, enc_hook=str).decode() + "\n")
        return
    shown = Table(*table.column_names, caption=f"{table.num_rows:,} rows")
    for row in table.slice(0, limit).to_pylist():
        shown.add_row(*("" if v is None else str(v) for v in row.values()))
    Console().print(shown)


def status_table(store: Path) -> Table:
    """Every stored table: rows, size, Delta version, data version, the run that wrote it."""
    delta = DeltaStore(store)
    state = load_state(delta.root).state
    title = f"store {delta.root}"
    if state is not None:
        title += f" (last successful run {state.run_id[:12]}, plan {state.plan_signature[:12]})"
    table = Table(title=title)
    for column in ("table", "rows", "bytes", "delta version", "data version"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name in delta.names():
        info = delta.info(name)
        if info is None:
            continue
        table.add_row(
            name,
            f"{info.rows:,}",
            f"{info.bytes:,}",
            str(info.version),
            (info.data_version or "-")[:12],
        )
    return table
