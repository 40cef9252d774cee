"""Declared tests and column contracts at compile time (nothing executes).

Every declared test is one SQL query whose rows are its failures (`failure_sql`); the same
query is what the evaluator runs against the stored table. At compile time the compiler calls
`data_test_problems` once per view with its planned output schema: the test's columns must be
output columns, the query must plan (and pass DataFusion's type coercion) over that schema, and
an enforced contract must match the schema by name and type family (`column_contract`). A
relationships test also names another table: `reference_problems` checks it once every view's
schema is known. Every mistake is a problem of the view, located at the `@test`/`@column` line.

Nullability: a contract's `not null` is proven at compile time when DataFusion plans the column
as non-nullable; otherwise it becomes a `not_null` test of the data (`contract_not_null`),
because DataFusion's inference is conservative (a filter `x IS NOT NULL` does not make `x`
non-nullable in the plan) and a compile-time failure there would reject correct views.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.types as pat

from cpg_core.plan import engine_check
from cpg_core.plan.column_contract import (
    ContractTypeError,
    actual_family,
    declared_family,
    family_matches,
)
from cpg_core.plan.sql_parse import split_lines
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ColumnDoc, DeclaredTest, ViewDef

OCCURRENCES = "occurrences"  # the count column of a unique test's failures
CONDITION = "__cpg_condition"


def quote(name: str) -> str:
    """A SQL identifier, quoted (names come from metadata and may hold anything)."""
    return '"' + name.replace('"', '""') + '"'


def failure_predicate(test: DeclaredTest) -> str | None:
    """The condition a failing row meets, for the tests decided row by row (not_null,
    accepted_values, expression); for row_count, the condition over its `row_count` column.
    None for the others (unique and relationships compare rows with rows)."""
    columns = [quote(c) for c in test.columns]
    if test.kind == "not_null":
        return f"{columns[0]} IS NULL"
    if test.kind == "accepted_values":
        return f"{columns[0]} IS NOT NULL AND {columns[0]} NOT IN ({', '.join(test.values)})"
    if test.kind in ("expression", "row_count"):
        return f"NOT ({test.condition})"
    return None


def failure_sql(view: str, test: DeclaredTest) -> str:
    """The query whose rows are `test`'s failures over table `view` (none: the test passes)."""
    table = quote(view)
    columns = [quote(c) for c in test.columns]
    predicate = failure_predicate(test)
    if test.kind == "row_count":
        return (
            f"SELECT row_count FROM (SELECT count(*) AS row_count FROM {table}) AS counted "
            f"WHERE {predicate}"
        )
    if predicate is not None:
        return f"SELECT * FROM {table} WHERE {predicate}"
    if test.kind == "unique":
        keys = ", ".join(columns)
        count = quote(OCCURRENCES if OCCURRENCES not in test.columns else OCCURRENCES + "_")
        order = ", ".join(f"{c} ASC NULLS LAST" for c in columns)
        return (
            f"SELECT {keys}, count(*) AS {count} FROM {table} GROUP BY {keys} "
            f"HAVING count(*) > 1 ORDER BY {count} DESC, {order}"
        )
    assert test.kind == "relationships"
    assert test.to_table is not None and test.to_column is not None
    child = f"{quote('__child')}.{columns[0]}"
    parent = f"{quote('__parent')}.{quote(test.to_column)}"
    return (
        f"SELECT * FROM {table} AS {quote('__child')} WHERE {child} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {quote(test.to_table)} AS {quote('__parent')} "
        f"WHERE {parent} = {child})"
    )


def reads_of(view: str, test: DeclaredTest) -> tuple[str, ...]:
    """The tables `test`'s failure query reads (the view first)."""
    if test.kind == "relationships" and test.to_table is not None and test.to_table != view:
        return (view, test.to_table)
    return (view,)


# -- problems -----------------------------------------------------------------------------------


def _problem(
    view: ViewDef,
    code: ProblemCode,
    message: str,
    line: int | None,
    col: int | None,
    *,
    hint: str | None = None,
    column: str | None = None,
    table: str | None = None,
) -> Problem:
    return Problem(
        code=code,
        view=view.name,
        path=view.path,
        line=line or None,
        col=col or None,
        message=message,
        hint=hint,
        column=column,
        table=table,
    )


def _columns_hint(name: str, schema: pa.Schema) -> str:
    near = difflib.get_close_matches(name, schema.names, n=1, cutoff=0.6)
    listed = "output columns: " + ", ".join(schema.names)
    return f"did you mean {near[0]!r}? {listed}" if near else listed


def data_test_problems(view: ViewDef, schema: pa.Schema) -> list[Problem]:
    """Problems of `view`'s declared tests, `@column` lines and contract against `schema`.

    Relationships targets are checked later (`reference_problems`): another view's schema
    may not be known when this view's is."""
    if not view.tests and not view.columns:
        return []
    problems = _column_problems(view, schema)
    if view.tests and not view.persisted:
        first = view.tests[0]
        problems.append(
            _problem(
                view,
                ProblemCode.INVALID_METADATA,
                "an inline view is not stored, so its tests cannot run",
                first.line,
                first.col,
                hint="materialize it as a table, or declare the tests on a view that reads it",
            )
        )
        return problems
    for test in view.tests:
        problems += _test_problems(view, test, schema)
    return problems


def _test_problems(view: ViewDef, test: DeclaredTest, schema: pa.Schema) -> list[Problem]:
    own = test.columns
    problems = [
        _problem(
            view,
            ProblemCode.UNKNOWN_COLUMN,
            f"@test {test.name}: the view has no column {column!r}",
            test.line,
            test.column_cols[i] if i < len(test.column_cols) else test.col,
            hint=_columns_hint(column, schema),
            column=column,
        )
        for i, column in enumerate(own)
        if column not in schema.names
    ]
    if problems or test.kind in ("not_null", "unique", "row_count", "relationships"):
        return problems
    if test.kind == "accepted_values":
        mismatch = _literal_mismatch(test, schema.field(test.columns[0]).type)
        if mismatch is not None:
            return [
                _problem(
                    view,
                    ProblemCode.TYPE_MISMATCH,
                    f"@test {test.name}: {mismatch}",
                    test.line,
                    test.col,
                    column=test.columns[0],
                )
            ]
        return _planning_problems(view, test, failure_sql(view.name, test), {view.name: schema})
    # expression: it must plan over the view's columns alone and be a boolean
    sql = f"SELECT ({test.condition}) AS {quote(CONDITION)} FROM {quote(view.name)}"
    problems = _planning_problems(view, test, sql, {view.name: schema})
    if problems:
        return problems
    dtype = engine_check.output_schema(sql, {view.name: schema}).field(CONDITION).type
    if not (pat.is_boolean(dtype) or pat.is_null(dtype)):
        return [
            _problem(
                view,
                ProblemCode.TYPE_MISMATCH,
                f"@test {test.name}: the expression must be true or false for each row, "
                f"it is {actual_family(dtype).lower()}",
                test.line,
                test.col,
            )
        ]
    return []


def _literal_mismatch(test: DeclaredTest, dtype: pa.DataType) -> str | None:
    """Why accepted values cannot be compared with the column (DataFusion would cast the
    column's values to the literals' type at run time and fail there)."""
    strings = [v for v in test.values if v.startswith("'")]
    numeric = pat.is_integer(dtype) or pat.is_floating(dtype) or pat.is_decimal(dtype)
    if pat.is_string(dtype) or pat.is_large_string(dtype) or pat.is_string_view(dtype):
        if len(strings) != len(test.values):
            return "a text column's accepted values must be 'quoted' strings"
    elif numeric and strings:
        return f"column {test.columns[0]!r} is a number: its accepted values must be numbers"
    elif pat.is_boolean(dtype) and any(v.upper() not in ("TRUE", "FALSE") for v in test.values):
        return f"column {test.columns[0]!r} is boolean: its accepted values must be true/false"
    elif pat.is_nested(dtype):
        return f"accepted_values compares plain values, not {actual_family(dtype).lower()}"
    return None


def _planning_problems(
    view: ViewDef, test: DeclaredTest, sql: str, inputs: Mapping[str, pa.Schema]
) -> list[Problem]:
    try:
        engine_check.output_schema(sql, inputs, optimize=True)
    except engine_check.EngineError as error:
        return [
            _problem(
                view,
                error.code,
                f"@test {test.name}: {error.message}",
                test.line,
                test.col,
                column=error.name,
            )
        ]
    return []


# -- @column lines and the contract ------------------------------------------------------------


def _column_problems(view: ViewDef, schema: pa.Schema) -> list[Problem]:
    problems: list[Problem] = []
    declared: dict[str, str] = {}
    for doc in view.columns:
        if doc.name not in schema.names:
            problems.append(
                _problem(
                    view,
                    ProblemCode.CONTRACT_VIOLATION if view.contract else ProblemCode.UNKNOWN_COLUMN,
                    f"@column {doc.name}: the view has no such output column",
                    doc.line,
                    doc.col,
                    hint=_columns_hint(doc.name, schema),
                    column=doc.name,
                )
            )
            continue
        if doc.type is None:
            if view.contract:
                problems.append(
                    _problem(
                        view,
                        ProblemCode.INVALID_METADATA,
                        f"@column {doc.name}: an enforced contract needs the column's type",
                        doc.line,
                        doc.col,
                        hint=f"e.g. `@column {doc.name}: bigint -- ...`",
                    )
                )
            continue
        try:
            declared[doc.name] = declared_family(doc.type)
        except ContractTypeError as error:
            problems.append(
                _problem(
                    view,
                    ProblemCode.INVALID_METADATA,
                    f"@column {doc.name}: {error}",
                    doc.line,
                    doc.type_col,
                )
            )
    if view.contract:
        problems += _contract_problems(view, schema, declared)
    return problems


def _contract_problems(
    view: ViewDef, schema: pa.Schema, declared: Mapping[str, str]
) -> list[Problem]:
    docs = {doc.name: doc for doc in view.columns}
    problems: list[Problem] = []
    for name, family in declared.items():
        dtype = schema.field(name).type
        if not family_matches(family, dtype):
            doc = docs[name]
            problems.append(
                _problem(
                    view,
                    ProblemCode.CONTRACT_VIOLATION,
                    f"contract: column {name!r} is declared {_spelled(doc.type, family)} but "
                    f"the view outputs {_spelled(str(dtype), actual_family(dtype))}",
                    doc.line,
                    doc.type_col,
                    column=name,
                )
            )
    undeclared = [n for n in schema.names if n not in docs]
    if undeclared:
        line = _contract_line(view.sql)
        problems.append(
            _problem(
                view,
                ProblemCode.CONTRACT_VIOLATION,
                "contract: the view outputs column(s) the contract does not declare: "
                + ", ".join(undeclared),
                line,
                1 if line else None,
                hint="declare them with `-- @column name: type -- description` "
                "or leave them out of the SELECT",
                column=undeclared[0],
            )
        )
    return problems


def _spelled(written: str | None, family: str) -> str:
    """`double` or `float64 (double)`: as written, with its family when that differs."""
    text = written or family.lower()
    return text if text.lower() == family.lower() else f"{text} ({family.lower()})"


def _contract_line(text: str) -> int | None:
    for lineno, line in enumerate(split_lines(text), start=1):
        if line.lstrip().startswith("--") and "@contract" in line:
            return lineno
    return None


def contract_not_null(view: ViewDef, schema: pa.Schema | None) -> tuple[ColumnDoc, ...]:
    """The contract's `not null` columns that the plan does not prove non-nullable: each is
    checked on the data as an implied `not_null` test."""
    if not view.contract or schema is None:
        return ()
    return tuple(
        doc
        for doc in view.columns
        if doc.not_null and doc.name in schema.names and schema.field(doc.name).nullable
    )


# -- relationships targets ------------------------------------------------------------------


@dataclass(frozen=True)
class TableRef:
    """What the compiler knows of a table a test names: its kind and (when known) schema."""

    kind: str  # "view" (persisted), "inline" or "dataset"
    schema: pa.Schema | None


def unreadable_table(
    name: str, tables: Mapping[str, TableRef]
) -> tuple[ProblemCode, str, str | None] | None:
    """Why a test cannot read table `name` (code, what, hint), or None when it can: an unknown
    table (with the closest name), or an inline view (never stored)."""
    ref = tables.get(name)
    if ref is None:
        near = difflib.get_close_matches(name, sorted(tables), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}?" if near else None
        return ProblemCode.UNKNOWN_TABLE, f"unknown table {name!r}", hint
    if ref.kind == "inline":
        what = f"{name!r} is an inline view, which is not stored: a test cannot read it"
        return (
            ProblemCode.INVALID_METADATA,
            what,
            "materialize it as a table, or read what it reads",
        )
    return None


def reference_problems(
    view: ViewDef, schema: pa.Schema, tables: Mapping[str, TableRef]
) -> list[Problem]:
    """Problems of `view`'s relationships tests: the target must be a stored table with the
    column, of a type comparable with the tested column. A target view that is itself invalid
    is not this view's problem (its own problems say why); its test then cannot run."""
    problems: list[Problem] = []
    for test in view.tests:
        if test.kind != "relationships" or test.to_table is None or test.to_column is None:
            continue
        at_table = test.column_cols[1] if len(test.column_cols) > 2 else test.col
        at_column = test.column_cols[2] if len(test.column_cols) > 2 else test.col
        target = view.name if test.to_table == view.name else test.to_table
        refs = {**tables, view.name: TableRef("view", schema)}
        ref = refs.get(target)
        unreadable = unreadable_table(target, refs)
        if unreadable is not None or ref is None:
            code, what, hint = unreadable or (ProblemCode.UNKNOWN_TABLE, "", None)
            problems.append(
                _problem(
                    view,
                    code,
                    f"@test {test.name}: {what}",
                    test.line,
                    at_table,
                    hint=hint,
                    table=target,
                )
            )
        elif ref.schema is None:
            continue
        elif test.to_column not in ref.schema.names:
            problems.append(
                _problem(
                    view,
                    ProblemCode.UNKNOWN_COLUMN,
                    f"@test {test.name}: {target!r} has no column {test.to_column!r}",
                    test.line,
                    at_column,
                    hint=_columns_hint(test.to_column, ref.schema),
                    column=test.to_column,
                    table=target,
                )
            )
        else:
            child = schema.field(test.columns[0]).type
            parent = ref.schema.field(test.to_column).type
            if not _comparable(child, parent):
                problems.append(
                    _problem(
                        view,
                        ProblemCode.TYPE_MISMATCH,
                        f"@test {test.name}: {test.columns[0]!r} is {actual_family(child).lower()}"
                        f" but {target}.{test.to_column} is {actual_family(parent).lower()}: "
                        "their values cannot be compared",
                        test.line,
                        test.col,
                    )
                )
    return problems


def _comparable(left: pa.DataType, right: pa.DataType) -> bool:
    """Values of the two types can be matched without casting text to numbers or back."""

    def kind(dtype: pa.DataType) -> str:
        if pat.is_integer(dtype) or pat.is_floating(dtype) or pat.is_decimal(dtype):
            return "number"
        return actual_family(dtype)

    return kind(left) == kind(right)
