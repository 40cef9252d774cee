"""Singular tests: `.sql` files under a project's `tests/` folders whose rows are the failures.

A singular test reads views and input tables by name, like a view, and is compiled like one:
parsed (one read-only query), its tables resolved, its columns qualified and the query planned
in DataFusion over its inputs' schemas — nothing executes. It is not a stored asset. A test
reading a view that is not admitted is kept but cannot run (`runnable` is False); the view's own
problems say why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
import pyarrow as pa

from cpg_core.plan.compile_cache import schema_from_bytes
from cpg_core.plan.data_tests import TableRef, unreadable_table
from cpg_core.plan.sql_parse import parse_view
from cpg_core.plan.view_analysis import analyze_view, front_entry
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import Severity, SingularTestDef, ViewDef


class SingularTest(msgspec.Struct, frozen=True, kw_only=True):
    """A compiled singular test. `blocked_by` names read views that are not admitted."""

    name: str
    sql: str
    path: str | None
    description: str
    severity: Severity
    reads: tuple[str, ...]
    output_schema: pa.Schema | None
    problems: tuple[Problem, ...] = ()
    blocked_by: tuple[str, ...] = ()

    @property
    def runnable(self) -> bool:
        """It compiled and everything it reads can be read from the store."""
        return self.output_schema is not None and not self.problems and not self.blocked_by


def compile_singular_tests(
    tests: Sequence[SingularTestDef], tables: Mapping[str, TableRef]
) -> tuple[tuple[SingularTest, ...], list[Problem]]:
    """Compile the project's singular tests (as loaded) against `tables` (every view and input
    dataset the plan knows, with the schema of each admitted one). Returns the tests and every
    problem found."""
    problems: list[Problem] = []
    compiled = []
    for test in tests:
        result = _compile_one(test, tables)
        problems += result.problems
        compiled.append(result)
    return tuple(compiled), problems


def _compile_one(test: SingularTestDef, tables: Mapping[str, TableRef]) -> SingularTest:
    as_view = ViewDef(name=test.name, sql=test.sql, path=test.path)
    parsed = parse_view(as_view)
    reads = tuple(parsed.tables)
    problems = list(parsed.problems)
    blocked: list[str] = []
    for table, position in parsed.tables.items():
        ref = tables.get(table)
        at = (position.line, position.col) if position is not None else (None, None)
        unreadable = unreadable_table(table, tables)
        if unreadable is not None or ref is None:
            code, what, hint = unreadable or (ProblemCode.UNKNOWN_TABLE, "", None)
            problems.append(_problem(test, code, what, at, hint=hint, table=table))
        elif ref.schema is None:
            blocked.append(table)
    schema = None
    if not problems and not blocked and parsed.ast is not None:
        inputs = {t: s for t in reads if (s := tables[t].schema) is not None}
        entry = analyze_view(parsed, inputs, front_entry(parsed), "")
        problems += entry.problems
        if entry.output_schema is not None and not entry.problems:
            schema = schema_from_bytes(entry.output_schema)
    return SingularTest(
        name=test.name,
        sql=test.sql,
        path=test.path,
        description=test.description,
        severity=test.severity,
        reads=reads,
        output_schema=schema,
        problems=tuple(problems),
        blocked_by=tuple(blocked),
    )


def _problem(
    test: SingularTestDef,
    code: ProblemCode,
    message: str,
    at: tuple[int | None, int | None],
    *,
    hint: str | None = None,
    table: str | None = None,
) -> Problem:
    return Problem(
        code=code,
        view=test.name,
        path=test.path,
        line=at[0],
        col=at[1],
        message=message,
        hint=hint,
        table=table,
    )


def table_refs(
    views: Mapping[str, ViewDef],
    view_schemas: Mapping[str, pa.Schema | None],
    datasets: Mapping[str, pa.Schema | None],
) -> dict[str, TableRef]:
    """What a test may read: input datasets, persisted views (with the schema of the admitted
    ones, else None) and inline views (which it may not read)."""
    refs = {name: TableRef("dataset", schema) for name, schema in datasets.items()}
    for name, view in views.items():
        kind = "view" if view.persisted else "inline"
        refs[name] = TableRef(kind, view_schemas.get(name))
    return refs
