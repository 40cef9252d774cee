"""The scope of one build: which views run, which views are read from the store, which input
tables (evidence, sources) are needed, and which evidence tables are stored.

Computed once per build (by `prepare_run`) and read by everything after it: the pipeline asks it
what to extract and which sources to read, the run what to execute and store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cpg_core.execute.errors import BuildError
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.inline import folded_inputs, persisted_views, schedule_positions
from cpg_core.plan.pruning import PrunedPlan, prune


@dataclass(frozen=True)
class Scope:
    """What one build runs and reads.

    `views`: persisted views to run, in schedule order. `from_store`: views they read that are
    not run (read from the store). `table_inputs`: evidence and source tables they read, plus
    `stored_inputs` — evidence tables stored even when no view of the selection reads them.
    """

    pruned: PrunedPlan
    views: tuple[str, ...]
    from_store: tuple[str, ...]
    table_inputs: tuple[str, ...]
    selected: tuple[str, ...] | None = None
    stored_inputs: tuple[str, ...] = ()

    def storing(self, names: Iterable[str]) -> Scope:
        """This scope, also storing the evidence tables `names`."""
        extra = tuple(sorted(set(names)))
        if not extra:
            return self
        tables = tuple(sorted({*self.table_inputs, *extra}))
        return Scope(self.pruned, self.views, self.from_store, tables, self.selected, extra)

    def inputs_of_kind(self, plan: ExecutionPlan, kind: str) -> list[str]:
        """The input tables of this scope whose dataset kind is `kind` (evidence / source)."""
        return [n for n in self.table_inputs if (d := plan.datasets.get(n)) and d.kind == kind]


def scope_of(plan: ExecutionPlan, select: Sequence[str] | None, upstream: bool) -> Scope:
    """The scope of building `select` (all persisted views when None): with their upstream
    closure, or exactly them when `upstream` is False (every other input from the store)."""
    if select is not None:
        inline = [v for v in select if v in plan.tasks and not plan.tasks[v].view.persisted]
        if inline:
            raise BuildError(f"cannot select inline view(s) {inline}: they are not stored")
    if select is None or upstream:
        pruned = prune(plan, outputs=select)
    else:  # exactly the selected views; every other input comes from the store
        pruned = prune(plan, outputs=select, changed_views=select)
    views = persisted_views(plan, pruned.active)
    if select is not None and not upstream:
        views = [v for v in views if v in set(select)]
    reads: set[str] = set()
    position = schedule_positions(plan)
    for view in views:
        reads |= set(folded_inputs(plan, view, position)[1])
    from_store = tuple(sorted(r for r in reads if r in plan.tasks and r not in views))
    tables = tuple(sorted(r for r in reads if r not in plan.tasks))
    selected = tuple(select) if select is not None else None
    return Scope(pruned, tuple(views), from_store, tables, selected)
