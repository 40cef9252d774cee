"""Every data test of a plan, ready to evaluate: declared, implied, built-in and singular.

- declared: the `@test` lines of each persisted view;
- implied: `keys_unique` (a `unique` test over `@keys`) and `not_null_<column>` for an enforced
  contract's `not null` columns the plan does not prove non-nullable;
- built-in: `is_empty` on check views (`@layer: check` or `@tags: check`: they list
  violations) and `no_dangling_edges` on `@entity: edge` views when an `@entity: node` view
  exists (every src_id/dst_id is a node);
- singular: `tests/*.sql`, whose rows are the failures.

Each `PlannedTest` carries the SQL query whose rows are its failures (None only for
`no_dangling_edges`, evaluated with Arrow compute), the tables it reads and a definition hash:
with the data versions of those tables it keys the cached result. A test whose view is not
admitted is still listed, with `blocked` saying why it cannot run: it is reported as an error,
never skipped as if it had passed.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from cpg_core.plan.data_tests import (
    contract_not_null,
    failure_predicate,
    failure_sql,
    quote,
    reads_of,
)
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.hashing import hash_value
from cpg_core.plan.singular_tests import SingularTest
from cpg_core.views.model import DeclaredTest, Severity

TestKind = Literal[
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "row_count",
    "expression",
    "singular",
    "is_empty",
    "no_dangling_edges",
]
KEYS_UNIQUE = "keys_unique"
NO_DANGLING_EDGES = "no_dangling_edges"
IS_EMPTY = "is_empty"
BUILTIN_CHECKS = (KEYS_UNIQUE, NO_DANGLING_EDGES, IS_EMPTY)
CHECK_LAYER = "check"
CHECK_TAG = "check"
EVALUATOR_VERSION = 1  # part of every definition hash: bump when evaluation semantics change


class PlannedTest(msgspec.Struct, frozen=True, kw_only=True):
    """One test, ready to run against stored tables.

    `id` is `<view>.<name>` (a test of a view) or `<name>` (a singular test). `sql` reads the
    tables in `reads` by name; its rows are the failures. `columns` are the columns of
    `reads[0]` it needs (checked on the stored table before running, so a table that no longer
    matches its plan gives a clear error). `nodes`: the node view of `no_dangling_edges`.
    """

    id: str
    name: str
    view: str | None
    kind: TestKind
    severity: Severity
    sql: str | None
    reads: tuple[str, ...]
    description: str
    columns: tuple[str, ...] = ()
    predicate: str | None = None  # row-wise kinds: a failing row's condition (see data_tests)
    nodes: str | None = None
    path: str | None = None
    line: int | None = None
    blocked: str | None = None  # why it cannot run (None: it can)
    definition_hash: str = ""


def _finish(test: PlannedTest) -> PlannedTest:
    """`test` with its definition hash: everything that decides its result, nothing else."""
    definition = (
        EVALUATOR_VERSION,
        test.kind,
        test.view,
        test.name,
        test.severity,
        test.sql,
        test.reads,
        test.columns,
        test.nodes,
    )
    return msgspec.structs.replace(test, definition_hash=hash_value(definition))


def is_check_view(task: Task) -> bool:
    """A view that lists violations: `@layer: check` or `@tags: check`."""
    semantic = task.view.semantic
    return (semantic is not None and semantic.layer == CHECK_LAYER) or CHECK_TAG in task.view.tags


def _entity(task: Task) -> str | None:
    return task.view.semantic.entity if task.view.semantic is not None else None


def _columns(task: Task) -> set[str]:
    return set(task.output_schema.names) if task.output_schema is not None else set()


def node_views(plan: ExecutionPlan) -> list[str]:
    """Persisted views declaring `@entity: node` with a `node_id` column."""
    return sorted(
        name
        for name, task in plan.tasks.items()
        if task.view.persisted and _entity(task) == "node" and "node_id" in _columns(task)
    )


def edge_views(plan: ExecutionPlan) -> list[str]:
    """Persisted views declaring `@entity: edge` with `src_id` and `dst_id` columns."""
    return sorted(
        name
        for name, task in plan.tasks.items()
        if task.view.persisted
        and _entity(task) == "edge"
        and {"src_id", "dst_id"} <= _columns(task)
    )


def _describe(test: DeclaredTest) -> str:
    columns = ", ".join(test.columns)
    if test.kind == "not_null":
        return f"{columns} is never null."
    if test.kind == "unique":
        return (
            f"No two rows share ({columns})." if len(test.columns) > 1 else f"{columns} is unique."
        )
    if test.kind == "accepted_values":
        return f"{columns} is one of {', '.join(test.values)} (or null)."
    if test.kind == "relationships":
        return f"Every {columns} is a {test.to_column} of {test.to_table} (or null)."
    if test.kind == "row_count":
        return f"The view has {(test.condition or '').removeprefix('row_count ')} rows."
    return f"{test.condition} holds for every row (null counts as holding)."


def declared_test(
    view: str, test: DeclaredTest, *, path: str | None = None, blocked: str | None = None
) -> PlannedTest:
    """A declared (or implied) test of table `view` as a planned one (with its hash)."""
    return _finish(
        PlannedTest(
            id=f"{view}.{test.name}",
            name=test.name,
            view=view,
            kind=test.kind,
            severity=test.severity,
            sql=failure_sql(view, test),
            reads=reads_of(view, test),
            description=_describe(test),
            columns=test.columns,
            predicate=failure_predicate(test),
            path=path,
            line=test.line or None,
            blocked=blocked,
        )
    )


def _declared(task: Task, test: DeclaredTest, blocked: str | None) -> PlannedTest:
    return declared_test(task.name, test, path=task.view.path, blocked=blocked)


def builtin_test(
    view: str, kind: Literal["is_empty", "no_dangling_edges"], *, nodes: str | None = None
) -> PlannedTest:
    """A built-in check of table `view` (`nodes`: the node table of `no_dangling_edges`)."""
    if kind == "is_empty":
        return _finish(
            PlannedTest(
                id=f"{view}.{IS_EMPTY}",
                name=IS_EMPTY,
                view=view,
                kind="is_empty",
                severity="error",
                sql=f"SELECT * FROM {quote(view)}",
                predicate="TRUE",
                reads=(view,),
                description="A check view lists violations: it must have no rows.",
            )
        )
    assert nodes is not None
    return _finish(
        PlannedTest(
            id=f"{view}.{NO_DANGLING_EDGES}",
            name=NO_DANGLING_EDGES,
            view=view,
            kind="no_dangling_edges",
            severity="error",
            sql=None,
            reads=(view, nodes),
            description=f"Every src_id and dst_id is a node_id of {nodes} "
            "(with the declared kind when both tables carry kinds).",
            columns=("src_id", "dst_id"),
            nodes=nodes,
        )
    )


def view_tests(plan: ExecutionPlan, name: str, nodes: str | None = None) -> list[PlannedTest]:
    """The tests of persisted view `name`: implied keys test, declared, contract, built-in.

    `nodes`: the node view its `no_dangling_edges` test reads (when it is an edge view)."""
    task = plan.tasks[name]
    view = task.view
    blocked = (
        None if task.admitted else f"view {name} is not admitted ({len(task.problems)} problem(s))"
    )
    out: list[PlannedTest] = []
    if view.keys:
        keys = DeclaredTest(name=KEYS_UNIQUE, kind="unique", columns=view.keys)
        out.append(
            msgspec.structs.replace(
                _declared(task, keys, blocked),
                description=f"No two rows share the declared key ({', '.join(view.keys)}).",
            )
        )
    out += [_declared(task, test, blocked) for test in view.tests]
    declared = {t.name for t in out}
    for doc in contract_not_null(view, task.output_schema):
        test = DeclaredTest(
            name=f"not_null_{doc.name}", kind="not_null", columns=(doc.name,), line=doc.line
        )
        if test.name not in declared:
            out.append(_declared(task, test, blocked))
    kinds: list[Literal["is_empty", "no_dangling_edges"]] = []
    if nodes is not None:
        kinds.append("no_dangling_edges")
    if is_check_view(task):
        kinds.append("is_empty")
    for kind in kinds:
        check = builtin_test(name, kind, nodes=nodes)
        out.append(msgspec.structs.replace(check, path=view.path, blocked=blocked))
    return out


def singular_test(test: SingularTest) -> PlannedTest:
    """A compiled singular test as a planned one."""
    if test.problems:
        blocked: str | None = f"the test does not compile ({len(test.problems)} problem(s))"
    elif test.blocked_by:
        blocked = "it reads view(s) that are not admitted: " + ", ".join(test.blocked_by)
    else:
        blocked = None
    return _finish(
        PlannedTest(
            id=test.name,
            name=test.name,
            view=None,
            kind="singular",
            severity=test.severity,
            sql=test.sql,
            reads=test.reads,
            description=test.description or f"Rows of {test.path or test.name} are failures.",
            path=test.path,
            blocked=blocked,
        )
    )


def planned_tests(plan: ExecutionPlan) -> tuple[PlannedTest, ...]:
    """Every test of the plan: views' tests in schedule order (then views that are not
    admitted, by name), then singular tests by name."""
    nodes = node_views(plan)
    edges = set(edge_views(plan)) if nodes else set()
    admitted = [n for n in plan.schedule.order if plan.tasks[n].view.persisted]
    rest = sorted(n for n, t in plan.tasks.items() if not t.admitted and t.view.persisted)
    out: list[PlannedTest] = []
    for name in [*admitted, *rest]:
        out += view_tests(plan, name, nodes[0] if name in edges else None)
    out += [singular_test(t) for t in sorted(plan.singular_tests, key=lambda t: t.name)]
    return tuple(out)
