"""Pass 1's entry and passes 2 and 3 for one view: columns, lineage and canonical SQL (sqlglot), output schema
(DataFusion). One pure function of the view's text and its inputs' schemas, so the compiler
can run it in this process or in an analysis worker and get the same `CachedView`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyarrow as pa

from cpg_core.plan import engine_check
from cpg_core.plan.compile_cache import CachedView, schema_to_bytes
from cpg_core.plan.fingerprints import canonical_sql_hash
from cpg_core.plan.sql_columns import analyze_columns
from cpg_core.plan.sql_parse import (
    ParsedView,
    Position,
    engine_position,
    first_token_position,
    split_lines,
)
from cpg_core.problems import Problem
from cpg_core.views.model import ViewDef

_ENGINE_AT = re.compile(r"at Line: (?P<line>\d+), Column: (?P<col>\d+)")


def front_entry(parsed: ParsedView) -> CachedView:
    """Pass 1's cache entry: what the view reads (with positions) and its parse problems."""
    return CachedView(
        tables=tuple(parsed.tables),
        table_positions={t: (p.line, p.col) for t, p in parsed.tables.items() if p is not None},
        parse_problems=tuple(parsed.problems),
        cte_named_tables=tuple(sorted(parsed.cte_named_tables)),
    )


def analyze_view(
    parsed: ParsedView, inputs: Mapping[str, pa.Schema], front: CachedView, upstream_hash: str
) -> CachedView:
    """`front` (pass 1's entry) completed with what `inputs` tell about the view.

    DataFusion plans only views sqlglot found sound: its report would be dropped anyway
    (sqlglot's positions are better), and planning is the larger half of the cost."""
    view = parsed.view
    columns = analyze_columns(parsed, inputs)
    problems = list(columns.problems)
    schema_bytes: bytes | None = None
    if not problems:
        try:
            schema_bytes = schema_to_bytes(engine_check.output_schema(view.sql, inputs))
        except engine_check.EngineError as error:
            problems.append(engine_problem(view, error))
    return CachedView(
        tables=front.tables,
        table_positions=front.table_positions,
        parse_problems=front.parse_problems,
        cte_named_tables=front.cte_named_tables,
        upstream_hash=upstream_hash,
        required=columns.required,
        output_schema=schema_bytes,
        sql_hash=canonical_sql_hash(columns.canonical_sql) if schema_bytes else "",
        lineage=columns.lineage,
        problems=tuple(problems),
    )


def engine_problem(view: ViewDef, error: engine_check.EngineError) -> Problem:
    """DataFusion's refusal as a problem of the view, positioned as well as its message allows."""
    pos = _engine_position(view, error)
    return Problem(
        code=error.code,
        view=view.name,
        path=view.path,
        line=pos.line,
        col=pos.col,
        message=error.message,
        column=error.name,
    )


def _engine_position(view: ViewDef, error: engine_check.EngineError) -> Position:
    at = _ENGINE_AT.search(error.message)  # the SQL parser's "at Line: 3, Column: 14"
    if at is not None:
        return engine_position(view.sql, int(at["line"]), int(at["col"]))
    if error.name:
        needle = error.name.split(".")[-1]
        for lineno, line in enumerate(split_lines(view.sql), start=1):
            if line.lstrip().startswith("--"):
                continue
            col = line.find(needle)
            if col >= 0:
                return Position(line=lineno, col=col + 1)
    return first_token_position(view.sql)
