"""Third compiler pass: plan the view's original SQL in DataFusion against empty inputs.

This yields the exact output Arrow schema and catches type errors sqlglot cannot see, without
executing anything. The engine's read-only SQL options reject DDL, DML and statements too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
from datafusion import SessionContext, SQLOptions

from cpg_core.plan.problems import ProblemCode

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
    """One empty batch per schema (registering a batch is ~7x cheaper than `from_arrow`)."""
    return pa.RecordBatch.from_pylist([], schema=schema)


def output_schema(sql: str, inputs: Mapping[str, pa.Schema]) -> pa.Schema:
    """Plan `sql` over empty tables with `inputs`' schemas; raise EngineError when it cannot."""
    ctx = SessionContext()
    for name, schema in inputs.items():
        ctx.register_record_batches(name, [[_empty_batch(schema)]])
    try:
        return ctx.sql_with_options(sql, READ_ONLY).schema()
    except BaseException as error:  # DataFusion raises plain Exception/ValueError subclasses
        if not _engine_failure(error):
            raise
        raise classify(str(error) or type(error).__name__) from error


def _engine_failure(error: BaseException) -> bool:
    """An error of planning this SQL: an exception, or a Rust panic (pyo3's PanicException
    derives from BaseException), but never KeyboardInterrupt or SystemExit."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


PlanOutcome = tuple[pa.Schema | None, tuple[str, str, str | None] | None]


def plan_outcome(sql: str, inputs: Mapping[str, pa.Schema]) -> PlanOutcome:
    """`output_schema` as plain picklable data, for a planning worker process."""
    try:
        return output_schema(sql, inputs), None
    except EngineError as error:
        return None, (error.code.value, error.message, error.name)


def unpack_outcome(outcome: PlanOutcome) -> pa.Schema:
    """Inverse of `plan_outcome`: the schema, or the EngineError it carried."""
    schema, error = outcome
    if error is not None:
        code, message, name = error
        raise EngineError(ProblemCode(code), message, name)
    assert schema is not None
    return schema


def warm_up() -> None:
    """Run once in a fresh worker so its imports and DataFusion runtime are ready."""
    SessionContext().sql("select 1").schema()
