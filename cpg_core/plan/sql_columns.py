"""Second compiler pass: qualify a parsed view against its upstream schemas.

Gives the columns the view needs from each source, unknown columns (with positions), the
canonical SQL its fingerprint hashes, and column lineage — all from one `qualify` of one AST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from cpg_core.plan.sql_parse import (
    DIALECT,
    ParsedView,
    Position,
    first_token_position,
    internal_problem,
    node_position,
    too_deep,
)
from cpg_core.plan.sql_types import mapping_schema_columns
from cpg_core.problems import Problem, ProblemCode

Lineage = dict[str, tuple[tuple[str, str], ...]]


@dataclass
class ColumnAnalysis:
    """What qualification tells about a view (problems empty when it is sound)."""

    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    canonical_sql: str = ""
    lineage: Lineage = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _resolve_source(scope: Scope, table: str) -> exp.Table | Scope | None:
    """A column qualifier names a source of its scope or, when correlated, of an outer scope."""
    current: Scope | None = scope
    while current is not None:
        source = current.sources.get(table)
        if source is not None:
            return source
        current = current.parent
    return None


def _unknown_column(
    parsed: ParsedView, column: exp.Column, message: str, hint: str | None
) -> Problem:
    pos = node_position(column, parsed.view.sql)
    return Problem(
        code=ProblemCode.UNKNOWN_COLUMN,
        view=parsed.view.name,
        path=parsed.view.path,
        line=pos.line if pos else None,
        col=pos.col if pos else None,
        message=message,
        hint=hint,
        column=column.name,
    )


def _required_columns(
    parsed: ParsedView, scopes: list[Scope], schemas: Mapping[str, pa.Schema], out: ColumnAnalysis
) -> None:
    required: dict[str, set[str]] = {}
    for scope in scopes:
        # A table function's output columns (generate_series' `value`) are unknown to sqlglot:
        # an unqualified column may be one of them, so DataFusion (pass 3) decides.
        functions = any(
            isinstance(source, exp.Table) and not isinstance(source.this, exp.Identifier)
            for source in scope.sources.values()
        )
        for column in scope.columns:
            if not column.table and functions:
                continue
            if not column.table:
                visible = sorted(
                    name
                    for source in scope.sources.values()
                    if isinstance(source, exp.Table)
                    for name in (schemas[source.name].names if source.name in schemas else ())
                )
                near = _close(column.name, visible)
                out.problems.append(
                    _unknown_column(
                        parsed,
                        column,
                        f"unknown column {column.name!r}",
                        f"did you mean {near!r}?" if near else None,
                    )
                )
                continue
            source = _resolve_source(scope, column.table)
            if source is None:
                if column.args.get("db") is None:  # `a.b.c` may be struct field access: leave it
                    out.problems.append(
                        _unknown_column(
                            parsed,
                            column,
                            f"unknown table or alias {column.table!r} in {column.sql(DIALECT)}",
                            None,
                        )
                    )
                continue
            if isinstance(source, exp.Table) and source.name in schemas:
                names = schemas[source.name].names
                if column.name not in names:
                    near = _close(column.name, names)
                    out.problems.append(
                        _unknown_column(
                            parsed,
                            column,
                            f"unknown column {column.name!r} in table {source.name!r}",
                            f"did you mean {near!r}?" if near else None,
                        )
                    )
                    continue
                required.setdefault(source.name, set()).add(column.name)
    out.required = {table: tuple(sorted(cols)) for table, cols in sorted(required.items())}


def _close(name: str, candidates: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _projection(scope: Scope, name: str | None, index: int) -> exp.Expr | None:
    selects = scope.expression.selects if isinstance(scope.expression, exp.Query) else []
    if name is not None:
        for select in selects:
            if select.alias_or_name == name:
                return select
    return selects[index] if 0 <= index < len(selects) else None


def _trace(scope: Scope, name: str | None, index: int, seen: set[int]) -> set[tuple[str, str]]:
    """Source (table, column) pairs one output column of `scope` is computed from."""
    if id(scope) in seen:
        return set()
    if scope.set_operation_scopes:
        result: set[tuple[str, str]] = set()
        left, *rest = scope.set_operation_scopes
        position = index
        if name is not None and isinstance(left.expression, exp.Query):
            names = [s.alias_or_name for s in left.expression.selects]
            position = names.index(name) if name in names else index
        for branch in (left, *rest):
            result |= _trace(branch, None, position, seen)
        return result
    projection = _projection(scope, name, index)
    if projection is None:
        return set()
    found: set[tuple[str, str]] = set()
    for column in projection.find_all(exp.Column):
        source = _resolve_source(scope, column.table) if column.table else None
        if isinstance(source, exp.Table):
            found.add((source.name, column.name))
        elif isinstance(source, Scope):
            found |= _trace(source, column.name, -1, seen | {id(scope)})
    return found


def column_lineage(root: Scope) -> Lineage:
    """Per output column, the upstream (table, column) pairs it derives from (direct flow only)."""
    base = root.set_operation_scopes[0] if root.set_operation_scopes else root
    names = (
        [s.alias_or_name for s in base.expression.selects]
        if isinstance(base.expression, exp.Query)
        else []
    )
    return {name: tuple(sorted(_trace(root, name, i, set()))) for i, name in enumerate(names)}


_COLUMN_IN_MESSAGE = re.compile(r"(?:Unknown column: |Column ')(?P<name>[^']+)")
_POSITION_IN_MESSAGE = re.compile(r"Line: (?P<line>\d+), Col: (?P<col>\d+)")


def _qualify_problem(parsed: ParsedView, ast: exp.Expr, message: str) -> Problem:
    """Turn a sqlglot OptimizeError into a problem, locating the column it names."""
    column_match = _COLUMN_IN_MESSAGE.search(message)
    name = column_match["name"] if column_match else None
    pos = None
    if name is not None:
        column = next((c for c in ast.find_all(exp.Column) if c.name == name), None)
        pos = node_position(column, parsed.view.sql) if column is not None else None
    position_match = _POSITION_IN_MESSAGE.search(message)
    if pos is None and position_match:
        pos = Position(line=int(position_match["line"]), col=int(position_match["col"]))
    pos = pos or first_token_position(parsed.view.sql)
    return Problem(
        code=ProblemCode.UNKNOWN_COLUMN if name else ProblemCode.PLANNING_ERROR,
        view=parsed.view.name,
        path=parsed.view.path,
        line=pos.line,
        col=pos.col,
        message=f"unknown column {name!r}" if name else message,
        column=name,
    )


def analyze_columns(parsed: ParsedView, schemas: Mapping[str, pa.Schema]) -> ColumnAnalysis:
    """Qualify the view against `schemas` (its upstream tables) and derive columns and lineage.

    Never raises for a view's text: every failure is a problem of this view."""
    try:
        return _analyze_columns(parsed, schemas)
    except RecursionError:
        problem = too_deep(parsed.view, ProblemCode.PLANNING_ERROR)
    except Exception as error:  # a bug of sqlglot (or ours) on odd text: one view's problem
        problem = internal_problem(parsed.view, ProblemCode.PLANNING_ERROR, error)
    return ColumnAnalysis(problems=[problem])


def _analyze_columns(parsed: ParsedView, schemas: Mapping[str, pa.Schema]) -> ColumnAnalysis:
    out = ColumnAnalysis()
    ast = parsed.ast
    if ast is None:
        return out
    mapping = MappingSchema(
        {name: mapping_schema_columns(schemas[name]) for name in parsed.tables if name in schemas},
        dialect=DIALECT,
        normalize=False,  # view and column names are already normalized (lower-case identifiers)
    )
    try:
        qualified = qualify(
            ast,
            schema=mapping,
            dialect=DIALECT,
            validate_qualify_columns=False,
            canonicalize_table_aliases=True,
            quote_identifiers=True,
        )
    except (OptimizeError, SqlglotError) as error:
        out.problems.append(_qualify_problem(parsed, ast, str(error)))
        return out
    root = build_scope(qualified)
    if root is None:
        return out
    scopes = list(root.traverse())
    _required_columns(parsed, scopes, schemas, out)
    if out.problems:
        return out
    out.lineage = column_lineage(root)
    # Last use of the AST: let the generator normalize it in place instead of deep-copying it.
    out.canonical_sql = qualified.sql(identify=True, normalize=True, comments=False, copy=False)
    return out
