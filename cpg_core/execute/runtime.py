"""What generated view nodes call at run time: run a `ViewTask` over its input tables.

Kept importable (not generated) so process, Ray and Dask workers can run it too.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
from datafusion import SessionConfig, SessionContext

from cpg_core.execute.direct import ViewExecutionError
from cpg_core.execute.task_spec import Step, ViewTask
from cpg_core.execute.versions import remember
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.store.content_hash import canonicalize


class FingerprintMismatchError(RuntimeError):
    """The node was handed a task for other semantics than its fingerprint input says."""


def _run_step(ctx: SessionContext, step: Step) -> pa.Table:
    try:
        return ctx.sql_with_options(step.sql, READ_ONLY).to_arrow_table()
    except Exception as error:  # DataFusion raises plain exceptions; name the view
        raise ViewExecutionError(step.name, step.path, error) from error


def run_view_task(task: ViewTask, fingerprint: str, tables: Mapping[str, pa.Table]) -> pa.Table:
    """Run the task's steps in a fresh DataFusion context; return the view's rows canonicalized.

    The output is in store types and canonical row order, so its data version (content hash)
    is computed once here and equal runs give equal versions whatever DataFusion's row order.
    """
    if fingerprint != task.fingerprint:
        raise FingerprintMismatchError(
            f"view {task.name!r}: task fingerprint {task.fingerprint[:12]} != input {fingerprint[:12]}"
        )
    ctx = SessionContext(SessionConfig().with_target_partitions(task.target_partitions))
    for name, table in tables.items():
        ctx.from_arrow(table, name=name)
    *inline, last = task.steps
    for step in inline:
        ctx.from_arrow(_run_step(ctx, step), name=step.name)
    result = _run_step(ctx, last)
    canonical = canonicalize(result)
    return remember(canonical.table, canonical.data_version)
