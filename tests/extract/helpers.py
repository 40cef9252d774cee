"""Shared helpers for the extraction tests: fixture paths, table dumps, integrity checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from cpg_core.extract import EVIDENCE_SCHEMAS, TABLE_NAMES

ID_COLUMNS = {
    "files": "file_id",
    "defs": "def_id",
    "params": "param_id",
    "refs": "ref_id",
    "calls": "call_id",
    "imports": "import_id",
    "scopes": "scope_id",
    "symbols": "symbol_id",
}


def table_jsonl(table: pa.Table) -> str:
    """One JSON object per row, keys in schema order: the human-readable golden format."""
    lines = [json.dumps(row, ensure_ascii=False) for row in table.to_pylist()]
    return "".join(line + "\n" for line in lines)


def assert_schemas(tables: dict[str, pa.Table]) -> None:
    """Exactly the evidence tables, each with exactly its schema and no nulls where not allowed."""
    assert list(tables) == list(TABLE_NAMES)
    for name, table in tables.items():
        schema = EVIDENCE_SCHEMAS[name]
        assert table.schema.equals(schema), name
        for field in schema:
            if not field.nullable:
                assert table.column(field.name).null_count == 0, f"{name}.{field.name} has nulls"


def column(tables: dict[str, pa.Table], table: str, name: str) -> list[Any]:
    """A column as a Python list."""
    return tables[table].column(name).to_pylist()


def assert_integrity(tables: dict[str, pa.Table]) -> None:
    """IDs unique; every reference between evidence tables points at an existing row."""
    ids: dict[str, set[str]] = {}
    for table, id_col in ID_COLUMNS.items():
        values = column(tables, table, id_col)
        assert len(values) == len(set(values)), f"duplicate ids in {table}"
        ids[table] = set(values)
    paths = set(column(tables, "files", "path"))
    ok_paths = {
        r["path"] for r in tables["files"].to_pylist() if r["status"] in ("ok", "compile_error")
    }
    module_defs = {r["path"] for r in tables["defs"].to_pylist() if r["kind"] == "module"}
    assert module_defs == ok_paths, "every file with evidence has exactly one module def"
    for table in ("defs", "params", "refs", "calls", "imports", "scopes", "symbols"):
        assert set(column(tables, table, "path")) <= ok_paths, table
    assert set(column(tables, "extract_errors", "path")) <= paths
    defs, scopes = ids["defs"], ids["scopes"]
    assert {p for p in column(tables, "defs", "parent_def_id") if p} <= defs
    assert set(column(tables, "defs", "scope_id")) <= scopes
    assert {s for s in column(tables, "defs", "outer_scope_id") if s} <= scopes
    assert set(column(tables, "params", "def_id")) <= defs
    assert set(column(tables, "params", "scope_id")) <= scopes
    for table in ("refs", "calls", "imports"):
        assert set(column(tables, table, "scope_id")) <= scopes, table
        assert set(column(tables, table, "def_id")) <= defs, table
    assert {r for r in column(tables, "calls", "callee_ref_id") if r} <= ids["refs"]
    assert set(column(tables, "scopes", "def_id")) <= defs
    assert {p for p in column(tables, "scopes", "parent_scope_id") if p} <= scopes
    assert set(column(tables, "symbols", "scope_id")) <= scopes
    assert set(column(tables, "symbols", "def_id")) <= defs
    # every def owns exactly one scope whose def_id is itself
    own = [
        r["def_id"]
        for r in tables["scopes"].to_pylist()
        if r["scope_kind"] != "comprehension" and r["is_aligned"]
    ]
    assert sorted(own) == sorted(defs)


def compile_error(path: str) -> str | None:
    """The exception type ``compile()`` raises for a file, or None (runs in pool workers)."""
    import warnings

    data = Path(path).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            return type(exc).__name__
    return None
