"""Third compiler pass: plan the view's original SQL in DataFusion against empty inputs.

This yields the exact output Arrow schema and catches type errors sqlglot cannot see, without
executing anything. The engine's read-only SQL options reject DDL, DML and statements too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import pyarrow as pa
from datafusion import DataFrame, LogicalPlan, SessionContext, SQLOptions

from cpg_core.problems import ProblemCode

READ_ONLY = SQLOptions().with_allow_ddl(False).with_allow_dml(False).with_allow_statements(False)
_TYPE_ERROR = re.compile(
    r"coerce|cannot cast|can't cast|type mismatch|signature|expects? .*type|"
    r"invalid comparison|does not support|unsupported .*type|requires|cannot infer common",
    re.IGNORECASE,
)
T = TypeVar("T")
_UNKNOWN_TABLE = re.compile(r"table '(?:[^'.]+\.)*(?P<name>[^'.]+)' not found")
_VALID_FIELDS = re.compile(r"Valid fields are (?P<fields>.+?)\.?$")
_UNKNOWN_FIELD = re.compile(r"No field named (\S+?)\.?(\s|$)")


@dataclass(frozen=True)
class EngineError(Exception):
    """DataFusion refused to plan the view; `code` classifies the message for the report."""

    code: ProblemCode
    message: str
    name: str | None = None
    valid: tuple[str, ...] = ()  # the names DataFusion says it would have accepted


def classify(message: str) -> EngineError:
    """Map a DataFusion error message onto a problem code (type mismatch, unknown column...)."""
    text = " ".join(message.split())  # one line: problems are `path:line:col: ...` lines
    for prefix in ("DataFusion error: ", "Error during planning: ", "Schema error: "):
        text = text.removeprefix(prefix)
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        valid = _VALID_FIELDS.search(text)
        names = tuple(f.split(".")[-1] for f in valid["fields"].split(", ")) if valid else ()
        return EngineError(ProblemCode.UNKNOWN_COLUMN, text, unknown.group(1).strip("'\""), names)
    table = _UNKNOWN_TABLE.search(message)
    if table:
        return EngineError(
            ProblemCode.UNKNOWN_TABLE, f"unknown table {table['name']!r}", table["name"]
        )
    if "ParserError(" in message or "TokenizerError(" in message:
        return EngineError(ProblemCode.SYNTAX_ERROR, text)
    if (
        "not supported: COPY" in message
        or "DDL not supported" in message
        or "DML not supported" in message
    ):
        return EngineError(ProblemCode.FORBIDDEN_STATEMENT, text)
    if "not implemented" in message:
        return EngineError(ProblemCode.PLANNING_ERROR, text)
    if _TYPE_ERROR.search(message):
        return EngineError(ProblemCode.TYPE_MISMATCH, text)
    return EngineError(ProblemCode.PLANNING_ERROR, text)


@lru_cache(maxsize=4096)
def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """One empty batch per schema (registering a batch is ~7x cheaper than `from_arrow`;
    building it from empty arrays ~2x cheaper than `from_pylist`)."""
    try:
        arrays = [pa.array([], type=f.type) for f in schema]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    except (pa.ArrowException, TypeError):  # a type with no empty-array constructor
        return pa.RecordBatch.from_pylist([], schema=schema)


_contexts = threading.local()


def _context() -> SessionContext:
    """This thread's planning context: a new `SessionContext` per view costs a third of the
    planning itself, so one is reused, holding only the current view's inputs."""
    ctx = getattr(_contexts, "ctx", None)
    if ctx is None:
        ctx = _contexts.ctx = SessionContext()
    return ctx


def output_schema(
    sql: str, inputs: Mapping[str, pa.Schema], *, optimize: bool = False
) -> pa.Schema:
    """Plan `sql` over empty tables with `inputs`' schemas; raise EngineError when it cannot.

    The view sees exactly its inputs: they are registered for this call and removed after.
    `optimize` also runs type coercion and the optimizer (still nothing executes): it catches
    literals that cannot be cast to their column's type, which plain planning lets through."""

    def schema(df: DataFrame) -> pa.Schema:
        if optimize:
            df.optimized_logical_plan()
        return _runnable_schema(df)

    return _planned(sql, inputs, schema)


def _runnable_schema(df: DataFrame) -> pa.Schema:
    """The output schema of a query DataFusion can also *run*. Some logical plans have no
    physical plan — an outer column left in a subquery the optimizer cannot decorrelate (a
    LATERAL join: "Physical plan does not support logical expression OuterReferenceColumn").
    Only a plan with an outer reference is made physical (nothing executes): doing it for
    every view would triple the planning cost of a compile."""
    if "outer_ref(" in df.logical_plan().display_indent():
        df.execution_plan()
    return df.schema()


@dataclass(frozen=True)
class EnginePlan:
    """What DataFusion's logical plan tells about a view sqlglot could not follow."""

    schema: pa.Schema
    reads: tuple[str, ...]  # the inputs it needs to plan (sorted)
    required: dict[str, tuple[str, ...]]  # columns read per input (all of them when unsure)


_SCAN = re.compile(r"^\s*TableScan: (?P<name>\S+)", re.MULTILINE)


def plan_facts(sql: str, inputs: Mapping[str, pa.Schema]) -> EnginePlan:
    """Plan `sql` over `inputs` and read its dependencies and required columns off the plan.

    The inputs it reads are the tables scanned by the logical plan plus any input without
    which it cannot be planned (a CTE nobody selects from is planned, then dropped); the
    required columns are the projections of the optimized plan's scans. An input whose scans
    the plan walk cannot reach (a subquery inside an expression) counts with all columns."""

    def facts(df: DataFrame) -> tuple[pa.Schema, set[str], dict[str, set[str]], set[str]]:
        scanned = set(_SCAN.findall(df.logical_plan().display_indent()))
        optimized = df.optimized_logical_plan()
        columns: dict[str, set[str]] = {}
        _projections(optimized, columns)
        hidden = set(_SCAN.findall(optimized.display_indent())) - set(columns)
        return _runnable_schema(df), scanned, columns, hidden

    schema, scanned, columns, hidden = _planned(sql, inputs, facts)
    reads = {t for t in inputs if t in scanned}
    for table in sorted(set(inputs) - reads):  # needed for planning although never scanned?
        try:
            output_schema(sql, {t: s for t, s in inputs.items() if t != table})
        except EngineError:
            reads.add(table)
    required = {
        t: tuple(sorted(inputs[t].names if t in hidden else columns.get(t, ())))
        for t in sorted(reads)
    }
    return EnginePlan(schema=schema, reads=tuple(sorted(reads)), required=required)


def output_expressions(sql: str, inputs: Mapping[str, pa.Schema]) -> tuple[str, ...] | None:
    """The expressions of the view's output columns as DataFusion names them (`a.e`), or None
    when its plan does not end in a projection (a VALUES, a set operation)."""

    def expressions(df: DataFrame) -> tuple[str, ...] | None:
        plan: LogicalPlan | None = df.logical_plan()
        while plan is not None:
            variant = plan.to_variant()
            if type(variant).__name__ == "Projection":
                return tuple(str(e.schema_name()) for e in variant.projections())
            if type(variant).__name__ not in ("Sort", "Limit", "Distinct"):
                return None
            children = plan.inputs()
            plan = children[0] if len(children) == 1 else None
        return None

    return _planned(sql, inputs, expressions)


def _projections(plan: LogicalPlan, out: dict[str, set[str]]) -> None:
    """Columns each table scan of `plan` projects (walking inputs, not expressions)."""
    variant = plan.to_variant()
    if type(variant).__name__ == "TableScan":
        out.setdefault(str(variant.table_name()), set()).update(
            str(name) for _, name in variant.projection()
        )
    for child in plan.inputs():
        _projections(child, out)


def _planned(sql: str, inputs: Mapping[str, pa.Schema], read: Callable[[DataFrame], T]) -> T:
    """`read` applied to the DataFrame of `sql` planned over empty `inputs` (EngineError when
    DataFusion cannot plan it)."""
    ctx = _context()
    registered: list[str] = []
    try:
        for name, schema in inputs.items():
            ctx.register_record_batches(name, [[_empty_batch(schema)]])
            registered.append(name)
        return read(ctx.sql_with_options(sql, READ_ONLY))
    except BaseException as error:  # DataFusion raises plain Exception/ValueError subclasses
        _contexts.ctx = None  # after a failure (a Rust panic even) never trust the context
        if not _engine_failure(error):
            raise
        raise classify(str(error) or type(error).__name__) from error
    finally:
        if _contexts.ctx is ctx:
            for name in registered:
                ctx.deregister_table(name)


def _engine_failure(error: BaseException) -> bool:
    """An error of planning this SQL: an exception, or a Rust panic (pyo3's PanicException
    derives from BaseException), but never KeyboardInterrupt or SystemExit."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def warm_up() -> None:
    """Run once in a fresh worker so its imports and DataFusion runtime are ready."""
    output_schema("select 1", {})
