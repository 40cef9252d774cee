"""What generated view nodes call at run time: run a `ViewTask` over its input tables.

Kept importable (not generated) so process, Ray and Dask workers can run it too.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
from datafusion import SessionContext

from cpg_core.execute.errors import ViewExecutionError
from cpg_core.execute.partial import partitioned_output
from cpg_core.execute.sources import InputTable, SourceTable, as_table
from cpg_core.execute.task_spec import Step, ViewTask
from cpg_core.execute.versions import remember
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.plan.engine_session import RESOURCES_EXHAUSTED, session_context
from cpg_core.store.content_hash import canonicalize


class FingerprintMismatchError(RuntimeError):
    """The node was handed a task for other semantics than its fingerprint input says."""


class MemoryLimitError(RuntimeError):
    """A query needed more memory than the run's limit allows, even after spilling."""


def _run_step(ctx: SessionContext, step: Step, limit: int | None) -> pa.Table:
    try:
        return ctx.sql_with_options(step.sql, READ_ONLY).to_arrow_table()
    except Exception as error:  # DataFusion raises plain exceptions; name the view
        if limit is not None and RESOURCES_EXHAUSTED in str(error):
            error = MemoryLimitError(
                f"needs more than its memory limit of {limit / 2**20:.0f} MiB even after "
                f"spilling to disk (raise --memory-limit or run fewer tasks at once): {error}"
            )
        raise ViewExecutionError(step.name, step.path, error) from error


def _query(task: ViewTask, tables: Mapping[str, InputTable]) -> pa.Table:
    """The view's rows over `tables`, in a fresh DataFusion context (dropped on return: the
    inline steps' tables are not held while the output is sorted)."""
    ctx = _context(task)
    for name, table in tables.items():
        _register(ctx, name, table)
    *inline, last = task.steps
    limit = task.memory_limit_bytes
    for step in inline:
        ctx.from_arrow(_run_step(ctx, step, limit), name=step.name)
    return _run_step(ctx, last, limit)


def _context(task: ViewTask) -> SessionContext:
    """A fresh context for the task (see `engine_session`: one partition under a limit)."""
    return session_context(task.target_partitions, task.memory_limit_bytes)


BATCH_ROWS = 8192  # DataFusion's own batch size


def _batched(table: pa.Table) -> pa.Table:
    """`table` as record batches of at most `BATCH_ROWS` rows (zero-copy slices).

    Sorted outputs and read-back tables arrive as one chunk per column; registered like that,
    an operator has to take the whole table as one batch, which no memory pool smaller than
    the table can admit (a sort cannot spill half a batch)."""
    if all(len(chunk) <= BATCH_ROWS for column in table.columns for chunk in column.chunks):
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS), schema=table.schema)


def _register(ctx: SessionContext, name: str, table: InputTable) -> None:
    """An input of the view: a Parquet source DataFusion scans itself (only what the query
    reads), anything else as rows."""
    file = table.parquet_file() if isinstance(table, SourceTable) else None
    if isinstance(table, SourceTable) and file is not None:
        ctx.register_parquet(name, str(file), schema=table.schema, file_extension="")
    else:
        ctx.from_arrow(_batched(as_table(table)), name=name)


def run_view_task(task: ViewTask, fingerprint: str, tables: Mapping[str, InputTable]) -> pa.Table:
    """Run the task's steps in a fresh DataFusion context; return the view's rows canonicalized.

    The output is in store types and canonical row order, so its data version (content hash)
    is computed once here and equal runs give equal versions whatever DataFusion's row order.
    A partition-incremental view's output is hashed by partition instead, and a partial run
    recomputes only some partitions (`execute.partial`).
    """
    if fingerprint != task.fingerprint:
        raise FingerprintMismatchError(
            f"view {task.name!r}: task fingerprint {task.fingerprint[:12]} != input {fingerprint[:12]}"
        )
    if task.partition_by is not None:
        return partitioned_output(task, tables, lambda inputs: _query(task, inputs))
    canonical = canonicalize(_query(task, tables))
    return remember(canonical.table, canonical.data_version)
