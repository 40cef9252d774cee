"""Run a plan's admitted views straight through DataFusion, in schedule order, in one process.

This is the reference semantics every executor must match (and the baseline the orchestration
benchmarks compare against): each view runs over its inputs' *materialized* tables, never over
nested views (docs/dependencies.md#registered-views-inline: chains of registered views re-plan their parents at every layer).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
from datafusion import SessionContext

from cpg_core.execute.errors import ViewExecutionError
from cpg_core.plan.engine_check import READ_ONLY
from cpg_core.plan.execution_plan import ExecutionPlan


def run_view(sql: str, inputs: Mapping[str, pa.Table]) -> pa.Table:
    """Register `inputs` in a fresh context and run one view's SQL (read-only)."""
    ctx = SessionContext()
    for name, table in inputs.items():
        ctx.from_arrow(table, name=name)
    return ctx.sql_with_options(sql, READ_ONLY).to_arrow_table()


def run_plan_direct(
    plan: ExecutionPlan,
    inputs: Mapping[str, pa.Table],
    *,
    only: set[str] | None = None,
    keep: set[str] | None = None,
) -> dict[str, pa.Table]:
    """Execute admitted views (all, or `only`) in schedule order; returns their outputs.

    `inputs` holds the evidence/source tables (and any stored view outputs that are not run).
    With `keep`, only those outputs are returned and every other table is released right after
    its last reader ran, which bounds memory on big builds (the stdlib CPG).
    """
    order = [name for name in plan.schedule.order if only is None or name in only]
    last_use: dict[str, int] = {}
    for position, name in enumerate(order):
        for table in plan.tasks[name].inputs:
            last_use[table] = position
    tables: dict[str, pa.Table] = dict(inputs)
    outputs: dict[str, pa.Table] = {}
    for position, name in enumerate(order):
        task = plan.tasks[name]
        try:
            result = run_view(task.view.sql, {t: tables[t] for t in task.inputs})
        except Exception as error:  # DataFusion raises plain exceptions; name the view
            raise ViewExecutionError(name, task.view.path, error) from error
        tables[name] = result
        if keep is None or name in keep:
            outputs[name] = result
        if keep is not None:
            for table in task.inputs:
                if last_use.get(table) == position and table not in keep:
                    del tables[table]
    return outputs
