"""Pass 1's entry and passes 2 and 3 for one view: columns, lineage and canonical SQL (sqlglot),
output schema (DataFusion), and whether the store can hold it. One pure function of the view's
text and its inputs' schemas, so the compiler can run it in this process or in an analysis
worker and get the same `CachedView`.

The rule: a read-only query DataFusion plans over its inputs is admitted. sqlglot gives the
best facts (lineage, canonical SQL, positions) where it can follow the query; where it cannot,
DataFusion's logical plan gives dependencies, required columns and the output schema, and the
entry says the lineage is unknown — a doubt of sqlglot's never rejects a view on its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Mapping, Sequence

import msgspec
import pyarrow as pa

from cpg_core.plan import engine_check, output_check
from cpg_core.plan.compile_cache import CachedView, schema_to_bytes
from cpg_core.plan.fingerprints import canonical_sql_hash
from cpg_core.plan.hashing import schema_hash, sha256_hex, upstream_key
from cpg_core.plan.output_check import name_position
from cpg_core.plan.partitioning import partition_problem
from cpg_core.plan.sql_columns import ColumnAnalysis, analyze_columns
from cpg_core.plan.sql_parse import (
    ParsedView,
    Position,
    engine_position,
    first_token_position,
    is_keyword,
)
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef

_ENGINE_AT = re.compile(r"at Line: (?P<line>\d+), Column: (?P<col>\d+)")


def front_entry(parsed: ParsedView) -> CachedView:
    """Pass 1's cache entry: what the view reads (with positions) and its parse problems."""
    positions = {t: (p.line, p.col) for t, p in parsed.tables.items() if p is not None}
    return CachedView(
        tables=tuple(parsed.tables),
        table_positions=positions or _positions(parsed.view.sql, parsed.candidates),
        parse_problems=tuple(parsed.problems),
        cte_named_tables=tuple(sorted(parsed.cte_named_tables)),
        deferred=tuple(parsed.deferred),
        candidates=parsed.candidates,
    )


def resolve_front(entry: CachedView, *known: Container[str]) -> CachedView:
    """A view sqlglot could not parse reads some of its candidate words: until DataFusion's
    plan says which (its analysis), every candidate that names a table or view (`known`)."""
    if not entry.candidates or entry.output_schema is not None:  # planned: it knows its reads
        return entry
    tables = tuple(c for c in entry.candidates if any(c in names for names in known))
    return msgspec.structs.replace(entry, tables=tables)


def analyze_view(
    parsed: ParsedView, inputs: Mapping[str, pa.Schema], front: CachedView, upstream_hash: str
) -> CachedView:
    """`front` (pass 1's entry) completed with what `inputs` tell about the view.

    sqlglot's analysis gives columns, lineage and the canonical SQL; DataFusion's plan gives the
    output schema. Where sqlglot doubts a view (it cannot parse or qualify it) DataFusion
    decides: a view it plans is admitted with the facts of its logical plan and its lineage
    marked unknown; otherwise sqlglot's problems are reported when they say the same (an unknown
    column or table, with better positions and did-you-mean), else DataFusion's."""
    view = parsed.view
    columns = analyze_columns(parsed, inputs)
    doubts = [*front.deferred, *columns.problems]
    if not doubts:  # the common case: plan only for the output schema
        try:
            schema = engine_check.output_schema(view.sql, inputs)
        except engine_check.EngineError as error:
            problems = [engine_problem(view, error), *columns.partition_problems]
            return _entry(front, upstream_hash, columns, problems=problems)
        sql_hash = canonical_sql_hash(columns.canonical_sql)
        return _stored(view, front, upstream_hash, columns, (schema, inputs), sql_hash)
    try:
        facts = engine_check.plan_facts(view.sql, inputs)
    except engine_check.EngineError as error:
        problems = doubts if _sqlglot_says_it_better(front, columns, error) else []
        return _entry(
            front, upstream_hash, columns, problems=problems or [engine_problem(view, error)]
        )
    reads = facts.reads if front.candidates else front.tables
    fallback = ColumnAnalysis(
        required={t: facts.required.get(t, ()) for t in reads if t in inputs},
        partition_problems=_unproven(view, doubts[0]),
    )
    own = msgspec.structs.replace(
        front,
        tables=reads,
        lineage_unknown=_why(doubts[0]),
    )
    key = upstream_key({t: schema_hash(inputs[t]) for t in reads if t in inputs})
    return _stored(
        view,
        own,
        key if front.candidates else upstream_hash,
        fallback,
        (facts.schema, inputs),
        sha256_hex("datafusion-text\0" + view.sql),  # no canonical SQL without sqlglot
    )


def _sqlglot_says_it_better(
    front: CachedView, columns: ColumnAnalysis, error: engine_check.EngineError
) -> bool:
    """Both refuse the view: report sqlglot's problems when they are about the same thing."""
    if columns.problems:
        return error.code in (ProblemCode.UNKNOWN_COLUMN, ProblemCode.UNKNOWN_TABLE)
    if not front.deferred:
        return False
    # DataFusion parsed it: its complaint is the real one, unless it took a keyword for a table
    keyword = error.code is ProblemCode.UNKNOWN_TABLE and is_keyword(error.name or "")
    return error.code is ProblemCode.SYNTAX_ERROR or keyword


def _unproven(view: ViewDef, doubt: Problem) -> list[Problem]:
    """An `@incremental` view sqlglot cannot follow: its declaration cannot be proven (the
    proof reads sqlglot's AST), so it is refused rather than silently rebuilt whole."""
    spec = view.incremental
    if spec is None:
        return []
    at = Position(spec.line, spec.col)
    message = f"cannot prove the @incremental declaration: sqlglot cannot follow this query ({doubt.message})"
    hint = "write the query so sqlglot can qualify it, or drop the @incremental line"
    return [partition_problem(view, at, message, hint)]


def _why(problem: Problem) -> str:
    return (
        "sqlglot cannot follow this query "
        f"({problem.message}); its dependencies, required columns and output schema come "
        "from DataFusion's logical plan"
    )


def _positions(sql: str, tables: Sequence[str]) -> dict[str, tuple[int, int]]:
    positions = {}
    for table in tables:
        at = name_position(sql, table)
        positions[table] = (at.line, at.col)
    return positions


def _entry(
    front: CachedView,
    upstream_hash: str | None,
    columns: ColumnAnalysis,
    *,
    problems: list[Problem],
    schema_bytes: bytes | None = None,
    sql_hash: str = "",
) -> CachedView:
    return msgspec.structs.replace(
        front,
        upstream_hash=upstream_hash,
        required=columns.required,
        output_schema=schema_bytes,
        sql_hash=sql_hash if schema_bytes else "",
        lineage=columns.lineage,
        problems=tuple(problems),
        partitioning=columns.partitioning,
    )


def _stored(
    view: ViewDef,
    front: CachedView,
    upstream_hash: str | None,
    columns: ColumnAnalysis,
    planned: tuple[pa.Schema, Mapping[str, pa.Schema]],
    sql_hash: str,
) -> CachedView:
    """The entry of a view DataFusion planned (`planned`: its output schema, over its inputs),
    if the store can hold that output; its schema is the stored one."""
    schema, inputs = planned
    stored, problems = output_check.stored_schema(view, schema)
    problems += columns.partition_problems  # after planning: DataFusion still checks the SQL
    problems += output_check.duplicate_problems(
        view, schema, lambda: engine_check.output_expressions(view.sql, inputs)
    )
    if problems or stored is None:
        return _entry(front, upstream_hash, columns, problems=problems)
    return _entry(
        front,
        upstream_hash,
        columns,
        problems=[],
        schema_bytes=schema_to_bytes(stored),
        sql_hash=sql_hash,
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
        hint=_did_you_mean(error),
        column=error.name if error.code is not ProblemCode.UNKNOWN_TABLE else None,
        table=error.name if error.code is ProblemCode.UNKNOWN_TABLE else None,
    )


def _did_you_mean(error: engine_check.EngineError) -> str | None:
    if "OuterReferenceColumn" in error.message:
        return "DataFusion cannot run this reference to an outer query; write it as a join"
    if not error.name or not error.valid or "did you mean" in error.message.lower():
        return None
    near = difflib.get_close_matches(error.name.split(".")[-1], error.valid, n=1, cutoff=0.6)
    return f"did you mean {near[0]!r}?" if near else None


def _engine_position(view: ViewDef, error: engine_check.EngineError) -> Position:
    at = _ENGINE_AT.search(error.message)  # the SQL parser's "at Line: 3, Column: 14"
    if at is not None:
        return engine_position(view.sql, int(at["line"]), int(at["col"]))
    if error.name:
        return output_check.name_position(view.sql, error.name.split(".")[-1])
    return first_token_position(view.sql)
