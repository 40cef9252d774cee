"""What one view node runs: its SQL, with inline views folded in as preceding steps.

Why a separate input: the SQL text must not enter Hamilton's cache key (a cosmetic edit would
re-execute the view) — the view's fingerprint input carries its semantics. `ViewTask` reaches the
node as an input that the cache ignores, and is small and picklable for process/remote workers.

Inline views (`materialize = 'inline'`) are folded into each persisted consumer, like dbt's
ephemeral models: the consumer's node runs the inline view's SQL first (over its own inputs, in
the same DataFusion context) and registers the result as a table before running its own SQL.
The consumer's fingerprint already includes the inline view's (compiler), so cache keys follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from cpg_core.plan.execution_plan import ExecutionPlan


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


def persisted_views(plan: ExecutionPlan, names: Iterable[str] | None = None) -> list[str]:
    """Admitted, persisted views (of `names`, default all) in schedule order."""
    wanted = set(plan.schedule.order if names is None else names)
    return [n for n in plan.schedule.order if n in wanted and plan.tasks[n].view.persisted]


def schedule_positions(plan: ExecutionPlan) -> dict[str, int]:
    """Each admitted view's index in the schedule order (compute once per plan, pass along)."""
    return {n: i for i, n in enumerate(plan.schedule.order)}


def folded_inputs(
    plan: ExecutionPlan, name: str, position: Mapping[str, int] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(inline views folded into `name` in run order, the tables the node reads), both sorted
    deterministically. Inline chains are followed transitively. Callers folding many views pass
    `position` (`schedule_positions(plan)`) so the walk stays O(inputs), not O(plan)."""
    inline: list[str] = []
    tables: set[str] = set()
    seen: set[str] = set()

    def visit(view: str) -> None:
        for upstream in plan.tasks[view].inputs:
            task = plan.tasks.get(upstream)
            if task is not None and not task.view.persisted:
                if upstream not in seen:
                    seen.add(upstream)
                    visit(upstream)
                    inline.append(upstream)
            else:
                tables.add(upstream)

    visit(name)
    if len(inline) > 1:
        order = position if position is not None else schedule_positions(plan)
        inline.sort(key=lambda n: order.get(n, len(order)))
    return tuple(inline), tuple(sorted(tables))


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
