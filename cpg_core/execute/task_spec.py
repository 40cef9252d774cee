"""What one view node runs: its SQL, with inline views folded in as preceding steps.

Why a separate input: the SQL text must not enter Hamilton's cache key (a cosmetic edit would
re-execute the view) — the view's fingerprint input carries its semantics. `ViewTask` reaches the
node as an input that the cache ignores, and is small and picklable for process/remote workers.

Inline views (`materialize = 'inline'`) are folded into each persisted consumer
(`cpg_core.plan.inline`): the consumer's node runs the inline view's SQL first (over its own
inputs, in the same DataFusion context) and registers the result as a table before running its
own SQL.
"""

from __future__ import annotations

import msgspec

from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.inline import folded_inputs


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One query of a view node: `name` is the table its result is registered as."""

    name: str
    sql: str
    path: str | None = None


class ViewTask(msgspec.Struct, frozen=True, kw_only=True):
    """The steps of a view node (inline views first, the view itself last) and run settings."""

    name: str
    steps: tuple[Step, ...]
    inputs: tuple[str, ...]
    fingerprint: str
    target_partitions: int = 1
    memory_limit_bytes: int | None = None  # DataFusion memory pool of this task (None: unbounded)


def view_task(
    plan: ExecutionPlan,
    name: str,
    *,
    target_partitions: int = 1,
    memory_limit_bytes: int | None = None,
) -> ViewTask:
    """The `ViewTask` of persisted view `name`."""
    inline, tables = folded_inputs(plan, name)
    steps = tuple(
        Step(name=n, sql=plan.tasks[n].view.sql, path=plan.tasks[n].view.path)
        for n in (*inline, name)
    )
    return ViewTask(
        name=name,
        steps=steps,
        inputs=tables,
        fingerprint=plan.tasks[name].fingerprint,
        target_partitions=target_partitions,
        memory_limit_bytes=memory_limit_bytes,
    )
