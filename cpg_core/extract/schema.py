"""Arrow schemas of the evidence tables: the contract between extraction and the SQL views.

Every table always has exactly its schema (also when empty), column order included, so views can be
planned against empty tables and goldens stay stable. See docs/evidence_tables.md for the meaning of
every column.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pyarrow as pa

_STR = pa.string()
_I32 = pa.int32()
_I64 = pa.int64()
_BOOL = pa.bool_()
_STRS = pa.list_(pa.string())


def _f(name: str, typ: pa.DataType, nullable: bool = False) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


# 1-based lines, 0-based code-point columns, UTF-8 byte offsets [bstart, bend).
SPAN_FIELDS: tuple[pa.Field, ...] = (
    _f("line", _I32),
    _f("col", _I32),
    _f("end_line", _I32),
    _f("end_col", _I32),
    _f("bstart", _I64),
    _f("bend", _I64),
)

FILES = pa.schema(
    [
        _f("file_id", _STR),
        _f("path", _STR),
        _f("module", _STR),
        _f("is_package", _BOOL),
        _f("source_root", _STR),
        _f("size", _I64, True),
        _f("sha256", _STR, True),
        _f("line_count", _I32, True),
        _f("encoding", _STR, True),
        _f("status", _STR),
    ]
)

DEFS = pa.schema(
    [
        _f("def_id", _STR),
        _f("kind", _STR),
        _f("name", _STR),
        _f("qualname", _STR, True),
        _f("fqname", _STR),
        _f("parent_def_id", _STR, True),
        _f("scope_id", _STR),
        _f("outer_scope_id", _STR, True),
        _f("path", _STR),
        _f("module", _STR),
        *SPAN_FIELDS,
        _f("name_bstart", _I64, True),
        _f("name_bend", _I64, True),
        _f("is_method", _BOOL),
        _f("decorators", _STRS),
        _f("bases", _STRS),
        _f("class_keywords", _STRS),
        _f("returns", _STR, True),
        _f("docstring_head", _STR, True),
    ]
)

PARAMS = pa.schema(
    [
        _f("param_id", _STR),
        _f("def_id", _STR),
        _f("scope_id", _STR),
        _f("path", _STR),
        _f("name", _STR),
        _f("kind", _STR),
        _f("position", _I32),
        _f("annotation", _STR, True),
        _f("has_default", _BOOL),
        _f("default", _STR, True),
        *SPAN_FIELDS,
    ]
)

REFS = pa.schema(
    [
        _f("ref_id", _STR),
        _f("path", _STR),
        _f("scope_id", _STR),
        _f("def_id", _STR),
        _f("ref_kind", _STR),
        _f("name", _STR, True),
        _f("chain", _STR, True),
        _f("attr", _STR, True),
        _f("n_parts", _I32),
        _f("ctx", _STR),
        _f("augmented", _BOOL),
        _f("is_callee", _BOOL),
        _f("in_annotation", _BOOL),
        *SPAN_FIELDS,
    ]
)

CALLS = pa.schema(
    [
        _f("call_id", _STR),
        _f("path", _STR),
        _f("scope_id", _STR),
        _f("def_id", _STR),
        _f("callee_kind", _STR),
        _f("callee_text", _STR, True),
        _f("callee_name", _STR, True),
        _f("callee_ref_id", _STR, True),
        _f("receiver_call", _STR, True),
        _f("n_args", _I32),
        _f("n_keywords", _I32),
        _f("keywords", _STRS),
        _f("has_star_args", _BOOL),
        _f("has_star_kwargs", _BOOL),
        *SPAN_FIELDS,
    ]
)

IMPORTS = pa.schema(
    [
        _f("import_id", _STR),
        _f("path", _STR),
        _f("scope_id", _STR),
        _f("def_id", _STR),
        _f("kind", _STR),
        _f("module", _STR, True),
        _f("level", _I32),
        _f("name", _STR, True),
        _f("asname", _STR, True),
        _f("bound_name", _STR, True),
        _f("target_module", _STR, True),
        _f("target", _STR, True),
        _f("bound_target", _STR, True),
        _f("is_star", _BOOL),
        *SPAN_FIELDS,
    ]
)

SCOPES = pa.schema(
    [
        _f("scope_id", _STR),
        _f("path", _STR),
        _f("def_id", _STR),
        _f("parent_scope_id", _STR, True),
        _f("scope_kind", _STR),
        _f("table_type", _STR),
        _f("table_name", _STR),
        _f("class_name", _STR, True),
        _f("is_nested", _BOOL),
        _f("is_aligned", _BOOL),
        *SPAN_FIELDS,
    ]
)

SYMBOLS = pa.schema(
    [
        _f("symbol_id", _STR),
        _f("scope_id", _STR),
        _f("def_id", _STR),
        _f("path", _STR),
        _f("name", _STR),
        _f("mangled_name", _STR),
        _f("binding", _STR),
        _f("flags", _I64),
        _f("is_local", _BOOL),
        _f("is_global", _BOOL),
        _f("is_declared_global", _BOOL),
        _f("is_nonlocal", _BOOL),
        _f("is_free", _BOOL),
        _f("is_cell", _BOOL),
        _f("is_parameter", _BOOL),
        _f("is_imported", _BOOL),
        _f("is_assigned", _BOOL),
        _f("is_referenced", _BOOL),
        _f("is_annotated", _BOOL),
        _f("is_namespace", _BOOL),
    ]
)

# Value-flow facts: one row per fact of the assignment graph (docs/evidence_tables.md, "flows").
# Node ids are the ids of the rows they name (`ref:`, `call:`, `def:`, `param:`) or `expr:<path>:<span>`
# for other expressions; a name ref stands for the binding it resolves to.
FLOWS = pa.schema(
    [
        _f("path", _STR),
        _f("kind", _STR),
        _f("node_id", _STR),
        _f("src_id", _STR, True),
        _f("name", _STR, True),
        _f("pos", _I32, True),
    ]
)

# Implicit call sites: statements and operators that call dunder methods or decorators.
SITES = pa.schema(
    [
        _f("site_id", _STR),
        _f("path", _STR),
        _f("def_id", _STR),
        _f("kind", _STR),
        _f("name", _STR, True),
        *SPAN_FIELDS,
    ]
)

EXTRACT_ERRORS = pa.schema(
    [
        _f("path", _STR),
        _f("stage", _STR),
        _f("error_type", _STR),
        _f("message", _STR),
        _f("line", _I32, True),
    ]
)

EVIDENCE_SCHEMAS: Mapping[str, pa.Schema] = MappingProxyType(
    {
        "files": FILES,
        "defs": DEFS,
        "params": PARAMS,
        "refs": REFS,
        "calls": CALLS,
        "imports": IMPORTS,
        "scopes": SCOPES,
        "symbols": SYMBOLS,
        "flows": FLOWS,
        "sites": SITES,
        "extract_errors": EXTRACT_ERRORS,
    }
)

# Every evidence table has a non-null `path` and is partitioned by it (one partition per file):
# a build replaces only the partitions of the files that changed (`store.partitions`).
PARTITION_COLUMN = "path"
TABLE_NAMES: tuple[str, ...] = tuple(EVIDENCE_SCHEMAS)


def empty_tables() -> dict[str, pa.Table]:
    """One empty table per evidence table, each with its exact schema."""
    return {name: schema.empty_table() for name, schema in EVIDENCE_SCHEMAS.items()}
