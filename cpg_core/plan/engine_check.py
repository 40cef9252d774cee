"""Third compiler pass: plan the view's original SQL in DataFusion against empty inputs.

This yields the exact output Arrow schema and catches type errors sqlglot cannot see, without
executing anything. The engine's read-only SQL options reject DDL, DML and statements too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
from datafusion import SessionContext, SQLOptions

from cpg_core.problems import ProblemCode

READ_ONLY = SQLOptions().with_allow_ddl(False).with_allow_dml(False).with_allow_statements(False)
_TYPE_ERROR = re.compile(
    r"coerce|cannot cast|can't cast|type mismatch|signature|expects? .*type|"
    r"invalid comparison|does not support|unsupported .*type|requires|cannot infer common",
    re.IGNORECASE,
)
_UNKNOWN_FIELD = re.compile(r"No field named (\S+?)\.?(\s|$)")


@dataclass(frozen=True)
class EngineError(Exception):
    """DataFusion refused to plan the view; `code` classifies the message for the report."""

    code: ProblemCode
    message: str
    name: str | None = None


def classify(message: str) -> EngineError:
    """Map a DataFusion error message onto a problem code (type mismatch, unknown column...)."""
    text = " ".join(message.split())  # one line: problems are `path:line:col: ...` lines
    for prefix in ("DataFusion error: ", "Error during planning: ", "Schema error: "):
        text = text.removeprefix(prefix)
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        return EngineError(ProblemCode.UNKNOWN_COLUMN, text, unknown.group(1).strip("'\""))
    if (
        "not supported: COPY" in message
        or "DDL not supported" in message
        or "DML not supported" in message
    ):
        return EngineError(ProblemCode.FORBIDDEN_STATEMENT, text)
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
    ctx = _context()
    registered: list[str] = []
    try:
        for name, schema in inputs.items():
            ctx.register_record_batches(name, [[_empty_batch(schema)]])
            registered.append(name)
        frame = ctx.sql_with_options(sql, READ_ONLY)
        if optimize:
            frame.optimized_logical_plan()
        return frame.schema()
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
