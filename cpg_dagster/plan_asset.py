"""The `plan` asset: the compiled plan itself, versioned by its signature.

Its materialization is where a Dagster user reads the schedule (critical path, generations) and
the validation (every problem) of the build they launched, next to the run manifest's ID. The
summary is Markdown tables — the critical path with each view's planned and measured seconds,
the generations, the problems — because the open-source UI renders Markdown and nothing else
of a graph; the full schedule and validation artifacts are JSON entries beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import msgspec

from cpg_core.artifacts.envelope import artifact_id
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.store.events import TaskFinish
from cpg_dagster.markdown import cell, code, names, seconds, table
from cpg_dagster.translator import CpgTranslator

MAX_GENERATIONS = 40  # rows of the generations table; the schedule JSON has all of them


def plan_spec(plan: ExecutionPlan, translator: CpgTranslator) -> dg.AssetSpec:
    """The plan asset's spec: code version = plan signature, so any view change makes it stale."""
    return dg.AssetSpec(
        key=translator.get_plan_asset_key(),
        description="The compiled plan of every view: schedule, validation, signature. "
        "Materialized by every cpg build that selects it; its data version is the signature.",
        group_name="cpg_plan",
        code_version=plan.signature,
        kinds={"cpg"},
        skippable=True,
        metadata={"cpg.plan_signature": plan.signature, "cpg.views": len(plan.tasks)},
    )


def _persisted(plan: ExecutionPlan, views: tuple[str, ...]) -> list[str]:
    return [v for v in views if plan.tasks[v].view.persisted]


def critical_path_table(plan: ExecutionPlan, measured: Mapping[str, TaskFinish]) -> str:
    """One row per view of the critical path: planned seconds (and where they came from), the
    seconds this run measured and what the run did with it."""
    rows = []
    for i, name in enumerate(plan.schedule.critical_path, 1):
        cost = plan.costs[name]
        event = measured.get(name)
        rows.append(
            [
                str(i),
                code(name),
                f"{seconds(cost.seconds):g}",
                cost.source,
                f"{seconds(event.duration_s):g}" if event else "-",
                event.outcome if event else "not in this run",
            ]
        )
    headers = ["#", "view", "planned s", "planned from", "measured s", "this run"]
    return table(headers, rows, right=(0, 2, 4))


def generations_table(plan: ExecutionPlan) -> str:
    """Each generation's views that are tables (inline views run inside their readers)."""
    rows = []
    for index, generation in enumerate(plan.schedule.generations):
        shown = _persisted(plan, generation)
        inline = len(generation) - len(shown)
        text = names(shown) + (f" (+ {inline} inline)" if inline else "")
        rows.append([str(index), str(len(shown)), text])
    if len(rows) > MAX_GENERATIONS:
        rows = [*rows[:MAX_GENERATIONS], ["…", "", f"{len(rows) - MAX_GENERATIONS} more"]]
    return table(["generation", "tables", "views"], rows, right=(0, 1))


def problems_table(plan: ExecutionPlan) -> str:
    rows = []
    for problem in plan.problems:
        where = problem.path or ""
        if where and problem.line is not None:
            where += f":{problem.line}" + (f":{problem.col}" if problem.col is not None else "")
        message = problem.message + (f" ({problem.hint})" if problem.hint else "")
        rows.append([code(problem.view), cell(where), problem.code.value, cell(message)])
    return table(["view", "where", "code", "problem"], rows)


def summary_markdown(plan: ExecutionPlan, measured: Mapping[str, TaskFinish] | None = None) -> str:
    """Counts, then the critical path, generations and problems as tables."""
    measured = measured or {}
    schedule = plan.schedule
    inline = sum(1 for t in plan.tasks.values() if not t.view.persisted)
    path = schedule.critical_path
    ran = [measured[n].duration_s for n in path if n in measured]
    took = f", {seconds(sum(ran)):g} s measured in this run" if len(ran) == len(path) else ""
    lines = [
        f"**Plan** `{plan.signature[:16]}`: {len(plan.tasks)} views ({inline} inline), "
        f"{len(schedule.order)} admitted, {len(plan.problems)} problem(s), "
        f"{len(schedule.generations)} generation(s).",
        "",
        f"**Critical path**: {len(path)} views, "
        f"{seconds(schedule.critical_path_length):g} s planned{took}.",
        "",
        critical_path_table(plan, measured),
        "",
        "**Generations** (views that run at the same depth of the graph)",
        "",
        generations_table(plan),
    ]
    if plan.problems:
        lines += ["", f"**Problems** ({len(plan.problems)})", "", problems_table(plan)]
    return "\n".join(lines)


def plan_metadata(
    plan: ExecutionPlan,
    manifest_id: str | None,
    measured: Mapping[str, TaskFinish] | None = None,
) -> dict[str, Any]:
    """Metadata of a plan materialization (plain data and Dagster metadata values only)."""
    schedule = schedule_artifact(plan)
    validation = validation_artifact(plan)
    return {
        "cpg.plan_signature": plan.signature,
        "cpg.schedule_artifact_id": artifact_id(schedule),
        "cpg.validation_artifact_id": artifact_id(validation),
        "cpg.run_manifest_id": manifest_id or "",
        "summary": dg.MetadataValue.md(summary_markdown(plan, measured)),
        "schedule": dg.MetadataValue.json(msgspec.to_builtins(schedule)),
        "validation": dg.MetadataValue.json(msgspec.to_builtins(validation)),
        "critical_path": list(plan.schedule.critical_path),
        "problems": len(plan.problems),
    }


def plan_materialization(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    manifest_id: str | None,
    manifest: msgspec.Struct | None = None,
    measured: Mapping[str, TaskFinish] | None = None,
) -> dg.MaterializeResult:
    """The plan asset's result: data version = plan signature; the run manifest in full."""
    metadata = plan_metadata(plan, manifest_id, measured)
    if manifest is not None:
        metadata["run_manifest"] = dg.MetadataValue.json(msgspec.to_builtins(manifest))
        metadata["cpg.run_id"] = getattr(manifest, "run_id", "")
    return dg.MaterializeResult(
        asset_key=translator.get_plan_asset_key(),
        data_version=dg.DataVersion(plan.signature),
        metadata=metadata,
    )
