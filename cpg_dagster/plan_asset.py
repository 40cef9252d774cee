"""The `plan` asset: the compiled plan itself, versioned by its signature.

Its materialization is where a Dagster user reads the schedule (critical path, generations) and
the validation (every problem) of the build they launched, next to the run manifest's ID.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import msgspec

from cpg_core.artifacts.envelope import artifact_id
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.plan.diagnostics import to_mermaid
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_dagster.translator import CpgTranslator

MERMAID_MAX_VIEWS = 200  # larger graphs are unreadable as a picture; the JSON has everything


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


def summary_markdown(plan: ExecutionPlan) -> str:
    """A short Markdown summary: counts, critical path, problems."""
    schedule = plan.schedule
    lines = [
        f"**Plan** `{plan.signature[:16]}`: {len(plan.tasks)} views, "
        f"{len(schedule.order)} admitted, {len(plan.problems)} problem(s), "
        f"{len(schedule.generations)} generation(s).",
        "",
        f"**Critical path** ({schedule.critical_path_length:.3f} s planned): "
        + " → ".join(f"`{name}`" for name in schedule.critical_path),
    ]
    if plan.problems:
        lines += ["", "**Problems**", ""]
        lines += [f"- `{problem.format()}`" for problem in plan.problems]
    return "\n".join(lines)


def plan_metadata(plan: ExecutionPlan, manifest_id: str | None) -> dict[str, Any]:
    """Metadata of a plan materialization (plain data and Dagster metadata values only)."""
    schedule = schedule_artifact(plan)
    validation = validation_artifact(plan)
    metadata: dict[str, Any] = {
        "cpg.plan_signature": plan.signature,
        "cpg.schedule_artifact_id": artifact_id(schedule),
        "cpg.validation_artifact_id": artifact_id(validation),
        "cpg.run_manifest_id": manifest_id or "",
        "summary": dg.MetadataValue.md(summary_markdown(plan)),
        "schedule": dg.MetadataValue.json(msgspec.to_builtins(schedule)),
        "validation": dg.MetadataValue.json(msgspec.to_builtins(validation)),
        "critical_path": list(plan.schedule.critical_path),
        "problems": len(plan.problems),
    }
    if len(plan.tasks) <= MERMAID_MAX_VIEWS:
        metadata["graph"] = dg.MetadataValue.md(f"```mermaid\n{to_mermaid(plan)}\n```")
    return metadata


def plan_materialization(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    manifest_id: str | None,
    manifest: msgspec.Struct | None = None,
) -> dg.MaterializeResult:
    """The plan asset's result: data version = plan signature; the run manifest in full."""
    metadata = plan_metadata(plan, manifest_id)
    if manifest is not None:
        metadata["run_manifest"] = dg.MetadataValue.json(msgspec.to_builtins(manifest))
    return dg.MaterializeResult(
        asset_key=translator.get_plan_asset_key(),
        data_version=dg.DataVersion(plan.signature),
        metadata=metadata,
    )
