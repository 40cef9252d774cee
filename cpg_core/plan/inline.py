"""Inline views, folded in one place.

A view declared `@materialize: inline` is not stored: like dbt's ephemeral models it is folded
into each persisted view that reads it (transitively). Three things follow, all defined here:
the fingerprint of a reader covers the inline views it folds (`fold_fingerprint`), the reader's
node runs the inline views first and reads what they read (`folded_inputs`), and its column
lineage passes through them to stored tables (`folded_lineage`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from cpg_core.plan.compile_cache import CachedView
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.fingerprints import view_fingerprint
from cpg_core.views.model import ViewDef


def fold_fingerprints(
    order: Sequence[str], analyses: Mapping[str, CachedView], views: Mapping[str, ViewDef]
) -> dict[str, str]:
    """Pass: the fingerprint of every admitted view, in topological `order` (its analysis
    carries its canonical SQL hash and the tables it reads)."""
    fingerprints: dict[str, str] = {}
    for name in order:
        entry = analyses[name]
        fingerprints[name] = fold_fingerprint(
            entry.sql_hash,
            entry.tables,
            lambda t: t in views and views[t].materialize == "inline",
            fingerprints,
        )
    return fingerprints


def fold_fingerprint(
    sql_hash: str,
    inputs: Iterable[str],
    is_inline: Callable[[str], bool],
    fingerprints: Mapping[str, str],
) -> str:
    """A view's fingerprint: its own canonical SQL hash plus the fingerprints of the inline views
    it reads (whose own fingerprints fold theirs, so the fold is transitive)."""
    inlined = {name: fingerprints[name] for name in inputs if is_inline(name)}
    return view_fingerprint(sql_hash, inlined)


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


def folded_lineage(plan: ExecutionPlan, name: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Column lineage of `name` with inline views resolved to what they read (transitively)."""
    memo: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}

    def resolve(table: str, column: str, trail: frozenset[str]) -> frozenset[tuple[str, str]]:
        task = plan.tasks.get(table)
        if task is None or task.view.persisted:
            return frozenset({(table, column)})
        if table in trail:  # an inline cycle (an invalid plan): stop here
            return frozenset()
        key = (table, column)
        if key not in memo:
            found: set[tuple[str, str]] = set()
            for up_table, up_column in task.lineage.get(column, ()):
                found |= resolve(up_table, up_column, trail | {table})
            memo[key] = frozenset(found)
        return memo[key]

    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for column, sources in plan.tasks[name].lineage.items():
        found: set[tuple[str, str]] = set()
        for table, up_column in sources:
            found |= resolve(table, up_column, frozenset({name}))
        out[column] = tuple(sorted(found))
    return out
