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
import pyarrow as pa

from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.inline import folded_inputs
from cpg_core.plan.sql_parse import is_recursive
from cpg_core.store.partitions import PartitionMap


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One query of a view node: `name` is the table its result is registered as."""

    name: str
    sql: str
    path: str | None = None


class PartialRun(msgspec.Struct, frozen=True, kw_only=True):
    """A partition-incremental view recomputed for some partitions only (`execute.partial`).

    `keys` name the partitions to recompute (JSON text of their values); each driver
    (`ViewTask.drivers`) is filtered to them before the view's SQL runs; `kept` are the stored
    rows of every other partition and `base` the stored table's partition map."""

    keys: frozenset[str]
    kept: pa.Table
    base: PartitionMap


class ViewTask(msgspec.Struct, frozen=True, kw_only=True):
    """The steps of a view node (inline views first, the view itself last) and run settings.

    `partition_by`: the output column of a partition-incremental view (its output is then
    hashed by partition); `partial`: set per run, on a cache miss, when only some partitions
    are recomputed (the task is replaced for that call, never changed)."""

    name: str
    steps: tuple[Step, ...]
    inputs: tuple[str, ...]
    fingerprint: str
    target_partitions: int = 1
    memory_limit_bytes: int | None = None  # DataFusion memory pool of this task (None: unbounded)
    partition_by: str | None = None
    drivers: tuple[tuple[str, str], ...] = ()  # (table, column) of each driving input
    partial: PartialRun | None = None


def view_task(
    plan: ExecutionPlan,
    name: str,
    *,
    target_partitions: int = 1,
    memory_limit_bytes: int | None = None,
) -> ViewTask:
    """The `ViewTask` of persisted view `name`.

    A view with a recursive query runs on one partition whatever `target_partitions` says:
    each iteration is a small query over the working table, and on more partitions it
    repartitions and merges its rows again on every iteration (measured on the stdlib
    CPG's value-flow rounds: 3.4 s less over the ten of them and the C3 MRO, docs/execution.md)."""
    inline, tables = folded_inputs(plan, name)
    steps = tuple(
        Step(name=n, sql=plan.tasks[n].view.sql, path=plan.tasks[n].view.path)
        for n in (*inline, name)
    )
    recursive = any(is_recursive(step.sql) for step in steps)
    partitioning = plan.tasks[name].partitioning
    return ViewTask(
        name=name,
        steps=steps,
        inputs=tables,
        fingerprint=plan.tasks[name].fingerprint,
        target_partitions=1 if recursive else target_partitions,
        memory_limit_bytes=memory_limit_bytes,
        partition_by=partitioning.column if partitioning else None,
        drivers=tuple((d.table, d.column) for d in partitioning.drivers) if partitioning else (),
    )
