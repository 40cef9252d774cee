"""Build the artifacts of a compiled (and possibly pruned) plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from cpg_core.artifacts.contracts import (
    ColumnInfo,
    EdgeValidation,
    PlanScheduleArtifact,
    PlanValidationArtifact,
    SemanticEntry,
    SemanticRegistryArtifact,
    TaskValidation,
    ValidationCounts,
)
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.pruning import PrunedPlan, prune
from cpg_core.problems import ProblemCode


def _sorted_floats(values: Mapping[str, float]) -> dict[str, float]:
    return {k: float(values[k]) for k in sorted(values)}


def schedule_artifact(
    plan: ExecutionPlan, pruned: PrunedPlan | None = None
) -> PlanScheduleArtifact:
    """The schedule of what runs (`pruned`, default: the whole admitted plan)."""
    run = pruned or prune(plan)
    schedule = run.schedule
    return PlanScheduleArtifact(
        signature=plan.signature,
        reduced_signature=run.reduced_signature,
        ordered_tasks=schedule.order,
        generations=schedule.generations,
        critical_path=schedule.critical_path,
        critical_path_length=schedule.critical_path_length,
        task_costs=_sorted_floats(schedule.costs),
        cost_sources={name: plan.costs[name].source for name in sorted(schedule.costs)},
        bottom_level_costs=_sorted_floats(schedule.bottom_level),
        top_level_costs=_sorted_floats(schedule.top_level),
        slack=_sorted_floats(schedule.slack),
        read_from_store=run.read_from_store,
    )


def validation_artifact(plan: ExecutionPlan) -> PlanValidationArtifact:
    """Every problem, per task and per input edge, with counts."""
    tasks = []
    edges = []
    for name in sorted(plan.tasks):
        task = plan.tasks[name]
        problems = task.problems
        tasks.append(
            TaskValidation(
                name=name,
                path=task.view.path,
                admitted=task.admitted,
                missing_tables=tuple(
                    p.table or "" for p in problems if p.code == ProblemCode.UNKNOWN_TABLE
                ),
                missing_columns=tuple(
                    p.column or p.message for p in problems if p.code == ProblemCode.UNKNOWN_COLUMN
                ),
                type_errors=tuple(
                    p.message for p in problems if p.code == ProblemCode.TYPE_MISMATCH
                ),
                errors=problems,
            )
        )
        for table in task.inputs:
            schema = plan.datasets[table].schema
            required = tuple(task.required_columns.get(table, ()))
            present = set(schema.names) if schema is not None else set()
            edges.append(
                EdgeValidation(
                    source=table,
                    target=name,
                    source_exists=schema is not None,
                    required_columns=required,
                    missing_columns=tuple(c for c in required if c not in present),
                )
            )
        for problem in problems:
            if problem.code == ProblemCode.UNKNOWN_TABLE and problem.table:
                edges.append(EdgeValidation(source=problem.table, target=name, source_exists=False))
    by_code = Counter(p.code.value for p in plan.problems)
    admitted = sum(1 for t in plan.tasks.values() if t.admitted)
    return PlanValidationArtifact(
        signature=plan.signature,
        valid=plan.valid,
        tasks=tuple(tasks),
        edges=tuple(edges),
        problems=plan.problems,
        counts=ValidationCounts(
            tasks=len(plan.tasks),
            admitted=admitted,
            rejected=len(plan.tasks) - admitted,
            problems=len(plan.problems),
            by_code=dict(sorted(by_code.items())),
        ),
    )


def semantic_registry(plan: ExecutionPlan) -> SemanticRegistryArtifact:
    """Public outputs: admitted views that declare a semantic contract."""
    entries = []
    for name in sorted(plan.tasks):
        task = plan.tasks[name]
        semantic = task.view.semantic
        if semantic is None or not task.admitted or task.output_schema is None:
            continue
        described = {doc.name: doc.description for doc in task.view.columns if doc.description}
        entries.append(
            SemanticEntry(
                view=name,
                description=task.view.description,
                layer=semantic.layer,
                entity=semantic.entity,
                grain=semantic.grain,
                keys=task.view.keys,
                entity_keys=semantic.entity_keys,
                join_keys=semantic.join_keys,
                version=semantic.version,
                stability=semantic.stability,
                owners=semantic.owners,
                columns=tuple(
                    ColumnInfo(name=f.name, type=str(f.type), description=described.get(f.name))
                    for f in task.output_schema
                ),
            )
        )
    return SemanticRegistryArtifact(signature=plan.signature, entries=tuple(entries))
